import { z } from 'zod';
import { ActionTypeSchema, CustomTypeSchema, RecordTypeIdSchema } from '../contracts/action.js';
import { RecordStatusSchema } from '../contracts/record.js';

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

const fieldBase = {
  id: FieldIdSchema,
  label: z.string().min(1),
  help: z.string().optional(),
  required: z.boolean().default(false),
  /** Required only when this holds (checked where required fields are checked). */
  requiredIf: ConditionSchema.optional(),
  /** Visible only when this holds; a hidden field must carry no value. */
  showIf: ConditionSchema.optional(),
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
    options: z.array(z.strictObject({ value: z.string().min(1), label: z.string().min(1) })).min(1),
  }),
  z.strictObject({ ...fieldBase, type: z.literal('checkbox') }),
  z.strictObject({ ...fieldBase, type: z.literal('phone'), pattern: regex.optional() }),
  z.strictObject({ ...fieldBase, type: z.literal('email') }),
  z.strictObject({ ...fieldBase, type: z.literal('idNumber'), pattern: regex }),
  z.strictObject({ ...fieldBase, type: z.literal('name') }),
  z.strictObject({ ...fieldBase, type: z.literal('address') }),
  z.strictObject({
    ...fieldBase,
    type: z.literal('location'),
    locationTypes: z.array(LocationTypeSchema).min(1).optional(),
  }),
  z.strictObject({
    ...fieldBase,
    type: z.literal('file'),
    accept: z.array(z.string()).optional(),
    maxBytes: z.int().positive().optional(),
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
  })
  .refine((c) => c.permission !== undefined || c.hook !== undefined, {
    message: 'names a permission, a hook, or both',
  });
export type Confirmation = z.infer<typeof ConfirmationSchema>;

export const ActionConfigSchema = z.strictObject({
  label: z.string().optional(),
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

export const CONCURRENCY_MODES = ['assignment', 'merge'] as const;

export const RecordTypeSchema = z.strictObject({
  id: RecordTypeIdSchema,
  label: z.string().min(1),
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
  /** The holder's jurisdiction: the subtree under the ancestor of their office at this level. */
  jurisdiction: z.enum(JURISDICTION_LEVELS).default('district'),
  /** A plain id is limited to the jurisdiction; `{permission, national: true}` is not. */
  permissions: z.array(GrantSchema),
});
export type Role = z.infer<typeof RoleSchema>;

export const PermissionSchema = z.strictObject({
  id: PermissionIdSchema,
  label: z.string().min(1),
});

const EnvNameSchema = z
  .string()
  .regex(/^[A-Z_][A-Z0-9_]{0,127}$/, 'must be an environment variable name such as "RULES_URL"');

export const HOOK_KINDS = ['confirm', 'notify'] as const;

/**
 * A connection to one of the country's systems (PROTOCOL 8). `url`, or `urlEnv` naming the
 * environment variable that holds it: unset, the hook is off. `recordTypes` and `actions` absent:
 * all of them (a confirm hook must list its actions). Times in seconds.
 */
export const HookSchema = z
  .strictObject({
    id: HookIdSchema,
    kind: z.enum(HOOK_KINDS),
    url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
    urlEnv: EnvNameSchema.optional(),
    recordTypes: z.array(RecordTypeIdSchema).min(1).optional(),
    actions: z.array(ActionTypeSchema).min(1).optional(),
    /** The environment variable holding the signing secret (`whsec_<base64>` or any text). */
    secretEnv: EnvNameSchema,
    /** Seconds a delivery may take before it counts as unanswered. */
    timeout: z.number().positive().max(60).default(10),
    /** Seconds after which an undecided request of a confirm hook gets the flag `hook-overdue`. */
    overdueAfter: z
      .int()
      .positive()
      .max(30 * 86_400)
      .default(3600),
  })
  .refine((h) => (h.url === undefined) !== (h.urlEnv === undefined), {
    message: 'needs either url or urlEnv',
  });
export type Hook = z.infer<typeof HookSchema>;

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
  permissions: z.array(PermissionSchema).min(1),
  roles: z.array(RoleSchema).min(1),
  locations: z.array(LocationSchema).min(1),
  recordTypes: z.array(RecordTypeSchema).min(1),
  /** The country's systems that confirm actions and receive events (PROTOCOL 8). */
  hooks: z.array(HookSchema).default([]),
});
export type Configuration = z.infer<typeof ConfigurationSchema>;
export type ConfigurationInput = z.input<typeof ConfigurationSchema>;
