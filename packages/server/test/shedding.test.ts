import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type DB } from '../src/db/database.js';
import { buildApp } from '../src/http/app.js';
import { Metrics } from '../src/http/metrics.js';
import { AuthService } from '../src/services/auth.js';
import type { Registry } from '../src/services/context.js';
import { loadConfigFile, resolveConfigDir, seed } from '../src/services/seed.js';
import { loadSigner } from '../src/services/tokens.js';
import { freshDatabase, PASSWORD } from './harness.js';
import { FileKeyProvider, Vault } from '../src/services/vault/index.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

// A server with one database connection, that sheds load once 2 requests wait for it.
let database: Awaited<ReturnType<typeof freshDatabase>>;
let db: DB;
let pool: ReturnType<typeof connect>['pool'];
let app: FastifyInstance;
let url: string;

beforeAll(async () => {
  database = await freshDatabase();
  ({ db, pool } = connect(database.url, 1));
  const { configFile, usersFile } = resolveConfigDir('civil-registry');
  const config = loadConfigFile(configFile);
  const keys = FileKeyProvider.inDataDir(mkdtempSync(path.join(tmpdir(), 'registra-keys-')));
  const registry: Registry = { db, config, now: () => new Date(), vault: await Vault.open(keys) };
  await seed(db, config, usersFile, PASSWORD);
  const auth = new AuthService(registry, await loadSigner(db));
  app = await buildApp({ registry, auth, metrics: new Metrics(pool), pool, maxWaiting: 2 });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});
afterAll(async () => {
  await app.close();
  await db.destroy();
  await database.drop();
});

async function tokenOf(username: string): Promise<string> {
  const login = await fetch(`${url}/api/v1/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grant_type: 'password', username, password: PASSWORD }),
  });
  return ((await login.json()) as { accessToken: string }).accessToken;
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

describe('load shedding', () => {
  it('answers 503 with Retry-After at once when too many requests wait for the database', async () => {
    const accessToken = await tokenOf('agent');
    const me = () =>
      fetch(`${url}/api/v1/me`, { headers: { authorization: `Bearer ${accessToken}` } });

    // The one connection is taken until `release`; two requests then queue for it.
    let release = () => undefined as void;
    const held = db.connection().execute(() => new Promise<void>((r) => (release = r)));
    await until(() => pool.totalCount === 1 && pool.idleCount === 0);
    const first = me();
    await until(() => pool.waitingCount === 1);
    const second = me();
    await until(() => pool.waitingCount === 2);

    const shed = await me();
    expect(shed.status).toBe(503);
    expect(shed.headers.get('retry-after')).toBe('5');
    expect(shed.headers.get('content-type')).toContain('application/problem+json');
    expect(await shed.json()).toMatchObject({ status: 503, code: 'SERVICE_UNAVAILABLE' });

    release();
    await held;
    // The queued requests were not dropped: they are answered once the connection is free.
    expect((await first).status).toBe(200);
    expect((await second).status).toBe(200);
    expect((await me()).status).toBe(200);
  });

  it('reports the connections and the queue in /metrics', async () => {
    const metrics = await fetch(`${url}/metrics`, {
      headers: { authorization: `Bearer ${await tokenOf('admin')}` },
    });
    const text = await metrics.text();
    expect(text).toMatch(/registra_db_connections\{state="waiting"\} 0/);
    expect(text).toMatch(/registra_db_connections\{state="idle"\} \d/);
  });
});
