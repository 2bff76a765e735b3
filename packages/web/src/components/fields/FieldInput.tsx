import { dateIn, type Field, type RegistryConfig } from '@registra/core';
import type { FieldValue } from '../../form/declaration.js';
import { AddressInput } from './AddressInput.js';
import { describedBy, FieldShell } from './FieldShell.js';
import { FileInput } from './FileInput.js';
import { NameInput } from './NameInput.js';
import { ReferenceInput } from './ReferenceInput.js';

export interface FieldInputProps {
  field: Field;
  value: FieldValue | undefined;
  config: RegistryConfig;
  /** Error messages of this field (a part's errors start with the part: "district is required"). */
  errors: string[];
  /** Required now (`required`, or `requiredIf` holding on the answers so far). */
  required: boolean;
  /** The action does not carry this field: shown, not editable. */
  disabled: boolean;
  onChange: (value: FieldValue | undefined) => void;
}

/** One form field by its configured type; the input's id is the field id. */
export function FieldInput(props: FieldInputProps) {
  const { field, value, config, errors, required, disabled, onChange } = props;
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
          <label htmlFor={field.id}>{field.label}</label>
          {errors.length > 0 && (
            <span id={`${field.id}-error`} className="field-error" role="alert">
              {errors.join('; ')}
            </span>
          )}
        </div>
      );
    case 'name':
      return (
        <FieldShell field={field} required={required} errors={errors} group>
          <NameInput {...props} />
        </FieldShell>
      );
    case 'address':
      return (
        <FieldShell field={field} required={required} errors={errors} group>
          <AddressInput {...props} />
        </FieldShell>
      );
    case 'reference':
      return (
        <FieldShell field={field} required={required} errors={errors} group={field.multiple}>
          <ReferenceInput {...props} field={field} describedBy={described} />
        </FieldShell>
      );
    case 'file':
      return (
        <FieldShell field={field} required={required} errors={errors}>
          <FileInput {...props} field={field} describedBy={described} />
        </FieldShell>
      );
    case 'number':
      return (
        <FieldShell field={field} required={required} errors={errors}>
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
    case 'date': {
      // The picker offers only the days the rules accept; validation still says why on typing.
      const today = dateIn(config.document.timeZone, new Date());
      const min = [field.min, field.notPast ? today : undefined].filter(Boolean).sort().pop();
      const max = [field.max, field.notFuture ? today : undefined].filter(Boolean).sort().shift();
      return (
        <FieldShell field={field} required={required} errors={errors}>
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
          ? field.options
          : config.locations.all
              .filter((l) => !field.locationTypes || field.locationTypes.includes(l.type))
              .map((l) => ({ value: l.id, label: l.name }));
      return (
        <FieldShell field={field} required={required} errors={errors}>
          <select {...common} value={text} onChange={(e) => set(e.target.value)}>
            <option value="">Choose…</option>
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
        <FieldShell field={field} required={required} errors={errors}>
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

const INPUT_MODES = {
  phone: 'tel',
  email: 'email',
  idNumber: 'text',
  text: 'text',
} as const;
