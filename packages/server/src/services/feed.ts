import { inJurisdiction, type Entry, type Principal } from '@registra/core';
import { readFeed, readLogUpTo, type FeedPosition } from '../store/entries.js';
import type { Registry } from './context.js';
import { invalidInput } from './problem.js';
import { scopeOf } from './reach.js';

export interface Changes {
  changes: Entry[];
  cursor: string;
  hasMore: boolean;
}

const START: FeedPosition = { tx: '0', pos: '0' };

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
 * those pushed by `deviceId`. A record assigned to the principal from outside their jurisdiction
 * brings its earlier log along, right before the ASSIGN.
 */
export async function readChanges(
  registry: Registry,
  principal: Principal,
  deviceId: string | null,
  cursor: string | null,
  limit: number,
): Promise<Changes> {
  const after = decodeCursor(cursor);
  const scope = scopeOf(principal, registry.config);
  const rows = await readFeed(registry.db, after, scope, limit + 1, deviceId);
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
  for (const { entry } of page) {
    if (entry === null) continue;
    if (arrivals.delete(entry.recordId)) {
      const earlier = await readLogUpTo(registry.db, entry.recordId, after as FeedPosition);
      changes.push(...earlier.filter((e) => !mine(e)));
    }
    changes.push(entry);
  }
  const last = page[page.length - 1];
  return {
    changes,
    cursor: encodeCursor(last ? last.position : (after ?? START)),
    hasMore: rows.length > limit,
  };
}
