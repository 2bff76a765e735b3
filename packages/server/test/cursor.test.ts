import pg from 'pg';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  action,
  Device,
  newId,
  startTestServer,
  type Session,
  type TestServer,
} from './harness.js';

/**
 * PROTOCOL 4 rule 5: a cursor never skips an entry, even when transactions commit in another order
 * than the one in which they got their positions. Writers here are raw PostgreSQL connections that
 * append with deliberately interleaved commits; the reader is a device pulling over HTTP.
 */
let server: TestServer;
let agent: Session;
let reader: Device;
const recordIds: string[] = [];

beforeAll(async () => {
  server = await startTestServer();
  agent = await server.login('agent');
  reader = new Device(server, await server.login('registrar'));
  const writer = new Device(server, agent);
  for (let i = 0; i < 16; i++) {
    const recordId = newId();
    recordIds.push(recordId);
    await writer.push(action({ type: 'CREATE', recordId, recordType: 'birth' }));
  }
});
afterAll(() => server.close());

let nextSeq = 100;
/** Appends `count` entries to a record inside an open transaction of `client`. */
async function appendRaw(client: pg.Client, recordId: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const id = uuidv7();
    ids.push(id);
    await client.query(
      `INSERT INTO entries (id, record_id, seq, record_type, type, body, status, created_by, created_by_role,
         created_at_location, recorded_at, config_version)
       VALUES ($1, $2, $3, 'birth', 'UPDATE', $4, 'accepted', $5, 'field-agent', 'ibombo-office', now(), '1.0.0')`,
      [
        id,
        recordId,
        nextSeq++,
        JSON.stringify({ id, recordId, type: 'UPDATE', occurredAt: new Date().toISOString() }),
        agent.user.id,
      ],
    );
  }
  return ids;
}

async function openClient(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: server.databaseUrl });
  await client.connect();
  return client;
}

const seenIds = () => reader.received.map((e) => e.id);

describe('the change feed under interleaved commits', () => {
  it('holds back a later commit until the earlier transaction ends, then delivers both in order', async () => {
    await reader.drain();
    const early = await openClient();
    const late = await openClient();
    await early.query('BEGIN');
    const earlyIds = await appendRaw(early, recordIds[0] as string, 2);
    await late.query('BEGIN');
    const lateIds = await appendRaw(late, recordIds[1] as string, 2);
    await late.query('COMMIT');

    await reader.drain();
    // The late transaction committed, but an earlier one is still open: nothing may pass it.
    expect(seenIds()).not.toContain(lateIds[0]);

    await early.query('COMMIT');
    await reader.drain();
    const order = seenIds().filter((id) => [...earlyIds, ...lateIds].includes(id));
    expect(order).toEqual([...earlyIds, ...lateIds]);
    await Promise.all([early.end(), late.end()]);
  });

  it('delivers every entry exactly once to a puller running beside 8 writers with random commit delays', async () => {
    await reader.drain();
    const committed: string[] = [];
    // The writers' last transactions wait until the puller has pulled a few times, so that its
    // pulls run beside the writes however fast either side is.
    let pulls = 0;
    let pulled: () => void = () => undefined;
    const sixPulls = new Promise<void>((resolve) => (pulled = resolve));
    const writers = Array.from({ length: 8 }, async (_, w) => {
      const client = await openClient();
      for (let t = 0; t < 25; t++) {
        if (t === 24) await sixPulls;
        await client.query('BEGIN');
        const ids = await appendRaw(client, recordIds[2 + (w % 14)] as string, 1 + ((w + t) % 3));
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 40));
        if ((w + t) % 7 === 0) {
          await client.query('ROLLBACK');
        } else {
          await client.query('COMMIT');
          committed.push(...ids);
        }
      }
      await client.end();
    });
    let writing = true;
    const done = Promise.all(writers).finally(() => {
      writing = false;
    });
    while (writing) {
      await reader.sync([], 50);
      if (++pulls === 6) pulled();
    }
    await done;
    await reader.drain();

    const counts = new Map<string, number>();
    for (const id of seenIds()) counts.set(id, (counts.get(id) ?? 0) + 1);
    const duplicated = [...counts].filter(([, n]) => n > 1);
    expect(duplicated).toEqual([]);
    const missing = committed.filter((id) => !counts.has(id));
    expect(missing).toEqual([]);
    expect(committed.length).toBeGreaterThan(200);
    expect(pulls).toBeGreaterThan(5);
  });
});
