import type { ActionType, Declaration } from '../contracts/action.js';
import { toFieldErrors, type FieldError } from '../contracts/problem.js';
import type { LocationIndex } from '../config/locations.js';
import { COMPLETE_ACTIONS, declarableFields, formFields } from '../config/lookup.js';
import type { Condition, Field, RecordTypeConfig } from '../config/schema.js';
import { conditionHoldsOn } from './conditions.js';
import { fieldValueSchema, isPresent } from './fields.js';
import { mergeDeclaration, nestDeclaration, type JsonObject } from './merge.js';

export interface DeclarationCheck {
  recordType: RecordTypeConfig;
  locations: LocationIndex;
  /** The action carrying the patch; for an APPROVE, the type of the request it confirms. */
  action: ActionType;
  customType?: string;
  /** The record's declaration before the patch. */
  current: Declaration;
  patch: Declaration;
  /** YYYY-MM-DD in the configuration's time zone, for `notFuture` dates. */
  today: string;
  /**
   * The day (same form) the action was taken, from its `occurredAt`, for `notPast` dates: a booking
   * made offline for tomorrow stays valid when it syncs three days later. Default: `today`.
   */
  actedOn?: string;
}

export type DeclarationVerdict =
  { ok: true; declaration: Declaration } | { ok: false; errors: FieldError[] };

/**
 * Validates a declaration patch against the form: the same code runs on the device before an
 * action is saved and on the server before it is appended.
 */
export function validateDeclaration(check: DeclarationCheck): DeclarationVerdict {
  const { recordType, patch } = check;
  const fields = formFields(recordType);
  const allowed = declarableFields(recordType, check.action, check.customType);
  const errors: FieldError[] = [];

  for (const fieldId of Object.keys(patch)) {
    if (!fields.has(fieldId)) {
      errors.push({ path: fieldId, message: `is not a field of ${recordType.id}` });
    } else if (!allowed.has(fieldId)) {
      errors.push({ path: fieldId, message: `cannot be changed by ${check.action}` });
    }
  }
  if (errors.length > 0) return { ok: false, errors };

  const merged = mergeDeclaration(check.current, patch);
  for (const fieldId of Object.keys(patch)) {
    const value = merged[fieldId];
    if (value === undefined) continue;
    errors.push(...valueErrors(fields.get(fieldId) as Field, value, check));
  }

  const complete = COMPLETE_ACTIONS.has(check.action);
  let nested: JsonObject | undefined; // the merged declaration as conditions read it, made once
  const holds = (condition: Condition) =>
    conditionHoldsOn(condition, (nested ??= nestDeclaration(merged)));
  for (const field of fields.values()) {
    const present = isPresent(merged[field.id]);
    const visible = !field.showIf || holds(field.showIf);
    if (!visible) {
      if (merged[field.id] !== undefined) {
        errors.push({ path: field.id, message: 'is hidden by its condition and must be empty' });
      }
    } else if (
      complete &&
      !present &&
      (field.required || (field.requiredIf !== undefined && holds(field.requiredIf)))
    ) {
      errors.push({ path: field.id, message: 'is required' });
    }
  }

  return errors.length > 0 ? { ok: false, errors } : { ok: true, declaration: merged };
}

function valueErrors(field: Field, value: unknown, check: DeclarationCheck): FieldError[] {
  const parsed = fieldValueSchema(field, check.locations).safeParse(value);
  if (!parsed.success) return toFieldErrors(parsed.error, [field.id]);
  if (field.type === 'date' && typeof value === 'string') {
    if (field.notFuture && value > check.today) {
      return [{ path: field.id, message: 'must not be in the future' }];
    }
    if (field.notPast && value < (check.actedOn ?? check.today)) {
      return [{ path: field.id, message: 'must not be in the past' }];
    }
  }
  return [];
}

/** Today's date (YYYY-MM-DD) in a time zone, for `DeclarationCheck.today`. */
export function dateIn(timeZone: string, at: Date): string {
  let format = dateFormats.get(timeZone);
  if (!format) {
    // Building a formatter costs far more than using one: keep one per zone.
    format = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
    });
    dateFormats.set(timeZone, format);
  }
  return format.format(at);
}

const dateFormats = new Map<string, Intl.DateTimeFormat>();

/** The record ids a declaration patch refers to, by reference field, with the type each must be. */
export function referencesIn(
  recordType: RecordTypeConfig,
  patch: Declaration,
): { path: string; id: string; recordType: string }[] {
  const found: { path: string; id: string; recordType: string }[] = [];
  for (const [fieldId, value] of Object.entries(patch)) {
    const field = formFields(recordType).get(fieldId);
    if (field?.type !== 'reference') continue;
    const ids = Array.isArray(value) ? value : [value];
    ids.forEach((id, i) => {
      if (typeof id === 'string')
        found.push({
          path: Array.isArray(value) ? `${fieldId}.${i}` : fieldId,
          id,
          recordType: field.recordType,
        });
    });
  }
  return found;
}
