import type { FieldError } from '../contracts/problem.js';
import { toFieldErrors } from '../contracts/problem.js';
import { conditionVariables, isCondition } from '../declaration/conditions.js';
import { checkCertificates } from './check-certificates.js';
import { checkDci } from '../dci/check.js';
import { checkExchange } from '../exchange/check.js';
import { CONSENT_RECORD_TYPE, consentRecordType } from '../exchange/consent.js';
import { LocationIndex } from './locations.js';
import type { ActionType } from '../contracts/action.js';
import type { InAdapterConfig } from './adapters.js';
import { CONFIRMABLE_ACTIONS, hookCovers, type HookConfig } from './hooks.js';
import { principalFor, type Principal, type PrincipalSource } from './principal.js';
import {
  ConfigurationSchema,
  type ActionConfig,
  type Configuration,
  type Confirmation,
  type Hook,
  type Location,
  type RecordTypeConfig,
  type Role,
  type SingleSignOn,
} from './schema.js';

/** A configuration that passed every check, indexed for the rules. */
export interface RegistryConfig {
  /** The document as written (what its version names). */
  document: Configuration;
  version: string;
  locations: LocationIndex;
  /** The record types as they behave: confirmations by hooks that are off left out. */
  recordTypes: ReadonlyMap<string, RecordTypeConfig>;
  roles: ReadonlyMap<string, Role>;
  /** The hooks that are on, by id, their address resolved (PROTOCOL 8). */
  hooks: ReadonlyMap<string, HookConfig>;
  /** The adapters in that are on, by id, their address resolved (issue 16). */
  inAdapters: ReadonlyMap<string, InAdapterConfig>;
  /**
   * What devices are given (GET /config): the record types as they behave, with no hooks (their
   * addresses and the names of their secrets stay on the server) and confirmations by permission.
   */
  clientDocument: Configuration;
  principal(user: PrincipalSource): Principal;
}

export interface LoadOptions {
  /** Where `urlEnv` is looked up: the server's environment. Without it, such hooks are off. */
  env?: Readonly<Record<string, string | undefined>>;
}

export type LoadResult = { ok: true; config: RegistryConfig } | { ok: false; errors: FieldError[] };

export class ConfigurationError extends Error {
  constructor(readonly errors: FieldError[]) {
    super(
      `the configuration has ${errors.length} problem(s):\n` +
        errors.map((e) => `  - ${e.path || '(root)'}: ${e.message}`).join('\n'),
    );
    this.name = 'ConfigurationError';
  }
}

/**
 * Validates a configuration document and reports every problem at once, each with its path:
 * first its shape, then what its parts say of each other (references, duplicates, the tree).
 */
