import { z } from 'zod';
import { ActionTypeSchema, DeclarationSchema } from './action.js';
import { DuplicateCandidateSchema } from './duplicates.js';

export const RECORD_STATUSES = [
  'CREATED',
  'NOTIFIED',
  'DECLARED',
  'REGISTERED',
  'ARCHIVED',
] as const;
export const RecordStatusSchema = z.enum(RECORD_STATUSES);
export type RecordStatus = z.infer<typeof RecordStatusSchema>;

export const ActionMetaSchema = z.strictObject({
  at: z.string(),
  by: z.string(),
  location: z.string(),
});
export type ActionMeta = z.infer<typeof ActionMetaSchema>;

export const PendingRequestSchema = z.strictObject({
  id: z.uuid(),
  type: ActionTypeSchema,
  customType: z.string().optional(),
  requestedBy: z.string(),
  seq: z.int(),
  /** The hook that confirms it has not decided within its `overdueAfter` (flag `hook-overdue`). */
  overdue: z.literal(true).optional(),
});
export type PendingRequest = z.infer<typeof PendingRequestSchema>;

export const ConflictSchema = z.strictObject({
  field: z.string(),
  entries: z.array(z.int()),
});
export type Conflict = z.infer<typeof ConflictSchema>;

/** A record's current state: the fold of its log (PROTOCOL 5). */
export const RecordStateSchema = z.strictObject({
  id: z.uuid(),
  type: z.string(),
  status: RecordStatusSchema,
  flags: z.array(z.string()),
  declaration: DeclarationSchema,
  trackingId: z.string(),
  registrationNumber: z.string().nullable(),
  assignedTo: z.string().nullable(),
  printCount: z.int().nonnegative(),
  createdAt: z.string(),
  createdBy: z.string(),
  createdAtLocation: z.string(),
  updatedAt: z.string(),
  updatedBy: z.string(),
  seq: z.int(),
  declared: ActionMetaSchema.nullable(),
  registered: ActionMetaSchema.nullable(),
  pending: z.array(PendingRequestSchema),
  conflicts: z.array(ConflictSchema),
  /**
   * Suspected duplicates (PROTOCOL 10): present once the server looked and found some; emptied
   * when a reviewer decides they are not duplicates.
   */
  duplicates: z.array(DuplicateCandidateSchema).optional(),
});
export type RecordState = z.infer<typeof RecordStateSchema>;
