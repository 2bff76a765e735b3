import { z } from 'zod';
import { RecordTypeIdSchema } from '../contracts/action.js';

/**
 * The data exchange with other agencies (PROTOCOL 12): who may ask (consumers, machine clients),
 * for which purposes, about whom (the subject), which fields (each from a provider, at a path),
 * and the Cedar policies that decide every field access.
 */

const Id = z.string().regex(/^[a-z][a-z0-9-]{0,63}$/, 'must be a short lowercase id');
/** A field of the exchanged `Person`: a GraphQL name. */
export const ExchangeFieldNameSchema = z
  .string()
  .regex(/^[a-z][A-Za-z0-9]{0,63}$/, 'must be a GraphQL field name such as "fullName"');

/** How long a provider may take to answer before its fields answer PROVIDER_TIMEOUT. */
const TimeoutSchema = z.int().min(10).max(60_000).default(2_000);

/** Where an external provider is: a URL, or the environment variable holding it (unset: off). */
const Endpoint = {
  url: z.url().optional(),
  urlEnv: z
    .string()
    .regex(/^[A-Z][A-Z0-9_]*$/)
    .optional(),
  timeoutMs: TimeoutSchema,
};

export const ProviderSchema = z.discriminatedUnion('kind', [
  /** This registry's records of one type, found by the subject's identifier. */
  z.strictObject({ id: Id, label: z.string().optional(), kind: z.literal('registry') }),
  /** An external REST source: GET `{url}{path}`, `{subjectId}` replaced (URL-encoded). */
  z.strictObject({
    id: Id,
    label: z.string().optional(),
    kind: z.literal('rest'),
    ...Endpoint,
    path: z.string().startsWith('/').includes('{subjectId}'),
  }),
  /** An external GraphQL endpoint: `query` is sent with the variable `$subjectId`. */
  z.strictObject({
    id: Id,
    label: z.string().optional(),
    kind: z.literal('graphql'),
    ...Endpoint,
    query: z.string().min(1).includes('$subjectId'),
  }),
]);
export type ProviderConfig = z.infer<typeof ProviderSchema>;

export const ExchangeFieldSchema = z.strictObject({
  name: ExchangeFieldNameSchema,
  label: z.string().min(1),
  description: z.string().optional(),
  provider: Id,
  /**
   * A JSONata expression over the provider's document (a record's declaration, keyed by field
   * id, so quoted in backticks; a REST answer's body; a GraphQL answer's `data`) giving the
   * field's value, which is answered as a string.
   */
  path: z.string().min(1),
  /** Its share of a query's cost (limits.maxCost). */
  cost: z.int().min(1).max(100).default(1),
});
export type ExchangeFieldConfig = z.infer<typeof ExchangeFieldSchema>;

export const ExchangeSchema = z.strictObject({
  /** Whose data is exchanged: records of this type, named by their registration number. */
  subject: z.strictObject({
    recordType: RecordTypeIdSchema,
    /** The field holding a contact (phone or email) where the one-time code is sent. */
    contactField: z.string().min(1),
  }),
  purposes: z.array(z.strictObject({ id: Id, label: z.string().min(1) })).min(1),
  /** Machine clients of other agencies, by username (created with `registra users`, kind client). */
  consumers: z
    .array(
      z.strictObject({
        id: Id,
        label: z.string().min(1),
        /** The machine client's username; default: the consumer's id. */
        username: z.string().min(1).optional(),
        purposes: z.array(Id).min(1),
      }),
    )
    .min(1),
  /** The registry's own records are the provider `registry` kind; external ones are REST or GraphQL. */
  providers: z.array(ProviderSchema).min(1),
  fields: z.array(ExchangeFieldSchema).min(1),
  /**
   * Cedar policies deciding `Registra::Action::"read"` of each field (PROTOCOL 12), one string or
   * lines; validated at start against Registra's schema. No policy that permits: every field is
   * denied.
   */
  policies: z.union([z.string(), z.array(z.string()).transform((lines) => lines.join('\n'))]),
  /** Further Cedar entities (e.g. groups of consumers), in Cedar's JSON entity format. */
  entities: z.array(z.record(z.string(), z.unknown())).default([]),
  /** The longest a consent may be asked for. */
  maxConsentDays: z.int().min(1).max(3650).default(365),
  /** How long a one-time code of the consent portal stays valid. */
  codeMinutes: z.int().min(1).max(60).default(10),
  limits: z
    .strictObject({
      maxDepth: z.int().min(2).max(20).default(5),
      maxCost: z.int().min(1).max(10_000).default(100),
    })
    .prefault({}),
});
export type ExchangeConfig = z.infer<typeof ExchangeSchema>;

/** A consent's field: `<provider>.<field>` (PROTOCOL 12). */
export function consentFieldName(field: Pick<ExchangeFieldConfig, 'provider' | 'name'>): string {
  return `${field.provider}.${field.name}`;
}

/** The machine client's username of a consumer. */
export function consumerUsername(consumer: ExchangeConfig['consumers'][number]): string {
  return consumer.username ?? consumer.id;
}
