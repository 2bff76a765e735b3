import { z } from 'zod';
import { LanguageSchema } from './language.js';
import { ActionTypeSchema, CustomTypeSchema, RecordTypeIdSchema } from '../contracts/action.js';
import { DciSchema } from '../dci/schema.js';
import { ExchangeSchema } from '../exchange/schema.js';
import { RecordStatusSchema } from '../contracts/record.js';
import { CertificateConfigSchema } from './certificates.js';

const Id = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/, 'must be a short id');

export const PermissionIdSchema = z
  .string()
  .regex(
    /^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)*$/,
    'must be a permission id such as "birth.register"',
  );

/** Field ids are dotted names (`child.firstName`); one may not be a prefix of another. */
export const FieldIdSchema = z
  .string()
  .regex(
    /^[a-z][A-Za-z0-9]*(\.[a-z][A-Za-z0-9]*)*$/,
    'must be a field id such as "child.firstName"',
  );

/** A json-logic expression over the declaration (fields read with `{"var": "child.dob"}`). */
export const ConditionSchema = z.record(z.string(), z.json());
export type Condition = z.infer<typeof ConditionSchema>;

export const LOCATION_TYPES = ['country', 'province', 'district', 'office', 'facility'] as const;
export const LocationTypeSchema = z.enum(LOCATION_TYPES);
export type LocationType = z.infer<typeof LocationTypeSchema>;

export const LocationSchema = z.strictObject({
  id: Id,
  name: z.string().min(1),
  type: LocationTypeSchema,
  parentId: Id.nullable(),
  /** Short code used in registration numbers. */
  code: z
    .string()
    .regex(/^[A-Z0-9]{1,8}$/)
    .optional(),
});
export type Location = z.infer<typeof LocationSchema>;

export { LanguageSchema } from './language.js';

/**
 * The texts of one configuration item in other languages: language → key → text, where the keys
 * are the item's own text keys (`label`, `help`, `title`). The item's plain keys are the default
 * language; a missing translation falls back to them.
 */
export const TranslationsSchema = z.record(
  LanguageSchema,
  z.record(z.string().regex(/^[a-z][A-Za-z]*$/), z.string().min(1)),
);
export type Translations = z.infer<typeof TranslationsSchema>;

/** A label with its translations: statuses, flags and queues are named this way. */
export const LabelSchema = z.strictObject({
  label: z.string().min(1),
  translations: TranslationsSchema.optional(),
});
export type Label = z.infer<typeof LabelSchema>;
/** A media type without parameters, as file fields accept and file values declare it. */
export const MediaTypeSchema = z
  .string()
  .max(255)
  .regex(
    /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/,
    'must be a media type such as image/jpeg',
  );

/** A file field's `maxBytes` when the configuration gives none, and the most it may give. */
export const DEFAULT_FILE_MAX_BYTES = 10 * 1024 * 1024;
export const MAX_FILE_BYTES = 1024 * 1024 * 1024;

const fieldBase = {
  id: FieldIdSchema,
  translations: TranslationsSchema.optional(),
  label: z.string().min(1),
  help: z.string().optional(),
  required: z.boolean().default(false),
  /** Required only when this holds (checked where required fields are checked). */
  requiredIf: ConditionSchema.optional(),
  /** Visible only when this holds; a hidden field must carry no value. */
  showIf: ConditionSchema.optional(),
  /**
   * Stored encrypted wherever the server keeps it (log, read model, WAL) and found through a
   * blind index only (PROTOCOL 13); shown decrypted to callers with reach.
   */
  sensitive: z.boolean().optional(),
};

const regex = z.string().refine((source) => {
  try {
    new RegExp(source, 'u');
    return true;
  } catch {
    return false;
  }
}, 'must be a valid regular expression');

