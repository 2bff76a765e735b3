import { z } from 'zod';
import { DuplicatesFoundAnnotationSchema } from './duplicates.js';

/** Every kind of action a record's log can hold (PROTOCOL 3.3). */
export const ACTION_TYPES = [
  'CREATE',
  'NOTIFY',
  'DECLARE',
  'UPDATE',
  'VALIDATE',
  'REGISTER',
  'REJECT',
  'ARCHIVE',
  'CORRECT',
  'PRINT_CERTIFICATE',
  'ASSIGN',
  'UNASSIGN',
  'APPROVE',
  'DECLINE',
  'CUSTOM',
  'DUPLICATES_FOUND',
  'MARK_DUPLICATE',
  'MARK_NOT_DUPLICATE',
  /** Appended by the server only: a hook's request is overdue (PROTOCOL 8, flag `hook-overdue`). */
  'HOOK_OVERDUE',
] as const;
export const ActionTypeSchema = z.enum(ACTION_TYPES);
export type ActionType = z.infer<typeof ActionTypeSchema>;

/** Field id → value. A patch: objects deep-merge, `null` removes a key (PROTOCOL 5.2). */
export const DeclarationSchema = z.record(z.string().min(1).max(128), z.json());
export type Declaration = z.infer<typeof DeclarationSchema>;

export const AnnotationSchema = z.record(z.string().min(1).max(128), z.json());
export type Annotation = z.infer<typeof AnnotationSchema>;

/** RFC 3339 in UTC, e.g. 2026-11-22T09:30:00.000Z. */
export const TimestampSchema = z.iso.datetime({ error: 'must be an RFC 3339 time in UTC' });

export const RecordTypeIdSchema = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,63}$/, 'must be a record type id such as "birth"');

export const CustomTypeSchema = z
  .string()
  .regex(/^[A-Z][A-Z0-9_]{0,63}$/, 'must be an UPPER_SNAKE custom action id');

/** The fields an action may carry, before the per-type rules. Entries extend this shape. */
export const actionShape = {
  id: z.uuid(),
  recordId: z.uuid(),
  type: ActionTypeSchema,
  recordType: RecordTypeIdSchema.optional(),
  occurredAt: TimestampSchema,
  deviceSeq: z.int().positive().optional(),
  baseSeq: z.int().nonnegative().optional(),
  declaration: DeclarationSchema.optional(),
  annotation: AnnotationSchema.optional(),
  assignee: z.uuid().optional(),
  requestId: z.uuid().optional(),
  customType: CustomTypeSchema.optional(),
};

/**
 * The keys that identify an action as sent (everything but `deviceSeq`, which only orders it on
 * its device): what the server stores as an entry's body and compares when an id comes again.
 */
export const ACTION_BODY_KEYS = (Object.keys(actionShape) as (keyof typeof actionShape)[]).filter(
  (key): key is Exclude<keyof typeof actionShape, 'deviceSeq'> => key !== 'deviceSeq',
);

/** Keys that only some action types may carry, and which type needs each. */
const ONLY_FOR: Record<'assignee' | 'requestId' | 'customType', readonly ActionType[]> = {
  assignee: ['ASSIGN'],
  requestId: ['APPROVE', 'DECLINE', 'HOOK_OVERDUE'],
  customType: ['CUSTOM'],
};

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const unstorableText = (text: string) => text.includes('\u0000') || LONE_SURROGATE.test(text);

/**
 * The path to the first string (key or value) that the log cannot store: PostgreSQL's jsonb and
 * text refuse U+0000, and an unpaired surrogate is not Unicode text.
 */
function unstorable(value: unknown, path: (string | number)[]): (string | number)[] | null {
  if (typeof value === 'string') return unstorableText(value) ? path : null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = unstorable(value[i], [...path, i]);
      if (found) return found;
    }
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, inner] of Object.entries(value)) {
      if (unstorableText(key)) return [...path, key];
      const found = unstorable(inner, [...path, key]);
      if (found) return found;
    }
  }
  return null;
}

/** PROTOCOL 7: the most an action may weigh serialized, and its annotation within it. */
export const MAX_ACTION_BYTES = 64 * 1024;
export const MAX_ANNOTATION_BYTES = 16 * 1024;

/** The UTF-8 length of a string, without encoding it. */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff) {
      bytes += 4; // a surrogate pair: one four-byte character
      i += 1;
    } else bytes += 3;
  }
  return bytes;
}

