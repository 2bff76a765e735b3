import type { Field } from '@registra/core';
import type { Words } from '../words.js';
import { ReferenceLinks } from './ReferenceLinks.js';

/** One answer as a person reads it: labels for codes, linked records by name, "—" when empty. */
export function Answer({ field, value, words }: { field: Field; value: unknown; words: Words }) {
  if (field.type === 'reference' && value !== undefined && value !== null)
    return <ReferenceLinks value={value} words={words} />;
  return <>{words.display(value, field) || <span className="muted">—</span>}</>;
}
