import { queuesOf, type RecordState, type Workqueue } from '@registra/core';
import { countQueues, readQueuePage } from '../store/workqueues.js';
import type { Caller, Registry } from './context.js';
import { invalidInput, notFound } from './problem.js';
import { scopeOf } from './reach.js';
import { openStates } from './vault/open.js';

/** Counts stop here: a queue of more is shown as "1000+" and paged through. */
export const COUNT_CAP = 1000;

export interface QueueCount {
  id: string;
  count: number;
  /** The queue holds more than `count` records. */
  more: boolean;
}

/** The caller's work queues (by role, in the configuration's order) with their counts. */
export async function queueCounts(registry: Registry, caller: Caller): Promise<QueueCount[]> {
  const scope = scopeOf(caller.principal, registry.config);
  const queues = queuesOf(registry.config, caller.principal.role);
  const counts = await countQueues(
    registry.db,
    queues.map((queue) => ({ scope, filter: queue.filter, personId: caller.principal.id })),
    COUNT_CAP + 1,
  );
  return queues.map((queue, i) => {
    const count = counts[i] ?? 0;
    return { id: queue.id, count: Math.min(count, COUNT_CAP), more: count > COUNT_CAP };
  });
}

export interface QueuePageQuery {
  limit: number;
  after?: string | undefined;
  sort?: Workqueue['sort'] | undefined;
  type?: string | undefined;
}

/** One keyset page of a queue of the caller's role; another role's queue is not found. */
export async function queuePage(
  registry: Registry,
  caller: Caller,
  id: string,
  query: QueuePageQuery,
): Promise<{ results: RecordState[]; next: string | null }> {
  const queue = queuesOf(registry.config, caller.principal.role).find((q) => q.id === id);
  if (!queue) throw notFound(`no work queue "${id}" for your role`);
  const sort = query.sort ?? queue.sort;
  const rows = await readQueuePage(registry.db, {
    scope: scopeOf(caller.principal, registry.config),
    filter: queue.filter,
    personId: caller.principal.id,
    type: query.type,
    ascending: sort === 'updatedAt',
    after: decodeKey(query.after),
    limit: query.limit + 1,
  });
  const page = rows.slice(0, query.limit);
  const last = page[page.length - 1];
  const next =
    rows.length > query.limit && last
      ? Buffer.from(JSON.stringify([last.key, last.state.id])).toString('base64url')
      : null;
  return {
    results: await openStates(
      registry,
      page.map((row) => row.state),
    ),
    next,
  };
}

/** Page keys are opaque: base64url JSON of the last row's `updatedAt` and id. */
function decodeKey(after: string | undefined): { key: string; id: string } | undefined {
  if (after === undefined) return undefined;
  try {
    const [key, id] = JSON.parse(Buffer.from(after, 'base64url').toString()) as unknown[];
    if (
      typeof key === 'string' &&
      !Number.isNaN(Date.parse(key)) &&
      typeof id === 'string' &&
      /^[0-9a-f-]{36}$/.test(id)
    )
      return { key, id };
  } catch {
    // answered below
  }
  throw invalidInput('`after` is not a page key this server handed out', [
    { path: 'querystring.after', message: 'is not valid' },
  ]);
}
