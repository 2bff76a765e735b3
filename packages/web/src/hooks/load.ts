import { useCallback, useEffect, useState } from 'react';
import { useClient, useObservable } from './client.js';

export type Loaded<T> =
  { state: 'loading' } | { state: 'error'; error: string } | { state: 'ready'; value: T };

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Loads data from the SDK, and loads it again whenever the sync status changes (a sync brought
 * changes, an action was saved): screens stay current without polling. While it reloads, the
 * last answer stays on screen.
 */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const client = useClient();
  const status = useObservable(client.sync.status);
  const [result, setResult] = useState<Loaded<T>>({ state: 'loading' });
  const run = useCallback(load, deps);
  useEffect(() => {
    let alive = true;
    run().then(
      (value) => alive && setResult({ state: 'ready', value }),
      (error: unknown) => alive && setResult({ state: 'error', error: errorText(error) }),
    );
    return () => {
      alive = false;
    };
  }, [run, status.pending, status.needsAttention, status.lastSyncedAt, status.phase]);
  return result;
}
