import type { Field, RecordState, RegistryConfig } from '@registra/core';
import type { FieldValue } from '../../form/declaration.js';
import { useClient, useLoad } from '../../hooks/index.js';
import { recordTitle, recordTypeLabel } from '../../labels.js';

type ReferenceField = Extract<Field, { type: 'reference' }>;

/**
 * A link to other records: picked from the records of that type on this device; with none on
 * the device, a record id typed by hand.
 */
export function ReferenceInput({
  field,
  value,
  config,
  disabled,
  describedBy,
  onChange,
}: {
  field: ReferenceField;
  value: FieldValue | undefined;
  config: RegistryConfig;
  disabled: boolean;
  describedBy: string | undefined;
  onChange: (value: FieldValue | undefined) => void;
}) {
  const client = useClient();
  const known = useLoad(
    () => client.records.query({ type: field.recordType, limit: 500 }),
    [field.recordType],
  );
  const chosen = Array.isArray(value)
    ? value.filter((v): v is string => typeof v === 'string')
    : typeof value === 'string'
      ? [value]
      : [];
  const kind = recordTypeLabel(field.recordType, config).toLowerCase();
  const label = (record: RecordState) => `${recordTitle(record, config)} · ${record.trackingId}`;

  if (known.state === 'loading') return <p className="muted small">Loading the {kind} records…</p>;
  const records = known.state === 'ready' ? known.value : [];
  if (records.length === 0) {
    return (
      <>
        <span className="muted small">
          No {kind} record on this device yet: type the record id
          {field.multiple ? 's, separated by commas' : ''}.
        </span>
        <input
          id={field.id}
          aria-label={field.multiple ? field.label : undefined}
          value={chosen.join(', ')}
          disabled={disabled}
          aria-describedby={describedBy}
          onChange={(e) => {
            const ids = e.target.value.split(/[\s,]+/).filter(Boolean);
            onChange(ids.length === 0 ? undefined : field.multiple ? ids : ids[0]);
          }}
        />
      </>
    );
  }
  if (!field.multiple) {
    return (
      <select
        id={field.id}
        value={chosen[0] ?? ''}
        disabled={disabled}
        aria-describedby={describedBy}
        onChange={(e) => onChange(e.target.value || undefined)}
      >
        <option value="">Choose a {kind}…</option>
        {chosen[0] && !records.some((r) => r.id === chosen[0]) && (
          <option value={chosen[0]}>record {chosen[0]} (not on this device)</option>
        )}
        {records.map((record) => (
          <option key={record.id} value={record.id}>
            {label(record)}
          </option>
        ))}
      </select>
    );
  }
  const toggle = (id: string, on: boolean) => {
    const next = on ? [...chosen, id] : chosen.filter((c) => c !== id);
    onChange(next.length > 0 ? next : undefined);
  };
  return (
    <div className="choices" id={field.id} aria-describedby={describedBy}>
      {[...chosen.filter((id) => !records.some((r) => r.id === id)), ...records].map((entry) => {
        const id = typeof entry === 'string' ? entry : entry.id;
        const text =
          typeof entry === 'string' ? `record ${entry} (not on this device)` : label(entry);
        return (
          <label key={id} className="choice">
            <input
              type="checkbox"
              checked={chosen.includes(id)}
              disabled={disabled}
              onChange={(e) => toggle(id, e.target.checked)}
            />
            {text}
          </label>
        );
      })}
    </div>
  );
}
