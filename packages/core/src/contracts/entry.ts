import { z } from 'zod';
import { actionShape, TimestampSchema } from './action.js';

export const ENTRY_STATUSES = ['accepted', 'requested', 'rejected'] as const;
export const EntryStatusSchema = z.enum(ENTRY_STATUSES);
export type EntryStatus = z.infer<typeof EntryStatusSchema>;

/**
 * A log entry: the action as sent plus what the server decided (PROTOCOL 3.2).
 * The server-decided fields are always present, null when they do not apply.
 */
export const EntrySchema = z.strictObject({
  ...actionShape,
  seq: z.int().positive(),
  status: EntryStatusSchema,
  createdBy: z.string(),
  createdByRole: z.string(),
  createdAtLocation: z.string(),
  deviceId: z.uuid().nullable(),
  recordedAt: TimestampSchema,
  code: z.string().nullable(),
  message: z.string().nullable(),
  registrationNumber: z.string().nullable(),
  configVersion: z.string(),
});
export type Entry = z.infer<typeof EntrySchema>;

/**
 * What the fold needs of an entry. A device folds its own pending actions too, before the server
 * has recorded them, so the server-only fields are optional here.
 */
export type FoldEntry = Pick<
  Entry,
  | 'id'
  | 'recordId'
  | 'type'
  | 'seq'
  | 'status'
  | 'occurredAt'
  | 'createdBy'
  | 'createdAtLocation'
  | 'deviceId'
> &
  Partial<
    Pick<
      Entry,
      | 'recordType'
      | 'baseSeq'
      | 'declaration'
      | 'annotation'
      | 'assignee'
      | 'requestId'
      | 'customType'
      | 'registrationNumber'
    >
  > & { recordedAt?: string | null };