export const FieldSchema = z.discriminatedUnion('type', [
  z.strictObject({
    ...fieldBase,
    type: z.literal('text'),
    minLength: z.int().nonnegative().optional(),
    /** PROTOCOL 7: at most this many characters, 1,000 unless configured. */
    maxLength: z.int().positive().max(100_000).default(1000),
    pattern: regex.optional(),
  }),
  z.strictObject({
    ...fieldBase,
    type: z.literal('number'),
    min: z.number().optional(),
    max: z.number().optional(),
    integer: z.boolean().default(false),
  }),
  z.strictObject({
    ...fieldBase,
    type: z.literal('date'),
    min: z.iso.date().optional(),
    max: z.iso.date().optional(),
    notFuture: z.boolean().default(false),
    /** Not before the day the action was taken (a booking), see DeclarationCheck.actedOn. */
    notPast: z.boolean().default(false),
  }),
  z.strictObject({
    ...fieldBase,
    type: z.literal('select'),
    options: z
      .array(
        z.strictObject({
          value: z.string().min(1),
          label: z.string().min(1),
          translations: TranslationsSchema.optional(),
        }),
      )
      .min(1),
  }),
  z.strictObject({ ...fieldBase, type: z.literal('checkbox') }),
  /** A time of day, `HH:MM` on a 24-hour clock. */
  z.strictObject({ ...fieldBase, type: z.literal('time') }),
  z.strictObject({ ...fieldBase, type: z.literal('phone'), pattern: regex.optional() }),
  z.strictObject({ ...fieldBase, type: z.literal('email') }),
  z.strictObject({ ...fieldBase, type: z.literal('idNumber'), pattern: regex }),
  z.strictObject({ ...fieldBase, type: z.literal('name') }),
  z.strictObject({ ...fieldBase, type: z.literal('address') }),
  z.strictObject({
    ...fieldBase,
    type: z.literal('location'),
    locationTypes: z.array(LocationTypeSchema).min(1).optional(),
    /**
     * Only places inside the jurisdiction in which the person may take the action (a receptionist
     * books at the facilities of their own district): checked by core's decideAction, on the
     * device and on the server alike.
     */
    withinJurisdiction: z.boolean().default(false),
  }),
  z.strictObject({
    ...fieldBase,
    type: z.literal('file'),
    /** Media types the bytes may be (sniffed by the server, PROTOCOL 9); absent: any. */
    accept: z.array(MediaTypeSchema).min(1).optional(),
    /** The largest file, in bytes. */
    maxBytes: z.int().positive().max(MAX_FILE_BYTES).default(DEFAULT_FILE_MAX_BYTES),
  }),
  z.strictObject({
    ...fieldBase,
    type: z.literal('reference'),
    recordType: RecordTypeIdSchema,
    multiple: z.boolean().default(false),
  }),
]);
export type Field = z.infer<typeof FieldSchema>;
export type FieldType = Field['type'];

export const PageSchema = z.strictObject({
  id: Id,
  title: z.string().min(1),
  translations: TranslationsSchema.optional(),
  fields: z.array(FieldSchema).min(1),
});
export type Page = z.infer<typeof PageSchema>;

/** A hook's id: its entries are created by `hook:<id>` (PROTOCOL 8). */
export const HookIdSchema = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,31}$/, 'must be a short lower-case id such as "rules"');

/**
 * How an action that needs a confirmation is confirmed (PROTOCOL 3.4): by another holder of a
 * permission, by a `confirm` hook, or by either (the hook decides; a person with the permission
 * still may). With a hook alone, the permission is the action's own.
 */
export const ConfirmationSchema = z
  .strictObject({
    permission: PermissionIdSchema.optional(),
    hook: HookIdSchema.optional(),
    /**
     * Only the action taken by these roles needs the confirmation; others' is accepted as usual.
     * E.g. a bulk import's principal: its rows wait for a person's approval (maker-checker).
     * Default: every role.
     */
    roles: z.array(z.string().min(1)).min(1).optional(),
  })
  .refine((c) => c.permission !== undefined || c.hook !== undefined, {
    message: 'names a permission, a hook, or both',
  });