export function loadConfiguration(input: unknown, options: LoadOptions = {}): LoadResult {
  const parsed = ConfigurationSchema.safeParse(input);
  if (!parsed.success) return { ok: false, errors: toFieldErrors(parsed.error) };
  const document = parsed.data;
  const errors = crossCheck(document);
  if (errors.length > 0) return { ok: false, errors };

  const locations = new LocationIndex(document.locations);
  const roles = new Map(document.roles.map((role) => [role.id, role]));
  const hooks = new Map<string, HookConfig>();
  for (const hook of document.hooks) {
    const url = hook.url ?? (hook.urlEnv ? options.env?.[hook.urlEnv] : undefined);
    if (url) hooks.set(hook.id, { ...hook, url });
  }
  // An adapter out rides on the hooks' deliveries: a notify hook of its own (issue 16).
  const inAdapters = new Map<string, InAdapterConfig>();
  for (const adapter of document.adapters) {
    const url = adapter.url ?? (adapter.urlEnv ? options.env?.[adapter.urlEnv] : undefined);
    if (!url) continue;
    if (adapter.direction === 'in') {
      inAdapters.set(adapter.id, { ...adapter, url });
      continue;
    }
    hooks.set(adapter.id, {
      id: adapter.id,
      label: adapter.label,
      ...(adapter.translations ? { translations: adapter.translations } : {}),
      kind: 'notify',
      url,
      ...(adapter.recordTypes ? { recordTypes: adapter.recordTypes } : {}),
      ...(adapter.actions ? { actions: adapter.actions } : {}),
      ...(adapter.secretEnv ? { secretEnv: adapter.secretEnv } : {}),
      timeout: adapter.timeout,
      overdueAfter: 3600,
      adapter: { mapping: adapter.mapping, headers: adapter.headers },
    });
  }
  const recordTypes = document.recordTypes.map((type) => behaving(type, document.hooks, hooks));
  return {
    ok: true,
    config: {
      document,
      version: document.version,
      locations,
      recordTypes: new Map([
        ...recordTypes.map((type) => [type.id, type] as const),
        // Consents are records too, of a type Registra makes (exchange/consent.ts).
        ...(document.exchange ? [[CONSENT_RECORD_TYPE, consentRecordType()] as const] : []),
      ]),
      roles,
      hooks,
      inAdapters,
      // Devices need neither the hooks' addresses and secrets nor the exchange (its policies are
      // the server's business); a hook's name they need: its APPROVE is in a record's history.
      clientDocument: {
        ...document,
        recordTypes: recordTypes.map(forDevices),
        hooks: document.hooks.map(({ url: _u, urlEnv: _e, secretEnv: _s, ...named }) => named),
        adapters: [],
        exchange: undefined,
        dci: undefined,
      },
      principal: (user) => principalFor(user, roles.get(user.role), locations),
    },
  };
}

/**
 * A record type as it behaves (PROTOCOL 8): each action's confirmation gains the confirm hook
 * that covers it, and loses a hook that is off; a confirmation left with neither a hook nor a
 * permission is none (with its hook off, the action is accepted as if no hook were configured).
 */
function behaving(
  recordType: RecordTypeConfig,
  declared: readonly Hook[],
  on: ReadonlyMap<string, HookConfig>,
): RecordTypeConfig {
  const resolve = <A extends ActionConfig>(type: ActionType, action: A): A => {
    const hook =
      action.confirmation?.hook ??
      declared.find((h) => h.kind === 'confirm' && hookCovers(h, recordType.id, type))?.id;
    const permission = action.confirmation?.permission;
    const roles = action.confirmation?.roles;
    const confirmation: Confirmation = {
      ...(permission !== undefined ? { permission } : {}),
      ...(hook !== undefined && on.has(hook) ? { hook } : {}),
    };
    const { confirmation: _was, ...rest } = action;
    if (Object.keys(confirmation).length === 0) return rest as A;
    return { ...rest, confirmation: roles ? { ...confirmation, roles } : confirmation } as A;
  };
  const { CUSTOM, ASSIGN: _assign, ...plain } = recordType.actions;
  const actions: RecordTypeConfig['actions'] = { ...recordType.actions };
  for (const [type, action] of Object.entries(plain) as [ActionType, ActionConfig | undefined][]) {
    if (action && type !== 'CREATE') Object.assign(actions, { [type]: resolve(type, action) });
  }
  actions.CUSTOM = CUSTOM.map((custom) => resolve('CUSTOM', custom));
  return { ...recordType, actions };
}

/** Devices get confirmations as permissions only: a hook's own rules are the server's. */
function forDevices(recordType: RecordTypeConfig): RecordTypeConfig {
  const strip = <A extends ActionConfig>(action: A): A => {
    const confirmation = action.confirmation;
    if (!confirmation?.hook) return action;
    return {
      ...action,
      confirmation: {
        permission: confirmation.permission ?? action.permission,
        ...(confirmation.roles ? { roles: confirmation.roles } : {}),
      },
    };
  };
  const { CUSTOM, ASSIGN: _assign, ...plain } = recordType.actions;
  const actions: RecordTypeConfig['actions'] = { ...recordType.actions };
  for (const [type, action] of Object.entries(plain) as [string, ActionConfig | undefined][]) {
    if (action) Object.assign(actions, { [type]: strip(action) });
  }
  actions.CUSTOM = CUSTOM.map(strip);
  return { ...recordType, actions };
}

