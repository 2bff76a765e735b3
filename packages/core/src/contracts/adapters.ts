import { z } from 'zod';

/**
 * How an adapter is doing, for administrators (`GET /api/v1/adapters`, issue 16). `status`:
 * `off`, its address's variable is not set; `never`, it has not run yet; `running`; `ok`;
 * `failing`, its last run failed (in) or a delivery waits after a failure (out).
 */
export const AdapterStatusSchema = z.object({
  id: z.string(),
  label: z.string(),
  translations: z.record(z.string(), z.record(z.string(), z.string())).nullable(),
  direction: z.enum(['in', 'out']),
  /** The record types it reads or writes. */
  recordTypes: z.array(z.string()),
  status: z.enum(['off', 'never', 'running', 'ok', 'failing']),
  lastRunAt: z.string().nullable(),
  lastSuccessAt: z.string().nullable(),
  /** Seconds behind: since the last successful run (in), or the oldest undelivered entry (out). */
  lagSeconds: z.number().nullable(),
  lastError: z.string().nullable(),
  counts: z.record(z.string(), z.number()),
  /** The latest errors, newest first: `key` is the source item's key (in) or tracking id (out). */
  errors: z.array(z.object({ at: z.string(), key: z.string().nullable(), message: z.string() })),
});
export type AdapterStatus = z.infer<typeof AdapterStatusSchema>;