export type Confirmation = z.infer<typeof ConfirmationSchema>;

export const ActionConfigSchema = z.strictObject({
  label: z.string().optional(),
  translations: TranslationsSchema.optional(),
  permission: PermissionIdSchema,
  /** Field ids this action may carry. Default: every field for declaration actions, none otherwise. */
  fields: z.array(FieldIdSchema).optional(),
  confirmation: ConfirmationSchema.optional(),
  /** After the action took place (accepted or requested), the server unassigns the performer. */
  unassign: z.boolean().default(false),
  /** Flags the record must carry for the action to be allowed (e.g. `conflict`). */
  requiresFlags: z.array(z.string()).default([]),
  /** Flags under which the action is not allowed (e.g. no UPDATE of a `cancelled` appointment). */
  forbiddenFlags: z.array(z.string()).default([]),
});
export type ActionConfig = z.infer<typeof ActionConfigSchema>;

export const AssignConfigSchema = z.strictObject({
  /** Assign a record to yourself, or unassign yourself. */
  permission: PermissionIdSchema,
  /** Assign to someone else, or take a record assigned to someone else. */
  reassignPermission: PermissionIdSchema,
});
export type AssignConfig = z.infer<typeof AssignConfigSchema>;

export const CustomActionConfigSchema = ActionConfigSchema.extend({
  id: CustomTypeSchema,
  label: z.string().min(1),
  addFlags: z.array(z.string().regex(/^[a-z][a-z0-9-]*$/)).default([]),
  removeFlags: z.array(z.string().regex(/^[a-z][a-z0-9-]*$/)).default([]),
  clearsConflicts: z.boolean().default(false),
  /** Statuses in which it is offered; default: every status PROTOCOL 5.4 allows CUSTOM in. */
  allowedIn: z.array(RecordStatusSchema).optional(),
});
export type CustomActionConfig = z.infer<typeof CustomActionConfigSchema>;

export const RecordTypeActionsSchema = z.strictObject({
  CREATE: ActionConfigSchema,
  NOTIFY: ActionConfigSchema.optional(),
  DECLARE: ActionConfigSchema.optional(),
  UPDATE: ActionConfigSchema.optional(),
  VALIDATE: ActionConfigSchema.optional(),
  REGISTER: ActionConfigSchema.optional(),
  REJECT: ActionConfigSchema.optional(),
  ARCHIVE: ActionConfigSchema.optional(),
  CORRECT: ActionConfigSchema.optional(),
  PRINT_CERTIFICATE: ActionConfigSchema.optional(),
  ASSIGN: AssignConfigSchema.optional(),
  CUSTOM: z.array(CustomActionConfigSchema).default([]),
});
export type RecordTypeActions = z.infer<typeof RecordTypeActionsSchema>;

/** How a deduplication rule compares a field (PROTOCOL 10). */
export const MATCH_KINDS = ['exact', 'fuzzy', 'phonetic', 'dateRange'] as const;
export const MatchKindSchema = z.enum(MATCH_KINDS);
export type MatchKind = z.infer<typeof MatchKindSchema>;

/** One field compared between a record and a candidate, and what a match of it is worth. */
export const DeduplicationRuleSchema = z.strictObject({
  field: FieldIdSchema,
  /** The ways the field may match; identical values always count as `exact`. */
  match: z.union([MatchKindSchema.transform((kind) => [kind]), z.array(MatchKindSchema).min(1)]),
  /** The field's share of the score: weights are relative to each other. */
  weight: z.number().positive().max(100).default(1),
  /** `dateRange`: how many days apart two dates may be and still match. */
  window: z.int().nonnegative().max(36_500).optional(),
  /** A candidate whose field is filled and does not match is no candidate, whatever the rest. */
  required: z.boolean().default(false),
});
export type DeduplicationRule = z.infer<typeof DeduplicationRuleSchema>;

