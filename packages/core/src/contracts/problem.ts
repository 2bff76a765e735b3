import { z } from 'zod';

/** Why an action was not accepted (PROTOCOL 4, rule 3). */
export const REJECTION_CODES = [
  'INVALID_INPUT',
  'NOT_FOUND',
  'RECORD_EXISTS',
  'ID_CONFLICT',
  'FORBIDDEN',
  'INVALID_DECLARATION',
  'INVALID_TRANSITION',
  'NOT_ASSIGNED',
  'ALREADY_ASSIGNED',
  'SELF_APPROVAL',
  'INVALID_ASSIGNEE',
  'FILE_MISSING',
  'DEPENDENCY_REJECTED',
] as const;
export const RejectionCodeSchema = z.enum(REJECTION_CODES);
export type RejectionCode = z.infer<typeof RejectionCodeSchema>;

/** Rejections that are kept in the log as `rejected` entries, when the record is in reach. */
export const STORED_REJECTIONS: ReadonlySet<RejectionCode> = new Set([
  'FORBIDDEN',
  'INVALID_DECLARATION',
  'INVALID_TRANSITION',
  'NOT_ASSIGNED',
  'ALREADY_ASSIGNED',
  'SELF_APPROVAL',
  'INVALID_ASSIGNEE',
  'FILE_MISSING',
  'DEPENDENCY_REJECTED',
]);

/** One problem with one part of the input: `path` is dot-separated (`actions.0.recordId`). */
export const FieldErrorSchema = z.strictObject({
  path: z.string(),
  message: z.string(),
});
export type FieldError = z.infer<typeof FieldErrorSchema>;

/** RFC 9457 problem details, with a machine `code` (PROTOCOL 1). */
export const ProblemSchema = z.looseObject({
  type: z.string(),
  title: z.string(),
  status: z.int(),
  detail: z.string(),
  code: z.string().regex(/^[A-Z][A-Z0-9_]*$/),
  errors: z.array(FieldErrorSchema).optional(),
});
export type Problem = z.infer<typeof ProblemSchema>;

/**
 * Paths name keys as they were sent; characters no database stores as text (U+0000, an unpaired
 * surrogate) are shown as U+FFFD, so that a rejection can be stored and answered again.
 */
const storable = (key: string) =>
  key
    .replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd')
    .split('\u0000')
    .join('\ufffd');

/** Zod issues as `{path, message}` in plain words. */
export function toFieldErrors(
  error: z.ZodError,
  prefix: readonly PropertyKey[] = [],
): FieldError[] {
  const at = (path: readonly PropertyKey[]) => storable([...prefix, ...path].map(String).join('.'));
  return error.issues.flatMap((issue) =>
    // One error per unknown key, at the key itself, so the path says where to look.
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ path: at([...issue.path, key]), message: 'is not a known key' }))
      : [{ path: at(issue.path), message: issue.message }],
  );
}
