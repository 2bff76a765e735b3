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
import {
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  createReadStream,
} from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
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

const statements = new Map<string, { calls: number; ms: number }>();
let timing = false;

function label(text: string): string {
  return text
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/\(\$\d+(, \$\d+)*\)/g, '($…)')
    .slice(0, 70);
}

type Query = (this: pg.Client, ...args: unknown[]) => unknown;
const query = pg.Client.prototype.query as unknown as Query;
const timed: Query = function (...args) {
  const result = query.apply(this, args);
  const first = args[0];
  const text = typeof first === 'string' ? first : (first as { text?: unknown } | null)?.text;
  if (timing && typeof text === 'string' && result instanceof Promise) {
    const started = performance.now();
    result.then(
      () => {
        const stat = statements.get(label(text)) ?? { calls: 0, ms: 0 };
        stat.calls += 1;
        stat.ms += performance.now() - started;
        statements.set(label(text), stat);
      },
      () => undefined,
    );
  }
  return result;
};

/** Functions with the most self time in a V8 CPU profile. */
function topFunctions(profile: {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples?: number[];
  timeDeltas?: number[];
}): Row[] {
  const byNode = new Map<number, number>();
  (profile.samples ?? []).forEach((id, i) =>
    byNode.set(id, (byNode.get(id) ?? 0) + (profile.timeDeltas?.[i] ?? 0) / 1000),
  );
  const byFunction = new Map<string, number>();
  let total = 0;
  for (const node of profile.nodes) {
    const ms = byNode.get(node.id) ?? 0;
    total += ms;
    const where = node.callFrame.url.replace(/^.*\/(node_modules|packages)\//, '$1/');
    const key =
      `${node.callFrame.functionName || '(anonymous)'} ${where}:${node.callFrame.lineNumber}`.trim();
    byFunction.set(key, (byFunction.get(key) ?? 0) + ms);
  }
  return [...byFunction]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 30)
    .map(([fn, ms]) => ({
      function: fn,
      'self ms': Math.round(ms),
      share: `${((100 * ms) / total).toFixed(1)}%`,
    }));
}

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
  statements.clear();
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
  const session = profileTo ? new Session() : null;
  if (session) {
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
  }
  timing = true;
  const started = performance.now();
  const status = await runImport(registry, caller, prepared, createReadStream(file), undefined, {
    inFlight,
    batchRows,
  });
  const wall = performance.now() - started;
  timing = false;
  if (status.rowsImported !== N) throw new Error(`imported ${status.rowsImported} of ${N}`);
  if (session && profileTo) {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(profileTo, JSON.stringify(profile));
    session.disconnect();
    console.log(`CPU profile written to ${profileTo}; most self time:`);
    table(topFunctions(profile));
  }
  const batches = Math.ceil(N / batchRows);
  const rows: Row[] = [...statements]
    .sort((a, b) => b[1].ms - a[1].ms)
    .map(([statement, { calls, ms }]) => ({
      'per batch': statement,
      calls: (calls / batches).toFixed(2),
      ms: (ms / batches).toFixed(1),
    }));
  const sql = [...statements.values()].reduce((n, s) => n + s.ms, 0);
  const trips = [...statements.values()].reduce((n, s) => n + s.calls, 0);
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
  pg.Client.prototype.query = timed as unknown as typeof pg.Client.prototype.query;
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
