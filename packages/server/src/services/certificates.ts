import {
  certificateHtml,
  certificateTemplateOf,
  holds,
  inReach,
  type RecordState,
} from '@registra/core';
import { LRUCache } from 'lru-cache';
import QRCode from 'qrcode';
import { findRecordState } from '../store/records.js';
import type { Caller, Registry } from './context.js';
import type { Credentials } from './credentials.js';
import type { PdfRenderer } from './pdf-renderer.js';
import { forbidden, notFound, ProblemError } from './problem.js';
import { openState } from './vault/open.js';

/**
 * The QR code of a credential as inline SVG. Error correction L: a credential is a long text, and
 * a lower level keeps the modules large enough to scan from paper.
 */
export async function credentialQr(credential: string): Promise<string> {
  const known = drawn.get(credential);
  if (known) return known;
  const svg = await QRCode.toString(credential, {
    type: 'svg',
    errorCorrectionLevel: 'L',
    margin: 2,
  });
  // crispEdges makes Chromium snap each one-module stroke to its own raster when printing, which
  // thins the rows apart until no reader finds the code: drawn plainly, the rows touch.
  const qr = svg
    .replace(' shape-rendering="crispEdges"', '')
    .replace('<svg ', '<svg class="qr" role="img" aria-label="QR code" ');
  drawn.set(credential, qr);
  return qr;
}

/** A credential's QR code costs about 10 ms to draw; a reprint reuses it (about 60 kB each). */
const drawn = new LRUCache<string, string>({ max: 500 });

/** Certificates (PROTOCOL 11): a record's PDF and its credential, for those who may print it. */
export class Certificates {
  constructor(
    private readonly registry: Registry,
    readonly credentials: Credentials,
    private readonly renderer: PdfRenderer,
  ) {}

  /**
   * The record, if the caller may print it: 404 out of reach (PROTOCOL 1), 403 without the print
   * permission where it lies, 409 while it is in no status the configuration prints.
   */
  async #printable(caller: Caller, recordId: string): Promise<RecordState> {
    const { config, db } = this.registry;
    const stored = await findRecordState(db, recordId);
    if (!stored || !inReach(caller.principal, config, stored)) throw notFound('no such record');
    const record = await openState(this.registry, stored);
    const recordType = config.recordTypes.get(record.type);
    const certificate = config.document.certificates.find((c) => c.recordType === record.type);
    if (!recordType || !certificate) throw notFound(`${record.type} records have no certificates`);
    const permission =
      recordType.actions.PRINT_CERTIFICATE?.permission ?? recordType.readPermission;
    if (!holds(caller.principal, permission, record.createdAtLocation, config.locations))
      throw forbidden(`you need the permission ${permission} to print this record's certificates`);
    if (!certificate.printableIn.includes(record.status)) {
      throw new ProblemError(
        409,
        'INVALID_TRANSITION',
        `a ${record.status.toLowerCase()} record has no certificate: it must be ${certificate.printableIn.join(' or ').toLowerCase()}`,
      );
    }
    return record;
  }

  /** The record's credential as a device keeps it for printing offline. */
  async credential(
    caller: Caller,
    recordId: string,
  ): Promise<{ credential: string; status: 'active'; issuedAt: string }> {
    const record = await this.#printable(caller, recordId);
    const credential = await this.credentials.forRecord(record);
    return {
      credential: credential.jwt,
      status: 'active',
      issuedAt: credential.issuedAt.toISOString(),
    };
  }

  async pdf(
    caller: Caller,
    recordId: string,
    templateId: string,
    language: string | undefined,
  ): Promise<{ pdf: Buffer; filename: string }> {
    const { config } = this.registry;
    const record = await this.#printable(caller, recordId);
    const found = certificateTemplateOf(config, record.type, templateId);
    if (!found)
      throw notFound(`no certificate template "${templateId}" for ${record.type} records`);
    const { template } = found;
    const lang = language ?? template.languages[0] ?? 'en';
    if (!template.languages.includes(lang)) {
      throw new ProblemError(400, 'INVALID_INPUT', `the template is not in "${lang}"`, {
        errors: [
          { path: 'querystring.lang', message: `must be one of ${template.languages.join(', ')}` },
        ],
      });
    }
    const credential = await this.credentials.forRecord(record);
    const html = certificateHtml(template, lang, record, config, {
      qr: await credentialQr(credential.jwt),
      notice: '',
      printedAt: this.registry.now().toISOString(),
    });
    const pdf = await this.renderer.render(html);
    const name = (record.registrationNumber ?? record.trackingId).replace(/[^A-Za-z0-9-]/g, '');
    return { pdf, filename: `${template.id}-${name}.pdf` };
  }
}
