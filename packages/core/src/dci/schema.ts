import { z } from 'zod';
import { ActionTypeSchema, RecordTypeIdSchema } from '../contracts/action.js';
import { RecordStatusSchema } from '../contracts/record.js';

/**
 * The DCI / SPDCI registry API (issue 16): which record types answer partners' searches and
 * notify subscribers of life events, and the partners (machine clients of other programmes) with
 * their registered public keys, consent rule and data scopes. The wire format is the standard's
 * (`signature`, `header`, `message`); this is only what the configuration says about it.
 */

const FieldId = z
  .string()
  .regex(/^[a-z][A-Za-z0-9]*(\.[a-z][A-Za-z0-9]*)*$/, 'must be a field id such as "nationalId"');
const EnvName = z.string().regex(/^[A-Z][A-Z0-9_]*$/, 'must be an environment variable name');
/** A DCI code (sender ids, record types, id types, events): short, printable, no spaces. */
const Code = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9:._-]{0,98}$/, 'must be a short code');

/** The registration number, as an identifier type's field. */
export const DCI_REGISTRATION_NUMBER = '@registrationNumber';

export const DciRecordTypeSchema = z.strictObject({
  recordType: RecordTypeIdSchema,
  /** `reg_record_type` of its records in answers and notifications, e.g. "Person", "Group". */
  name: Code,
  /** Only records in these statuses are found or notified. */
  statuses: z.array(RecordStatusSchema).min(1).default(['REGISTERED']),
  /**
   * `idtype-value` queries: each identifier type (e.g. "UIN", "BRN") and the identifier field
   * (an idNumber, phone or email field) or `@registrationNumber` it is looked up in.
   */
  identifiers: z
    .array(
      z.strictObject({ type: Code, field: z.union([FieldId, z.literal('@registrationNumber')]) }),
    )
    .default([]),
  /** `expression` queries: the fields a predicate may name (the allow-list). */
  queryFields: z.array(FieldId).default([]),
  /** Life events notified to subscribers: the event (`reg_event_type`) and the actions making it. */
  events: z
    .array(z.strictObject({ event: Code, actions: z.array(ActionTypeSchema).min(1) }))
    .default([]),
});
export type DciRecordTypeConfig = z.infer<typeof DciRecordTypeSchema>;

/** A partner's registered public key: a public JWK (EC P-256, Ed25519 or RSA). */
const PublicJwkSchema = z
  .looseObject({
    kty: z.enum(['EC', 'OKP', 'RSA']),
    kid: z.string().min(1).max(200).optional(),
  })
  .refine((jwk) => !('d' in jwk), { message: 'must be a public key (no "d")' });

export const DciPartnerSchema = z
  .strictObject({
    /** Its `sender_id` in headers. */
    id: Code,
    label: z.string().min(1),
    publicJwk: PublicJwkSchema,
    /**
     * Where its callbacks go (`/registry/on-search`, `/registry/notify` are appended): a URL, or
     * the environment variable holding it (unset: no callbacks).
     */
    callbackUrl: z.url().optional(),
    callbackUrlEnv: EnvName.optional(),
    /**
     * Searches need the subject's consent to this exchange consumer (an approved, unexpired
     * consent, PROTOCOL 12), unless `aggregate` (a programme that may search by law).
     */
    consumer: z.string().min(1).optional(),
    aggregate: z.boolean().default(false),
    /** The fields it may receive, per record type; nothing else ever leaves. */
    scopes: z.record(RecordTypeIdSchema, z.array(FieldId)),
  })
  .refine((p) => p.aggregate || p.consumer !== undefined, {
    message: 'a partner needs a consent `consumer`, or `aggregate: true`',
  });
export type DciPartnerConfig = z.infer<typeof DciPartnerSchema>;

export const DciSchema = z.strictObject({
  /** This registry's id: `sender_id` of its answers. */
  registryId: Code,
  /** `reg_type` it answers to, e.g. "ns:org:RegistryType:Social". */
  registryType: Code,
  /** The environment variable holding the registry's private signing JWK (or a file path). */
  signingKeyEnv: EnvName.default('REGISTRA_DCI_SIGNING_KEY'),
  /** The most records one search answers in one page. */
  maxPageSize: z.int().min(1).max(1000).default(100),
  recordTypes: z.array(DciRecordTypeSchema).min(1),
  partners: z.array(DciPartnerSchema).min(1),
});
export type DciConfig = z.infer<typeof DciSchema>;
