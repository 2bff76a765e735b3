import type { Field } from '@registra/core';
import { partsOf, withPart, type FieldValue } from '../../form/declaration.js';
import type { Words } from '../../words.js';

const PARTS = ['firstName', 'middleName', 'surname'] as const;

/** A person's name: first name(s), middle name, surname; ids `<field>.firstName` etc. */
export function NameInput({
  field,
  value,
  words,
  disabled,
  errors,
  onChange,
}: {
  field: Field;
  words: Words;
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
          <label htmlFor={`${field.id}.${key}`}>{words.t.partLabels[key]}</label>
          <input
            id={`${field.id}.${key}`}
            value={parts[key] ?? ''}
            disabled={disabled}
            autoComplete="off"
            aria-invalid={(errors.length > 0 && !parts[key]) || undefined}
            onChange={(e) => onChange(withPart(value, key, e.target.value))}
          />
        </div>
      ))}
    </div>
  );
}
