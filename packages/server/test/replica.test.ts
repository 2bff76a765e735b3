import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ownForPostgres } from '../src/backup/restore.js';
import { BIRTH, declareBirth, Device, startTestServer, type TestServer } from './harness.js';
import {
  debianBin,
  newCluster,
  PASSWORD,
  startCluster,
  USER,
  type LocalPostgres,
} from './local-postgres.js';
import { fixedPort } from './ports.js';

/**
 * A real primary and a real streaming replica, made with PostgreSQL's own tools (pg_basebackup
 * -R), and Registra reading from the replica while every caller reads its own writes.
 */
const WAIT_MS = 3000;
let root: string;
let primary: LocalPostgres;
let replica: LocalPostgres;
let server: TestServer;
let control: pg.Client;

beforeAll(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'registra-replica-'));
  chmodSync(root, 0o755);
  primary = await newCluster(path.join(root, 'primary'), await fixedPort());
  const replicaDir = path.join(root, 'replica');
  await promisify(execFile)(
    debianBin('pg_basebackup'),
    [
      '-d',
      `host=127.0.0.1 port=${primary.port} user=${USER}`,
      '-D',
      replicaDir,
      '-R',
      '-X',
      'stream',
      '-c',
      'fast',
      '-w',
    ],
    { env: { ...process.env, PGPASSWORD: PASSWORD } },
  );
  ownForPostgres(replicaDir);
  chmodSync(replicaDir, 0o700);
  replica = await startCluster(replicaDir, await fixedPort());
  server = await startTestServer('civil-registry', {
    databaseUrl: primary.url,
    replica: { url: replica.url, waitMs: WAIT_MS },
  });
  control = new pg.Client({ connectionString: replica.url });
  await control.connect();
});

afterAll(async () => {
  await control?.end();
  await server?.close();
  await replica?.stop();
  await primary?.stop();
  rmSync(root, { recursive: true, force: true });
});

const counts = () => ({ ...server.registry.replica!.counts });

/** A birth declared through /sync; answers its id and the WAL position the answer named. */
async function write(device: Device, name: string): Promise<{ id: string; lsn: string }> {
  const before = device.server.request;
  let lsn: string | null = null;
  const spy: TestServer['request'] = async (...args) => {
    const response = await before(...args);
    lsn = response.headers.get('registra-lsn') ?? lsn;
    return response;
  };
  const id = await declareBirth(
    new Device({ ...server, request: spy }, device.session, device.id),
    {
      ...BIRTH,
      'child.firstName': name,
    },
  );
  expect(lsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
  return { id, lsn: lsn! };
}

const read = (token: string, recordPath: string, lsn?: string) =>
  server.request('GET', recordPath, {
    token,
    ...(lsn ? { headers: { 'registra-read-after': lsn } } : {}),
  });

it('the replica really is a streaming replica of the primary', async () => {
  const { rows } = await control.query<{ standby: boolean }>(
    'SELECT pg_is_in_recovery() AS standby',
  );
  expect(rows[0]!.standby).toBe(true);
});

it('reads a write back at once through a replica-routed read', async () => {
  const session = await server.login('agent');
  const device = new Device(server, session);
  const { id, lsn } = await write(device, 'Ngozi');

  const before = counts();
  const record = await read(session.token, `/api/v1/records/${id}`, lsn);
  expect(record.status).toBe(200);
  expect(((await record.json()) as { record: { id: string } }).record.id).toBe(id);
  const search = await read(session.token, '/api/v1/records?q=ngozi', lsn);
  expect(
    ((await search.json()) as { results: { id: string }[] }).results.map((r) => r.id),
  ).toContain(id);
  // A pull alone, from a cursor before the write, also goes to the replica and holds the write.
  const pull = await server.request('POST', '/api/v1/sync', {
    token: session.token,
    headers: { 'registra-read-after': lsn },
    body: { deviceId: device.id, cursor: null, actions: [] },
  });
  expect(
    ((await pull.json()) as { changes: { recordId: string }[] }).changes.map((c) => c.recordId),
  ).toContain(id);
  // All three were served by the replica.
  expect(counts()).toEqual({ ...before, replica: before.replica + 3 });
});

it('sends a read to the primary when the replica has not replayed the caller’s write in time', async () => {
  const session = await server.login('agent');
  const device = new Device(server, session);
  await control.query('SELECT pg_wal_replay_pause()');
  try {
    const { id, lsn } = await write(device, 'Paused');
    const before = counts();
    // Without the write's position, the replica answers, and it has not seen the write: the
    // replica is really read, and it really lags.
    expect((await read(session.token, `/api/v1/records/${id}`)).status).toBe(404);
    expect(counts()).toEqual({ ...before, replica: before.replica + 1 });
    // With it, the read waits for the replica, then goes to the primary, and sees the write.
    expect((await read(session.token, `/api/v1/records/${id}`, lsn)).status).toBe(200);
    expect(counts()).toEqual({
      ...before,
      replica: before.replica + 1,
      'primary-lagging': before['primary-lagging'] + 1,
    });
  } finally {
    await control.query('SELECT pg_wal_replay_resume()');
  }
});

it('refuses a read-after position that is not one', async () => {
  const session = await server.login('agent');
  const response = await read(session.token, '/api/v1/records?q=x', 'not-an-lsn');
  expect(response.status).toBe(400);
  expect(response.headers.get('content-type')).toMatch(/problem\+json/);
});
