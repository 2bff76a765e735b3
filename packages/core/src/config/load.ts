import type { FieldError } from '../contracts/problem.js';
import { toFieldErrors } from '../contracts/problem.js';
import { conditionVariables, isCondition } from '../declaration/conditions.js';
import { checkCertificates } from './check-certificates.js';
import { checkExchange } from '../exchange/check.js';
import { CONSENT_RECORD_TYPE, consentRecordType } from '../exchange/consent.js';
import { LocationIndex } from './locations.js';
import { principalFor, type Principal, type PrincipalSource } from './principal.js';
import {
  ConfigurationSchema,
  type Configuration,
  type Location,
  type RecordTypeConfig,
  type Role,
} from './schema.js';

/** A configuration that passed every check, indexed for the rules. */
export interface RegistryConfig {
  document: Configuration;
  version: string;
  locations: LocationIndex;
  recordTypes: ReadonlyMap<string, RecordTypeConfig>;
  roles: ReadonlyMap<string, Role>;
  principal(user: PrincipalSource): Principal;
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
export function loadConfiguration(input: unknown): LoadResult {
  const parsed = ConfigurationSchema.safeParse(input);
  if (!parsed.success) return { ok: false, errors: toFieldErrors(parsed.error) };
  const document = parsed.data;
  const errors = crossCheck(document);
  if (errors.length > 0) return { ok: false, errors };

  const locations = new LocationIndex(document.locations);
  const roles = new Map(document.roles.map((role) => [role.id, role]));
  return {
    ok: true,
    config: {
      document,
      version: document.version,
      locations,
      recordTypes: new Map([
        ...document.recordTypes.map((type) => [type.id, type] as const),
        // Consents are records too, of a type Registra makes (exchange/consent.ts).
        ...(document.exchange ? [[CONSENT_RECORD_TYPE, consentRecordType()] as const] : []),
      ]),
      roles,
      principal: (user) => principalFor(user, roles.get(user.role), locations),
    },
  };
}

export function loadConfigurationOrThrow(input: unknown): RegistryConfig {
  const result = loadConfiguration(input);
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
    checkRecordType(recordType, ['recordTypes', t], { report, checkPermission, recordTypeIds }),
  );
  // Certificates are read against the record types: only once those are sound, or one broken
  // record type would be reported again for every claim and placeholder naming its fields.
  if (errors.length === 0) checkCertificates(config, report);
  if (config.exchange) checkExchange(config, config.exchange, report);

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
  return errors;
}

interface Checks {
  report: (path: (string | number)[], message: string) => void;
  checkPermission: (permission: string, path: (string | number)[]) => void;
  recordTypeIds: ReadonlySet<string>;
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
    if (action.confirmation)
      checkPermission(action.confirmation.permission, [...path, 'confirmation', 'permission']);
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
    if (custom.confirmation)
      checkPermission(custom.confirmation.permission, [...path, 'confirmation', 'permission']);
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