function sizeIssue(bytes: number, limit: number, what: string): string {
  return `${what} is ${Math.ceil(bytes / 1024)} KiB serialized; at most ${limit / 1024} KiB is accepted`;
}
const collectorText = z.string().trim().min(1, 'must not be empty').max(200);

/** What PRINT_CERTIFICATE carries (PROTOCOL 11): which template, and who collected the paper. */
export const PrintAnnotationSchema = z.object({
  templateId: z.string().regex(/^[a-z][a-z0-9-]{0,63}$/, 'must be a template id'),
  language: z.string().max(16).optional(),
  collector: z.strictObject({
    relationship: collectorText,
    name: collectorText,
    idType: collectorText,
    idNumber: collectorText,
  }),
});
export type PrintAnnotation = z.infer<typeof PrintAnnotationSchema>;

/** An action as a client sends it (PROTOCOL 3.1). Unknown keys are refused. */
export const ActionSchema = z.strictObject(actionShape).superRefine((action, ctx) => {
  if (action.type === 'CREATE' && action.recordType === undefined) {
    ctx.addIssue({ code: 'custom', path: ['recordType'], message: 'is required on CREATE' });
  }
  for (const [key, types] of Object.entries(ONLY_FOR) as [keyof typeof ONLY_FOR, ActionType[]][]) {
    const present = action[key] !== undefined;
    const expected = types.includes(action.type);
    if (expected && !present) {
      ctx.addIssue({ code: 'custom', path: [key], message: `is required on ${action.type}` });
    } else if (!expected && present) {
      ctx.addIssue({
        code: 'custom',
        path: [key],
        message: `is only allowed on ${types.join(' and ')}`,
      });
    }
  }
  for (const key of ['declaration', 'annotation'] as const) {
    const path = unstorable(action[key], [key]);
    if (path) {
      ctx.addIssue({
        code: 'custom',
        path,
        message: 'holds a NUL character or an unpaired surrogate, which cannot be stored',
      });
    }
  }
  const bytes = utf8Length(JSON.stringify(action));
  if (bytes > MAX_ACTION_BYTES) {
    ctx.addIssue({
      code: 'custom',
      path: [],
      message: sizeIssue(bytes, MAX_ACTION_BYTES, 'the action'),
    });
  }
  if (action.annotation !== undefined) {
    const annotationBytes = utf8Length(JSON.stringify(action.annotation));
    if (annotationBytes > MAX_ANNOTATION_BYTES) {
      ctx.addIssue({
        code: 'custom',
        path: ['annotation'],
        message: sizeIssue(annotationBytes, MAX_ANNOTATION_BYTES, 'the annotation'),
      });
    }
  }
  if (action.type === 'DUPLICATES_FOUND') {
    const found = DuplicatesFoundAnnotationSchema.safeParse(action.annotation ?? {});
    for (const issue of found.success ? [] : found.error.issues) {
      ctx.addIssue({
        code: 'custom',
        path: ['annotation', ...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))],
        message: issue.message,
      });
    }
  }
  if (action.type === 'MARK_DUPLICATE') {
    const duplicateOf = action.annotation?.['duplicateOf'];
    if (typeof duplicateOf !== 'string' || !z.uuid().safeParse(duplicateOf).success) {
      ctx.addIssue({
        code: 'custom',
        path: ['annotation', 'duplicateOf'],
        message: 'MARK_DUPLICATE names the record it duplicates (a record id)',
      });
    }
  }
  if (
    action.type === 'REJECT' ||
    action.type === 'ARCHIVE' ||
    action.type === 'MARK_DUPLICATE' ||
    action.type === 'MARK_NOT_DUPLICATE'
  ) {
    const reason = action.annotation?.['reason'];
    if (typeof reason !== 'string' || reason.trim() === '') {
      ctx.addIssue({
        code: 'custom',
        path: ['annotation', 'reason'],
        message: `a reason is required on ${action.type}`,
      });
    }
  }
  if (action.type === 'PRINT_CERTIFICATE') {
    const parsed = PrintAnnotationSchema.safeParse(action.annotation ?? {});
    for (const issue of parsed.error?.issues ?? []) {
      ctx.addIssue({ code: 'custom', path: ['annotation', ...issue.path], message: issue.message });
    }
  }
});
export type Action = z.infer<typeof ActionSchema>;