export const DeduplicationSchema = z.strictObject({
  /** The actions after which a record is checked (once accepted), e.g. DECLARE. */
  after: z.array(z.enum(['CREATE', 'NOTIFY', 'DECLARE', 'UPDATE', 'CORRECT'])).min(1),
  /** Who may decide: MARK_DUPLICATE and MARK_NOT_DUPLICATE. */
  reviewPermission: PermissionIdSchema,
  rules: z.array(DeduplicationRuleSchema).min(1),
  /**
   * `weighted`: the weighted mean of the fields' scores, over the fields filled on both records;
   * `all`: the same, but every such field must match (as if each rule were `required`).
   */
  combine: z.enum(['weighted', 'all']).default('weighted'),
  /** Candidates scoring at or above this (0 to 1) are flagged. */
  threshold: z.number().min(0).max(1),
  /** At most this many candidates, best first, are kept on one finding. */
  maxCandidates: z.int().positive().max(50).default(10),
});
export type DeduplicationConfig = z.infer<typeof DeduplicationSchema>;

export const CONCURRENCY_MODES = ['assignment', 'merge'] as const;

/**
 * The words a record type uses for its statuses and flags, e.g. a clinic's DECLARED is "Booked".
 * Unnamed ones are shown in the app's own words.
 */
export const VocabularySchema = z.strictObject({
  statuses: z.partialRecord(RecordStatusSchema, LabelSchema).optional(),
  flags: z.record(z.string().min(1).max(64), LabelSchema).optional(),
});
export type Vocabulary = z.infer<typeof VocabularySchema>;

export const RecordTypeSchema = z.strictObject({
  id: RecordTypeIdSchema,
  label: z.string().min(1),
  translations: TranslationsSchema.optional(),
  vocabulary: VocabularySchema.optional(),
  concurrency: z.enum(CONCURRENCY_MODES),
  /** Who may see records of this type (sync, search, GET). */
  readPermission: PermissionIdSchema,
  /** Fields shown as the record's title, in order. */
  title: z.array(FieldIdSchema).min(1),
  /** Fields matched by the fuzzy name search `q`. Default: the title fields. */
  searchFields: z.array(FieldIdSchema).optional(),
  /** Tokens: {year}, {office} (the creating office's code), {counter:N} (N digits). */
  registrationNumber: z
    .strictObject({ pattern: z.string().regex(/\{counter(:\d+)?\}/, 'must contain {counter}') })
    .optional(),
  form: z.strictObject({ pages: z.array(PageSchema).min(1) }),
  actions: RecordTypeActionsSchema,
  /** Suspected duplicates are looked for after the configured actions (PROTOCOL 10). */
  deduplication: DeduplicationSchema.optional(),
});
export type RecordTypeConfig = z.infer<typeof RecordTypeSchema>;
export type RecordTypeConfigInput = z.input<typeof RecordTypeSchema>;

export const JURISDICTION_LEVELS = ['office', 'district', 'province', 'country'] as const;
export type JurisdictionLevel = (typeof JURISDICTION_LEVELS)[number];

export const GrantSchema = z.union([
  PermissionIdSchema,
  z.strictObject({ permission: PermissionIdSchema, national: z.boolean() }),
]);
export type Grant = z.infer<typeof GrantSchema>;

export const RoleSchema = z.strictObject({
  id: Id,
  label: z.string().min(1),
  translations: TranslationsSchema.optional(),
  /** The holder's jurisdiction: the subtree under the ancestor of their office at this level. */
  jurisdiction: z.enum(JURISDICTION_LEVELS).default('district'),
  /** A plain id is limited to the jurisdiction; `{permission, national: true}` is not. */
  permissions: z.array(GrantSchema),
});
export type Role = z.infer<typeof RoleSchema>;

export const PermissionSchema = z.strictObject({
  id: PermissionIdSchema,
  label: z.string().min(1),
  translations: TranslationsSchema.optional(),
});

