import type { Action, ActionResult, Declaration, Entry, SyncResponse } from '@registra/core';
import { sql } from 'kysely';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { v7 as uuidv7 } from 'uuid';
import { expect, inject } from 'vitest';
import { connect, type DB } from '../src/db/database.js';
import { migrate } from '../src/db/migrations.js';
import { ReadReplica } from '../src/db/replica.js';
import { buildApp, type AppOptions } from '../src/http/app.js';
import { Metrics } from '../src/http/metrics.js';
import { AuthService, type AuthOptions } from '../src/services/auth.js';
import type { Registry } from '../src/services/context.js';
import { openFileStorage } from '../src/services/files/open.js';
import type { FileStorage } from '../src/services/files/storage.js';
import type { S3Settings } from '../src/services/files/s3-storage.js';
import { loadConfigFile, resolveConfigDir, seed } from '../src/services/seed.js';
import { appendEffectsFor, jobQueueFor } from '../src/server.js';
import type { SignOn } from '../src/services/sign-on.js';
import { HookMetrics } from '../src/services/hooks/index.js';
import { loadSigner } from '../src/services/tokens.js';
import type { FastifyInstance } from 'fastify';
import { BIRTH } from '../../core/test/fixtures.js';
import { FileKeyProvider, Vault } from '../src/services/vault/index.js';

/** Every field DECLARE requires of a birth (the core tests' fixture). */
export { BIRTH };

export const PASSWORD = 'test-password-1';

