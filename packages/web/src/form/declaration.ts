import {
  conditionHolds,
  isPlainObject,
  jsonEqual,
  type Declaration,
  type Field,
  type RecordTypeConfig,
} from '@registra/core';

/** The fields a person sees now: those whose condition holds on the answers so far. */
export function visibleFields(fields: readonly Field[], declaration: Declaration): Field[] {
  return fields.filter((field) => !field.showIf || conditionHolds(field.showIf, declaration));
}

/** Values of fields whose condition does not hold are dropped: a hidden field carries no value. */
export function visibleOnly(values: Declaration, recordType: RecordTypeConfig): Declaration {
  let current = { ...values };
  // Conditions may depend on fields that are themselves hidden: settle in a few rounds.
  for (let round = 0; round < 5; round++) {
    const next = { ...current };
    for (const page of recordType.form.pages) {
      for (const field of page.fields) {
        if (field.showIf && !conditionHolds(field.showIf, current)) delete next[field.id];
      }
    }
    if (Object.keys(next).length === Object.keys(current).length) break;
    current = next;
  }
  return current;
}

/**
 * The patch from `base` to `next` as the fold merges it (PROTOCOL 5.2): changed keys, objects
 * patched part by part, null for what was removed.
 */
export function diff(base: Declaration, next: Declaration): Declaration {
  const patch: Declaration = {};
  for (const [key, value] of Object.entries(next)) {
    const before = base[key];
    if (jsonEqual(before, value)) continue;
    patch[key] = isPlainObject(before) && isPlainObject(value) ? diff(before, value) : value;
  }
  for (const key of Object.keys(base)) if (!(key in next)) patch[key] = null;
  return patch;
}

/** Whether an error path (`child.dob`, `child.placeOfBirth.district`) belongs to a field. */
export function isPathOf(path: string, fieldId: string): boolean {
  return path === fieldId || path.startsWith(`${fieldId}.`);
}

/** One answer: whatever JSON a field holds (text, number, boolean, name or address parts, ids). */
export type FieldValue = Declaration[string];

/** The parts of a name or an address answer. */
export function partsOf(value: FieldValue | undefined): Record<string, string> {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return {};
  const parts: Record<string, string> = {};
  for (const [key, part] of Object.entries(value)) if (typeof part === 'string') parts[key] = part;
  return parts;
}

/** The answer with one part set (or removed when empty); undefined when no part is left. */
export function withPart(
  value: FieldValue | undefined,
  key: string,
  part: string,
): FieldValue | undefined {
  const next = { ...partsOf(value) };
  if (part) next[key] = part;
  else delete next[key];
  return Object.keys(next).length > 0 ? next : undefined;
}
