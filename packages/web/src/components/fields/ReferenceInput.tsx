import type { Field, RecordState } from '@registra/core';
import { useState } from 'react';
import type { FieldValue } from '../../form/declaration.js';
import { useClient, useLoad } from '../../hooks/index.js';
import { groupTrackingId, type Words } from '../../words.js';

type ReferenceField = Extract<Field, { type: 'reference' }>;

/**
 * A link to other records, found by name or tracking id among the records of that type (the
 * server's search online, the device's own records always), chosen with one tap.
 */
export function ReferenceInput({
  field,
  value,
  words,
  disabled,
  describedBy,
  onChange,
}: {
  field: ReferenceField;
  value: FieldValue | undefined;
  words: Words;
  disabled: boolean;
  describedBy: string | undefined;
  onChange: (value: FieldValue | undefined) => void;
}) {
  const client = useClient();
  const { t } = words;
  const [text, setText] = useState('');
  const query = text.trim();
  const chosen = Array.isArray(value)
    ? value.filter((v): v is string => typeof v === 'string')
    : typeof value === 'string'
      ? [value]
      : [];
  const names = useLoad(
    () => Promise.all(chosen.map((id) => client.records.get(id).catch(() => null))),
    [chosen.join(',')],
  );
  const found = useLoad(
    async () =>
      query.length < 2
        ? []
        : (await client.records.search(query, { type: field.recordType, limit: 8 })).results,
    [query, field.recordType],
  );
  const kind = words.recordTypeLabel(field.recordType);
  const label = (record: RecordState) =>
    `${words.recordTitle(record)} · ${groupTrackingId(record.trackingId)}`;

  const choose = (id: string) => {
    const next = field.multiple ? [...chosen.filter((c) => c !== id), id] : [id];
    onChange(field.multiple ? next : next[0]);
    setText('');
  };
  const remove = (id: string) => {
    const next = chosen.filter((c) => c !== id);
    onChange(next.length === 0 ? undefined : field.multiple ? next : next[0]);
  };
  const results = found.state === 'ready' ? found.value.filter((r) => !chosen.includes(r.id)) : [];
  const searchId = `${field.id}-search`;

  return (
    <div className="reference" id={field.id} aria-describedby={describedBy}>
      {chosen.length > 0 && (
        <ul className="chosen" aria-label={t.chosen}>
          {chosen.map((id, i) => {
            const local = names.state === 'ready' ? names.value[i] : null;
            const name = local ? label(local.record) : t.notOnThisDevice(id);
            return (
              <li key={id}>
                <a href={`#/records/${id}`}>{name}</a>
                {!disabled && (
                  <button type="button" className="small-button" onClick={() => remove(id)}>
                    {t.remove(local ? words.recordTitle(local.record) : '')}
                  </button>
                )}
              </li>
            );
          })}
        </ul>
      )}
      {!disabled && (field.multiple || chosen.length === 0) && (
        <>
          <label htmlFor={searchId} className="small">
            {t.findRecord(kind)}
          </label>
          <input
            id={searchId}
            type="search"
            autoComplete="off"
            value={text}
            onChange={(e) => setText(e.target.value)}
          />
          {query.length >= 2 && found.state === 'ready' && (
            <ul className="picker" aria-live="polite">
              {results.length === 0 && <li className="muted small">{t.noMatch}</li>}
              {results.map((record) => (
                <li key={record.id}>
                  <button
                    type="button"
                    className="pick"
                    data-testid="reference-option"
                    onClick={() => choose(record.id)}
                  >
                    {label(record)}
                  </button>
                </li>
              ))}
            </ul>
          )}
        </>
      )}
    </div>
  );
}
