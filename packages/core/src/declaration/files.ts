import type { RegistryConfig } from '../config/load.js';
import { formFields } from '../config/lookup.js';
import type { Field, RecordTypeConfig } from '../config/schema.js';
import type { Declaration } from '../contracts/action.js';
import { FileValueSchema, type FileValue } from './fields.js';

type FileField = Extract<Field, { type: 'file' }>;

/** A file a declaration patch names, by the path of its field. */
export interface FileReference extends FileValue {
  path: string;
}

/** The well-formed file values of a patch (the others fail validation), by field. */
export function filesIn(recordType: RecordTypeConfig, patch: Declaration): FileReference[] {
  const found: FileReference[] = [];
  for (const [fieldId, value] of Object.entries(patch)) {
    if (formFields(recordType).get(fieldId)?.type !== 'file') continue;
    const parsed = FileValueSchema.safeParse(value);
    if (parsed.success) found.push({ path: fieldId, ...parsed.data });
  }
  return found;
}

/** What an upload may be (PROTOCOL 9): its media types (null: any) and its largest size. */
export interface UploadRule {
  accept: readonly string[] | null;
  maxBytes: number;
}

/**
 * The rule for an upload: the named field's `accept` and `maxBytes`, or, when no field is named,
 * the union of every file field's `accept` and the largest `maxBytes`. Null when the named field
 * is not a file field, or when the registry has no file field at all.
 */
export function uploadRule(
  config: RegistryConfig,
  target?: { recordType: string; field: string },
): UploadRule | null {
  const fields: FileField[] = [];
  if (target) {
    const recordType = config.recordTypes.get(target.recordType);
    const field = recordType && formFields(recordType).get(target.field);
    if (field?.type === 'file') fields.push(field);
  } else {
    for (const recordType of config.recordTypes.values())
      for (const field of formFields(recordType).values())
        if (field.type === 'file') fields.push(field);
  }
  if (fields.length === 0) return null;
  const types = new Set<string>();
  let any = false;
  for (const field of fields) {
    if (field.accept) field.accept.forEach((type) => types.add(type));
    else any = true;
  }
  return {
    accept: any ? null : [...types],
    maxBytes: Math.max(...fields.map((field) => field.maxBytes)),
  };
}

/** Whether any record type of the configuration has a file field. */
export function hasFileFields(config: RegistryConfig): boolean {
  return uploadRule(config) !== null;
}