export function loadConfigurationOrThrow(
  input: unknown,
  options: LoadOptions = {},
): RegistryConfig {
  const result = loadConfiguration(input, options);
  if (!result.ok) throw new ConfigurationError(result.errors);
  return result.config;
}

const PARENT_TYPE: Record<Location['type'], Location['type'] | null> = {
  country: null,
  province: 'country',
  district: 'province',
  office: 'district',
  facility: 'district',
};

function crossCheck(config: Configuration): FieldError[] {
  const errors: FieldError[] = [];
  const report = (path: (string | number)[], message: string) =>
    errors.push({ path: path.join('.'), message });

  const duplicates = (items: { id: string }[], path: string[]) => {
    const seen = new Set<string>();
    items.forEach((item, i) => {
      if (seen.has(item.id)) report([...path, i, 'id'], `duplicate id "${item.id}"`);
      seen.add(item.id);
    });
  };
  duplicates(config.permissions, ['permissions']);
  duplicates(config.roles, ['roles']);
  duplicates(config.locations, ['locations']);
  duplicates(config.recordTypes, ['recordTypes']);

  try {
    new Intl.DateTimeFormat('en', { timeZone: config.timeZone });
  } catch {
    report(['timeZone'], `"${config.timeZone}" is not an IANA time zone`);
  }

  const permissions = new Set(config.permissions.map((p) => p.id));
  const checkPermission = (permission: string, path: (string | number)[]) => {
    if (!permissions.has(permission)) report(path, `unknown permission "${permission}"`);
  };

  config.roles.forEach((role, r) =>
    role.permissions.forEach((grant, g) =>
      checkPermission(typeof grant === 'string' ? grant : grant.permission, [
        'roles',
        r,
        'permissions',
        g,
      ]),
    ),
  );

  const byId = new Map(config.locations.map((l) => [l.id, l]));
  config.locations.forEach((location, i) => {
    const expected = PARENT_TYPE[location.type];
    if (location.parentId === null) {
      if (expected !== null)
        report(['locations', i, 'parentId'], `a ${location.type} needs a parent ${expected}`);
      return;
    }
    const parent = byId.get(location.parentId);
    if (!parent) report(['locations', i, 'parentId'], `unknown location "${location.parentId}"`);
    else if (parent.type !== expected) {
      report(
        ['locations', i, 'parentId'],
        expected === null
          ? 'a country has no parent'
          : `a ${location.type} must be inside a ${expected}, not a ${parent.type}`,
      );
    }
  });

  const recordTypeIds = new Set(config.recordTypes.map((t) => t.id));
  config.recordTypes.forEach((recordType, t) =>
    checkRecordType(recordType, ['recordTypes', t], {
      report,
      checkPermission,
      recordTypeIds,
      roleIds: new Set(config.roles.map((r) => r.id)),
      hooks: config.hooks,
    }),
  );
  // Certificates are read against the record types: only once those are sound, or one broken
  // record type would be reported again for every claim and placeholder naming its fields.
  if (errors.length === 0) checkCertificates(config, report);
  if (config.exchange) checkExchange(config, config.exchange, report);
  if (config.dci) checkDci(config, config.dci, report);

  duplicates(config.workqueues, ['workqueues']);
  const roleIds = new Set(config.roles.map((r) => r.id));
  config.workqueues.forEach((queue, q) => {
    queue.roles.forEach((role, r) => {
      if (!roleIds.has(role)) report(['workqueues', q, 'roles', r], `unknown role "${role}"`);
    });
    queue.filter.recordTypes?.forEach((type, r) => {
      if (!recordTypeIds.has(type))
        report(['workqueues', q, 'filter', 'recordTypes', r], `unknown record type "${type}"`);
    });
  });
  if (config.singleSignOn) checkSingleSignOn(config, config.singleSignOn, report);

  checkHooks(config, report);
  checkAdapters(config, report);
  return errors;
}