/** A fresh database on the test cluster, migrated. */
export async function freshDatabase(): Promise<{ url: string; db: DB; drop(): Promise<void> }> {
  const admin = inject('postgresUrl');
  const name = `t_${randomUUID().replace(/-/g, '')}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  await client.query(`CREATE DATABASE ${name}`);
  await client.end();
  const url = admin.replace(/\/postgres$/, `/${name}`);
  const { db, pool } = connect(url, 30);
  await migrate({ db, pool });
  return {
    url,
    db,
    drop: async () => {
      await db.destroy();
      const c = new pg.Client({ connectionString: admin });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/**
 * The change feed hands out an entry only once every transaction older than it has ended (the
 * snapshot's xmin), and PostgreSQL counts the transactions of every database of the cluster. The
 * test files of a project share one cluster and may run in parallel, so another file's open
 * transaction (its migrations, a CREATE DATABASE, an append in progress) can hold back this
 * file's feed for a moment, and a pull right after a commit would miss what was just committed.
 * This waits until no transaction of another database is older than this database's newest
 * entry; from then on only this database's own transactions, which the tests are about, decide
 * what a pull delivers. (backend_xid has no epoch: a test cluster never wraps around.)
 */
export async function otherDatabasesSettled(db: DB, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await sql<{ held: boolean }>`
      SELECT EXISTS (
        SELECT 1 FROM pg_stat_activity
        WHERE datname IS DISTINCT FROM current_database()
          AND backend_xid IS NOT NULL
          AND backend_xid::text::bigint <
            (SELECT tx::text::bigint FROM entries ORDER BY tx DESC LIMIT 1)
      ) AS held`.execute(db);
    if (!rows[0]?.held) return;
    if (Date.now() > deadline)
      throw new Error(`a transaction of another database stayed open for ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export interface Session {
  token: string;
  refreshToken: string;
  user: { id: string; username: string; role: string; officeId: string };
}

/** A running Registra on a fresh database, over real HTTP. */
export interface TestServer {
  url: string;
  db: DB;
  databaseUrl: string;
  /** The key file of the server's vault: a CLI run against this database needs the same keys. */
  keyFile: string;
  registry: Registry;
  app: FastifyInstance;
  /** Where the server keeps file bytes: a temporary directory, or the test's S3 bucket. */
  files: FileStorage;
  /** The server clock runs `offsetMs` ahead of the real one: tests move it instead of sleeping. */
  clock: { offsetMs: number };
  login(username: string, password?: string): Promise<Session>;
  request(
    method: string,
    path: string,
    options?: { token?: string; body?: unknown; headers?: Record<string, string> },
  ): Promise<Response>;
  close(): Promise<void>;
}

/** What a test may change of the server it starts: HTTP settings and the auth service's. */
export interface TestServerOptions {
  app?: Partial<Omit<AppOptions, 'registry' | 'auth' | 'metrics'>>;
  auth?: AuthOptions;
  /** Keep files in this S3-compatible bucket instead of a temporary directory. */
  s3?: S3Settings;
  /** Start the server's job runner (jobs/index.ts), as `npm start` does. */
  jobs?: boolean;
  /** Single sign-on (services/sign-on.ts), made for the server's registry. */
  signOn?: (registry: Registry) => SignOn;
  /** The environment the configuration's hooks read their URLs and secrets from. */
  env?: Record<string, string>;
  /** A database of the test's own (a cluster it started), migrated here and not dropped. */
  databaseUrl?: string;
  /** A streaming replica of it that takes reads (db/replica.ts), waiting at most `waitMs`. */
  replica?: { url: string; waitMs: number };
}

/** An existing database, migrated; closing it leaves it in place. */
async function ownDatabase(url: string): Promise<{ url: string; db: DB; drop(): Promise<void> }> {
  const { db, pool } = connect(url, 30);
  await migrate({ db, pool });
  return { url, db, drop: () => db.destroy() };
}

export async function startTestServer(
  configName = 'civil-registry',
  options: TestServerOptions = {},
): Promise<TestServer> {
  const database = options.databaseUrl
    ? await ownDatabase(options.databaseUrl)
    : await freshDatabase();
  const { configFile, usersFile } = resolveConfigDir(configName);
  const env = options.env ?? {};
  const config = loadConfigFile(configFile, env);
  const clock = { offsetMs: 0 };
  const dataDir = mkdtempSync(path.join(tmpdir(), 'registra-files-'));
  const keyFile = path.join(dataDir, 'keys.json');
  const registry: Registry = {
    db: database.db,
    config,
    now: () => new Date(Date.now() + clock.offsetMs),
    vault: await Vault.open(new FileKeyProvider(keyFile)),
  };
  registry.effects = appendEffectsFor(registry);
  const replica = options.replica ? connect(options.replica.url, 10) : null;
  if (replica && options.replica) {
    registry.replica = new ReadReplica(replica.db, database.db, options.replica.waitMs);
  }
  await seed(database.db, config, usersFile, PASSWORD);
  const signer = await loadSigner(database.db);
  const auth = new AuthService(registry, signer, options.auth);
  const hookMetrics = new HookMetrics(registry);
  const files = openFileStorage(config, { dataDir, s3: options.s3 });
  const app = await buildApp({
    files,
    ...options.app,
    registry,
    auth,
    ...(options.signOn ? { signOn: options.signOn(registry) } : {}),
    metrics: new Metrics(undefined, [hookMetrics.registry]),
    ...(process.env.TEST_LOG ? { logger: { level: 'error' } } : {}),
  });
  const runner = options.jobs
    ? await jobQueueFor(registry, { signer, hookMetrics, files, env }).start({
        connectionString: database.url,
        concurrency: 8,
        pollInterval: 200,
      })
    : null;
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

  const request: TestServer['request'] = async (method, path, options = {}) => {
    // A pull must see what this file committed, whatever other test files do meanwhile.
    if (method === 'POST' && path === '/api/v1/sync') await otherDatabasesSettled(database.db);
    return fetch(url + path, {
      method,
      headers: {
        ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
        ...options.headers,
      },
      ...(options.body !== undefined
        ? { body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) }
        : {}),
    });
  };

  return {
    url,
    db: database.db,
    databaseUrl: database.url,
    keyFile,
    registry,
    app,
    files,
    clock,
    request,
    login: async (username, password = PASSWORD) => {
      const response = await request('POST', '/api/v1/auth/token', {
        body: { grant_type: 'password', username, password },
      });
      if (response.status !== 200)
        throw new Error(`login ${username}: ${response.status} ${await response.text()}`);
      const body = (await response.json()) as {
        accessToken: string;
        refreshToken: string;
        user: Session['user'];
      };
      return { token: body.accessToken, refreshToken: body.refreshToken, user: body.user };
    },
    close: async () => {
      await app.close();
      await runner?.stop();
      await replica?.db.destroy();
      await database.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A simulated device: its own id, deviceSeq counter and cursor, talking /sync over HTTP. */
export class Device {
  nextSeq = 1;
  cursor: string | null = null;
  readonly received: Entry[] = [];

  constructor(
    readonly server: TestServer,
    public session: Session,
    readonly id: string = uuidv7(),
  ) {}

  /** Stamps actions with this device's next deviceSeq values. */
  stamp(actions: Partial<Action>[]): Action[] {
    return actions.map((a) => ({ ...a, deviceSeq: this.nextSeq++ }) as Action);
  }

  async post(actions: unknown[], cursor = this.cursor, limit?: number): Promise<Response> {
    return this.server.request('POST', '/api/v1/sync', {
      token: this.session.token,
      body: { deviceId: this.id, cursor, actions, ...(limit ? { limit } : {}) },
    });
  }

  /** Pushes (already stamped) actions and keeps the cursor and the changes. */
  async sync(actions: unknown[] = [], limit?: number): Promise<SyncResponse> {
    const response = await this.post(actions, this.cursor, limit);
    if (response.status !== 200)
      throw new Error(`sync: ${response.status} ${await response.text()}`);
    const body = (await response.json()) as SyncResponse;
    this.cursor = body.cursor;
    this.received.push(...body.changes);
    return body;
  }

  /** Syncs until the server has nothing more. */
  async drain(): Promise<void> {
    for (;;) {
      const body = await this.sync();
      if (!body.hasMore) return;
    }
  }

  /** Stamps and sends; answers the results. */
  async push(...actions: Partial<Action>[]): Promise<ActionResult[]> {
    return (await this.sync(this.stamp(actions))).results;
  }
}

// A day before the real clock: occurredAt may be at most maxOfflineDays old (PROTOCOL 7).
let clockTick = Date.now() - 86_400_000;
/** A client-side action with a fresh UUIDv7 id and an occurredAt. */
export function action(
  fields: Partial<Action> & Pick<Action, 'type' | 'recordId'>,
): Partial<Action> {
  clockTick += 1000;
  return { id: uuidv7(), occurredAt: new Date(clockTick).toISOString(), ...fields };
}

export const newId = () => uuidv7();

/** A birth the device creates and declares with `declaration`, both accepted; answers its id. */
export async function declareBirth(
  device: Device,
  declaration: Declaration = BIRTH,
): Promise<string> {
  const recordId = newId();
  const results = await device.push(
    action({ type: 'CREATE', recordId, recordType: 'birth' }),
    action({ type: 'DECLARE', recordId, baseSeq: 1, declaration }),
  );
  expect(
    results.map((r) => r.outcome),
    JSON.stringify(results),
  ).toEqual(['accepted', 'accepted']);
  return recordId;
}

/** The ids of the entries the log holds for a record, read from the database. */
export async function storedEntryIds(server: TestServer, recordId: string): Promise<string[]> {
  const rows = await server.db
    .selectFrom('entries')
    .select('id')
    .where('record_id', '=', recordId)
    .execute();
  return rows.map((row) => row.id);
}

/** An RFC 9457 problem+json body, with Registra's `code`. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  errors?: { path: string; message: string }[];
}

/** Asserts a problem+json answer with this status and code, and answers its body. */
export async function expectProblem(
  response: Response,
  status: number,
  code: string,
): Promise<Problem> {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  const body = (await response.json()) as Problem;
  expect(body).toMatchObject({ status, code });
  expect(typeof body.type).toBe('string');
  expect(typeof body.title).toBe('string');
  expect(typeof body.detail).toBe('string');
  return body;
}

/**
 * expectProblem, and the body to the letter of PROTOCOL 1: a URL type, a title that says
 * something, an UPPER_SNAKE code and no other members.
 */
export async function expectWellFormedProblem(
  response: Response,
  status: number,
  code: string,
): Promise<Problem> {
  const body = await expectProblem(response, status, code);
  expect(body.type).toMatch(/^https?:\/\/\S+$/);
  expect(body.title).toEqual(expect.any(String));
  expect(body.title).not.toBe('');
  expect(body.detail).toEqual(expect.any(String));
  expect(body.code).toMatch(/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/);
  for (const key of Object.keys(body)) {
    expect(['type', 'title', 'status', 'detail', 'code', 'errors', 'expectedFrom']).toContain(key);
  }
  return body;
}
