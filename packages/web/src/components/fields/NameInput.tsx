import type { Field } from '@registra/core';
import { partsOf, withPart, type FieldValue } from '../../form/declaration.js';
import { PART_LABELS } from '../../labels.js';

const PARTS = ['firstName', 'middleName', 'surname'] as const;

/** A person's name: first name(s), middle name, surname; ids `<field>.firstName` etc. */
export function NameInput({
  field,
  value,
  disabled,
  errors,
  onChange,
}: {
  field: Field;
  value: FieldValue | undefined;
  disabled: boolean;
  errors: string[];
  onChange: (value: FieldValue | undefined) => void;
}) {
  const parts = partsOf(value);
  return (
    <div className="parts">
      {PARTS.map((key) => (
        <div key={key} className="field">
          <label htmlFor={`${field.id}.${key}`}>{PART_LABELS[key]}</label>
          <input
            id={`${field.id}.${key}`}
            value={parts[key] ?? ''}
            disabled={disabled}
            autoComplete="off"
            aria-invalid={errors.some((e) => e.startsWith(`${key} `)) || undefined}
            onChange={(e) => onChange(withPart(value, key, e.target.value))}
          />
        </div>
      ))}
    </div>
  );
}