export const QUEUE_COLUMNS = [
  'title',
  'type',
  'trackingId',
  'registrationNumber',
  'status',
  'assignee',
  'createdBy',
  'createdAt',
  'updatedAt',
] as const;
export const QueueColumnSchema = z.enum(QUEUE_COLUMNS);
export type QueueColumn = z.infer<typeof QueueColumnSchema>;

/**
 * Which records a work queue holds. Every condition given must hold; an empty filter holds every
 * record the person can see. The same rule runs on the server (as SQL) and on the device
 * (core's `queueHolds`).
 */
export const QueueFilterSchema = z.strictObject({
  recordTypes: z.array(RecordTypeIdSchema).min(1).optional(),
  statuses: z.array(RecordStatusSchema).min(1).optional(),
  /** Flags the record carries: every one of `all`, at least one of `any`, none of `none`. */
  flags: z
    .strictObject({
      all: z.array(z.string().min(1)).optional(),
      any: z.array(z.string().min(1)).min(1).optional(),
      none: z.array(z.string().min(1)).optional(),
    })
    .optional(),
  /** `me`: assigned to the person; `nobody`; `anyone`: assigned to someone. */
  assigned: z.enum(['me', 'nobody', 'anyone']).optional(),
  /** Created by the person. */
  createdByMe: z.boolean().optional(),
  /** A certificate was printed (true) or not yet (false). */
  printed: z.boolean().optional(),
  /** A request waits for a decision (a correction to approve). */
  pendingRequest: z.boolean().optional(),
});
export type QueueFilter = z.infer<typeof QueueFilterSchema>;

/** A work queue: a named filter shown to the roles listed, with its columns and default order. */
export const WorkqueueSchema = z.strictObject({
  id: z.string().regex(/^[a-z][a-z0-9-]{0,63}$/, 'must be a short lowercase id'),
  label: z.string().min(1),
  translations: TranslationsSchema.optional(),
  /** Shown when the queue is empty: what it would hold. */
  empty: z.string().optional(),
  roles: z.array(Id).min(1),
  filter: QueueFilterSchema,
  columns: z
    .array(QueueColumnSchema)
    .min(1)
    .default(['title', 'trackingId', 'status', 'updatedAt']),
  /** Most recently changed first (`-updatedAt`, the default) or the longest waiting first. */
  sort: z.enum(['-updatedAt', 'updatedAt']).default('-updatedAt'),
});
export type Workqueue = z.infer<typeof WorkqueueSchema>;
const EnvNameSchema = z
  .string()
  .regex(/^[A-Z_][A-Z0-9_]{0,127}$/, 'must be an environment variable name such as "RULES_URL"');

export const HOOK_KINDS = ['confirm', 'notify'] as const;

/**
 * A connection to one of the country's systems (PROTOCOL 8). `url`, or `urlEnv` naming the
 * environment variable that holds it: unset (or neither given), the hook is off. `recordTypes` and
 * `actions` absent: all of them (a confirm hook must list its actions). Times in seconds.
 */
export const HookSchema = z
  .strictObject({
    id: HookIdSchema,
    /** How people see it named: in a record's history (it approves), in failing deliveries. */
    label: z.string().min(1).max(200),
    translations: TranslationsSchema.optional(),
    kind: z.enum(HOOK_KINDS),
    url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
    urlEnv: EnvNameSchema.optional(),
    recordTypes: z.array(RecordTypeIdSchema).min(1).optional(),
    actions: z.array(ActionTypeSchema).min(1).optional(),
    /**
     * The environment variable holding the signing secret (`whsec_<base64>` or any text); needed
     * by a hook with an address.
     */
    secretEnv: EnvNameSchema.optional(),
    /** Seconds a delivery may take before it counts as unanswered. */
    timeout: z.number().positive().max(60).default(10),
    /** Seconds after which an undecided request of a confirm hook gets the flag `hook-overdue`. */
    overdueAfter: z
      .int()
      .positive()
      .max(30 * 86_400)
      .default(3600),
  })
  .refine((h) => h.url === undefined || h.urlEnv === undefined, {
    message: 'gives url or urlEnv, not both',
  })
  .refine((h) => (h.url === undefined && h.urlEnv === undefined) || h.secretEnv !== undefined, {
    message: 'a hook with an address needs secretEnv, to sign what it sends',
    path: ['secretEnv'],
  });
