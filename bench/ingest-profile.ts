/**
 * Where a 100-action sync batch's time goes: the ingest benchmark's sync path (bench/ingest.ts:
 * the same actions, batches of 100, devices following their cursor) with every SQL statement
 * timed from the server's side of the wire (pg.Client#query wrapped in this process only), and
 * optionally a CPU profile of the server process. A diagnostic, not part of `npm run bench`.
 *
 *   npx tsx bench/ingest-profile.ts
 *     BENCH_N=20000          actions (the first 10% warm up and are not counted)
 *     BENCH_DEVICES=1        devices pushing at once
 *     BENCH_ANALYZE=1        ANALYZE after the warm-up: the planner's view of a database in use
 *                            rather than of the empty tables it started from
 *     BENCH_PROFILE=out.cpuprofile   also profile the process (server and client) and print the
 *                            functions with the most self time
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import pg from 'pg';
import { ingestBatches, type Row } from './fixtures.js';
import {
  analyze,
  pushAll,
  pushingDevice,
  startBenchServer,
  startCluster,
  table,
} from './support.js';

const N = Number(process.env['BENCH_N'] ?? 20_000);
const DEVICES = Number(process.env['BENCH_DEVICES'] ?? 1);
const BATCH = 100;

/** SQL statements by their first words, with calls and the time until their answer was parsed. */
const statements = new Map<string, { calls: number; ms: number }>();
let timing = false;

function label(text: string): string {
  return text
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/\(\$\d+(, \$\d+)*\)/g, '($…)')
    .slice(0, 64);
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
    const key = `${node.callFrame.functionName || '(anonymous)'} ${where}`.trim();
    byFunction.set(key, (byFunction.get(key) ?? 0) + ms);
  }
  return [...byFunction]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 25)
    .map(([fn, ms]) => ({
      function: fn,
      'self ms': ms,
      share: `${((100 * ms) / total).toFixed(1)}%`,
    }));
}

export async function run(): Promise<Row[]> {
  pg.Client.prototype.query = timed as unknown as typeof pg.Client.prototype.query;
  const cluster = await startCluster();
  try {
    const server = await startBenchServer(cluster);
    try {
      const token = await server.token('agent');
      const queue = ingestBatches(N, BATCH);
      const devices = Array.from({ length: DEVICES }, pushingDevice);
      const drain = (batches: Record<string, unknown>[][]) =>
        pushAll(server.url, token, devices, batches);

      await drain(queue.splice(0, Math.ceil(queue.length / 10)));
      if (process.env['BENCH_ANALYZE'] === '1') await analyze(server.databaseUrl);
      const counted = queue.length;
      const file = process.env['BENCH_PROFILE'];
      const session = file ? new Session() : null;
      if (session) {
        session.connect();
        await session.post('Profiler.enable');
        await session.post('Profiler.start');
      }
      timing = true;
      const started = performance.now();
      await drain(queue);
      const wall = performance.now() - started;
      timing = false;
      if (session && file) {
        const { profile } = await session.post('Profiler.stop');
        writeFileSync(file, JSON.stringify(profile));
        session.disconnect();
        console.log(`CPU profile written to ${file}; most self time:`);
        table(topFunctions(profile));
      }

      const perBatch = (ms: number) => ms / counted;
      const rows: Row[] = [...statements]
        .sort((a, b) => b[1].ms - a[1].ms)
        .map(([statement, { calls, ms }]) => ({
          'per 100-action batch': statement,
          calls: calls / counted,
          ms: perBatch(ms),
        }));
      const sql = [...statements.values()].reduce((n, s) => n + s.ms, 0);
      rows.push(
        { 'per 100-action batch': 'all SQL statements (sum)', calls: '-', ms: perBatch(sql) },
        {
          'per 100-action batch': `wall time per batch (${DEVICES} device${DEVICES > 1 ? 's' : ''}: ${Math.round((counted * BATCH) / (wall / 1000))} actions/s)`,
          calls: '-',
          ms: perBatch(wall) * DEVICES,
        },
        {
          'per 100-action batch':
            'the rest: HTTP, JSON, validation, fold, waiting for a connection',
          calls: '-',
          ms: perBatch(wall * DEVICES - sql),
        },
      );
      return rows;
    } finally {
      await server.close();
    }
  } finally {
    pg.Client.prototype.query = query as unknown as typeof pg.Client.prototype.query;
    await cluster.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(
    `ingest profile: ${N} actions in batches of ${BATCH} from ${DEVICES} device(s)` +
      (process.env['BENCH_ANALYZE'] === '1' ? ', statistics refreshed after the warm-up' : ''),
  );
  table(await run());
}
