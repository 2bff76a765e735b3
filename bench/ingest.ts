/**
 * Ingest: raw COPY of N log entries into the entries table, against the full sync path (HTTP,
 * validation, fold, read model, device high-water mark) for the same N actions in batches of 100,
 * from 1, 8 and 64 concurrent devices. Prints rates and their ratio to COPY, all measured here.
 *
 * Between the two, the write floor: the rows that the sync path writes for the same actions (their
 * entries, the server's UNASSIGN after each DECLARE, the read-model rows) COPYed in one transaction
 * per batch. No durable sync path that commits each batch can be faster than that.
 *
 * The server runs as `registra start` in a child process, with REGISTRA_WORKERS 1 and 2, so that
 * the load generator does not share its event loop. Each DECLARE queues a deduplication job in its
 * transaction (PROTOCOL 10). With the job runner on (the default), the server runs those jobs while
 * it ingests, on the same cores; with it off (REGISTRA_JOB_CONCURRENCY=0, as an API node whose
 * jobs a `registra worker` elsewhere runs) the jobs are still written in each append's
 * transaction, and only their running is left out. BENCH_JOBS=on,off picks the sides.
 *
 * Each sync run first pushes WARMUP actions from another device, untimed, and ANALYZEs: the
 * planner then sees tables in use, as autovacuum shows it within a minute of a deployment's start,
 * rather than the empty tables the run started from (see bench/README.md, Ingest).
 *
 *   npx tsx bench/ingest.ts   (BENCH_N=20000 actions, BENCH_DEVICES=1,8,64, BENCH_WORKERS=1,2,
 *                              BENCH_JOBS=on,off)
 *
 * BENCH_BEFORE_ROOT=<checkout> also runs each sync side with the server of another checkout (a
 * git worktree of an earlier commit, its node_modules linked), right before this one's: an A/B of
 * the code in one run.
 */
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { v7 as uuidv7 } from 'uuid';
import {
  authors,
  copyLines,
  ENTRY_COPY,
  entryLine,
  foldedLine,
  ingestBatches,
  prng,
  RECORD_COPY,
  recordLog,
  size,
} from './fixtures.js';
import { startServerProcess } from './server-process.js';
import {
  analyze,
  pushAll,
  pushingDevice,
  startBenchServer,
  startCluster,
  table,
  type Cluster,
} from './support.js';

const N = Number(process.env['BENCH_N'] ?? 20_000);
const WARMUP = size('BENCH_WARMUP', 2_000, 100);
const BATCH = 100;
const DEVICES = (process.env['BENCH_DEVICES'] ?? '1,8,64').split(',').map(Number);
const WORKERS = (process.env['BENCH_WORKERS'] ?? '1,2').split(',').map(Number);
const JOBS = (process.env['BENCH_JOBS'] ?? 'on,off').split(',');
const BEFORE = process.env['BENCH_BEFORE_ROOT'];

/** The ingest actions (bench/fixtures.ts ingestActions) in sync batches of BATCH. */
const batches = (total: number) => ingestBatches(total, BATCH);

async function copyBaseline(cluster: Cluster): Promise<number> {
  const { url } = await cluster.database();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const user = uuidv7();
  const lines: string[] = [];
  const seqs = new Map<string, number>();
  for (const batch of batches(N)) {
    for (const action of batch) {
      const recordId = String(action['recordId']);
      const seq = (seqs.get(recordId) ?? 0) + 1;
      seqs.set(recordId, seq);
      const body = JSON.stringify(action).replace(/\\/g, '\\\\');
      lines.push(
        [
          action['id'],
          recordId,
          seq,
          'birth',
          action['type'],
          body,
          'accepted',
          user,
          'field-agent',
          'ibombo-office',
          new Date().toISOString(),
          '1.0.0',
        ].join('\t'),
      );
    }
  }
  // copyLines sends 64 KiB chunks, as a bulk loader would.
  const seconds = await copyLines(
    client,
    'COPY entries (id, record_id, seq, record_type, type, body, status, created_by, created_by_role, created_at_location, recorded_at, config_version) FROM STDIN',
    lines.map((line) => `${line}\n`),
  );
  await client.end();
  return N / seconds;
}

