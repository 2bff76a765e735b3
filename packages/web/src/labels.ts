import {
  displayValue,
  formFields,
  type ActionType,
  type RecordState,
  type RecordTypeConfig,
  type RegistryConfig,
} from '@registra/core';

/** The record's title from its type's title fields, or its tracking id while those are empty. */
export function recordTitle(record: RecordState, config: RegistryConfig): string {
  const recordType = config.recordTypes.get(record.type);
  const parts = (recordType?.title ?? [])
    .map((field) => display(record.declaration[field], undefined, config))
    .filter(Boolean);
  return parts.length > 0 ? parts.join(' ') : `(no name yet) ${record.trackingId}`;
}

export function recordTypeLabel(type: string, config: RegistryConfig): string {
  return config.recordTypes.get(type)?.label ?? type;
}

/** A declaration value as a person reads it (core's displayValue). */
export const display = displayValue;

/** "Page · Field" for a field id, or for an error path such as `child.placeOfBirth.district`. */
export function fieldLabel(path: string, recordType: RecordTypeConfig | undefined): string {
  if (!recordType) return path;
  for (const page of recordType.form.pages) {
    for (const field of page.fields) {
      if (path === field.id) return `${page.title} · ${field.label}`;
      if (path.startsWith(`${field.id}.`)) {
        const part = path.slice(field.id.length + 1);
        return `${page.title} · ${field.label} (${PART_LABELS[part] ?? part})`;
      }
    }
  }
  return path;
}

export const PART_LABELS: Readonly<Record<string, string>> = {
  firstName: 'First name(s)',
  middleName: 'Middle name',
  surname: 'Surname',
  province: 'Province',
  district: 'District',
  village: 'Village',
  street: 'Street',
};

/** "Page · Field: value" lines of a declaration patch, in form order, for history and attention. */
export function describePatch(
  patch: Record<string, unknown> | undefined,
  recordType: RecordTypeConfig | undefined,
  config: RegistryConfig,
): string[] {
  if (!patch) return [];
  const fields = recordType ? [...formFields(recordType).keys()] : [];
  const order = (id: string) => {
    const at = fields.indexOf(id);
    return at === -1 ? fields.length : at;
  };
  return Object.keys(patch)
    .sort((a, b) => order(a) - order(b))
    .map((id) => {
      const value = patch[id];
      const field = recordType ? formFields(recordType).get(id) : undefined;
      return `${fieldLabel(id, recordType)}: ${value === null ? '(cleared)' : display(value, field, config)}`;
    });
}

/** An action's name as the configuration labels it ("Book"), or its type in words. */
export function actionLabel(
  action: { type: ActionType; customType?: string | undefined },
  config: RegistryConfig,
  recordType?: string,
): string {
  const actions = config.recordTypes.get(recordType ?? '')?.actions;
  if (action.type === 'CUSTOM') {
    const custom = actions?.CUSTOM.find((c) => c.id === action.customType);
    return custom?.label ?? action.customType ?? 'Custom';
  }
  const configured = actions?.[action.type as keyof typeof actions];
  if (configured && 'label' in configured && typeof configured.label === 'string')
    return configured.label;
  return typeWords(action.type);
}

/** A request waiting for a decision, as a noun: "Approve correction". */
export function requestNoun(
  request: { type: ActionType; customType?: string | undefined },
  config: RegistryConfig,
  recordType: string,
): string {
  return REQUEST_NOUNS[request.type] ?? actionLabel(request, config, recordType).toLowerCase();
}

const REQUEST_NOUNS: Partial<Record<ActionType, string>> = {
  NOTIFY: 'notification',
  DECLARE: 'declaration',
  UPDATE: 'update',
  VALIDATE: 'validation',
  REGISTER: 'registration',
  REJECT: 'rejection',
  ARCHIVE: 'archiving',
  CORRECT: 'correction',
  PRINT_CERTIFICATE: 'certificate printing',
};

/** `PRINT_CERTIFICATE` → "Print certificate". */
export function typeWords(type: string): string {
  return type.charAt(0) + type.slice(1).toLowerCase().replace(/_/g, ' ');
}

export function when(iso: string | null | undefined): string {
  if (!iso) return '';
  const date = new Date(iso);
  return date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** A message from the rules or the server as a sentence: "The record must be assigned…". */
export function sentence(message: string): string {
  const text = capitalized(message);
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

export function capitalized(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
