import type { ActionType } from '../contracts/action.js';
import type {
  ActionConfig,
  AssignConfig,
  CustomActionConfig,
  Field,
  RecordTypeConfig,
} from './schema.js';

/** Actions that may carry a declaration: every form field unless the configuration narrows it. */
export const DECLARATION_ACTIONS: ReadonlySet<ActionType> = new Set([
  'CREATE',
  'NOTIFY',
  'DECLARE',
  'UPDATE',
  'VALIDATE',
  'REGISTER',
  'CORRECT',
]);

/** Actions after which the declaration must be complete (required fields present). */
export const COMPLETE_ACTIONS: ReadonlySet<ActionType> = new Set([
  'DECLARE',
  'REGISTER',
  'CORRECT',
]);

const fieldCache = new WeakMap<RecordTypeConfig, ReadonlyMap<string, Field>>();

/** The record type's form fields by id, in form order. */
export function formFields(recordType: RecordTypeConfig): ReadonlyMap<string, Field> {
  let fields = fieldCache.get(recordType);
  if (!fields) {
    fields = new Map(
      recordType.form.pages.flatMap((page) => page.fields.map((field) => [field.id, field])),
    );
    fieldCache.set(recordType, fields);
  }
  return fields;
}

export function customActionOf(
  recordType: RecordTypeConfig,
  customType: string | undefined,
): CustomActionConfig | undefined {
  return recordType.actions.CUSTOM.find((custom) => custom.id === customType);
}

export function assignConfigOf(recordType: RecordTypeConfig): AssignConfig | undefined {
  return recordType.actions.ASSIGN;
}

/**
 * The configuration of an action type on a record type, or undefined when the type does not
 * offer it. ASSIGN/UNASSIGN, APPROVE/DECLINE have their own rules (see workflow/allowed.ts).
 */
export function actionConfigOf(
  recordType: RecordTypeConfig,
  type: ActionType,
  customType?: string,
): ActionConfig | CustomActionConfig | undefined {
  switch (type) {
    case 'CUSTOM':
      return customActionOf(recordType, customType);
    case 'ASSIGN':
    case 'UNASSIGN':
    case 'APPROVE':
    case 'DECLINE':
    case 'DUPLICATES_FOUND':
    case 'MARK_DUPLICATE':
    case 'MARK_NOT_DUPLICATE':
    case 'HOOK_OVERDUE':
      return undefined;
    default:
      return recordType.actions[type];
  }
}

/** Field ids an action may carry in its declaration. */
export function declarableFields(
  recordType: RecordTypeConfig,
  type: ActionType,
  customType?: string,
): ReadonlySet<string> {
  const config = actionConfigOf(recordType, type, customType);
  if (config?.fields) return new Set(config.fields);
  if (DECLARATION_ACTIONS.has(type)) return new Set(formFields(recordType).keys());
  return new Set();
}

/** `REGISTER` → `register`; a CUSTOM action by its own id: `ATTEND` → `attend`. */
export function flagStem(type: ActionType, customType?: string): string {
  return (type === 'CUSTOM' && customType ? customType : type).toLowerCase().replace(/_/g, '-');
}

/**
 * Whether, and how, an action needs a confirmation (PROTOCOL 3.4), under the configuration as
 * loaded (hooks that are off already left out, config/load.ts): the permission a person needs to
 * decide it (the action's own when only a hook is named) and the confirming hook, if any.
 */
export function confirmationOf(
  recordType: RecordTypeConfig,
  type: ActionType,
  customType?: string,
): { permission: string; hook?: string } | undefined {
  const config = actionConfigOf(recordType, type, customType);
  const confirmation = config?.confirmation;
  if (!config || !confirmation) return undefined;
  const permission = confirmation.permission ?? config.permission;
  return confirmation.hook === undefined ? { permission } : { permission, hook: confirmation.hook };
}
