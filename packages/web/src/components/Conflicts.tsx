import type { LocalRecord } from '@registra/client';
import { formFields, type Entry, type Field } from '@registra/core';
import type { Words } from '../words.js';

/** Fields two people changed from the same starting point: both values, read from the log. */
export function Conflicts({ local, words }: { local: LocalRecord; words: Words }) {
  const { t } = words;
  const { record, entries } = local;
  if (record.conflicts.length === 0) return null;
  const recordType = words.recordType(record.type);
  const fields: ReadonlyMap<string, Field> = recordType ? formFields(recordType) : new Map();
  return (
    <section className="card conflict" role="alert" data-testid="conflicts">
      <h2>{t.conflicting}</h2>
      <p className="small">{t.conflictHelp}</p>
      <ul>
        {record.conflicts.map((conflict) => {
          const field = fields.get(conflict.field);
          return (
            <li key={conflict.field}>
              <strong>{field ? words.fieldLabel(field) : conflict.field}</strong>
              <ul className="small">
                {[...conflict.entries]
                  .sort((a, b) => a - b)
                  .map((seq, i, all) => {
                    const entry = entries.find((e) => e.seq === seq);
                    const value = words.display(valueSetBy(entry, entries, conflict.field), field);
                    return (
                      <li key={seq}>
                        {i === all.length - 1 ? t.kept : t.overwritten}: “{value || '—'}” —{' '}
                        {t.change(seq)}
                        {entry &&
                          ` ${t.by(words.person(entry.createdBy))}, ${words.when(entry.recordedAt)}`}
                      </li>
                    );
                  })}
              </ul>
            </li>
          );
        })}
      </ul>
    </section>
  );
}

/** The value an entry set; an APPROVE sets what the request it confirms carried. */
function valueSetBy(entry: Entry | undefined, entries: Entry[], field: string): unknown {
  if (!entry) return undefined;
  if (entry.declaration && field in entry.declaration) return entry.declaration[field];
  const request = entry.requestId ? entries.find((e) => e.id === entry.requestId) : undefined;
  return request?.declaration?.[field];
}
