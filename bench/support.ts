import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import {
  AuthService,
  buildApp,
  connect,
  loadConfigFile,
  loadSigner,
  Metrics,
  migrate,
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
      const { db } = connect(url.toString(), 80);
      await migrate(db);
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
  const app = await buildApp({ registry, auth, metrics: new Metrics() });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  return {
    url,
    databaseUrl,
    db,
    registry,
    token: async (username) => {
      const response = await fetch(`${url}/api/v1/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ grant_type: 'password', username, password: PASSWORD }),
      });
      return ((await response.json()) as { accessToken: string }).accessToken;
    },
    close: () => app.close(),
  };
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
