/**
 * Bulk import (issue 16): `registra import` of a CSV of individuals (social registry example, as
 * the trusted importer: CREATE + DECLARE per row, deduplication jobs enqueued) at a large and a
 * small size and of an empty file, each as its own process on a fresh database, with the process's
 * peak RSS (GNU time's %M): memory should not grow with the file. Baselines measured in the same
 * run, on the same rows:
 *   - COPY of the CSV into a plain table (the floor: reading the rows into PostgreSQL at all);
 *   - the same rows as CREATE + DECLARE through `POST /api/v1/actions` (the online path an
 *     integration would take), 500 actions a request, one request at a time.
 *
 *   npx tsx bench/import.ts   (BENCH_IMPORT_ROWS=100000, BENCH_IMPORT_SMALL=10000,
 *                              BENCH_IMPORT_API_ROWS=10000)
 */
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { v7 as uuidv7 } from 'uuid';
import { loadConfigFile, resolveConfigDir, seed } from '@registra/server';
import { FIRST_NAMES, pick, prng, size, SURNAMES_LIST, type Row } from './fixtures.js';
import { PASSWORD, startBenchServer, startCluster, type Cluster } from './support.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const MAPPING = path.join(ROOT, 'examples/social-registry/import/individuals.mapping.json');
const LARGE = size('BENCH_IMPORT_ROWS', 100_000, 1000);
const SMALL = size('BENCH_IMPORT_SMALL', 10_000, 100);
const API_ROWS = size('BENCH_IMPORT_API_ROWS', 10_000, 100);

/** `n` individuals in the example's CSV shape, different people (seeded: the same every run). */
export async function writeCsv(file: string, n: number): Promise<void> {
  const random = prng(16);
  const out = createWriteStream(file);
  const write = (line: string) =>
    out.write(line)
      ? Promise.resolve()
      : new Promise<void>((resolve) => out.once('drain', () => resolve()));
  await write('survey_id,first_name,last_name,birth_date,sex,national_id,relation,disabled\n');
  for (let i = 1; i <= n; i++) {
    const day = String(1 + Math.floor(random() * 28)).padStart(2, '0');
    const month = String(1 + Math.floor(random() * 12)).padStart(2, '0');
    const year = 1940 + Math.floor(random() * 80);
    const nid = String(1_000_000_000 + i);
    await write(
      `B-${i},${pick(random, FIRST_NAMES)},${pick(random, SURNAMES_LIST)},${day}/${month}/${year},${random() < 0.5 ? 'F' : 'M'},${nid},other,no\n`,
    );
  }
  await new Promise<void>((resolve) => out.end(() => resolve()));
}

interface CliRun {
  rows: number;
  seconds: number;
  rowsPerSecond: number;
  peakRssMb: number;
}