export type Hook = z.infer<typeof HookSchema>;

/** A header an adapter sends; its value is read from the environment, never written here. */
export const AdapterHeaderSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'must be an HTTP header name'),
  /** The environment variable holding the value (a token, an API key). */
  valueEnv: EnvNameSchema,
  /** Written before the value, such as "Bearer ". */
  prefix: z.string().max(64).optional(),
});
export type AdapterHeader = z.infer<typeof AdapterHeaderSchema>;

/** A JSONata expression (https://jsonata.org), compiled and checked by the server at start. */
const JsonataSchema = z.string().trim().min(1).max(20_000);

const adapterCommon = {
  id: HookIdSchema,
  /** How administrators see it named. */
  label: z.string().min(1).max(200),
  translations: TranslationsSchema.optional(),
  url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
  /** The environment variable holding the address; unset, the adapter is off. */
  urlEnv: EnvNameSchema.optional(),
  headers: z.array(AdapterHeaderSchema).max(16).default([]),
  /** Seconds a request may take before it counts as unanswered. */
  timeout: z.number().positive().max(60).default(10),
};

/**
 * An adapter out (issue 16): a notify hook whose deliveries are the JSONata `mapping` of
 * `{hook, entry, record}`, posted to an external REST API with the hooks' retries and backoff
 * (PROTOCOL 8). A mapping that gives nothing sends nothing. `secretEnv`, when given, signs them
 * with the Standard Webhooks headers too.
 */
export const OutAdapterSchema = z.strictObject({
  ...adapterCommon,
  direction: z.literal('out'),
  recordTypes: z.array(RecordTypeIdSchema).min(1).optional(),
  actions: z.array(ActionTypeSchema).min(1).optional(),
  mapping: JsonataSchema,
  secretEnv: EnvNameSchema.optional(),
});
export type OutAdapter = z.infer<typeof OutAdapterSchema>;

/**
 * An adapter in (issue 16): on `schedule` (crontab, server time) it GETs pages of an external REST
 * source from a checkpoint kept in the database, and maps each item to actions appended by the
 * adapter's principal (`adapter:<id>`, acting with `role` at `office`) through the same rules as a
 * device. Expressions: `params` ({checkpoint} → query parameters; default the checkpoint), `items`
 * (the page's body → its items), `key` and `version` (an item → its source id and version: the
 * record's and actions' ids derive from them, so a re-run applies nothing twice), `mapping`
 * ({item, key, version, record} → an action or a list of actions; `record` is null until the item
 * made one), `checkpoint` ({body, checkpoint, items} → the checkpoint after the page) and `more`
 * ({body, checkpoint} → whether another page follows now).
 */
export const InAdapterSchema = z.strictObject({
  ...adapterCommon,
  direction: z.literal('in'),
  recordType: RecordTypeIdSchema,
  role: Id,
  office: Id,
  schedule: z
    .string()
    .regex(/^\S+( \S+){4}$/, 'must be a crontab pattern of five fields')
    .default('*/15 * * * *'),
  params: JsonataSchema.optional(),
  items: JsonataSchema.default('items'),
  key: JsonataSchema.default('id'),
  version: JsonataSchema.default('version'),
  mapping: JsonataSchema,
  checkpoint: JsonataSchema.optional(),
  more: JsonataSchema.optional(),
  /** The most pages one run takes; the next run goes on from the checkpoint. */
  maxPages: z.int().positive().max(10_000).default(100),
});
export type InAdapter = z.infer<typeof InAdapterSchema>;

