import type { RecordState } from '@registra/core';
import { visibleFields } from '../form/declaration.js';
import type { Words } from '../words.js';
import { Answer } from './Answer.js';

/** The declaration by form page, with the configuration's labels; hidden fields left out. */
export function Declaration({ record, words }: { record: RecordState; words: Words }) {
  const recordType = words.recordType(record.type);
  if (!recordType) return null;
  return (
    <div className="declaration">
      {recordType.form.pages.map((page) => (
        <section key={page.id} className="card">
          <h3>{words.pageTitle(page)}</h3>
          <dl>
            {visibleFields(page.fields, record.declaration).map((field) => (
              <div key={field.id} className="pair">
                <dt>{words.fieldLabel(field)}</dt>
                <dd>
                  <Answer field={field} value={record.declaration[field.id]} words={words} />
                </dd>
              </div>
            ))}
          </dl>
        </section>
      ))}
    </div>
  );
}
