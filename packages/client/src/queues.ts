import { queueHolds, queueOrder, queuesOf, type RecordState, type Workqueue } from '@registra/core';
import type { QueueCount, QueuePage, QueuePageQuery } from './api.js';
import type { UserDatabase } from './db.js';
import { Unreachable } from './errors.js';
import { queryRecords, type Viewer } from './local.js';
import type { Transport } from './transport.js';

/** Every record the device holds, pending actions folded in. */
const everything = (db: UserDatabase, viewer: Viewer) =>
  queryRecords(db, { limit: Number.MAX_SAFE_INTEGER }, viewer);

/** The person's queues: the server's counts online, the device's own records offline. */
export async function queueCounts(
  db: UserDatabase,
  transport: Transport,
  viewer: Viewer,
): Promise<{ queues: QueueCount[]; source: 'server' | 'device' }> {
  try {
    const answer = await transport.request<{ queues: QueueCount[] }>('GET', '/api/v1/workqueues');
    return { queues: answer.body.queues, source: 'server' };
  } catch (error) {
    if (!(error instanceof Unreachable)) throw error;
  }
  const records = await everything(db, viewer);
  const queues = queuesOf(viewer.config, viewer.principal.role).map((queue) => ({
    id: queue.id,
    count: records.filter((r) => queueHolds(queue.filter, r, viewer.principal.id)).length,
    more: false,
  }));
  return { queues, source: 'device' };
}

/** One page of a queue: from the server online, from the device's records offline (same rule). */
export async function queuePage(
  db: UserDatabase,
  transport: Transport,
  viewer: Viewer,
  id: string,
  query: QueuePageQuery,
): Promise<QueuePage> {
  const queue = queuesOf(viewer.config, viewer.principal.role).find((q) => q.id === id);
  if (!queue) return { results: [], next: null, source: 'device' };
  const params = new URLSearchParams({ limit: String(query.limit ?? 50) });
  if (query.after) params.set('after', query.after);
  if (query.sort) params.set('sort', query.sort);
  if (query.type) params.set('type', query.type);
  if (!query.after?.startsWith('device:')) {
    try {
      const answer = await transport.request<{ results: RecordState[]; next: string | null }>(
        'GET',
        `/api/v1/workqueues/${encodeURIComponent(id)}?${params.toString()}`,
      );
      return { ...answer.body, source: 'server' };
    } catch (error) {
      if (!(error instanceof Unreachable)) throw error;
    }
  }
  return devicePage(await everything(db, viewer), queue, viewer, query);
}

/** The device's answer: the same filter and order, paged by the last record's (updatedAt, id). */
function devicePage(
  records: RecordState[],
  queue: Workqueue,
  viewer: Viewer,
  query: QueuePageQuery,
): QueuePage {
  const order = queueOrder(query.sort ?? queue.sort);
  const held = records
    .filter((r) => queueHolds(queue.filter, r, viewer.principal.id))
    .filter((r) => !query.type || r.type === query.type)
    .sort(order);
  let start = 0;
  if (query.after?.startsWith('device:')) {
    const [updatedAt, recordId] = JSON.parse(query.after.slice(7)) as [string, string];
    const mark = { updatedAt, id: recordId } as RecordState;
    start = held.findIndex((r) => order(r, mark) > 0);
    if (start < 0) start = held.length;
  }
  const limit = query.limit ?? 50;
  const results = held.slice(start, start + limit);
  const last = results[results.length - 1];
  const next =
    start + limit < held.length && last
      ? `device:${JSON.stringify([last.updatedAt, last.id])}`
      : null;
  return { results, next, source: 'device' };
}
