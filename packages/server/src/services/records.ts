import { inReach, searchForm, type Entry, type RecordState } from '@registra/core';
import { readLogPage } from '../store/entries.js';
import { findRecordState, listRecords } from '../store/records.js';
import type { Caller, Registry } from './context.js';
import { invalidInput, notFound } from './problem.js';
import { scopeOf } from './reach.js';

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
  const record = await findRecordState(registry.db, id);
  if (!record || !inReach(caller.principal, registry.config, record))
    throw notFound('no such record');
  const page = await readLogPage(registry.db, id, entriesAfter, LOG_PAGE_ENTRIES, PAGE_BYTES);
  return {
    record,
    entries: page.links.map((link) => link.entry),
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
      : Number.isFinite(Number(after?.key));
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
    q: query.q === undefined ? undefined : searchForm(query.q),
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
  return { results: page.map((row) => row.state), next };
}
