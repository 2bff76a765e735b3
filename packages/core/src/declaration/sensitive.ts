import type { Declaration } from '../contracts/action.js';
import type { RecordState } from '../contracts/record.js';
import type { FoldCarry } from '../fold/fold.js';

/**
 * Where a record keeps the values of its declaration fields, so that the server can store the
 * sensitive ones encrypted (PROTOCOL 13) without knowing the shapes: an entry's `declaration`, the
 * state's, and the pending requests' entries in the fold's carry. Duplicate evidence leaves them
 * out (dedup/score.ts). Each function returns a copy with `change(field, value)` applied to every
 * sensitive field that holds a value (a `null`, which removes a key, is kept as it is).
 */
export type ChangeValue = (field: string, value: unknown) => unknown;

export function mapSensitiveDeclaration<D extends Declaration | undefined>(
  declaration: D,
  fields: ReadonlySet<string>,
  change: ChangeValue,
): D {
  if (!declaration || fields.size === 0) return declaration;
  let copy: Declaration | null = null;
  for (const field of fields) {
    const value = declaration[field];
    if (value === undefined || value === null) continue;
    copy ??= { ...declaration };
    copy[field] = change(field, value) as Declaration[string];
  }
  return (copy ?? declaration) as D;
}

/** An entry body (the action as sent) with its sensitive values changed. */
export function mapSensitiveBody<B extends { declaration?: Declaration | undefined }>(
  body: B,
  fields: ReadonlySet<string>,
  change: ChangeValue,
): B {
  if (!body.declaration || fields.size === 0) return body;
  const declaration = mapSensitiveDeclaration(body.declaration, fields, change);
  return declaration === body.declaration ? body : { ...body, declaration };
}

/** A state with its sensitive values changed. */
export function mapSensitiveState(
  state: RecordState,
  fields: ReadonlySet<string>,
  change: ChangeValue,
): RecordState {
  const declaration = mapSensitiveDeclaration(state.declaration, fields, change);
  return declaration === state.declaration ? state : { ...state, declaration };
}

/** A fold carry with the sensitive values of its pending requests changed. */
export function mapSensitiveCarry(
  carry: FoldCarry,
  fields: ReadonlySet<string>,
  change: ChangeValue,
): FoldCarry {
  if (fields.size === 0 || !carry.requests.some((r) => r.declaration)) return carry;
  return { ...carry, requests: carry.requests.map((r) => mapSensitiveBody(r, fields, change)) };
}