/**
 * Hooks: unique ids, known record types, confirm hooks that list offered actions that can wait
 * for a confirmation, and at most one confirm hook for any action of a record type.
 */
function checkHooks(config: Configuration, report: Checks['report']): void {
  duplicatesOf(config.hooks, ['hooks'], report);
  const byId = new Map(config.recordTypes.map((t) => [t.id, t]));
  config.hooks.forEach((hook, h) => {
    hook.recordTypes?.forEach((id, i) => {
      if (!byId.has(id)) report(['hooks', h, 'recordTypes', i], `unknown record type "${id}"`);
    });
    if (hook.kind !== 'confirm') return;
    if (!hook.actions) {
      report(['hooks', h, 'actions'], 'a confirm hook must list the actions it confirms');
      return;
    }
    hook.actions.forEach((type, a) => {
      if (!CONFIRMABLE_ACTIONS.has(type)) {
        report(['hooks', h, 'actions', a], `${type} cannot wait for a confirmation`);
        return;
      }
      for (const recordType of config.recordTypes) {
        if (!hookCovers(hook, recordType.id)) continue;
        const other = config.hooks.find(
          (o, j) =>
            j < h && o.kind === 'confirm' && o.actions && hookCovers(o, recordType.id, type),
        );
        if (other) {
          report(
            ['hooks', h, 'actions', a],
            `${type} of ${recordType.id} is already confirmed by hook "${other.id}"`,
          );
        }
      }
    });
  });
}

/**
 * Adapters (issue 16): ids unique among hooks and adapters (an adapter out's deliveries are
 * listed by it), known record types, and an adapter in's role and office.
 */
function checkAdapters(config: Configuration, report: Checks['report']): void {
  const hookIds = new Set(config.hooks.map((h) => h.id));
  const seen = new Set<string>();
  const recordTypeIds = new Set(config.recordTypes.map((t) => t.id));
  const roleIds = new Set(config.roles.map((r) => r.id));
  const locationIds = new Set(config.locations.map((l) => l.id));
  config.adapters.forEach((adapter, a) => {
    const at = (...rest: (string | number)[]) => ['adapters', a, ...rest];
    if (seen.has(adapter.id) || hookIds.has(adapter.id)) {
      report(at('id'), `duplicate id "${adapter.id}" (hooks and adapters share ids)`);
    }
    seen.add(adapter.id);
    if (adapter.direction === 'out') {
      adapter.recordTypes?.forEach((id, i) => {
        if (!recordTypeIds.has(id)) report(at('recordTypes', i), `unknown record type "${id}"`);
      });
      return;
    }
    if (!recordTypeIds.has(adapter.recordType))
      report(at('recordType'), `unknown record type "${adapter.recordType}"`);
    if (!roleIds.has(adapter.role)) report(at('role'), `unknown role "${adapter.role}"`);
    if (!locationIds.has(adapter.office))
      report(at('office'), `unknown location "${adapter.office}"`);
  });
}

function duplicatesOf(items: { id: string }[], path: string[], report: Checks['report']): void {
  const seen = new Set<string>();
  items.forEach((item, i) => {
    if (seen.has(item.id)) report([...path, i, 'id'], `duplicate id "${item.id}"`);
    seen.add(item.id);
  });
}

interface Checks {
  report: (path: (string | number)[], message: string) => void;
  checkPermission: (permission: string, path: (string | number)[]) => void;
  recordTypeIds: ReadonlySet<string>;
  roleIds: ReadonlySet<string>;
  hooks: readonly Hook[];
}

