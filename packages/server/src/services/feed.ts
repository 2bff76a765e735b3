import { inJurisdiction, type Entry, type Principal } from '@registra/core';
import { readFeed, readLogUpTo, type FeedPosition } from '../store/entries.js';
import type { Registry } from './context.js';
import { showDuplicatesOfEntries } from './duplicates-view.js';
import { invalidInput } from './problem.js';
import { scopeOf } from './reach.js';
import { openEntries } from './vault/open.js';

export interface Changes {
  changes: Entry[];
  cursor: string;
  hasMore: boolean;
}

const START: FeedPosition = { tx: '0', pos: '0' };

/** PROTOCOL 7: a changes page holds at most 4 MiB of JSON, and always at least one entry. */
export const MAX_PAGE_BYTES = 4 * 1024 * 1024;

/** Bytes an entry adds to the `changes` array's JSON: itself and its comma. */
const jsonBytes = (entry: Entry) => Buffer.byteLength(JSON.stringify(entry)) + 1;

/** The fields the server adds to the body in an entry (toEntry in store/entries.ts). */
const SERVER_FIELDS = [
  'seq',
  'status',
  'createdBy',
  'createdByRole',
  'createdAtLocation',
  'deviceId',
  'recordedAt',
  'code',
  'message',
  'registrationNumber',
  'configVersion',
  'deviceSeq',
] as const;

/**
 * jsonBytes from above, without serialising the entry: PostgreSQL's text of the body is never
 * shorter than JSON.stringify's (it adds spaces and prints numbers in full), and each server
 * field is counted at its longest (a string at 6 bytes a character, all escaped). Serialising
 * every entry twice made pulls half as fast; this is exact enough until a page nears its bytes.
 */
function jsonBytesAtMost(entry: Entry, bodyBytes: number): number {
  let bytes = bodyBytes + 2; // a comma after the body's members, and one after the entry
  const fields = entry as unknown as Record<string, unknown>;
  for (const key of SERVER_FIELDS) {
    const value = fields[key];
    bytes += key.length + 4 + (typeof value === 'string' ? 2 + 6 * value.length : 24);
  }
  return bytes;
}

/** Cursors are opaque to clients: base64url of the feed position. */
export function encodeCursor(position: FeedPosition): string {
  return Buffer.from(`${position.tx}.${position.pos}`).toString('base64url');
}

export function decodeCursor(cursor: string | null): FeedPosition | null {
  if (cursor === null) return null;
  const match = /^(\d{1,20})\.(\d{1,20})$/.exec(Buffer.from(cursor, 'base64url').toString());
  // tx is an xid8 (unsigned 64 bits), pos a bigint: larger numbers were never handed out.
  if (!match || BigInt(match[1] as string) >= 2n ** 64n || BigInt(match[2] as string) >= 2n ** 63n)
    throw invalidInput('the cursor is not one this server handed out', [
      { path: 'cursor', message: 'is not a valid cursor' },
    ]);
  return { tx: match[1] as string, pos: match[2] as string };
}

/**
 * The log entries in the principal's scope after the cursor (PROTOCOL 4, rules 5 and 6), except
 * those pushed by `deviceId`: at most `limit` feed entries and at most `maxBytes` of JSON, but
 * always at least one entry. A record assigned to the principal from outside their jurisdiction
 * brings its earlier log along, right before the ASSIGN, and that history counts in the bytes.
 */
export async function readChanges(
  registry: Registry,
  principal: Principal,
  deviceId: string | null,
  cursor: string | null,
  limit: number,
  maxBytes = MAX_PAGE_BYTES,
): Promise<Changes> {
  const after = decodeCursor(cursor);
  const scope = scopeOf(principal, registry.config);
  const { rows, cutByBytes } = await readFeed(
    registry.db,
    after,
    scope,
    limit + 1,
    deviceId,
    maxBytes,
  );
  const page = rows.slice(0, limit);
  // Records assigned to the principal from outside their jurisdiction in this page: their earlier
  // log comes first, right before the record's first entry here, so the device can fold it.
  // (The device's own entries come back as null: it has them, and it did not assign itself a
  // record it could not see.)
  const arrivals = new Set<string>();
  for (const { entry, recordType, recordLocation } of page) {
    if (
      entry !== null &&
      after !== null &&
      entry.type === 'ASSIGN' &&
      entry.assignee === principal.id &&
      !inJurisdiction(principal, registry.config, recordType, recordLocation)
    )
      arrivals.add(entry.recordId);
  }
  const mine = (entry: Entry) => deviceId !== null && entry.deviceId === deviceId;
  const changes: Entry[] = [];
  let bytes = 1; // the array's brackets, less the last entry's comma
  let exact = false; // bytes counted exactly, once the page nears maxBytes
  let taken = 0; // feed rows this page covers: the cursor moves past them
  for (const { entry, bodyBytes } of page) {
    if (entry !== null) {
      const earlier = arrivals.delete(entry.recordId)
        ? (await readLogUpTo(registry.db, entry.recordId, after as FeedPosition)).filter(
            (e) => !mine(e),
          )
        : [];
      const earlierBytes = earlier.reduce((sum, e) => sum + jsonBytes(e), 0);
      let size = earlierBytes + (exact ? jsonBytes(entry) : jsonBytesAtMost(entry, bodyBytes));
      if (!exact && bytes + size > maxBytes) {
        exact = true;
        bytes = changes.reduce((sum, e) => sum + jsonBytes(e), 1);
        size = earlierBytes + jsonBytes(entry);
      }
      // Past the bytes: this row waits for the next page (the cursor stops before it).
      if (changes.length > 0 && bytes + size > maxBytes) break;
      changes.push(...earlier, entry);
      bytes += size;
    }
    taken += 1;
  }
  const last = page[taken - 1];
  return {
    // Counted sealed above: a sensitive value in the clear is never longer than its envelope.
    changes: await showDuplicatesOfEntries(
      registry,
      principal,
      await openEntries(registry, changes),
    ),
    cursor: encodeCursor(last ? last.position : (after ?? START)),
    hasMore: taken < page.length || rows.length > limit || cutByBytes,
  };
}
