import { z } from 'zod';
import { EntrySchema } from './entry.js';
import { FieldErrorSchema } from './problem.js';

export const OUTCOMES = ['accepted', 'requested', 'rejected'] as const;
export const OutcomeSchema = z.enum(OUTCOMES);
export type Outcome = z.infer<typeof OutcomeSchema>;

/** The answer for one action, in /sync and /actions. */
export const ActionResultSchema = z.strictObject({
  id: z.string(),
  deviceSeq: z.int().optional(),
  outcome: OutcomeSchema,
  seq: z.int().nullable(),
  recordedAt: z.string().nullable(),
  code: z.string().nullable(),
  message: z.string().nullable(),
  errors: z.array(FieldErrorSchema).optional(),
  registrationNumber: z.string().nullable().optional(),
  duplicate: z.literal(true).optional(),
  /** POST /actions?wait=N: the APPROVE or DECLINE that decided this request within the wait. */
  decision: EntrySchema.optional(),
});
export type ActionResult = z.infer<typeof ActionResultSchema>;

/** PROTOCOL 7: the most actions one request may carry, and the most of them for one record. */
export const MAX_ACTIONS_PER_REQUEST = 1000;
export const MAX_ACTIONS_PER_RECORD = 200;

/**
 * Only the envelope is checked here: each action is validated on its own, so that one malformed
 * action is answered `rejected` with INVALID_INPUT while the rest of the batch goes on. How many
 * actions a request may carry is checked after (413 TOO_MANY_ACTIONS, not a 400): see
 * MAX_ACTIONS_PER_REQUEST; the body's byte limit bounds the array before that.
 */
export const SyncRequestSchema = z.strictObject({
  deviceId: z.uuid(),
  cursor: z.string().max(200).nullable(),
  actions: z.array(z.looseObject({ id: z.uuid(), deviceSeq: z.int().positive() })).default([]),
  limit: z.int().min(1).max(5000).default(500),
});
export type SyncRequest = z.infer<typeof SyncRequestSchema>;

export const SyncResponseSchema = z.strictObject({
  ackThrough: z.int().nonnegative(),
  results: z.array(ActionResultSchema),
  changes: z.array(EntrySchema),
  cursor: z.string(),
  hasMore: z.boolean(),
});
export type SyncResponse = z.infer<typeof SyncResponseSchema>;

export const ActionsRequestSchema = z.strictObject({
  actions: z.array(z.looseObject({ id: z.uuid() })).min(1),
});
export type ActionsRequest = z.infer<typeof ActionsRequestSchema>;

export const ActionsResponseSchema = z.strictObject({
  results: z.array(ActionResultSchema),
});
export type ActionsResponse = z.infer<typeof ActionsResponseSchema>;
