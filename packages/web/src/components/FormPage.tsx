import {
  conditionHolds,
  type Declaration,
  type FieldError,
  type Page,
  type RegistryConfig,
} from '@registra/core';
import { isPathOf, visibleFields, type FieldValue } from '../form/declaration.js';
import { FieldInput } from './fields/FieldInput.js';

/** One page of a form: its visible fields, each with its errors and required marker. */
export function FormPage({
  page,
  values,
  declaration,
  errors,
  editable,
  config,
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
  config: RegistryConfig;
  onChange: (fieldId: string, value: FieldValue | undefined) => void;
}) {
  const errorsOf = (fieldId: string) =>
    errors
      .filter((e) => isPathOf(e.path, fieldId))
      .map((e) =>
        e.path === fieldId ? e.message : `${e.path.slice(fieldId.length + 1)} ${e.message}`,
      );
  return (
    <div className="card">
      <h2>{page.title}</h2>
      {page.fields.some((f) => f.required || f.requiredIf) && (
        <p className="muted small">Fields marked * are required.</p>
      )}
      {visibleFields(page.fields, declaration).map((field) => (
        <FieldInput
          key={field.id}
          field={field}
          value={values[field.id]}
          config={config}
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
