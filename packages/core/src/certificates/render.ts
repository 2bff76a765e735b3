import Mustache from 'mustache';
import type { CertificateConfig, CertificateTemplate } from '../config/certificates.js';
import type { RegistryConfig } from '../config/load.js';
import { formFields } from '../config/lookup.js';
import type { Field, RecordTypeConfig } from '../config/schema.js';
import type { RecordState } from '../contracts/record.js';
import { ADDRESS_PARTS, displayValue, NAME_PARTS } from '../declaration/display.js';

/** What a certificate shows besides the record: its QR code, or why it has none yet. */
export interface CertificateExtras {
  /** SVG markup of the QR code holding the credential; empty when there is no credential yet. */
  qr: string;
  /** A line under the QR code, e.g. "not yet verifiable" when printed offline. */
  notice: string;
  /** When it is printed (RFC 3339). */
  printedAt: string;
}

/** The record type's certificate configuration and one of its templates. */
export function certificateTemplateOf(
  config: Pick<RegistryConfig, 'document'>,
  recordType: string,
  templateId: string,
): { certificate: CertificateConfig; template: CertificateTemplate } | undefined {
  const certificate = config.document.certificates.find((c) => c.recordType === recordType);
  const template = certificate?.templates.find((t) => t.id === templateId);
  return certificate && template ? { certificate, template } : undefined;
}

/** The templates a record type offers (none: no certificates). */
export function certificateTemplatesOf(
  config: Pick<RegistryConfig, 'document'>,
  recordType: string,
): CertificateTemplate[] {
  return config.document.certificates.find((c) => c.recordType === recordType)?.templates ?? [];
}

/** Top-level names a template may use besides the record type's fields. */
const RESERVED = ['record', 'certificate', 'labels'] as const;

/**
 * A text that mustache prints as its display form and whose parts a template may also name:
 * `{{informant.name}}` is "Ama Banda", `{{informant.name.surname}}` is "Banda".
 */
function composite(text: string, parts: Record<string, string>): Record<string, string> {
  return Object.assign(Object.create({ toString: () => text }) as object, parts);
}

function formatDate(iso: string, language: string, timeZone: string): string {
  const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(iso);
  const date = new Date(dateOnly ? `${iso}T00:00:00Z` : iso);
  if (Number.isNaN(date.getTime())) return iso;
  return new Intl.DateTimeFormat(language, {
    dateStyle: 'long',
    timeZone: dateOnly ? 'UTC' : timeZone,
  }).format(date);
}

function fieldText(
  field: Field,
  value: unknown,
  language: string,
  config: RegistryConfig,
): string | Record<string, string> {
  if (value === undefined || value === null) return '';
  if (field.type === 'date' && typeof value === 'string')
    return formatDate(value, language, config.document.timeZone);
  const text = displayValue(value, field, config);
  if ((field.type === 'name' || field.type === 'address') && typeof value === 'object') {
    const keys = field.type === 'name' ? NAME_PARTS : ADDRESS_PARTS;
    const raw = value as Record<string, unknown>;
    const parts: Record<string, string> = {};
    for (const key of keys) {
      const part = raw[key];
      if (typeof part !== 'string') continue;
      parts[key] = config.locations.get(part)?.name ?? part;
    }
    return composite(text, parts);
  }
  return text;
}

/** Puts `{"child.firstName": x}` at `view.child.firstName`, where mustache's dotted names look. */
function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1] as string] = value;
}

/** What a template's placeholders read: the record's fields, `record.*`, `certificate.*`, `labels.*`. */
export function certificateView(
  record: RecordState,
  recordType: RecordTypeConfig,
  config: RegistryConfig,
  language: string,
  extras: CertificateExtras,
): Record<string, unknown> {
  const view: Record<string, unknown> = {};
  const labels: Record<string, unknown> = {};
  for (const [id, field] of formFields(recordType)) {
    setPath(view, id, fieldText(field, record.declaration[id], language, config));
    setPath(labels, id, field.label);
  }
  const registeredAt = record.registered?.at ?? null;
  const office = config.locations.get(record.registered?.location ?? record.createdAtLocation);
  view['labels'] = labels;
  view['record'] = {
    registrationNumber: record.registrationNumber ?? '',
    trackingId: record.trackingId,
    type: recordType.label,
    registeredAt: registeredAt ? formatDate(registeredAt, language, config.document.timeZone) : '',
    office: office?.name ?? '',
  };
  view['certificate'] = {
    qr: extras.qr,
    notice: extras.notice,
    printedAt: formatDate(extras.printedAt, language, config.document.timeZone),
  };
  return view;
}

