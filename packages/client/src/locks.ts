/**
 * Runs `task` while holding the lock `name`, one holder at a time.
 *
 * In browsers this is a Web Lock: it spans every tab and worker of the origin, the same reach as
 * the IndexedDB databases it protects, and the browser releases it if a tab dies while holding it.
 * Where Web Locks are absent (Node, with fake-indexeddb in tests), the lock is held in this process
 * instead, per `storage` (the IDBFactory the SDK instances share), so that SDK instances over the
 * same database behave as tabs do, and instances over separate databases (separate devices) do
 * not wait for each other.
 */
export function withLock<T>(storage: object, name: string, task: () => Promise<T>): Promise<T> {
  const locks = typeof navigator === 'object' ? navigator.locks : undefined;
  if (locks) return locks.request(name, task);
  let queues = inProcess.get(storage);
  if (!queues) inProcess.set(storage, (queues = new Map()));
  const run = (queues.get(name) ?? Promise.resolve()).then(task);
  const done = run.then(
    () => undefined,
    () => undefined,
  );
  queues.set(name, done);
  void done.then(() => {
    if (queues.get(name) === done) queues.delete(name);
  });
  return run;
}

/** The tail of each lock's queue, per storage. */
const inProcess = new WeakMap<object, Map<string, Promise<void>>>();
