import type { Declaration, FieldError, RecordTypeConfig, RegistryConfig } from '@registra/core';
import { isPathOf, visibleFields } from '../form/declaration.js';
import { fieldLabel } from '../labels.js';
import { Answer } from './Answer.js';

/** Every answer, page by page, before sending; errors listed with a way back to their page. */
export function Review({
  recordType,
  declaration,
  config,
  errors,
  onEditPage,
}: {
  recordType: RecordTypeConfig;
  declaration: Declaration;
  config: RegistryConfig;
  errors: FieldError[];
  onEditPage: (page: number) => void;
}) {
  const pageOf = (path: string) =>
    recordType.form.pages.findIndex((p) => p.fields.some((f) => isPathOf(path, f.id)));
  return (
    <div className="card review">
      <h2>Review</h2>
      {errors.length > 0 ? (
        <div className="error" role="alert">
          Fix these before sending:
          <ul>
            {errors.map((e) => (
              <li key={e.path}>
                {fieldLabel(e.path, recordType)}: {e.message}{' '}
                {pageOf(e.path) >= 0 && (
                  <button
                    type="button"
                    className="link-button"
                    onClick={() => onEditPage(pageOf(e.path))}
                  >
                    Go to the page
                  </button>
                )}
              </li>
            ))}
          </ul>
        </div>
      ) : (
        <p className="muted">Check every answer, then send.</p>
      )}
      {recordType.form.pages.map((page, index) => (
        <section key={page.id} className="review-page">
          <div className="review-head">
            <h3>{page.title}</h3>
            <button type="button" className="link-button" onClick={() => onEditPage(index)}>
              Change<span className="visually-hidden"> {page.title}</span>
            </button>
          </div>
          <dl>
            {visibleFields(page.fields, declaration).map((field) => (
              <div key={field.id} className="pair">
                <dt>{field.label}</dt>
                <dd>
                  <Answer field={field} value={declaration[field.id]} config={config} />
                </dd>
              </div>
            ))}
          </dl>
        </section>
      ))}
    </div>
  );
}
