import { z } from 'zod';
import type { JobSpec, TaskRef } from '../../jobs/index.js';

/** Deliver a record's pending deliveries to one hook, head first (deliver.ts). */
export const deliverTask: TaskRef<{ hook: string; recordId: string }> = {
  name: 'hooks.deliver',
  payload: z.object({ hook: z.string(), recordId: z.uuid() }),
};

/** Every minute: re-add work no job holds any more, and flag overdue requests (sweep.ts). */
export const sweepTask: TaskRef<Record<string, unknown>> = {
  name: 'hooks.sweep',
  payload: z.record(z.string(), z.unknown()),
};

/**
 * The job that delivers a record's deliveries to a hook: one pending job per record and hook
 * (its key), so that appends to a busy record add no work; a pending job keeps its run time, so a
 * record waiting out a backoff is not hurried by its next entry.
 */
export function deliveryJob(
  hook: string,
  recordId: string,
  runAt?: Date,
): JobSpec<{ hook: string; recordId: string }> {
  return {
    payload: { hook, recordId },
    jobKey: `hooks.deliver:${hook}:${recordId}`,
    ...(runAt ? { runAt, preserveRunAt: false } : { preserveRunAt: true }),
  };
}
