import {
  formFields,
  identifierKey,
  IDENTIFIER_TYPES,
  inReach,
  parseSearchQuery,
  type Entry,
  type RecordState,
} from '@registra/core';
import { readLogPage } from '../store/entries.js';
import { findRecordState, listRecords, parseSearchKey } from '../store/records.js';
import { showDuplicates, showDuplicatesOfEntries } from './duplicates-view.js';
import type { Caller, Registry } from './context.js';
import { invalidInput, notFound } from './problem.js';
import { scopeOf } from './reach.js';
import { openEntries, openState, openStates } from './vault/open.js';

/** PROTOCOL 7: a page of entries holds at most this much JSON, and this many entries. */
export const PAGE_BYTES = 4 * 1024 * 1024;
const LOG_PAGE_ENTRIES = 1000;

/**
 * A record in reach and its log, from `entriesAfter` (a seq) on, in pages bounded by bytes:
 * `hasMoreEntries` tells the caller to ask again from the last seq it got.
 */
export async function getRecord(
  registry: Registry,
  caller: Caller,
  id: string,
  entriesAfter = 0,
): Promise<{ record: RecordState; entries: Entry[]; hasMoreEntries: boolean }> {
  const stored = await findRecordState(registry.db, id);
  if (!stored || !inReach(caller.principal, registry.config, stored))
    throw notFound('no such record');
  const record = await openState(registry, stored);
  const page = await readLogPage(registry.db, id, entriesAfter, LOG_PAGE_ENTRIES, PAGE_BYTES);
  const [shown] = await showDuplicates(registry, caller.principal, [record]);
  return {
    record: shown ?? record,
    entries: await showDuplicatesOfEntries(
      registry,
      caller.principal,
      await openEntries(
        registry,
        page.links.map((link) => link.entry),
      ),
    ),
    hasMoreEntries: page.hasMore,
  };
}

/**
 * A record's log exactly as stored, with its chain (PROTOCOL 13), for an administrator (the route
 * checks) or anyone who checks the chain without keys; in the same pages as the log. Entries stored before the
 * chain existed have `hash` and `prevHash` null.
 */
export async function getChain(
  registry: Registry,
  id: string,
  entriesAfter = 0,
): Promise<{
  entries: (Entry & { hash: string | null; prevHash: string | null })[];
  hasMoreEntries: boolean;
}> {
  const record = await findRecordState(registry.db, id);
  if (!record) throw notFound('no such record');
  const page = await readLogPage(registry.db, id, entriesAfter, LOG_PAGE_ENTRIES, PAGE_BYTES);
  return {
    entries: page.links.map(({ entry, hash, prevHash }) => ({ ...entry, prevHash, hash })),
    hasMoreEntries: page.hasMore,
  };
}

export interface RecordQuery {
  type?: string | undefined;
  status?: string | undefined;
  flag?: string | undefined;
  q?: string | undefined;
  trackingId?: string | undefined;
  registrationNumber?: string | undefined;
  location?: string | undefined;
  assignedTo?: string | undefined;
  /** `?field.<id>=<value>`: identifier fields, found exactly (PROTOCOL 10). */
  fields?: Record<string, string> | undefined;
  limit: number;
  after?: string | undefined;
}

/** Page keys are opaque: base64url JSON of the last row's sort key and id. */
function decodeAfter(after: string | undefined): { key: string; id: string } | undefined {
  if (after === undefined) return undefined;
  try {
    const [key, id] = JSON.parse(Buffer.from(after, 'base64url').toString()) as unknown[];
    if (typeof key === 'string' && typeof id === 'string' && /^[0-9a-f-]{36}$/.test(id))
      return { key, id };
  } catch {
    // fall through to the error below
  }
  throw invalidInput('`after` is not a page key this server handed out', [
    { path: 'querystring.after', message: 'is not valid' },
  ]);
}

export async function searchRecords(
  registry: Registry,
  caller: Caller,
  query: RecordQuery,
): Promise<{ results: RecordState[]; next: string | null }> {
  const { config } = registry;
  if (query.location !== undefined && !config.locations.get(query.location)) {
    throw invalidInput(`unknown location "${query.location}"`, [
      { path: 'querystring.location', message: 'is not a location' },
    ]);
  }
  const after = decodeAfter(query.after);
  const keyFits =
    query.q === undefined
      ? !Number.isNaN(Date.parse(after?.key ?? ''))
      : parseSearchKey(after?.key ?? '') !== null;
  if (after && !keyFits) {
    throw invalidInput('`after` does not belong to this search', [
      { path: 'querystring.after', message: 'is not valid' },
    ]);
  }
  const rows = await listRecords(registry.db, {
    types: scopeOf(caller.principal, config).types,
    assignedToMe: caller.principal.id,
    type: query.type,
    status: query.status,
    flag: query.flag,
    q: query.q === undefined ? undefined : parseSearchQuery(query.q),
    identifiers: identifierKeys(registry, query),
    trackingId: query.trackingId,
    registrationNumber: query.registrationNumber,
    locations: query.location === undefined ? undefined : config.locations.subtree(query.location),
    assignedTo: query.assignedTo,
    after,
    limit: query.limit + 1,
  });
  const page = rows.slice(0, query.limit);
  const last = page[page.length - 1];
  const next =
    rows.length > query.limit && last
      ? Buffer.from(JSON.stringify([last.key, last.state.id])).toString('base64url')
      : null;
  return {
    results: await showDuplicates(
      registry,
      caller.principal,
      await openStates(
        registry,
        page.map((row) => row.state),
      ),
    ),
    next,
  };
}

/**
 * A list query as the read audit keeps it: a sensitive identifier's value replaced by its blind
 * index (PROTOCOL 13), everything else as asked.
 */
export function queryForAudit(
  registry: Registry,
  query: Record<string, unknown>,
): Record<string, unknown> {
  const kept: Record<string, unknown> = { ...query };
  const types = [...registry.config.recordTypes.values()];
  for (const [key, value] of Object.entries(query)) {
    const field = key.startsWith('field.') ? key.slice('field.'.length) : null;
    if (field === null || typeof value !== 'string') continue;
    if (types.some((type) => formFields(type).get(field)?.sensitive === true)) {
      kept[key] = identifierKey(field, value, registry.vault.blind);
    }
  }
  return kept;
}

/**
 * The index keys of `?field.<id>=<value>`: each must name an identifier field (an id number,
 * phone or email) of a record type searched, or the query is refused.
 */
function identifierKeys(registry: Registry, query: RecordQuery): string[] | undefined {
  const entries = Object.entries(query.fields ?? {});
  if (entries.length === 0) return undefined;
  const types = query.type
    ? [registry.config.recordTypes.get(query.type)]
    : [...registry.config.recordTypes.values()];
  return entries.map(([field, value]) => {
    const defined = types.flatMap((type) => {
      const definition = type && formFields(type).get(field);
      return definition && IDENTIFIER_TYPES.has(definition.type) ? [definition] : [];
    });
    const known = defined.length > 0;
    if (!known) {
      throw invalidInput(`field.${field} is not an identifier field (id number, phone or email)`, [
        { path: `querystring.field.${field}`, message: 'is not an identifier field' },
      ]);
    }
    // A sensitive identifier is found by its blind index (PROTOCOL 13).
    const sensitive = defined.some((definition) => definition.sensitive === true);
    return identifierKey(field, value, sensitive ? registry.vault.blind : undefined);
  });
}
