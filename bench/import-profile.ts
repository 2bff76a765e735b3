/**
 * Where a bulk import's time goes (issue 16, point 2): `runImport` (what `registra import` calls)
 * of a generated CSV of individuals, in this process, with every SQL statement timed from the
 * client's side of the wire (pg.Client#query wrapped in this process only), round trips counted
 * per batch, and optionally a CPU profile. A diagnostic, not part of `npm run bench`.
 *
 *   npx tsx bench/import-profile.ts
 *     BENCH_IMPORT_ROWS=10000          rows (the first batch warms up and is counted too)
 *     BENCH_IN_FLIGHT=1,2              sides: batches appended at once (1 is the import before);
 *                                      a trailing n (`1n`): without the append effects (no
 *                                      deduplication jobs queued), to see what they cost; x500
 *                                      (`2x500`): batches of 500 rows instead of BATCH_ROWS
 *     BENCH_PROFILE=out-%.cpuprofile   also profile the process (% = the side) and print the top
 *                                      self time
 */
import { mkdtempSync, readFileSync, rmSync, statSync, createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuProfiled, StatementTimer } from './profiling.js';
import { openRegistry, readEnv, seed, loadConfigFile, resolveConfigDir } from '@registra/server';
import {
  BATCH_ROWS,
  callerNamed,
  prepareImport,
  runImport,
} from '../packages/server/src/services/imports/index.js';
import { size, type Row } from './fixtures.js';
import { copyFloor, writeCsv } from './import.js';
import { PASSWORD, startCluster, table, type Cluster } from './support.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const MAPPING = path.join(ROOT, 'examples/social-registry/import/individuals.mapping.json');
const N = size('BENCH_IMPORT_ROWS', 10_000, 100);

const timer = new StatementTimer(70);

/** One import of `file` on a fresh database, `inFlight` batches at once: its SQL and wall time. */
async function importOnce(
  cluster: Cluster,
  dir: string,
  file: string,
  inFlight: number,
  batchRows: number,
  effects: boolean,
  profileTo: string | undefined,
): Promise<{ rows: Row[]; rowsPerSecond: number }> {
  timer.statements.clear();
  const { url, db } = await cluster.database();
  const { configFile, usersFile } = resolveConfigDir('social-registry');
  await seed(db, loadConfigFile(configFile), usersFile, PASSWORD);
  const env = readEnv({
    ...process.env,
    DATABASE_URL: url,
    REGISTRA_CONFIG: 'social-registry',
    REGISTRA_KEY_FILE: path.join(dir, `keys-${inFlight}.json`),
    REGISTRA_SEED_DEMO_USERS: 'false',
  });
  const { registry } = await openRegistry(env, db);
  if (!effects) registry.effects = [];
  const caller = await callerNamed(registry, 'importer.trusted');
  const prepared = await prepareImport(registry, caller, {
    recordType: 'individual',
    source: 'rows.csv',
    format: 'csv',
    mapping: JSON.parse(readFileSync(MAPPING, 'utf8')) as unknown,
    bytesTotal: statSync(file).size,
  });
  let status: Awaited<ReturnType<typeof runImport>> | undefined;
  const wall = await cpuProfiled(
    profileTo,
    () =>
      timer.time(async () => {
        status = await runImport(registry, caller, prepared, createReadStream(file), undefined, {
          inFlight,
          batchRows,
        });
      }),
    { limit: 30, lines: true },
  );
  if (status?.rowsImported !== N) throw new Error(`imported ${status?.rowsImported} of ${N}`);
  const batches = Math.ceil(N / batchRows);
  const rows: Row[] = timer.byTime().map(([statement, { calls, ms }]) => ({
    'per batch': statement,
    calls: (calls / batches).toFixed(2),
    ms: (ms / batches).toFixed(1),
  }));
  const { ms: sql, calls: trips } = timer.total();
  const rowsPerSecond = N / (wall / 1000);
  rows.push(
    {
      'per batch': 'all SQL statements (sum)',
      calls: (trips / batches).toFixed(2),
      ms: (sql / batches).toFixed(1),
    },
    { 'per batch': 'wall time', calls: '-', ms: (wall / batches).toFixed(1) },
  );
  return { rows, rowsPerSecond };
}

export async function run(): Promise<Row[]> {
  timer.install();
  const sides = (process.env['BENCH_IN_FLIGHT'] ?? '1,2').split(',');
  const dir = mkdtempSync(path.join(tmpdir(), 'registra-bench-import-profile-'));
  const cluster = await startCluster();
  try {
    const file = path.join(dir, 'rows.csv');
    await writeCsv(file, N);
    const floor = await copyFloor(cluster, file, N);
    const summary: Row[] = [
      {
        measure: 'COPY of the CSV (floor)',
        'rows/s': Math.round(floor),
        'vs COPY': '',
        'vs first side': '',
      },
    ];
    let first: number | null = null;
    for (const side of sides) {
      const inFlight = Number.parseInt(side, 10);
      const batchRows = Number(/x(\d+)/.exec(side)?.[1] ?? BATCH_ROWS);
      const effects = !side.endsWith('n');
      const { rows, rowsPerSecond } = await importOnce(
        cluster,
        dir,
        file,
        inFlight,
        batchRows,
        effects,
        process.env['BENCH_PROFILE']?.replace('%', side),
      );
      const name = `${inFlight} batch(es) of ${batchRows} rows in flight${effects ? '' : ', no append effects'}`;
      console.log(`\n${name}, ${N} rows:`);
      table(rows);
      first ??= rowsPerSecond;
      summary.push({
        measure: `import, ${name}`,
        'rows/s': Math.round(rowsPerSecond),
        'vs COPY': (rowsPerSecond / floor).toFixed(4),
        'vs first side': (rowsPerSecond / first).toFixed(2),
      });
    }
    return summary;
  } finally {
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) table(await run());
