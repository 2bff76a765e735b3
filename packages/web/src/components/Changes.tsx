import { formFields, type Declaration, type RecordTypeConfig } from '@registra/core';
import type { Words } from '../words.js';

/** Each changed field, old → new: what an update or a correction would do to the record. */
export function Changes({
  recordType,
  before,
  patch,
  words,
  testId,
}: {
  recordType: RecordTypeConfig;
  before: Declaration;
  patch: Declaration;
  words: Words;
  testId?: string;
}) {
  const { t } = words;
  const fields = formFields(recordType);
  const ids = [...fields.keys()].filter((id) => id in patch);
  if (ids.length === 0) return <p className="muted small">{t.noChanges}</p>;
  const show = (id: string, value: unknown) => {
    const field = fields.get(id);
    if (value === undefined) return '—';
    if (value === null) return t.cleared;
    if (!field) return String(value);
    if (field.type === 'reference') return String(Array.isArray(value) ? value.length : 1);
    return words.display(value, field) || '—';
  };
  return (
    <table className="changes" data-testid={testId}>
      <thead>
        <tr>
          <th scope="col">{t.field}</th>
          <th scope="col">{t.before}</th>
          <th scope="col">{t.after}</th>
        </tr>
      </thead>
      <tbody>
        {ids.map((id) => {
          const field = fields.get(id);
          // An object patch (a name's parts) lands on the current value part by part.
          const current = before[id];
          const next =
            patch[id] !== null &&
            typeof patch[id] === 'object' &&
            !Array.isArray(patch[id]) &&
            current &&
            typeof current === 'object'
              ? { ...(current as object), ...(patch[id] as object) }
              : patch[id];
          return (
            <tr key={id}>
              <th scope="row">{field ? words.fieldLabel(field) : id}</th>
              <td className="old">{show(id, current)}</td>
              <td className="new">{show(id, next)}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
