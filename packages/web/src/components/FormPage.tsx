import {
  conditionHolds,
  type ActionType,
  type Declaration,
  type FieldError,
  type Page,
  type Principal,
} from '@registra/core';
import { isPathOf, visibleFields, type FieldValue } from '../form/declaration.js';
import type { Words } from '../words.js';
import { FieldInput } from './fields/FieldInput.js';

/** One page of a form: its visible fields, each with its errors and required marker. */
export function FormPage({
  page,
  values,
  declaration,
  errors,
  editable,
  action,
  words,
  principal,
  onChange,
}: {
  page: Page;
  /** What was typed, hidden fields included (they come back when shown again). */
  values: Declaration;
  /** The visible answers, which the conditions are evaluated on. */
  declaration: Declaration;
  errors: FieldError[];
  /** Fields the form's action may carry; the others are shown disabled. */
  editable: ReadonlySet<string>;
  action: ActionType;
  words: Words;
  principal: Principal;
  onChange: (fieldId: string, value: FieldValue | undefined) => void;
}) {
  const recordType = [...words.config.recordTypes.values()].find((type) =>
    type.form.pages.includes(page),
  );
  const errorsOf = (fieldId: string) =>
    errors.filter((e) => isPathOf(e.path, fieldId)).map((e) => words.errorSentence(e, recordType));
  return (
    <div className="card">
      <h2>{words.pageTitle(page)}</h2>
      {page.fields.some((f) => f.required || f.requiredIf) && (
        <p className="muted small">{words.t.requiredNote}</p>
      )}
      {visibleFields(page.fields, declaration).map((field) => (
        <FieldInput
          key={field.id}
          field={field}
          value={values[field.id]}
          words={words}
          principal={principal}
          action={action}
          recordType={recordType}
          errors={errorsOf(field.id)}
          required={
            field.required ||
            (field.requiredIf !== undefined && conditionHolds(field.requiredIf, declaration))
          }
          disabled={!editable.has(field.id)}
          onChange={(value) => onChange(field.id, value)}
        />
      ))}
    </div>
  );
}
