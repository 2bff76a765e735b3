import { CERTIFICATE_RESERVED_NAMES, templateProblems } from '../certificates/render.js';
import { formFields } from './lookup.js';
import type { Configuration } from './schema.js';

/** What the `certificates` list says of the rest of the configuration (PROTOCOL 11). */
export function checkCertificates(
  config: Configuration,
  report: (path: (string | number)[], message: string) => void,
): void {
  const recordTypes = new Map(config.recordTypes.map((t) => [t.id, t]));
  const covered = new Set<string>();
  const templateIds = new Set<string>();
  config.certificates.forEach((certificate, c) => {
    const at = ['certificates', c];
    const recordType = recordTypes.get(certificate.recordType);
    if (!recordType) {
      report([...at, 'recordType'], `unknown record type "${certificate.recordType}"`);
      return;
    }
    if (covered.has(recordType.id))
      report([...at, 'recordType'], `"${recordType.id}" already has a certificates entry`);
    covered.add(recordType.id);
    if (certificate.printableIn.includes('ARCHIVED'))
      report([...at, 'printableIn'], 'an archived record is never printed');
    const fields = formFields(recordType);
    for (const id of fields.keys()) {
      const head = id.split('.')[0] ?? '';
      if (CERTIFICATE_RESERVED_NAMES.includes(head))
        report([...at, 'recordType'], `field "${id}" hides the template name "${head}"; rename it`);
    }
    for (const [claim, field] of Object.entries(certificate.claims)) {
      if (!fields.has(field)) report([...at, 'claims', claim], `unknown field "${field}"`);
      // A credential is stored as issued: a sensitive value would sit in it in the clear.
      else if (fields.get(field)?.sensitive) {
        report([...at, 'claims', claim], `field "${field}" is sensitive and cannot be a claim`);
      }
    }
    const actions = new Set<string>([
      ...Object.keys(recordType.actions).filter((a) => a !== 'CUSTOM'),
      ...recordType.actions.CUSTOM.map((custom) => custom.id),
    ]);
    certificate.revokedBy.forEach((action, a) => {
      if (!actions.has(action))
        report([...at, 'revokedBy', a], `"${recordType.id}" offers no action "${action}"`);
    });
    certificate.templates.forEach((template, t) => {
      const path = [...at, 'templates', t];
      if (templateIds.has(template.id))
        report([...path, 'id'], `duplicate template id "${template.id}"`);
      templateIds.add(template.id);
      for (const language of template.languages) {
        if (!template.label[language]) report([...path, 'label'], `has no label in "${language}"`);
        const html = template.html[language];
        if (html === undefined) {
          report([...path, 'html'], `has no HTML in "${language}"`);
          continue;
        }
        for (const problem of templateProblems(html, recordType))
          report([...path, 'html', language], problem);
      }
      for (const language of Object.keys(template.html)) {
        if (!template.languages.includes(language))
          report(
            [...path, 'html', language],
            `"${language}" is not one of the template's languages`,
          );
      }
    });
  });
}
