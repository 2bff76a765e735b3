import type { Field } from '@registra/core';
import { partsOf, withPart, type FieldValue } from '../../form/declaration.js';
import type { Words } from '../../words.js';

/**
 * An address: province and district chosen from the configuration's locations (districts of the
 * chosen province only), village and street typed; ids `<field>.province` etc.
 */
export function AddressInput({
  field,
  value,
  words,
  disabled,
  onChange,
}: {
  field: Field;
  value: FieldValue | undefined;
  words: Words;
  disabled: boolean;
  onChange: (value: FieldValue | undefined) => void;
}) {
  const { config, t } = words;
  const parts = partsOf(value);
  const provinces = config.locations.all.filter((l) => l.type === 'province');
  const districts = config.locations.all.filter(
    (l) => l.type === 'district' && l.parentId === parts['province'],
  );
  return (
    <div className="parts">
      <div className="field">
        <label htmlFor={`${field.id}.province`}>{t.partLabels['province']}</label>
        <select
          id={`${field.id}.province`}
          value={parts['province'] ?? ''}
          disabled={disabled}
          onChange={(e) => {
            // Another province: the district chosen before is not in it.
            const next = withPart(value, 'province', e.target.value);
            onChange(next === undefined ? undefined : withPart(next, 'district', ''));
          }}
        >
          <option value="">{t.choose}</option>
          {provinces.map((l) => (
            <option key={l.id} value={l.id}>
              {l.name}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor={`${field.id}.district`}>{t.partLabels['district']}</label>
        <select
          id={`${field.id}.district`}
          value={parts['district'] ?? ''}
          disabled={disabled || !parts['province']}
          onChange={(e) => onChange(withPart(value, 'district', e.target.value))}
        >
          <option value="">{parts['province'] ? t.choose : t.chooseProvinceFirst}</option>
          {districts.map((l) => (
            <option key={l.id} value={l.id}>
              {l.name}
            </option>
          ))}
        </select>
      </div>
      {(['village', 'street'] as const).map((key) => (
        <div key={key} className="field">
          <label htmlFor={`${field.id}.${key}`}>{t.partLabels[key]}</label>
          <input
            id={`${field.id}.${key}`}
            value={parts[key] ?? ''}
            disabled={disabled}
            onChange={(e) => onChange(withPart(value, key, e.target.value))}
          />
        </div>
      ))}
    </div>
  );
}
