import type { Configuration } from '../config/schema.js';
import { DCI_REGISTRATION_NUMBER, type DciConfig } from './schema.js';

const IDENTIFIERS = new Set(['idNumber', 'phone', 'email']);

/** What the DCI section says of the rest of the configuration. */
export function checkDci(
  config: Configuration,
  dci: DciConfig,
  report: (path: (string | number)[], message: string) => void,
): void {
  const at = (...path: (string | number)[]) => ['dci', ...path];
  const fieldsOf = (recordType: string) =>
    new Map(
      (config.recordTypes.find((t) => t.id === recordType)?.form.pages ?? []).flatMap((page) =>
        page.fields.map((field) => [field.id, field.type] as const),
      ),
    );
  const configured = new Set<string>();
  dci.recordTypes.forEach((entry, i) => {
    if (configured.has(entry.recordType))
      report(at('recordTypes', i, 'recordType'), `"${entry.recordType}" is configured twice`);
    configured.add(entry.recordType);
    if (!config.recordTypes.some((t) => t.id === entry.recordType)) {
      report(at('recordTypes', i, 'recordType'), `unknown record type "${entry.recordType}"`);
      return;
    }
    const fields = fieldsOf(entry.recordType);
    entry.identifiers.forEach(({ field }, j) => {
      if (field === DCI_REGISTRATION_NUMBER) return;
      const type = fields.get(field);
      if (!type || !IDENTIFIERS.has(type))
        report(
          at('recordTypes', i, 'identifiers', j, 'field'),
          `"${field}" is not an identifier field (idNumber, phone or email) of "${entry.recordType}"`,
        );
    });
    entry.queryFields.forEach((field, j) => {
      if (!fields.has(field))
        report(at('recordTypes', i, 'queryFields', j), `unknown field "${field}"`);
    });
  });
  const partners = new Set<string>();
  dci.partners.forEach((partner, p) => {
    if (partners.has(partner.id)) report(at('partners', p, 'id'), `duplicate id "${partner.id}"`);
    partners.add(partner.id);
    if (partner.id === dci.registryId)
      report(at('partners', p, 'id'), "a partner cannot have the registry's own id");
    if (
      partner.consumer !== undefined &&
      !config.exchange?.consumers.some((c) => c.id === partner.consumer)
    ) {
      report(
        at('partners', p, 'consumer'),
        `unknown exchange consumer "${partner.consumer}" (consents are the exchange's)`,
      );
    }
    for (const [recordType, fields] of Object.entries(partner.scopes)) {
      if (!configured.has(recordType)) {
        report(at('partners', p, 'scopes', recordType), `"${recordType}" does not configure DCI`);
        continue;
      }
      const known = fieldsOf(recordType);
      fields.forEach((field, f) => {
        if (!known.has(field))
          report(at('partners', p, 'scopes', recordType, f), `unknown field "${field}"`);
      });
    }
  });
}