export const AdapterSchema = z
  .discriminatedUnion('direction', [OutAdapterSchema, InAdapterSchema])
  .refine((a) => (a.url === undefined) !== (a.urlEnv === undefined), {
    message: 'needs either url or urlEnv',
  });
export type Adapter = z.infer<typeof AdapterSchema>;

/** A claim of the provider's that says something about the person, by its name. */
const ClaimNameSchema = z.string().min(1).max(200);

/**
 * Single sign-on (issue 14): how the claims of an OpenID Connect provider's ID token and userinfo
 * give a staff member's Registra account. Which provider is a deployment's setting
 * (REGISTRA_OIDC_*); what its claims mean is the configuration's. See core's signOnAccount.
 */
export const SingleSignOnSchema = z.strictObject({
  /** The claim whose value becomes the username (made once; the person is known by `sub`). */
  usernameClaim: ClaimNameSchema.default('preferred_username'),
  nameClaim: ClaimNameSchema.default('name'),
  /**
   * The role: the claim (a string, or a list such as `groups`) and which of its values gives
   * which role. The first value listed in `values` that the claim holds wins.
   */
  role: z.strictObject({
    claim: ClaimNameSchema,
    values: z.record(z.string().min(1), Id).refine((v) => Object.keys(v).length > 0, {
      message: 'map at least one value to a role',
    }),
  }),
  /**
   * The office: the claim, and which of its values gives which office. Without `values`, the
   * claim's value is the office's id.
   */
  office: z.strictObject({
    claim: ClaimNameSchema,
    values: z.record(z.string().min(1), Id).optional(),
  }),
});
export type SingleSignOn = z.infer<typeof SingleSignOnSchema>;

export const ConfigurationSchema = z.strictObject({
  $schema: z.string().optional(),
  id: Id,
  name: z.string().min(1),
  /** Each log entry records the version it was accepted under. */
  version: z.string().regex(/^[0-9A-Za-z.+-]{1,32}$/),
  /** IANA time zone: "today" for dates that may not be in the future. */
  timeZone: z.string().default('UTC'),
  /**
   * PROTOCOL 7: the longest a device may stay offline. An action whose `occurredAt` is older is
   * refused, which is what keeps date rules anchored to `occurredAt` (`notPast`) honest.
   */
  maxOfflineDays: z.int().positive().max(3650).default(90),
  /** Attachments (PROTOCOL 9). */
  files: z
    .strictObject({
      /** Days an uploaded file referenced by no entry is kept, counted from its last upload. */
      graceDays: z.int().positive().max(3650).default(7),
      /** Devices downscale photos so that their longest side is at most this many pixels. */
      imageLongestSide: z.int().min(320).max(10_000).default(1600),
    })
    .prefault({}),
  permissions: z.array(PermissionSchema).min(1),
  roles: z.array(RoleSchema).min(1),
  locations: z.array(LocationSchema).min(1),
  recordTypes: z.array(RecordTypeSchema).min(1),
  /** Certificate templates and credential claims per record type (PROTOCOL 11). */
  certificates: z.array(CertificateConfigSchema).default([]),
  /** Work queues by role; with none, the app shows queues of its own making. */
  workqueues: z.array(WorkqueueSchema).default([]),
  /** How an OpenID Connect provider's claims map to role and office (single sign-on). */
  singleSignOn: SingleSignOnSchema.optional(),
  /** Data exchange with other agencies: consent, policy, federated fields (PROTOCOL 12). */
  exchange: ExchangeSchema.optional(),
  /** The DCI / SPDCI registry API for partners (issue 16): search, subscribe, notify. */
  dci: DciSchema.optional(),
  /** The country's systems that confirm actions and receive events (PROTOCOL 8). */
  hooks: z.array(HookSchema).default([]),
  /** Adapters in and out: other systems' REST APIs, mapped with JSONata (issue 16). */
  adapters: z.array(AdapterSchema).default([]),
});
export type Configuration = z.infer<typeof ConfigurationSchema>;
export type ConfigurationInput = z.input<typeof ConfigurationSchema>;
