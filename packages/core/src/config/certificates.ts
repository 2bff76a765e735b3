import { z } from 'zod';
import { RecordTypeIdSchema } from '../contracts/action.js';
import { RecordStatusSchema } from '../contracts/record.js';

/** A BCP 47 language tag as certificates use them: `en`, `fr`, `pt-BR`. */
export const LanguageSchema = z
  .string()
  .regex(/^[a-z]{2,3}(-[A-Z]{2})?$/, 'must be a language tag such as "en" or "pt-BR"');

export const PAGE_SIZES = ['A4', 'A5', 'A6', 'Letter', 'Legal'] as const;

/** HTML may be written as one string or as lines, which read better in a JSON file. */
const HtmlSchema = z
  .union([z.string().min(1), z.array(z.string()).min(1)])
  .transform((html) => (Array.isArray(html) ? html.join('\n') : html));

export const CertificateTemplateSchema = z.strictObject({
  id: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,63}$/, 'must be a template id such as "birth-certificate"'),
  /** The template's name per language. */
  label: z.record(LanguageSchema, z.string().min(1)),
  /** The languages it is printed in; the first is the default. */
  languages: z.array(LanguageSchema).min(1),
  pageSize: z.enum(PAGE_SIZES).default('A4'),
  orientation: z.enum(['portrait', 'landscape']).default('portrait'),
  /** Per language: HTML with mustache placeholders (see docs/certificates.md). */
  html: z.record(LanguageSchema, HtmlSchema),
});
export type CertificateTemplate = z.infer<typeof CertificateTemplateSchema>;

/**
 * A record type's certificates: the templates, and the claims of the verifiable credential issued
 * with them (claim name → field id). Certificates need a REGISTERED record.
 */
export const CertificateConfigSchema = z.strictObject({
  recordType: RecordTypeIdSchema,
  claims: z.record(
    z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/, 'must be a claim name'),
    z.string(),
  ),
  /**
   * Actions (action types, or custom action ids) after which earlier credentials are revoked.
   * ARCHIVE always revokes.
   */
  revokedBy: z.array(z.string().regex(/^[A-Z][A-Z0-9_]{0,63}$/)).default([]),
  /** The statuses a record can be printed in: REGISTERED, or e.g. DECLARED for a booking slip. */
  printableIn: z.array(RecordStatusSchema).min(1).default(['REGISTERED']),
  templates: z.array(CertificateTemplateSchema).min(1),
});
export type CertificateConfig = z.infer<typeof CertificateConfigSchema>;
