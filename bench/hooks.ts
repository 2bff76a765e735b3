/**
 * Hooks (PROTOCOL 8), two figures in one run:
 *
 * - **ingest with the notify hook on vs off**: the sync path of bench/ingest.ts (N actions in
 *   batches of 100 from 8 devices, `registra start` in a child process), once with the civil
 *   registry's `events` hook off and once on, delivering to a local receiver that answers 200
 *   while the ingest runs (the job runner is in the same server process, as `npm start` has it).
 *   Each is run twice, alternating, and the better run of each is kept. Target: on ≤ 10 % slower.
 * - **delivery throughput**: the same N actions ingested with the hook on but no job runner in the
 *   server (REGISTRA_JOB_CONCURRENCY=0), so that every delivery waits; then `registra worker`
 *   alone delivers the backlog to the receiver. Deliveries per second from the worker's start to
 *   the last delivery done. Target ≥ 2,000/s on two cores.
 *
 *   npx tsx bench/hooks.ts   (BENCH_HOOKS_N=20000 actions; BENCH_QUICK=1: 2,000)
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { ingestBatches, size } from './fixtures.js';
import { startServerProcess } from './server-process.js';
import {
  analyze,
  pushAll,
  pushingDevice,
  startCluster,
  table,
  PASSWORD,
  type Cluster,
} from './support.js';
import { connect } from '../packages/server/src/db/database.js';

const N = size('BENCH_HOOKS_N', 20_000, 1_000);
const DEVICES = 8;
const WARMUP = size('BENCH_WARMUP', 2_000, 100);
const SECRET = 'bench events secret';
const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** The receiver: answers 200 to every delivery and counts them. */
async function startReceiver(): Promise<{
  url: string;
  count: () => number;
  stop(): Promise<void>;
}> {
  let count = 0;
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      count += 1;
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/events`,
    count: () => count,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function ingest(
  cluster: Cluster,
  env: Record<string, string>,
): Promise<{ rate: number; databaseUrl: string; stop(): Promise<void> }> {
  const server = await startServerProcess(cluster, env);
  const token = await server.token('agent');
  await pushAll(server.url, token, [pushingDevice()], ingestBatches(WARMUP, 100));
  await analyze(server.databaseUrl);
  const queue = ingestBatches(N, 100);
  const started = performance.now();
  await pushAll(server.url, token, Array.from({ length: DEVICES }, pushingDevice), queue);
  const rate = N / ((performance.now() - started) / 1000);
  return { rate, databaseUrl: server.databaseUrl, stop: () => server.stop() };
}

async function pending(databaseUrl: string): Promise<number> {
  const { db } = connect(databaseUrl, 1);
  try {
    const result = await sql<{ n: string }>`
      SELECT count(*) AS n FROM hook_deliveries WHERE state = 'pending'`.execute(db);
    return Number(result.rows[0]?.n);
  } finally {
    await db.destroy();
  }
}

export async function run(): Promise<Record<string, string | number>[]> {
  const cluster = await startCluster();
  const receiver = await startReceiver();
  const on = { REGISTRA_EVENTS_URL: receiver.url, REGISTRA_EVENTS_SECRET: SECRET };
  try {
    let off = 0;
    let withHook = 0;
    for (let round = 0; round < 2; round++) {
      const a = await ingest(cluster, {});
      await a.stop();
      off = Math.max(off, a.rate);
      const b = await ingest(cluster, on);
      await b.stop();
      withHook = Math.max(withHook, b.rate);
    }
    const rows: Record<string, string | number>[] = [
      {
        measure: 'sync ingest, notify hook off (8 devices)',
        value: off,
        unit: 'actions/s',
        ratio: 1,
      },
      {
        measure: 'sync ingest, notify hook on, delivering meanwhile',
        value: withHook,
        unit: 'actions/s',
        ratio: withHook / off,
      },
    ];

    // A backlog: the hook on, nobody delivering.
    const backlog = await ingest(cluster, { ...on, REGISTRA_JOB_CONCURRENCY: '0' });
    await backlog.stop();
    rows.push({
      measure: 'sync ingest, notify hook on, no delivery meanwhile (the outbox writes alone)',
      value: backlog.rate,
      unit: 'actions/s',
      ratio: backlog.rate / off,
    });
    const total = await pending(backlog.databaseUrl);
    const before = receiver.count();
    const worker = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(ROOT, 'packages/server/src/cli.ts'), 'worker'],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          ...on,
          DATABASE_URL: backlog.databaseUrl,
          REGISTRA_DEMO_PASSWORD: PASSWORD,
          REGISTRA_JOB_CONCURRENCY: process.env['BENCH_HOOKS_CONCURRENCY'] ?? '32',
          LOG_LEVEL: 'warn',
        },
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
    // Timed from the first delivery the receiver gets: the worker's own start is not delivery.
    while (receiver.count() === before) await new Promise((resolve) => setTimeout(resolve, 5));
    const started = performance.now();
    let left = total;
    while (left > 0) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      left = await pending(backlog.databaseUrl);
    }
    const seconds = (performance.now() - started) / 1000;
    worker.kill('SIGTERM');
    await new Promise((resolve) => worker.once('exit', resolve));
    rows.push({
      measure: `delivery throughput: ${total} deliveries by \`registra worker\` to a local 200`,
      value: total / seconds,
      unit: 'deliveries/s',
      ratio: '-',
    });
    rows.push({
      measure: 'requests the receiver got for them (duplicates above the count)',
      value: receiver.count() - before,
      unit: 'requests',
      ratio: '-',
    });
    return rows;
  } finally {
    await receiver.stop();
    await cluster.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(`hooks: N = ${N} actions`);
  table(await run());
}