/** Paper sizes in millimetres, portrait. */
const PAGE_MM: Record<CertificateTemplate['pageSize'], [number, number]> = {
  A4: [210, 297],
  A5: [148, 210],
  A6: [105, 148],
  Letter: [215.9, 279.4],
  Legal: [215.9, 355.6],
};

/** The printed page of a template, in millimetres (for a preview at scale). */
export function certificatePageMm(template: CertificateTemplate): {
  width: number;
  height: number;
} {
  const [short, long] = PAGE_MM[template.pageSize];
  return template.orientation === 'landscape'
    ? { width: long, height: short }
    : { width: short, height: long };
}

const PAGE_CSS: Record<CertificateTemplate['pageSize'], string> = {
  A4: 'A4',
  A5: 'A5',
  A6: 'A6',
  Letter: 'letter',
  Legal: 'legal',
};

/**
 * The certificate as a whole HTML document: the template filled in (values HTML-escaped) with the
 * page size set. The server prints it to PDF; the web app shows the very same document as the
 * preview, and prints it itself when offline.
 */
export function certificateHtml(
  template: CertificateTemplate,
  language: string,
  record: RecordState,
  config: RegistryConfig,
  extras: CertificateExtras,
): string {
  const recordType = config.recordTypes.get(record.type);
  if (!recordType) throw new Error(`unknown record type ${record.type}`);
  const source = template.html[language] ?? template.html[template.languages[0] ?? ''] ?? '';
  const body = Mustache.render(
    source,
    certificateView(record, recordType, config, language, extras),
  );
  const lang = language.replace(/[^A-Za-z-]/g, '');
  return (
    `<!doctype html><html lang="${lang}"><head><meta charset="utf-8">` +
    `<title>${Mustache.escape(template.label[language] ?? template.id)}</title>` +
    `<style>@page{size:${PAGE_CSS[template.pageSize]} ${template.orientation};margin:0}html,body{margin:0}` +
    `svg.qr{display:block;width:100%;height:auto}</style></head><body>${body}</body></html>`
  );
}

type Token = [string, string, number, number, Token[]?];

/** Every name a mustache template reads, sections included; throws on a template that does not parse. */
function placeholders(source: string): string[] {
  const names: string[] = [];
  const walk = (tokens: Token[]) => {
    for (const token of tokens) {
      if (['name', '&', '#', '^'].includes(token[0])) names.push(token[1]);
      if (token[4]) walk(token[4]);
    }
  };
  walk(Mustache.parse(source) as Token[]);
  return names;
}

/**
 * What is wrong with a template's placeholders for this record type: names that are neither a
 * field, a part of a name or address field, nor one of `record.*`, `certificate.*`, `labels.*`.
 */
export function templateProblems(source: string, recordType: RecordTypeConfig): string[] {
  let names: string[];
  try {
    names = placeholders(source);
  } catch (error) {
    return [`is not a valid template: ${error instanceof Error ? error.message : String(error)}`];
  }
  const fields = formFields(recordType);
  const known = (name: string): boolean => {
    if (name === '.') return true;
    const [head, ...rest] = name.split('.');
    if (head === 'record')
      return ['registrationNumber', 'trackingId', 'type', 'registeredAt', 'office'].includes(
        rest.join('.'),
      );
    if (head === 'certificate') return ['qr', 'notice', 'printedAt'].includes(rest.join('.'));
    const path = head === 'labels' ? rest.join('.') : name;
    for (const [id, field] of fields) {
      if (id === path || id.startsWith(`${path}.`)) return true;
      if (head === 'labels' || !path.startsWith(`${id}.`)) continue;
      const part = path.slice(id.length + 1);
      if (field.type === 'name' && (NAME_PARTS as readonly string[]).includes(part)) return true;
      if (field.type === 'address' && (ADDRESS_PARTS as readonly string[]).includes(part))
        return true;
    }
    return false;
  };
  return [...new Set(names.filter((name) => !known(name)))].map(
    (name) =>
      `"{{${name}}}" is not a field of ${recordType.id}, nor record.*, certificate.* or labels.*`,
  );
}

export const CERTIFICATE_RESERVED_NAMES: readonly string[] = RESERVED;
