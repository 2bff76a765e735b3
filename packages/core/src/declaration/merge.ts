import type { Declaration } from '../contracts/action.js';

type Json = Declaration[string];
export type JsonObject = { [key: string]: Json };

export function isPlainObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * PROTOCOL 5.2: objects merge key by key, arrays and scalars are replaced, `null` removes the key.
 * Returns a new object; neither input is changed.
 */
export function mergeDeclaration(base: Declaration, patch: Declaration): Declaration {
  return mergeObjects(base, patch);
}

function mergeObjects(base: JsonObject, patch: JsonObject): JsonObject {
  const result: JsonObject = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) {
      delete result[key];
    } else if (isPlainObject(value)) {
      const current = result[key];
      result[key] = mergeObjects(isPlainObject(current) ? current : {}, value);
    } else {
      result[key] = value;
    }
  }
  return result;
}

/** Structural equality of JSON values (key order ignored). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((item, i) => jsonEqual(item, b[i]));
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = Object.keys(a);
    return (
      keys.length === Object.keys(b).length &&
      keys.every((key) => Object.hasOwn(b, key) && jsonEqual(a[key], b[key]))
    );
  }
  return false;
}

/** `{"child.dob": x}` → `{child: {dob: x}}`, so that conditions can read fields with `var`. */
export function nestDeclaration(declaration: Declaration): JsonObject {
  const nested: JsonObject = {};
  for (const [fieldId, value] of Object.entries(declaration)) {
    const parts = fieldId.split('.');
    let node = nested;
    for (const part of parts.slice(0, -1)) {
      const next = node[part];
      if (!isPlainObject(next)) node[part] = {};
      node = node[part] as JsonObject;
    }
    node[parts[parts.length - 1] as string] = value;
  }
  return nested;
}
