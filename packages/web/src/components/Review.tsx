import type { Declaration, FieldError, RecordTypeConfig } from '@registra/core';
import { isPathOf, visibleFields } from '../form/declaration.js';
import type { Words } from '../words.js';
import { Answer } from './Answer.js';
import { Changes } from './Changes.js';

/** Every answer, page by page, before sending; errors listed with a way back to their page. */
export function Review({
  recordType,
  declaration,
  base,
  patch,
  words,
  errors,
  onEditPage,
}: {
  recordType: RecordTypeConfig;
  declaration: Declaration;
  /** The record's declaration before the form, for an existing record: the changes are shown. */
  base: Declaration | null;
  patch: Declaration;
  words: Words;
  errors: FieldError[];
  onEditPage: (page: number) => void;
}) {
  const { t } = words;
  const pageOf = (path: string) =>
    recordType.form.pages.findIndex((p) => p.fields.some((f) => isPathOf(path, f.id)));
  return (
    <div className="card review">
      <h2>{t.review}</h2>
      {errors.length > 0 ? (
        <div className="error" role="alert">
          {t.fixThese}
          <ul>
            {errors.map((e) => (
              <li key={e.path}>
                {words.errorSentence(e, recordType)}{' '}
                {pageOf(e.path) >= 0 && (
                  <button
                    type="button"
                    className="link-button"
                    onClick={() => onEditPage(pageOf(e.path))}
                  >
                    {t.goToPage}
                  </button>
                )}
              </li>
            ))}
          </ul>
        </div>
      ) : (
        <p className="muted">{t.checkAnswers}</p>
      )}
      {base && (
        <section className="review-page">
          <h3>{t.changesTitle}</h3>
          <Changes recordType={recordType} before={base} patch={patch} words={words} />
        </section>
      )}
      {recordType.form.pages.map((page, index) => (
        <section key={page.id} className="review-page">
          <div className="review-head">
            <h3>{words.pageTitle(page)}</h3>
            <button type="button" className="link-button" onClick={() => onEditPage(index)}>
              {t.changeLink}
              <span className="visually-hidden"> {words.pageTitle(page)}</span>
            </button>
          </div>
          <dl>
            {visibleFields(page.fields, declaration).map((field) => (
              <div key={field.id} className="pair">
                <dt>{words.fieldLabel(field)}</dt>
                <dd>
                  <Answer field={field} value={declaration[field.id]} words={words} />
                </dd>
              </div>
            ))}
          </dl>
        </section>
      ))}
    </div>
  );
}
