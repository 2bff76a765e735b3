import type { LocalRecord } from '@registra/client';
import { formFields, type Entry, type Field, type RegistryConfig } from '@registra/core';
import { display, when } from '../labels.js';

/** Fields two people changed from the same starting point: both values, read from the log. */
export function Conflicts({
  local,
  config,
  me,
}: {
  local: LocalRecord;
  config: RegistryConfig;
  me: string;
}) {
  const { record, entries } = local;
  if (record.conflicts.length === 0) return null;
  const recordType = config.recordTypes.get(record.type);
  const fields: ReadonlyMap<string, Field> = recordType ? formFields(recordType) : new Map();
  return (
    <section className="card conflict" role="alert" data-testid="conflicts">
      <h2>Conflicting changes</h2>
      <p className="small">
        Two people changed the same field from the same starting point. The later change is kept;
        the earlier value stays in the history.
      </p>
      <ul>
        {record.conflicts.map((conflict) => {
          const field = fields.get(conflict.field);
          return (
            <li key={conflict.field}>
              <strong>{field?.label ?? conflict.field}</strong>
              <ul className="small">
                {[...conflict.entries]
                  .sort((a, b) => a - b)
                  .map((seq, i, all) => {
                    const entry = entries.find((e) => e.seq === seq);
                    const value = display(
                      valueSetBy(entry, entries, conflict.field),
                      field,
                      config,
                    );
                    return (
                      <li key={seq}>
                        {i === all.length - 1 ? 'kept' : 'overwritten'}: “{value || '(empty)'}” —
                        change {seq}
                        {entry &&
                          ` by ${entry.createdBy === me ? 'you' : `${entry.createdByRole} …${entry.createdBy.slice(-4)}`}, ${when(entry.recordedAt)}`}
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
