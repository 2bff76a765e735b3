import type { RecordState, RegistryConfig } from '@registra/core';
import { visibleFields } from '../form/declaration.js';
import { Answer } from './Answer.js';

/** The declaration by form page, with the configuration's labels; hidden fields left out. */
export function Declaration({ record, config }: { record: RecordState; config: RegistryConfig }) {
  const recordType = config.recordTypes.get(record.type);
  if (!recordType) return <p className="error">Unknown record type {record.type}.</p>;
  return (
    <div className="declaration">
      {recordType.form.pages.map((page) => (
        <section key={page.id} className="card">
          <h3>{page.title}</h3>
          <dl>
            {visibleFields(page.fields, record.declaration).map((field) => (
              <div key={field.id} className="pair">
                <dt>{field.label}</dt>
                <dd>
                  <Answer field={field} value={record.declaration[field.id]} config={config} />
                </dd>
              </div>
            ))}
          </dl>
        </section>
      ))}
    </div>
  );
}