/** The sync path's write set for N actions, COPYed in one transaction per batch of 100 actions. */
async function writeFloor(cluster: Cluster, devices: number): Promise<number> {
  const server = await startBenchServer(cluster);
  const recordType = server.registry.config.recordTypes.get('birth');
  if (!recordType) throw new Error('the civil registry has no birth record type');
  const clients = await Promise.all(
    Array.from({ length: devices }, async () => {
      const client = new pg.Client({ connectionString: server.databaseUrl });
      await client.connect();
      return client;
    }),
  );
  const people = await authors(clients[0] as pg.Client);
  const random = prng(7);
  const queue: { entries: string; records: string }[] = [];
  for (let done = 0; done < N; done += BATCH) {
    let entries = '';
    let records = '';
    for (let i = 0; i < BATCH / 4; i++) {
      const steps = ['CREATE', 'NOTIFY', 'UPDATE', 'DECLARE', 'UNASSIGN'] as const;
      const log = recordLog(steps, people, random, Date.UTC(2026, 10, 20)).entries;
      entries += log.map((entry) => entryLine(entry)).join('');
      records += foldedLine(log, recordType);
    }
    queue.push({ entries, records });
  }
  const started = performance.now();
  await Promise.all(
    clients.map(async (client) => {
      for (let batch = queue.shift(); batch; batch = queue.shift()) {
        await client.query('BEGIN');
        await copyInto(client, ENTRY_COPY, batch.entries);
        await copyInto(client, RECORD_COPY, batch.records);
        await client.query('COMMIT');
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await Promise.all(clients.map((client) => client.end()));
  await server.close();
  return N / seconds;
}

async function copyInto(client: pg.Client, statement: string, text: string): Promise<void> {
  await pipeline(Readable.from([text]), client.query(copyFrom(statement)));
}

/** `registra start` in its own process (REGISTRA_WORKERS `workers`), pushed to by `devices`. */
async function syncPath(
  cluster: Cluster,
  devices: number,
  workers: number,
  jobs: boolean,
  root?: string,
): Promise<{ rate: number; gzipBytesPerAction: number }> {
  const server = await startServerProcess(
    cluster,
    { REGISTRA_WORKERS: String(workers), ...(jobs ? {} : { REGISTRA_JOB_CONCURRENCY: '0' }) },
    root,
  );
  try {
    const token = await server.token('agent');
    await pushAll(server.url, token, [pushingDevice()], batches(WARMUP));
    await analyze(server.databaseUrl);
    const queue = batches(N);
    const gzipBytesPerAction = gzipSync(JSON.stringify({ actions: queue[0] })).length / BATCH;
    const started = performance.now();
    await pushAll(server.url, token, Array.from({ length: devices }, pushingDevice), queue);
    const seconds = (performance.now() - started) / 1000;
    return { rate: N / seconds, gzipBytesPerAction };
  } finally {
    await server.stop();
  }
}

export async function run(): Promise<Record<string, string | number>[]> {
  const cluster = await startCluster();
  try {
    const copy = await copyBaseline(cluster);
    const rows: Record<string, string | number>[] = [
      {
        path: 'raw COPY into entries',
        devices: '-',
        'actions/s': copy,
        'ratio to COPY': 1,
        'ratio to floor': '-',
      },
    ];
    for (const devices of [1, 8]) {
      const floor = await writeFloor(cluster, devices);
      rows.push({
        path: 'write floor: the sync write set, COPY per batch',
        devices,
        'actions/s': floor,
        'ratio to COPY': floor / copy,
        'ratio to floor': 1,
      });
    }
    const floors = new Map(rows.slice(1).map((row) => [row.devices, Number(row['actions/s'])]));
    for (const jobs of JOBS) {
      for (const workers of WORKERS) {
        for (const devices of DEVICES) {
          if (workers > 1 && devices === 1) continue; // one device is served by one worker at a time
          const on = jobs === 'on';
          const floor = floors.get(devices === 1 ? 1 : 8) ?? NaN;
          for (const root of BEFORE ? [BEFORE, undefined] : [undefined]) {
            const { rate, gzipBytesPerAction } = await syncPath(
              cluster,
              devices,
              workers,
              on,
              root,
            );
            rows.push({
              path: `sync${root ? ' (before)' : ''}, ${workers} server process${workers > 1 ? 'es' : ''}, job runner ${jobs} (gzip ${gzipBytesPerAction.toFixed(0)} B/action)`,
              devices,
              'actions/s': rate,
              'ratio to COPY': rate / copy,
              'ratio to floor': rate / floor,
            });
          }
        }
      }
    }
    return rows;
  } finally {
    await cluster.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(`ingest: N = ${N} actions`);
  table(await run());
}
