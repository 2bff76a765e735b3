import { FileValueSchema, type RecordState } from '@registra/core';
import { visibleFields } from '../form/declaration.js';
import { useClient, useObservable } from '../hooks/index.js';
import type { Words } from '../words.js';
import { FilePreview } from './FilePreview.js';

/**
 * The record's files, field by field: a thumbnail and a link that opens each, from the device when
 * it has them (offline too), else from the server.
 */
export function Attachments({ record, words }: { record: RecordState; words: Words }) {
  const client = useClient();
  const statuses = useObservable(client.files.status);
  const recordType = words.recordType(record.type);
  if (!recordType) return null;
  const files = recordType.form.pages
    .flatMap((page) => visibleFields(page.fields, record.declaration))
    .flatMap((field) => {
      const value = FileValueSchema.safeParse(record.declaration[field.id]);
      return field.type === 'file' && value.success ? [{ field, value: value.data }] : [];
    });
  if (files.length === 0) return null;
  return (
    <section className="card attachments" aria-labelledby="attachments-title">
      <h2 id="attachments-title">{words.t.attachments}</h2>
      <ul>
        {files.map(({ field, value }) => (
          <li key={field.id} data-field={field.id}>
            <span className="muted small">{words.fieldLabel(field)}</span>
            <FilePreview value={value} status={statuses[value.sha256]} words={words} />
          </li>
        ))}
      </ul>
    </section>
  );
}