/** `registra import` on a fresh, seeded database, under GNU time for its peak RSS. */
async function cliImport(cluster: Cluster, file: string, dir: string): Promise<CliRun> {
  const { url, db } = await cluster.database();
  const { configFile, usersFile } = resolveConfigDir('social-registry');
  await seed(db, loadConfigFile(configFile), usersFile, PASSWORD);
  const args = ['-f', 'peak-rss-kb=%M', process.execPath, '--import', 'tsx'];
  args.push('packages/server/src/cli.ts', 'import', file, '--type', 'individual');
  args.push('--mapping', MAPPING, '--as', 'importer.trusted');
  const child = spawn('/usr/bin/time', args, {
    cwd: ROOT,
    env: {
      ...process.env,
      DATABASE_URL: url,
      REGISTRA_CONFIG: 'social-registry',
      REGISTRA_KEY_FILE: path.join(dir, `keys-${uuidv7()}.json`),
      REGISTRA_SEED_DEMO_USERS: 'false',
      LOG_LEVEL: 'silent',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  const done = /(\d+) rows in ([\d.]+) s: (\d+) imported/.exec(stdout);
  const rss = /peak-rss-kb=(\d+)/.exec(stderr);
  if (code !== 0 || !done || !rss) throw new Error(`registra import failed (${code}): ${stderr}`);
  const rows = Number(done[1]);
  const seconds = Number(done[2]);
  if (Number(done[3]) !== rows) throw new Error(`not every row was imported: ${stdout}`);
  return {
    rows,
    seconds,
    rowsPerSecond: rows / Math.max(seconds, 1e-3),
    peakRssMb: Number(rss[1]) / 1024,
  };
}

/** The floor: COPY of the CSV into a plain table on a fresh database. */
export async function copyFloor(cluster: Cluster, file: string, rows: number): Promise<number> {
  const { url } = await cluster.database();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`CREATE TABLE staging (survey_id text, first_name text, last_name text,
      birth_date text, sex text, national_id text, relation text, disabled text)`);
    const started = performance.now();
    await pipeline(
      createReadStream(file),
      client.query(copyFrom('COPY staging FROM STDIN (FORMAT csv, HEADER true)')),
    );
    return rows / ((performance.now() - started) / 1000);
  } finally {
    await client.end();
  }
}

/** The same rows as CREATE + DECLARE through POST /api/v1/actions, as the trusted importer. */
async function actionsApi(cluster: Cluster, rows: number): Promise<number> {
  const server = await startBenchServer(cluster, 'social-registry');
  try {
    const login = await fetch(`${server.url}/api/v1/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        grant_type: 'client_credentials',
        client_id: 'importer.trusted',
        client_secret: PASSWORD,
      }),
    });
    const { accessToken } = (await login.json()) as { accessToken: string };
    const random = prng(16);
    const occurredAt = new Date().toISOString();
    const started = performance.now();
    for (let from = 1; from <= rows; from += 250) {
      const actions: Record<string, unknown>[] = [];
      for (let i = from; i < Math.min(from + 250, rows + 1); i++) {
        const recordId = uuidv7();
        actions.push({
          id: uuidv7(),
          recordId,
          type: 'CREATE',
          recordType: 'individual',
          occurredAt,
        });
        actions.push({
          id: uuidv7(),
          recordId,
          type: 'DECLARE',
          occurredAt,
          declaration: {
            'person.firstName': pick(random, FIRST_NAMES),
            'person.surname': pick(random, SURNAMES_LIST),
            'person.dob': `${1940 + Math.floor(random() * 80)}-0${1 + Math.floor(random() * 9)}-1${Math.floor(random() * 9)}`,
            'person.sex': random() < 0.5 ? 'female' : 'male',
            'person.nid': String(1_000_000_000 + i),
            'person.relationToHead': 'other',
            'person.disability': false,
          },
        });
      }
      const response = await fetch(`${server.url}/api/v1/actions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${accessToken}` },
        body: JSON.stringify({ actions }),
      });
      const { results } = (await response.json()) as { results: { outcome: string }[] };
      if (results.some((r) => r.outcome !== 'accepted')) throw new Error('an action was rejected');
    }
    return rows / ((performance.now() - started) / 1000);
  } finally {
    await server.close();
  }
}

export async function run(): Promise<Row[]> {
  const dir = mkdtempSync(path.join(tmpdir(), 'registra-bench-import-'));
  const cluster = await startCluster();
  try {
    const files = { large: path.join(dir, 'large.csv'), small: path.join(dir, 'small.csv') };
    const empty = path.join(dir, 'empty.csv');
    await writeCsv(files.large, LARGE);
    await writeCsv(files.small, SMALL);
    await writeCsv(empty, 0);

    const floor = await copyFloor(cluster, files.large, LARGE);
    const api = await actionsApi(cluster, API_ROWS);
    const idle = await cliImport(cluster, empty, dir);
    const small = await cliImport(cluster, files.small, dir);
    const large = await cliImport(cluster, files.large, dir);

    const row = (name: string, run: CliRun): Row => ({
      measure: name,
      rows: run.rows,
      seconds: run.seconds.toFixed(1),
      'rows/s': Math.round(run.rowsPerSecond),
      'peak RSS MB': Math.round(run.peakRssMb),
      'vs COPY': (run.rowsPerSecond / floor).toFixed(3),
      'vs /actions': (run.rowsPerSecond / api).toFixed(2),
    });
    const blank: Row = {
      rows: '',
      seconds: '',
      'rows/s': '',
      'peak RSS MB': '',
      'vs COPY': '',
      'vs /actions': '',
    };
    return [
      { measure: 'COPY of the CSV (floor)', ...blank, rows: LARGE, 'rows/s': Math.round(floor) },
      {
        measure: 'POST /actions, same rows (baseline)',
        ...blank,
        rows: API_ROWS,
        'rows/s': Math.round(api),
      },
      {
        measure: 'registra import, header only',
        ...blank,
        rows: 0,
        'peak RSS MB': Math.round(idle.peakRssMb),
      },
      row('registra import, small', small),
      row('registra import, large', large),
      {
        measure: 'peak RSS large / small',
        ...blank,
        rows: `${LARGE / Math.max(SMALL, 1)} × the rows`,
        'peak RSS MB': (large.peakRssMb / small.peakRssMb).toFixed(2),
      },
    ];
  } finally {
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { table } = await import('./support.js');
  table(await run());
}