/** A confirmation's permission is known, and its hook is a confirm hook covering the action. */
function checkConfirmation(
  confirmation: Confirmation | undefined,
  recordType: string,
  type: ActionType,
  path: (string | number)[],
  { report, checkPermission, hooks, roleIds }: Checks,
): void {
  if (!confirmation) return;
  confirmation.roles?.forEach((role, r) => {
    if (!roleIds.has(role)) report([...path, 'confirmation', 'roles', r], `unknown role "${role}"`);
  });
  if (confirmation.permission !== undefined)
    checkPermission(confirmation.permission, [...path, 'confirmation', 'permission']);
  if (confirmation.hook === undefined) return;
  const hook = hooks.find((h) => h.id === confirmation.hook);
  const at = [...path, 'confirmation', 'hook'];
  if (!hook) report(at, `unknown hook "${confirmation.hook}"`);
  else if (hook.kind !== 'confirm') report(at, `hook "${hook.id}" is not a confirm hook`);
  else if (!hookCovers(hook, recordType, type)) {
    report(at, `hook "${hook.id}" does not cover ${type} of ${recordType}: add them to its lists`);
  }
}

function checkRecordType(
  recordType: RecordTypeConfig,
  at: (string | number)[],
  checks: Checks,
): void {
  const { report, checkPermission } = checks;
  const fieldIds = new Set<string>();
  const pageIds = new Set<string>();

  recordType.form.pages.forEach((page, p) => {
    if (pageIds.has(page.id))
      report([...at, 'form', 'pages', p, 'id'], `duplicate page id "${page.id}"`);
    pageIds.add(page.id);
    page.fields.forEach((field, f) => {
      const path = [...at, 'form', 'pages', p, 'fields', f];
      if (fieldIds.has(field.id)) report([...path, 'id'], `duplicate field id "${field.id}"`);
      fieldIds.add(field.id);
      if (field.type === 'reference' && !checks.recordTypeIds.has(field.recordType)) {
        report([...path, 'recordType'], `unknown record type "${field.recordType}"`);
      }
      if (field.type === 'select') {
        const values = field.options.map((o) => o.value);
        if (new Set(values).size !== values.length)
          report([...path, 'options'], 'duplicate option values');
      }
    });
  });

  const sorted = [...fieldIds].sort();
  sorted.forEach((id, i) => {
    const next = sorted[i + 1];
    if (next?.startsWith(`${id}.`)) {
      report(
        [...at, 'form'],
        `field id "${id}" is a prefix of "${next}": conditions could not tell them apart`,
      );
    }
  });

  const isField = (path: string) =>
    [...fieldIds].some((id) => path === id || path.startsWith(`${id}.`));
  recordType.form.pages.forEach((page, p) =>
    page.fields.forEach((field, f) => {
      for (const key of ['showIf', 'requiredIf'] as const) {
        const condition = field[key];
        if (condition === undefined) continue;
        const path = [...at, 'form', 'pages', p, 'fields', f, key];
        if (!isCondition(condition)) report(path, 'is not a json-logic expression');
        for (const variable of conditionVariables(condition)) {
          if (!isField(variable)) report(path, `refers to "${variable}", which is not a field`);
        }
      }
    }),
  );

  const checkFields = (fields: string[] | undefined, path: (string | number)[]) =>
    fields?.forEach((id, i) => {
      if (!fieldIds.has(id)) report([...path, i], `unknown field "${id}"`);
    });
  checkFields(recordType.title, [...at, 'title']);
  checkFields(recordType.searchFields, [...at, 'searchFields']);
  checkPermission(recordType.readPermission, [...at, 'readPermission']);

  const { CUSTOM, ASSIGN, ...plain } = recordType.actions;
  for (const [type, action] of Object.entries(plain)) {
    if (!action) continue;
    const path = [...at, 'actions', type];
    checkPermission(action.permission, [...path, 'permission']);
    checkConfirmation(action.confirmation, recordType.id, type as ActionType, path, checks);
    checkFields(action.fields, [...path, 'fields']);
  }
  if (ASSIGN) {
    checkPermission(ASSIGN.permission, [...at, 'actions', 'ASSIGN', 'permission']);
    checkPermission(ASSIGN.reassignPermission, [...at, 'actions', 'ASSIGN', 'reassignPermission']);
  }
  if (recordType.deduplication) checkDeduplication(recordType, at, checks);
  const customIds = new Set<string>();
  CUSTOM.forEach((custom, c) => {
    const path = [...at, 'actions', 'CUSTOM', c];
    if (customIds.has(custom.id)) report([...path, 'id'], `duplicate custom action "${custom.id}"`);
    customIds.add(custom.id);
    checkPermission(custom.permission, [...path, 'permission']);
    checkConfirmation(custom.confirmation, recordType.id, 'CUSTOM', path, checks);
    checkFields(custom.fields, [...path, 'fields']);
    for (const flag of [...custom.addFlags, ...custom.removeFlags]) {
      if (['incomplete', 'rejected', 'validated', 'conflict'].includes(flag)) {
        report(
          path,
          `"${flag}" is a flag the protocol derives; a custom action may not set or clear it`,
        );
      }
    }
  });
}

