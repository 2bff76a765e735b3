import type { Field, RegistryConfig } from '@registra/core';
import { display } from '../labels.js';
import { ReferenceLinks } from './ReferenceLinks.js';

/** One answer as a person reads it: labels for codes, linked records by name, "—" when empty. */
export function Answer({
  field,
  value,
  config,
}: {
  field: Field;
  value: unknown;
  config: RegistryConfig;
}) {
  if (field.type === 'reference' && value !== undefined && value !== null)
    return <ReferenceLinks value={value} config={config} />;
  return <>{display(value, field, config) || <span className="muted">—</span>}</>;
}
