import { jsonEqual } from '../declaration/merge.js';
import type {
  ActionConfig,
  Configuration,
  CustomActionConfig,
  RecordTypeConfig,
  Role,
} from './schema.js';

/**
 * What a new configuration changes, part by part, so that an operator sees it before it is
 * applied (`registra config diff`). Entries keep the version they were accepted under, so a change
 * applies only to what is accepted after it; the words say what changes for people at work.
 */
export type ConfigChange =
  | { kind: 'version'; from: string; to: string }
  | { kind: 'version-unchanged'; version: string }
  | { kind: 'record-type-added' | 'record-type-removed'; recordType: string; label: string }
  | { kind: 'record-type-reworded'; recordType: string; from: string; to: string }
  | { kind: 'field-added' | 'field-removed'; recordType: string; field: string; label: string }
  | { kind: 'field-reworded'; recordType: string; field: string; from: string; to: string }
  | {
      kind: 'field-changed';
      recordType: string;
      field: string;
      /** The field's settings that differ (type, required, options, limits…). */
      settings: string[];
    }
  | { kind: 'page-reworded'; recordType: string; page: string; from: string; to: string }
  | { kind: 'action-added' | 'action-removed'; recordType: string; action: string }
  | { kind: 'action-changed'; recordType: string; action: string; settings: string[] }
  | { kind: 'role-added' | 'role-removed'; role: string; label: string }
  | { kind: 'role-reworded'; role: string; from: string; to: string }
  | { kind: 'role-permissions'; role: string; added: string[]; removed: string[] }
  | { kind: 'role-jurisdiction'; role: string; from: string; to: string }
  | { kind: 'permission-added' | 'permission-removed'; permission: string }
  | { kind: 'section-changed'; section: string };

export function diffConfigurations(before: Configuration, after: Configuration): ConfigChange[] {
  const changes: ConfigChange[] = [];
  if (before.version !== after.version) {
    changes.push({ kind: 'version', from: before.version, to: after.version });
  }

  const types = pair(before.recordTypes, after.recordTypes, (t) => t.id);
  for (const t of types.removed) {
    changes.push({ kind: 'record-type-removed', recordType: t.id, label: t.label });
  }
  for (const t of types.added) {
    changes.push({ kind: 'record-type-added', recordType: t.id, label: t.label });
  }
  for (const [old, next] of types.both) changes.push(...diffRecordType(old, next));

  const permissions = pair(before.permissions, after.permissions, (p) => p.id);
  for (const p of permissions.removed)
    changes.push({ kind: 'permission-removed', permission: p.id });
  for (const p of permissions.added) changes.push({ kind: 'permission-added', permission: p.id });

  const roles = pair(before.roles, after.roles, (r) => r.id);
  for (const r of roles.removed) changes.push({ kind: 'role-removed', role: r.id, label: r.label });
  for (const r of roles.added) changes.push({ kind: 'role-added', role: r.id, label: r.label });
  for (const [old, next] of roles.both) changes.push(...diffRole(old, next));

  for (const section of [
    'name',
    'timeZone',
    'maxOfflineDays',
    'locations',
    'certificates',
    'workqueues',
  ] as const) {
    if (!jsonEqual(before[section], after[section])) {
      changes.push({ kind: 'section-changed', section });
    }
  }

  if (before.version === after.version && changes.length > 0) {
    changes.unshift({ kind: 'version-unchanged', version: after.version });
  }
  return changes;
}

function diffRecordType(old: RecordTypeConfig, next: RecordTypeConfig): ConfigChange[] {
  const recordType = next.id;
  const changes: ConfigChange[] = [];
  if (old.label !== next.label) {
    changes.push({ kind: 'record-type-reworded', recordType, from: old.label, to: next.label });
  }

  const pages = pair(old.form.pages, next.form.pages, (p) => p.id);
  for (const [a, b] of pages.both) {
    if (a.title !== b.title) {
      changes.push({ kind: 'page-reworded', recordType, page: b.id, from: a.title, to: b.title });
    }
  }

  const fields = pair(
    old.form.pages.flatMap((p) => p.fields),
    next.form.pages.flatMap((p) => p.fields),
    (f) => f.id,
  );
  for (const f of fields.removed) {
    changes.push({ kind: 'field-removed', recordType, field: f.id, label: f.label });
  }
  for (const f of fields.added) {
    changes.push({ kind: 'field-added', recordType, field: f.id, label: f.label });
  }
  for (const [a, b] of fields.both) {
    if (a.label !== b.label) {
      changes.push({ kind: 'field-reworded', recordType, field: b.id, from: a.label, to: b.label });
    }
    const settings = differingKeys(a, b, ['id', 'label']);
    if (settings.length > 0)
      changes.push({ kind: 'field-changed', recordType, field: b.id, settings });
  }

  const actions = pair(namedActions(old), namedActions(next), ([name]) => name);
  for (const [action] of actions.removed)
    changes.push({ kind: 'action-removed', recordType, action });
  for (const [action] of actions.added) changes.push({ kind: 'action-added', recordType, action });
  for (const [[action, a], [, b]] of actions.both) {
    const settings = differingKeys(a, b, ['id']);
    if (settings.length > 0) changes.push({ kind: 'action-changed', recordType, action, settings });
  }

  for (const section of [
    'vocabulary',
    'readPermission',
    'title',
    'searchFields',
    'registrationNumber',
    'deduplication',
    'concurrency',
  ] as const) {
    if (!jsonEqual(old[section], next[section])) {
      changes.push({ kind: 'section-changed', section: `${recordType}.${section}` });
    }
  }
  return changes;
}