const COMPARABLE: Record<string, ReadonlySet<string>> = {
  fuzzy: new Set(['text', 'name', 'idNumber', 'phone', 'email']),
  phonetic: new Set(['text', 'name']),
  dateRange: new Set(['date']),
};

function checkDeduplication(
  recordType: RecordTypeConfig,
  at: (string | number)[],
  { report, checkPermission }: Checks,
): void {
  const dedup = recordType.deduplication;
  if (!dedup) return;
  const path = [...at, 'deduplication'];
  checkPermission(dedup.reviewPermission, [...path, 'reviewPermission']);
  dedup.after.forEach((type, i) => {
    if (!recordType.actions[type]) {
      report([...path, 'after', i], `${recordType.id} records do not offer ${type}`);
    }
  });
  const fields = new Map(recordType.form.pages.flatMap((p) => p.fields.map((f) => [f.id, f])));
  const seen = new Set<string>();
  dedup.rules.forEach((rule, r) => {
    const rulePath = [...path, 'rules', r];
    const field = fields.get(rule.field);
    if (!field) {
      report([...rulePath, 'field'], `unknown field "${rule.field}"`);
      return;
    }
    if (seen.has(rule.field)) report([...rulePath, 'field'], `a second rule for "${rule.field}"`);
    seen.add(rule.field);
    for (const kind of rule.match) {
      const types = COMPARABLE[kind];
      if (types && !types.has(field.type)) {
        report([...rulePath, 'match'], `a ${field.type} field cannot be compared by ${kind}`);
      }
    }
    if (rule.match.includes('dateRange') && rule.window === undefined) {
      report([...rulePath, 'window'], 'dateRange needs a window (days)');
    }
  });
}

/** Every role and office the claim mapping names must exist. */
function checkSingleSignOn(
  config: Configuration,
  signOn: SingleSignOn,
  report: (path: (string | number)[], message: string) => void,
): void {
  const roles = new Set(config.roles.map((r) => r.id));
  for (const [value, role] of Object.entries(signOn.role.values)) {
    if (!roles.has(role))
      report(['singleSignOn', 'role', 'values', value], `unknown role "${role}"`);
  }
  const offices = new Set(config.locations.filter(isOffice).map((l) => l.id));
  for (const [value, office] of Object.entries(signOn.office.values ?? {})) {
    if (!offices.has(office)) {
      report(
        ['singleSignOn', 'office', 'values', value],
        `"${office}" is not an office or facility`,
      );
    }
  }
}

/** Where staff work: the locations a user's office may be. */
export const isOffice = (location: Pick<Location, 'type'>): boolean =>
  location.type === 'office' || location.type === 'facility';
