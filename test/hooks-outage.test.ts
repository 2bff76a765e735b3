import type { Entry, RecordState } from '@registra/core';
import { sql } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, expect, it } from 'vitest';
import { BIRTH, freshDatabase, PASSWORD } from '../packages/server/test/harness.js';
import { civilRegistryWithHooks, Receiver } from '../packages/server/test/receiver.js';
import { fixedPort } from '../packages/server/test/ports.js';
import { ServerProcess } from './support/server-process.js';

/**
 * PROTOCOL 8 under faults: the hooks' receiver is down for a minute while 10,000 actions arrive,
 * and the server is killed with SIGKILL twice: right after the appends (nothing delivered yet),
 * and in the middle of the deliveries once the receiver is back. In the end every delivery has
 * arrived with a valid signature, none is lost, duplicates are counted and printed, the notify
 * hook got each record's entries in seq order, and every registration was decided.
 */
const RECORDS = 5_000;
const PER_REQUEST = 500; // records per sync request: 1,000 actions
const REGISTRATIONS = 50;
const DOWN_MS = 60_000;

const RULES_SECRET = 'rules secret';
const EVENTS_SECRET = `whsec_${Buffer.from('events secret').toString('base64')}`;

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

it('delivers everything, in order, after an outage and two SIGKILLs', async () => {
  const receiver = new Receiver({ '/rules': RULES_SECRET, '/events': EVENTS_SECRET });
  const receiverPort = await fixedPort();
  const url = `http://127.0.0.1:${receiverPort}`;
  let registered = 0;
  receiver.reply = (r) =>
    r.path === '/rules'
      ? { status: 200, body: { registrationNumber: `OUT-${++registered}` } }
      : { status: 200 };

  const database = await freshDatabase();
  cleanups.push(() => database.drop());
  const server = new ServerProcess({
    DATABASE_URL: database.url,
    // Without deduplication: its jobs would find the 5,000 same births to be duplicates of each
    // other and hold their REGISTER for a review (deduplication has its own tests).
    REGISTRA_CONFIG: civilRegistryWithHooks(
      (hook) => {
        hook['timeout'] = 2;
      },
      { deduplication: false },
    ),
    REGISTRA_DEMO_PASSWORD: PASSWORD,
    // A server on DATABASE_URL creates the demo users only when asked.
    REGISTRA_SEED_DEMO_USERS: 'true',
    REGISTRA_RULES_URL: `${url}/rules`,
    REGISTRA_RULES_SECRET: RULES_SECRET,
    REGISTRA_EVENTS_URL: `${url}/events`,
    REGISTRA_EVENTS_SECRET: EVENTS_SECRET,
  });
  cleanups.push(() => server.stop());
  cleanups.push(() => receiver.stop());
  await server.start();
  const base = `http://127.0.0.1:${await server.port}`;
  const login = async (username: string) => {
    const response = await fetch(`${base}/api/v1/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'password', username, password: PASSWORD }),
    });
    return (await response.json()) as { accessToken: string; user: { id: string } };
  };
  const post = async (token: string, path: string, body: unknown) => {
    const response = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    });
    expect(response.status, await response.clone().text()).toBe(200);
    return (await response.json()) as { results: { outcome: string }[] };
  };

  // The receiver is down from the start: 10,000 actions arrive meanwhile, by sync.
  const outageEnds = Date.now() + DOWN_MS;
  const agent = await login('agent');
  const registrar = await login('registrar');
  const deviceId = uuidv7();
  const records: string[] = [];
  let deviceSeq = 0;
  const at = () => new Date(Date.now() - 60_000).toISOString();
  for (let start = 0; start < RECORDS; start += PER_REQUEST) {
    const actions = [];
    for (let i = start; i < Math.min(RECORDS, start + PER_REQUEST); i++) {
      const recordId = uuidv7();
      records.push(recordId);
      actions.push(
        {
          id: uuidv7(),
          recordId,
          type: 'CREATE',
          recordType: 'birth',
          occurredAt: at(),
          deviceSeq: ++deviceSeq,
        },
        {
          id: uuidv7(),
          recordId,
          type: 'DECLARE',
          declaration: BIRTH,
          occurredAt: at(),
          deviceSeq: ++deviceSeq,
        },
      );
    }
    const answer = await post(agent.accessToken, '/api/v1/sync', {
      deviceId,
      cursor: null,
      actions,
      limit: 1,
    });
    expect(answer.results.every((r) => r.outcome === 'accepted')).toBe(true);
  }
  for (const recordId of records.slice(0, REGISTRATIONS)) {
    const answer = await post(registrar.accessToken, '/api/v1/actions', {
      actions: [
        { id: uuidv7(), recordId, type: 'ASSIGN', assignee: registrar.user.id, occurredAt: at() },
        { id: uuidv7(), recordId, type: 'REGISTER', occurredAt: at() },
      ],
    });
    expect(answer.results.map((r) => r.outcome)).toEqual(['accepted', 'requested']);
  }
  // Killed between the appends and their deliveries.
  await server.kill();
  await server.start();

  await new Promise((resolve) => setTimeout(resolve, Math.max(0, outageEnds - Date.now())));
  await receiver.start(receiverPort);
  // Killed again while the deliveries flow.
  for (let i = 0; i < 600 && receiver.of('/events').length < 3_000; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await server.kill();
  await server.start();

  const pending = async () =>
    Number(
      (
        await sql<{
          n: string;
        }>`SELECT count(*) AS n FROM hook_deliveries WHERE state = 'pending'`.execute(database.db)
      ).rows[0]?.n,
    );
  for (let i = 0; i < 3000 && (await pending()) > 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  expect(await pending()).toBe(0);

  // Every accepted or requested entry reached the notify hook, signed; none was lost.
  const stored = await sql<{ id: string; record_id: string; seq: number }>`
    SELECT id, record_id, seq FROM entries WHERE status <> 'rejected'`.execute(database.db);
  const events = receiver.of('/events');
  expect(events.every((e) => e.verified)).toBe(true);
  const firsts = new Map<string, Entry>();
  for (const e of events) {
    const entry = e.json['entry'] as Entry;
    if (!firsts.has(entry.id)) firsts.set(entry.id, entry);
  }
  const missing = stored.rows.filter((row) => !firsts.has(row.id));
  expect(missing).toEqual([]);
  // Per record, first arrivals in seq order.
  const lastSeq = new Map<string, number>();
  let outOfOrder = 0;
  for (const entry of firsts.values()) {
    if ((lastSeq.get(entry.recordId) ?? 0) > entry.seq) outOfOrder += 1;
    lastSeq.set(entry.recordId, entry.seq);
  }
  expect(outOfOrder).toBe(0);
  const ids = events.map((e) => e.id);
  const duplicates = ids.length - new Set(ids).size;
  console.log(
    `hooks outage: ${stored.rows.length} entries, ${events.length} notify deliveries received, ` +
      `${duplicates} duplicates (same webhook-id again), ${receiver.of('/rules').length} rules calls, ` +
      `${server.kills} SIGKILLs`,
  );
  // Every registration was decided by the rules hook, none left without a decision or a flag.
  const states = await sql<{ state: RecordState }>`
    SELECT state FROM records WHERE id = ANY(${records.slice(0, REGISTRATIONS)}::uuid[])`.execute(
    database.db,
  );
  const undecided = states.rows.filter(
    (r) => r.state.status !== 'REGISTERED' && !r.state.flags.includes('hook-overdue'),
  );
  expect(undecided).toEqual([]);
  expect(states.rows.every((r) => r.state.registrationNumber?.startsWith('OUT-'))).toBe(true);
});
