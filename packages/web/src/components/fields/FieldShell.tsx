import type { Field } from '@registra/core';
import type { ReactNode } from 'react';
import type { Words } from '../../words.js';

/** A field's label (with the required marker), help, input and errors. */
export function FieldShell({
  field,
  words,
  required,
  errors,
  group = false,
  children,
}: {
  field: Field;
  words: Words;
  /** Required now: `required`, or `requiredIf` holding on the answers so far. */
  required: boolean;
  errors: string[] | undefined;
  /** Several inputs (name, address, references): a fieldset with a legend. */
  group?: boolean;
  children: ReactNode;
}) {
  const title = (
    <>
      {words.fieldLabel(field)}
      {required && (
        <span className="required" aria-hidden="true">
          {' '}
          *
        </span>
      )}
      {required && <span className="visually-hidden"> {words.t.required}</span>}
    </>
  );
  const help = field.help ? (
    <span className="help muted small" id={`${field.id}-help`}>
      {words.text(field, 'help')}
    </span>
  ) : null;
  if (group) {
    return (
      <fieldset className="field group" data-field={field.id}>
        <legend>{title}</legend>
        {help}
        {children}
        <FieldErrors id={field.id} errors={errors} />
      </fieldset>
    );
  }
  return (
    <div className="field" data-field={field.id}>
      <label htmlFor={field.id}>{title}</label>
      {help}
      {children}
      <FieldErrors id={field.id} errors={errors} />
    </div>
  );
}

export function FieldErrors({ id, errors }: { id: string; errors: string[] | undefined }) {
  if (!errors?.length) return null;
  return (
    <span id={`${id}-error`} className="field-error" role="alert">
      {errors.join(' ')}
    </span>
  );
}

/** `aria-describedby` of an input: its help and its errors. */
export function describedBy(field: Field, errors: string[] | undefined): string | undefined {
  const ids = [field.help ? `${field.id}-help` : '', errors?.length ? `${field.id}-error` : ''];
  return ids.filter(Boolean).join(' ') || undefined;
}
