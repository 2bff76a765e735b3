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
import { cpuProfiled, StatementTimer } from './profiling.js';
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

const timer = new StatementTimer(64);

export async function run(): Promise<Row[]> {
  timer.install();
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
      const wall = await cpuProfiled(
        process.env['BENCH_PROFILE'],
        () => timer.time(() => drain(queue)),
        { limit: 25, lines: false },
      );

      const perBatch = (ms: number) => ms / counted;
      const rows: Row[] = timer.byTime().map(([statement, { calls, ms }]) => ({
        'per 100-action batch': statement,
        calls: calls / counted,
        ms: perBatch(ms),
      }));
      const sql = timer.total().ms;
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
    timer.uninstall();
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
