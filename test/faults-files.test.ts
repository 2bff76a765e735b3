import { FileValueSchema, type Entry } from '@registra/core';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createClient, type RegistraClient } from '../packages/client/src/index.js';
import { jpeg } from '../packages/server/test/files-support.js';
import { freshDatabase, otherDatabasesSettled, PASSWORD } from '../packages/server/test/harness.js';
import { FaultProxy } from './support/fault-proxy.js';
import { prng } from './support/prng.js';
import { ServerProcess } from './support/server-process.js';

/**
 * The fault suite's phase for files (PROTOCOL 9): field agents capture births with photos while
 * the proxy drops, duplicates, delays, reorders and cuts their uploads (tus PATCHes cut half-way)
 * and syncs, and the server is killed with SIGKILL in the middle of uploads. Afterwards every file
 * that an accepted entry names is held, readable, and hashes to its name; no action was rejected
 * FILE_MISSING; nothing captured is lost.
 */
const SOAK = process.env['SOAK'] === '1';
const RECORDS = SOAK ? 40 : 12;
const KILLS = SOAK ? 6 : 3;
const BIRTH = {
  'child.firstName': 'Ama',
  'child.surname': 'Banda',
  'child.dob': '2026-10-01',
  'child.sex': 'female',
  'mother.firstName': 'Grace',
  'mother.surname': 'Banda',
};

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('file uploads under faults', () => {
  it('keeps every file an accepted entry names, whole, through cuts and SIGKILL', async () => {
    const seed = Number(process.env['SEED'] ?? Date.now() % 2 ** 31);
    const random = prng(seed);
    const database = await freshDatabase();
    const dataDir = mkdtempSync(path.join(tmpdir(), 'registra-faults-files-'));
    const server = new ServerProcess({
      DATABASE_URL: database.url,
      REGISTRA_SEED_DEMO_USERS: 'true',
      REGISTRA_CONFIG: 'civil-registry',
      REGISTRA_DEMO_PASSWORD: PASSWORD,
      REGISTRA_DATA_DIR: dataDir,
    });
    const proxy = new FaultProxy(seed);
    cleanups.push(async () => {
      await proxy.stop();
      await server.stop();
      await database.drop();
      rmSync(dataDir, { recursive: true, force: true });
    });
    await server.start();
    proxy.upstreamPort = await server.port;
    proxy.faultable = (req) =>
      req.url === '/api/v1/sync' || (req.url ?? '').startsWith('/api/v1/files/uploads');
    await proxy.start();

    const devices: RegistraClient[] = ['agent', 'agent'].map(() =>
      createClient({
        baseUrl: proxy.url,
        indexedDB: new IDBFactory(),
        IDBKeyRange,
        backgroundSync: false,
        lockAfterMs: 0,
        // Small chunks: many PATCHes per file, so that cuts and kills land mid-upload.
        uploadChunkBytes: 32 * 1024,
      }),
    );
    cleanups.push(async () => devices.forEach((device) => device.close()));
    proxy.faultRate = 0;
    for (const device of devices) await device.login('agent', PASSWORD);
    proxy.faultRate = 0.3;

    const captured: { actionId: string; sha256: string }[] = [];
    const quietSync = (device: RegistraClient) => device.sync.now().catch(() => undefined);
    for (let i = 0; i < RECORDS; i++) {
      const device = devices[i % devices.length] as RegistraClient;
      const bytes = jpeg(60_000 + Math.floor(random() * 200_000), seed + i);
      // The same photo twice now and then: stored once, named by two records.
      const photo = i > 0 && i % 5 === 0 ? jpeg(60_000, seed) : bytes;
      const value = await device.files.add(
        new Blob([new Uint8Array(photo)], { type: 'image/jpeg' }),
        {
          name: `photo-${i}.jpg`,
          recordType: 'birth',
          field: 'documents.proofOfBirth',
        },
      );
      const recordId = crypto.randomUUID();
      await device.actions.submit({ type: 'CREATE', recordId, recordType: 'birth' });
      const declared = await device.actions.submit({
        type: 'DECLARE',
        recordId,
        declaration: { ...BIRTH, 'documents.proofOfBirth': value },
      });
      captured.push({ actionId: declared.id, sha256: value.sha256 });
      if (i % 3 === 2 && server.kills < KILLS) {
        // Kill the server while both devices upload and sync, then bring it back.
        const inFlight = Promise.all(devices.map(quietSync));
        await new Promise((resolve) => setTimeout(resolve, 50 + random() * 400));
        await server.kill();
        await inFlight;
        await server.start();
      } else {
        await quietSync(device);
      }
    }

    // Heal the network; sync until every outbox is empty.
    proxy.faultRate = 0;
    for (let round = 0; round < 3; round++) {
      await otherDatabasesSettled(database.db);
      for (const device of devices) await device.sync.now();
    }
    const injected = Object.entries(proxy.injected)
      .map(([fault, n]) => `${fault}=${n}`)
      .join(' ');
    console.log(
      `[files seed=${seed}] records=${RECORDS} kills=${server.kills} faults: ${injected}`,
    );

    for (const device of devices) expect(await device.actions.pending()).toEqual([]);
    const entries = await database.db
      .selectFrom('entries')
      .select(['id', 'status', 'code', 'body'])
      .execute();
    // Nothing captured is lost, and no action reached the server before its file.
    const byId = new Map(entries.map((e) => [e.id, e]));
    for (const { actionId } of captured) {
      expect(byId.get(actionId)).toMatchObject({ status: 'accepted', code: null });
    }
    expect(entries.filter((e) => e.code === 'FILE_MISSING')).toEqual([]);

    // Every file an accepted entry names is held and reads back whole.
    const named = new Set<string>();
    for (const entry of entries) {
      if (entry.status !== 'accepted') continue;
      const declaration = (entry.body as Partial<Entry>).declaration ?? {};
      for (const value of Object.values(declaration)) {
        const file = FileValueSchema.safeParse(value);
        if (file.success) named.add(file.data.sha256);
      }
    }
    expect([...named].sort()).toEqual([...new Set(captured.map((c) => c.sha256))].sort());
    const token = await login(server, 'registrar');
    const port = await server.port;
    for (const hash of named) {
      const response = await fetch(`http://127.0.0.1:${port}/api/v1/files/${hash}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(response.status).toBe(200);
      expect(sha256(new Uint8Array(await response.arrayBuffer()))).toBe(hash);
    }
    const held = await database.db.selectFrom('files').select('sha256').execute();
    expect(
      held
        .map((f) => f.sha256)
        .filter((h) => named.has(h))
        .sort(),
    ).toEqual([...named].sort());
  });
});

async function login(server: ServerProcess, username: string): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${await server.port}/api/v1/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grant_type: 'password', username, password: PASSWORD }),
  });
  return ((await response.json()) as { accessToken: string }).accessToken;
}
