import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { v7 as uuidv7 } from 'uuid';
import {
  AuthService,
  buildApp,
  connect,
  loadConfigFile,
  loadSigner,
  Metrics,
  migrate,
  openFileStorage,
  resolveConfigDir,
  seed,
  startEmbeddedPostgres,
  type DB,
  type Registry,
} from '@registra/server';
import { freePort } from '../packages/server/test/ports.js';

export const PASSWORD = 'bench-password';

/** A PostgreSQL cluster for a benchmark run: DATABASE_URL's server, or an embedded one. */
export interface Cluster {
  /** A fresh, migrated database. */
  database(): Promise<{ url: string; db: DB }>;
  stop(): Promise<void>;
}

export async function startCluster(): Promise<Cluster> {
  let adminUrl = process.env['DATABASE_URL'];
  let stop = async () => undefined;
  if (!adminUrl) {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'registra-bench-'));
    const cluster = await startEmbeddedPostgres({ dataDir, port: await freePort() });
    adminUrl = cluster.url;
    stop = async () => {
      await cluster.stop();
      rmSync(dataDir, { recursive: true, force: true });
    };
  }
  const admin = adminUrl;
  const made: DB[] = [];
  return {
    database: async () => {
      const name = `bench_${Date.now()}_${Math.floor(Math.random() * 1e6)}`;
      const client = new pg.Client({ connectionString: admin });
      await client.connect();
      await client.query(`CREATE DATABASE ${name}`);
      await client.end();
      const url = new URL(admin);
      url.pathname = `/${name}`;
      const connection = connect(url.toString(), 80);
      const { db } = connection;
      await migrate(connection);
      made.push(db);
      return { url: url.toString(), db };
    },
    stop: async () => {
      await Promise.all(made.map((db) => db.destroy()));
      await stop();
    },
  };
}

export interface BenchServer {
  url: string;
  /** The PostgreSQL database the server runs on, for raw clients (baselines, COPY). */
  databaseUrl: string;
  db: DB;
  registry: Registry;
  token(username: string): Promise<string>;
  close(): Promise<void>;
}

/** Registra on a fresh database of the cluster, listening on a free loopback port. */
export async function startBenchServer(
  cluster: Cluster,
  configName = 'civil-registry',
): Promise<BenchServer> {
  const { url: databaseUrl, db } = await cluster.database();
  const { configFile, usersFile } = resolveConfigDir(configName);
  const config = loadConfigFile(configFile);
  const registry: Registry = { db, config, now: () => new Date() };
  await seed(db, config, usersFile, PASSWORD);
  const auth = new AuthService(registry, await loadSigner(db));
  const dataDir = mkdtempSync(path.join(tmpdir(), 'registra-bench-files-'));
  const files = openFileStorage(config, { dataDir });
  const app = await buildApp({ registry, auth, metrics: new Metrics(), files });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  return {
    url,
    databaseUrl,
    db,
    registry,
    token: (username) => passwordToken(url, username),
    close: async () => {
      await app.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** An access token for a seeded user (password PASSWORD) of the server at `url`. */
export async function passwordToken(url: string, username: string): Promise<string> {
  const response = await fetch(`${url}/api/v1/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grant_type: 'password', username, password: PASSWORD }),
  });
  return ((await response.json()) as { accessToken: string }).accessToken;
}

/**
 * A bench server on a fresh database of a cluster of its own, and a raw PostgreSQL client of that
 * database, for `work`; all three are stopped after it, whatever it does.
 */
export async function withBenchServer<T>(
  work: (server: BenchServer, client: pg.Client) => Promise<T>,
): Promise<T> {
  const cluster = await startCluster();
  try {
    const server = await startBenchServer(cluster);
    const client = new pg.Client({ connectionString: server.databaseUrl });
    await client.connect();
    try {
      return await work(server, client);
    } finally {
      await client.end();
      await server.close();
    }
  } finally {
    await cluster.stop();
  }
}

/** ANALYZE of every table of a database, over a connection of its own. */
export async function analyze(databaseUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  await client.query('ANALYZE');
  await client.end();
}

/** A device pushing to /sync: its id, its next deviceSeq and the cursor it follows. */
export interface PushingDevice {
  id: string;
  seq: number;
  cursor: string | null;
}

export const pushingDevice = (): PushingDevice => ({ id: uuidv7(), seq: 1, cursor: null });

/**
 * The devices take batches off `queue` in turn, each sending one at a time to /sync with the next
 * deviceSeq values, until the queue is empty; throws unless every action is accepted.
 */
export async function pushAll(
  url: string,
  token: string,
  devices: PushingDevice[],
  queue: Record<string, unknown>[][],
): Promise<void> {
  await Promise.all(
    devices.map(async (device) => {
      for (let batch = queue.shift(); batch; batch = queue.shift()) {
        const actions = batch.map((a) => ({ ...a, deviceSeq: device.seq++ }));
        const response = await fetch(`${url}/api/v1/sync`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ deviceId: device.id, cursor: device.cursor, actions, limit: 100 }),
        });
        const body = (await response.json()) as {
          results?: { outcome: string }[];
          cursor?: string;
        };
        device.cursor = body.cursor ?? device.cursor;
        const accepted = body.results?.filter((r) => r.outcome === 'accepted').length ?? 0;
        if (accepted !== actions.length)
          throw new Error(`batch not accepted: ${JSON.stringify(body).slice(0, 500)}`);
      }
    }),
  );
}

/** Prints a table of rows with aligned columns. */
export function table(rows: Record<string, string | number>[]): void {
  const first = rows[0];
  if (!first) return;
  const keys = Object.keys(first);
  const cell = (v: string | number | undefined) =>
    typeof v === 'number' ? v.toLocaleString('en-US', { maximumFractionDigits: 2 }) : (v ?? '');
  const widths = keys.map((k) => Math.max(k.length, ...rows.map((r) => String(cell(r[k])).length)));
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i] ?? 0)).join('  ');
  console.log(line(keys));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const row of rows) console.log(line(keys.map((k) => String(cell(row[k])))));
}