type AnyAction =
  ActionConfig | CustomActionConfig | NonNullable<RecordTypeConfig['actions']['ASSIGN']>;

/** A record type's actions by name: the built-in ones by type, custom ones as CUSTOM:<id>. */
function namedActions(t: RecordTypeConfig): [string, AnyAction][] {
  const named: [string, AnyAction][] = [];
  for (const [name, config] of Object.entries(t.actions)) {
    if (name === 'CUSTOM' || config === undefined || Array.isArray(config)) continue;
    named.push([name, config as AnyAction]);
  }
  for (const custom of t.actions.CUSTOM) named.push([`CUSTOM:${custom.id}`, custom]);
  return named;
}

function diffRole(old: Role, next: Role): ConfigChange[] {
  const changes: ConfigChange[] = [];
  if (old.label !== next.label) {
    changes.push({ kind: 'role-reworded', role: next.id, from: old.label, to: next.label });
  }
  if (old.jurisdiction !== next.jurisdiction) {
    changes.push({
      kind: 'role-jurisdiction',
      role: next.id,
      from: old.jurisdiction,
      to: next.jurisdiction,
    });
  }
  const grant = (g: Role['permissions'][number]) =>
    typeof g === 'string' ? g : g.national ? `${g.permission} (national)` : g.permission;
  const a = new Set(old.permissions.map(grant));
  const b = new Set(next.permissions.map(grant));
  const added = [...b].filter((p) => !a.has(p));
  const removed = [...a].filter((p) => !b.has(p));
  if (added.length > 0 || removed.length > 0) {
    changes.push({ kind: 'role-permissions', role: next.id, added, removed });
  }
  return changes;
}

/** The one-line description of a change, as `registra config diff` prints it. */
export function describeConfigChange(c: ConfigChange): string {
  switch (c.kind) {
    case 'version':
      return `version ${c.from} -> ${c.to}: entries accepted from now on record ${c.to}; earlier ones keep ${c.from}`;
    case 'version-unchanged':
      return `! version ${c.version} is unchanged: a changed configuration needs a new version (the server refuses it otherwise)`;
    case 'record-type-added':
      return `+ record type ${c.recordType} "${c.label}"`;
    case 'record-type-removed':
      return `- record type ${c.recordType} "${c.label}": its records can no longer be acted on`;
    case 'record-type-reworded':
      return `~ record type ${c.recordType}: "${c.from}" -> "${c.to}"`;
    case 'field-added':
      return `+ ${c.recordType}: field ${c.field} "${c.label}"`;
    case 'field-removed':
      return `- ${c.recordType}: field ${c.field} "${c.label}" (values already recorded stay in the log)`;
    case 'field-reworded':
      return `~ ${c.recordType}: field ${c.field} label "${c.from}" -> "${c.to}"`;
    case 'field-changed':
      return `~ ${c.recordType}: field ${c.field} changes ${c.settings.join(', ')}`;
    case 'page-reworded':
      return `~ ${c.recordType}: page ${c.page} title "${c.from}" -> "${c.to}"`;
    case 'action-added':
      return `+ ${c.recordType}: action ${c.action}`;
    case 'action-removed':
      return `- ${c.recordType}: action ${c.action}`;
    case 'action-changed':
      return `~ ${c.recordType}: action ${c.action} changes ${c.settings.join(', ')}`;
    case 'role-added':
      return `+ role ${c.role} "${c.label}"`;
    case 'role-removed':
      return `- role ${c.role} "${c.label}": its users can no longer act`;
    case 'role-reworded':
      return `~ role ${c.role}: "${c.from}" -> "${c.to}"`;
    case 'role-jurisdiction':
      return `~ role ${c.role}: jurisdiction ${c.from} -> ${c.to}`;
    case 'role-permissions':
      return `~ role ${c.role}: ${[
        ...c.added.map((p) => `+${p}`),
        ...c.removed.map((p) => `-${p}`),
      ].join(' ')}`;
    case 'permission-added':
      return `+ permission ${c.permission}`;
    case 'permission-removed':
      return `- permission ${c.permission}`;
    case 'section-changed':
      return `~ ${c.section} changed`;
  }
}

interface Paired<T> {
  added: T[];
  removed: T[];
  both: [T, T][];
}

/** Items of two lists matched by key, in the new list's order (removed ones in the old one's). */
function pair<T>(before: readonly T[], after: readonly T[], key: (item: T) => string): Paired<T> {
  const old = new Map(before.map((item) => [key(item), item]));
  const next = new Map(after.map((item) => [key(item), item]));
  return {
    removed: before.filter((item) => !next.has(key(item))),
    added: after.filter((item) => !old.has(key(item))),
    both: after.flatMap((item) => {
      const was = old.get(key(item));
      return was === undefined ? [] : [[was, item] as [T, T]];
    }),
  };
}

/** The keys whose values differ between two objects of one kind, except those ignored. */
function differingKeys(a: object, b: object, ignore: readonly string[]): string[] {
  const av = a as Record<string, unknown>;
  const bv = b as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(av), ...Object.keys(bv)])];
  return keys.filter((k) => !ignore.includes(k) && !jsonEqual(av[k], bv[k])).sort();
}
