import {
  actionConfigOf,
  dateIn,
  holds,
  type ActionType,
  type Field,
  type Principal,
  type RecordTypeConfig,
} from '@registra/core';
import type { FieldValue } from '../../form/declaration.js';
import type { Words } from '../../words.js';
import { AddressInput } from './AddressInput.js';
import { describedBy, FieldShell } from './FieldShell.js';
import { FileInput } from './FileInput.js';
import { NameInput } from './NameInput.js';
import { ReferenceInput } from './ReferenceInput.js';

export interface FieldInputProps {
  field: Field;
  value: FieldValue | undefined;
  words: Words;
  principal: Principal;
  action: ActionType;
  recordType: RecordTypeConfig | undefined;
  /** This field's errors, as sentences. */
  errors: string[];
  /** Required now (`required`, or `requiredIf` holding on the answers so far). */
  required: boolean;
  /** The action does not carry this field: shown, not editable. */
  disabled: boolean;
  onChange: (value: FieldValue | undefined) => void;
}

/** One form field by its configured type; the input's id is the field id. */
export function FieldInput(props: FieldInputProps) {
  const { field, value, words, errors, required, disabled, onChange } = props;
  const { t, config } = words;
  const described = describedBy(field, errors);
  const invalid = errors.length > 0 || undefined;
  const text = typeof value === 'string' || typeof value === 'number' ? String(value) : '';
  const set = (raw: string) => onChange(raw === '' ? undefined : raw);
  const common = {
    id: field.id,
    disabled,
    'aria-describedby': described,
    'aria-invalid': invalid,
    'aria-required': required || undefined,
  };
  const shell = { field, words, required, errors };

  switch (field.type) {
    case 'checkbox':
      return (
        <div className="field checkbox" data-field={field.id}>
          <input
            {...common}
            type="checkbox"
            checked={value === true}
            onChange={(e) => onChange(e.target.checked)}
          />
          <label htmlFor={field.id}>{words.fieldLabel(field)}</label>
          {errors.length > 0 && (
            <span id={`${field.id}-error`} className="field-error" role="alert">
              {errors.join(' ')}
            </span>
          )}
        </div>
      );
    case 'name':
      return (
        <FieldShell {...shell} group>
          <NameInput {...props} />
        </FieldShell>
      );
    case 'address':
      return (
        <FieldShell {...shell} group>
          <AddressInput {...props} />
        </FieldShell>
      );
    case 'reference':
      return (
        <FieldShell {...shell} group>
          <ReferenceInput {...props} field={field} describedBy={described} />
        </FieldShell>
      );
    case 'file':
      return (
        <FieldShell {...shell} group>
          <FileInput {...props} field={field} describedBy={described} />
        </FieldShell>
      );
    case 'number':
      return (
        <FieldShell {...shell}>
          <input
            {...common}
            type="number"
            inputMode="decimal"
            step="any"
            value={text}
            onChange={(e) => onChange(e.target.value === '' ? undefined : Number(e.target.value))}
          />
        </FieldShell>
      );
    case 'time':
      // The browser's time picker: 9:30 is entered as it is said and kept as 09:30.
      return (
        <FieldShell {...shell}>
          <input {...common} type="time" value={text} onChange={(e) => set(e.target.value)} />
        </FieldShell>
      );
    case 'date': {
      // The picker offers only the days the rules accept; validation still says why on typing.
      const today = dateIn(config.document.timeZone, new Date());
      const min = [field.min, field.notPast ? today : undefined].filter(Boolean).sort().pop();
      const max = [field.max, field.notFuture ? today : undefined].filter(Boolean).sort().shift();
      return (
        <FieldShell {...shell}>
          <input
            {...common}
            type="date"
            value={text}
            min={min}
            max={max}
            onChange={(e) => set(e.target.value)}
          />
        </FieldShell>
      );
    }
    case 'select':
    case 'location': {
      const options =
        field.type === 'select'
          ? field.options.map((o) => ({ value: o.value, label: words.text(o, 'label') }))
          : locationOptions(props, field);
      return (
        <FieldShell {...shell}>
          <select {...common} value={text} onChange={(e) => set(e.target.value)}>
            <option value="">{t.choose}</option>
            {options.map((o) => (
              <option key={o.value} value={o.value}>
                {o.label}
              </option>
            ))}
          </select>
        </FieldShell>
      );
    }
    case 'phone':
    case 'email':
    case 'idNumber':
    case 'text':
      return (
        <FieldShell {...shell}>
          <input
            {...common}
            type={field.type === 'email' ? 'email' : field.type === 'phone' ? 'tel' : 'text'}
            inputMode={INPUT_MODES[field.type]}
            autoComplete="off"
            value={text}
            onChange={(e) => set(e.target.value)}
          />
        </FieldShell>
      );
  }
}

/**
 * The places a location field offers: of its types, and, when it is limited to the jurisdiction,
 * only where the person may take the form's action (the rule core's decideAction checks).
 */
function locationOptions(
  { words, principal, action, recordType }: FieldInputProps,
  field: Extract<Field, { type: 'location' }>,
) {
  const permission = recordType ? actionConfigOf(recordType, action)?.permission : undefined;
  const { locations } = words.config;
  return locations.all
    .filter((l) => !field.locationTypes || field.locationTypes.includes(l.type))
    .filter(
      (l) =>
        !field.withinJurisdiction ||
        (permission !== undefined && holds(principal, permission, l.id, locations)),
    )
    .map((l) => ({ value: l.id, label: l.name }));
}

const INPUT_MODES = {
  phone: 'tel',
  email: 'email',
  idNumber: 'text',
  text: 'text',
} as const;
