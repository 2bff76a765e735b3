/**
 * Pull from a streaming replica against the primary: a device with an empty cursor follows
 * POST /api/v1/sync (limit 500, nothing to push) through the whole log, once from a server whose
 * reads stay on the primary (the baseline) and once from a server on the same primary with
 * DATABASE_REPLICA_URL, whose pulls go to the replica (db/replica.ts); plus the raw server-side
 * cursor on each database. Primary and replica are Debian's PostgreSQL, the replica made with
 * pg_basebackup -R, both on this machine (so the replica takes no load off its cores: the figure
 * is what routing costs, not what a second machine gains).
 *
 *   npx tsx bench/replica.ts     (BENCH_REPLICA_ENTRIES=100000, BENCH_ROUNDS=3 by default)
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { v7 as uuidv7 } from 'uuid';
import type { SyncResponse } from '@registra/core';
import { ownForPostgres } from '../packages/server/src/backup/restore.js';
import { connect } from '../packages/server/src/db/database.js';
import { migrate } from '../packages/server/src/db/migrations.js';
import { ReadReplica } from '../packages/server/src/db/replica.js';
import { buildApp } from '../packages/server/src/http/app.js';
import { Metrics } from '../packages/server/src/http/metrics.js';
import { AuthService } from '../packages/server/src/services/auth.js';
import type { Registry } from '../packages/server/src/services/context.js';
import { openFileStorage } from '../packages/server/src/services/files/open.js';
import { loadConfigFile, resolveConfigDir, seed } from '../packages/server/src/services/seed.js';
import { loadSigner } from '../packages/server/src/services/tokens.js';
import { FileKeyProvider, Vault } from '../packages/server/src/services/vault/index.js';
import {
  debianBin,
  newCluster,
  PASSWORD as PG_PASSWORD,
  startCluster,
  USER,
} from '../packages/server/test/local-postgres.js';
import { fixedPort } from '../packages/server/test/ports.js';
import { copyRecordLogs, elapsed, quantile, size, type Row, type Step } from './fixtures.js';
import { PASSWORD, passwordToken } from './support.js';

const ENTRIES = size('BENCH_REPLICA_ENTRIES', 100_000, 1_000);
const ROUNDS = size('BENCH_ROUNDS', 3);
const PAGE = 500;
const STEPS: readonly Step[] = ['CREATE', 'NOTIFY', 'UPDATE', 'UPDATE', 'DECLARE'];

async function devicePull(url: string, token: string): Promise<number> {
  const deviceId = uuidv7();
  let cursor: string | null = null;
  let entries = 0;
  for (;;) {
    const response = await fetch(`${url}/api/v1/sync`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'accept-encoding': 'identity',
        authorization: `Bearer ${token}`,
      },
      body: JSON.stringify({ deviceId, cursor, actions: [], limit: PAGE }),
    });
    if (!response.ok) throw new Error(`sync answered ${response.status}: ${await response.text()}`);
    const body = (await response.json()) as SyncResponse;
    entries += body.changes.length;
    cursor = body.cursor;
    if (!body.hasMore) return entries;
  }
}

async function rawCursor(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  let rows = 0;
  try {
    await client.query('BEGIN');
    await client.query('DECLARE feed NO SCROLL CURSOR FOR SELECT * FROM entries ORDER BY pos');
    for (;;) {
      const page = await client.query(`FETCH ${PAGE} FROM feed`);
      rows += page.rowCount ?? 0;
      if ((page.rowCount ?? 0) < PAGE) break;
    }
    await client.query('COMMIT');
  } finally {
    await client.end();
  }
  return rows;
}

export async function run(): Promise<Row[]> {
  const root = mkdtempSync(path.join(tmpdir(), 'registra-bench-replica-'));
  chmodSync(root, 0o755);
  const primary = await newCluster(path.join(root, 'primary'), await fixedPort());
  const stops: (() => Promise<void>)[] = [() => primary.stop()];
  try {
    const { db, pool } = connect(primary.url, 40);
    stops.unshift(() => db.destroy());
    await migrate({ db, pool });
    const { configFile, usersFile } = resolveConfigDir('civil-registry');
    const config = loadConfigFile(configFile);
    await seed(db, config, usersFile, PASSWORD);
    const client = new pg.Client({ connectionString: primary.url });
    await client.connect();
    const recordType = config.recordTypes.get('birth')!;
    await copyRecordLogs(client, recordType, {
      steps: STEPS,
      records: Math.ceil(ENTRIES / STEPS.length),
      perCopy: 2_000,
      seed: 1,
    });
    await client.query('ANALYZE');
    await client.end();

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
      { env: { ...process.env, PGPASSWORD: PG_PASSWORD } },
    );
    ownForPostgres(replicaDir);
    chmodSync(replicaDir, 0o700);
    const replicaCluster = await startCluster(replicaDir, await fixedPort());
    stops.unshift(() => replicaCluster.stop());
    const replica = connect(replicaCluster.url, 40);
    stops.unshift(() => replica.db.destroy());

    const vault = await Vault.open(
      FileKeyProvider.inDataDir(mkdtempSync(path.join(tmpdir(), 'rk-'))),
    );
    const servers: [string, Registry][] = [
      ['primary', { db, config, now: () => new Date(), vault }],
      [
        'replica',
        {
          db,
          config,
          now: () => new Date(),
          vault,
          replica: new ReadReplica(replica.db, db, 1000),
        },
      ],
    ];
    const urls: Record<string, { url: string; token: string }> = {};
    for (const [name, registry] of servers) {
      const auth = new AuthService(registry, await loadSigner(db));
      const filesDir = path.join(root, `files-${name}`);
      const app = await buildApp({
        registry,
        auth,
        metrics: new Metrics(),
        files: openFileStorage(config, { dataDir: filesDir }),
      });
      await app.listen({ host: '127.0.0.1', port: 0 });
      stops.unshift(() => app.close());
      const address = app.server.address();
      const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
      urls[name] = { url, token: await passwordToken(url, 'agent') };
    }

    const paths: [string, () => Promise<number>][] = [
      ['raw cursor on the primary (baseline)', () => rawCursor(primary.url)],
      ['raw cursor on the replica', () => rawCursor(replicaCluster.url)],
      [
        'POST /sync, reads on the primary',
        () => devicePull(urls['primary']!.url, urls['primary']!.token),
      ],
      [
        'POST /sync, reads on the replica',
        () => devicePull(urls['replica']!.url, urls['replica']!.token),
      ],
    ];
    await rawCursor(primary.url);
    await rawCursor(replicaCluster.url); // warm both caches
    const seconds = paths.map(() => [] as number[]);
    const counts = paths.map(() => 0);
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, [, work]] of paths.entries()) {
        const started = performance.now();
        counts[i] = await work();
        seconds[i]!.push(elapsed(started));
      }
    }
    const rows: Row[] = paths.map(([what], i) => {
      const median = quantile(seconds[i]!, 0.5);
      return { path: what, entries: counts[i]!, seconds: median, 'entries/s': counts[i]! / median };
    });
    const base = Number(rows[0]!['entries/s']);
    const viaPrimary = Number(rows[2]!['entries/s']);
    for (const row of rows) {
      row['ratio to raw primary'] = Number(row['entries/s']) / base;
      row['ratio to /sync on primary'] = Number(row['entries/s']) / viaPrimary;
    }
    return rows;
  } finally {
    for (const stop of stops) await stop().catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { table } = await import('./support.js');
  console.log(`replica: ${ENTRIES} entries, pages of ${PAGE}, median of ${ROUNDS} rounds`);
  table(await run());
}
