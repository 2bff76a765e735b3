import { z } from 'zod';
import { TranslationsSchema } from '../config/schema.js';

/**
 * A delivery to a hook as administrators see it (`GET /api/v1/hooks/deliveries`, PROTOCOL 8).
 * `failing`: not done, at least one attempt failed.
 */
export const DeliverySchema = z.object({
  id: z.string(),
  hook: z.string(),
  /** The hook's (or adapter's) name as people read it, and its translations by language. */
  hookLabel: z.string(),
  hookTranslations: TranslationsSchema.nullable(),
  recordId: z.string(),
  /** The record's tracking id and type, so that a person can tell which record it is. */
  trackingId: z.string().nullable(),
  recordType: z.string().nullable(),
  entryId: z.string(),
  state: z.enum(['pending', 'failing', 'done']),
  outcome: z.string().nullable(),
  attempts: z.number(),
  nextAttemptAt: z.string().nullable(),
  lastError: z.string().nullable(),
  createdAt: z.string(),
});
export type Delivery = z.infer<typeof DeliverySchema>;
