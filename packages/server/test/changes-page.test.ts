import type { Entry, SyncResponse } from '@registra/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_PAGE_BYTES, readChanges } from '../src/services/feed.js';
import { readFeed } from '../src/store/entries.js';
import { findUserById } from '../src/store/users.js';
import {
  action,
  Device,
  newId,
  otherDatabasesSettled,
  startTestServer,
  type Session,
  type TestServer,
} from './harness.js';

/**
 * PROTOCOL 7: a changes page holds at most `limit` entries and at most 4 MiB of JSON, always at
 * least one entry; `hasMore` tells the device to ask again.
 */

const RECORDS = 4;
const UPDATES = 100; // per record: 400 entries of about 12 kB, about 4.8 MB in all
const NOTE = 12_000;

let server: TestServer;
let registrar: Session;
const ids = new Set<string>();
beforeAll(async () => {
  server = await startTestServer();
  const agent = new Device(server, await server.login('agent'));
  registrar = await server.login('registrar');
  const actions = [];
  for (let r = 0; r < RECORDS; r++) {
    const recordId = newId();
    actions.push(action({ type: 'CREATE', recordId, recordType: 'birth' }));
    for (let i = 0; i < UPDATES; i++) {
      actions.push(
        action({
          type: 'UPDATE',
          recordId,
          baseSeq: 1,
          declaration: { 'child.firstName': `Ama ${i}` },
          annotation: { note: `${i} ${'x'.repeat(NOTE)}` },
        }),
      );
    }
  }
  const results = await agent.push(...actions);
  expect(results.every((r) => r.outcome === 'accepted')).toBe(true);
  for (const a of actions) ids.add(a.id as string);
  await otherDatabasesSettled(server.db);
}, 120_000);
afterAll(() => server?.close());

describe('changes pages (PROTOCOL 7)', () => {
  it('holds at most 4 MiB of JSON, with hasMore, and the pages together hold every entry once', async () => {
    const device = new Device(server, registrar);
    const pages: { bytes: number; count: number; hasMore: boolean }[] = [];
    for (;;) {
      const page: SyncResponse = await device.sync([], 1000);
      pages.push({
        bytes: Buffer.byteLength(JSON.stringify(page.changes)),
        count: page.changes.length,
        hasMore: page.hasMore,
      });
      if (!page.hasMore) break;
    }
    const first = pages[0] as (typeof pages)[number];
    expect(first.hasMore).toBe(true);
    expect(first.count).toBeLessThan(ids.size);
    for (const page of pages) {
      expect(page.bytes).toBeLessThanOrEqual(MAX_PAGE_BYTES);
      expect(page.count).toBeGreaterThan(0);
    }
    // Full pages: the next entry would not have fit.
    expect(first.bytes).toBeGreaterThan(MAX_PAGE_BYTES - 2 * NOTE);
    const received = device.received.map((e) => e.id);
    expect(new Set(received).size).toBe(received.length);
    expect(new Set(received)).toEqual(ids);
    console.log(
      `changes pages: ${pages.map((p) => `${p.count} entries ${(p.bytes / 1024 / 1024).toFixed(2)} MiB`).join(', ')}`,
    );
  });

  it('holds at least one entry, however large, and still ends', async () => {
    const user = await findUserById(server.db, registrar.user.id);
    const principal = server.registry.config.principal(user as NonNullable<typeof user>);
    const seen: Entry[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 1000; pages++) {
      const page = await readChanges(server.registry, principal, null, cursor, 500, 1000);
      expect(page.changes).toHaveLength(1);
      seen.push(...page.changes);
      cursor = page.cursor;
      if (!page.hasMore) break;
    }
    expect(new Set(seen.map((e) => e.id))).toEqual(ids);
  });

  it('reads no more than about the bytes of a page from the database, whatever the limit', async () => {
    const { rows, cutByBytes } = await readFeed(server.db, null, null, 1000, null, 100_000);
    expect(cutByBytes).toBe(true);
    // 100 kB of 12 kB bodies: the rows that fit, the one that crosses, and one more.
    expect(rows.length).toBeLessThanOrEqual(Math.ceil(100_000 / NOTE) + 2);
  });
});
