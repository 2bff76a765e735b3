import type { RegistryConfig } from '../config/load.js';
import type { QueueFilter, Workqueue } from '../config/schema.js';
import type { RecordState } from '../contracts/record.js';

/**
 * Whether a record belongs in a work queue: the one rule the device applies to its own records and
 * the server translates to SQL (packages/server/src/store/workqueues.ts), so both hold the same.
 */
export function queueHolds(filter: QueueFilter, record: RecordState, personId: string): boolean {
  if (filter.recordTypes && !filter.recordTypes.includes(record.type)) return false;
  if (filter.statuses && !filter.statuses.includes(record.status)) return false;
  const flags = filter.flags;
  if (flags?.all && !flags.all.every((flag) => record.flags.includes(flag))) return false;
  if (flags?.any && !flags.any.some((flag) => record.flags.includes(flag))) return false;
  if (flags?.none && flags.none.some((flag) => record.flags.includes(flag))) return false;
  if (filter.assigned === 'me' && record.assignedTo !== personId) return false;
  if (filter.assigned === 'nobody' && record.assignedTo !== null) return false;
  if (filter.assigned === 'anyone' && record.assignedTo === null) return false;
  if (filter.createdByMe !== undefined && (record.createdBy === personId) !== filter.createdByMe)
    return false;
  if (filter.printed !== undefined && record.printCount > 0 !== filter.printed) return false;
  if (filter.pendingRequest !== undefined && record.pending.length > 0 !== filter.pendingRequest)
    return false;
  return true;
}

/** The work queues a role sees, in the configuration's order. */
export function queuesOf(config: RegistryConfig, role: string): Workqueue[] {
  return config.document.workqueues.filter((queue) => queue.roles.includes(role));
}

/**
 * The order of a queue's records: by `updatedAt`, then by id, newest first unless `updatedAt`. The
 * server's keyset pages follow the same order.
 */
export function queueOrder(sort: Workqueue['sort']): (a: RecordState, b: RecordState) => number {
  const direction = sort === 'updatedAt' ? 1 : -1;
  return (a, b) => {
    const byTime = a.updatedAt < b.updatedAt ? -1 : a.updatedAt > b.updatedAt ? 1 : 0;
    if (byTime !== 0) return byTime * direction;
    return (a.id < b.id ? -1 : a.id > b.id ? 1 : 0) * direction;
  };
}
