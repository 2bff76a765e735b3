/**
 * Rebuild: `rebuildReadModel` re-folds every record of the log into a fresh read model on worker
 * threads, each COPYing its ranges of records; actions folded per second with one thread and with
 * BENCH_REBUILD_THREADS (default: one per core), against a raw read of the same entries in the
 * same batches (read cost only, on one connection), all measured in the same run. Then
 * `verifyReadModel` re-folds again and compares.
 *
 *   npx tsx bench/rebuild.ts   (BENCH_REBUILD_ACTIONS=1000000 actions, 5 per record, by default;
 *                               BENCH_REBUILD_VERIFY=0 skips the verify row;
 *                               BENCH_REBUILD_CHAINED=0 loads entries without their chain, as
 *                               before migration 0011: the rebuild then hashes every entry)
 */
import { availableParallelism } from 'node:os';
import pg from 'pg';
import { rebuildReadModel, verifyReadModel } from '@registra/server';
import { copyRecordLogs, elapsed, size, type Row, type Step } from './fixtures.js';
import { table, withBenchServer, type BenchServer } from './support.js';

const ACTIONS = size('BENCH_REBUILD_ACTIONS', 1_000_000, 5_000);
const STEPS: readonly Step[] = ['CREATE', 'NOTIFY', 'UPDATE', 'DECLARE', 'VALIDATE'];
const RECORDS = Math.ceil(ACTIONS / STEPS.length);
/** What the rebuild reads at a time (read-model.ts recordLogs). */
const BATCH = 2000;
const THREADS = Number(process.env['BENCH_REBUILD_THREADS'] ?? availableParallelism());
const CHAINED = process.env['BENCH_REBUILD_CHAINED'] !== '0';

/** COPYs the log and its read model, 10,000 records at a time. */
async function load(server: BenchServer, client: pg.Client): Promise<number> {
  const recordType = server.registry.config.recordTypes.get('birth');
  if (!recordType) throw new Error('no birth record type');
  const seconds = await copyRecordLogs(client, recordType, {
    steps: STEPS,
    records: RECORDS,
    perCopy: 10_000,
    seed: 2,
    chained: CHAINED,
  });
  await client.query('VACUUM ANALYZE entries');
  await client.query('VACUUM ANALYZE records');
  return seconds;
}

/** Baseline: the rebuild's reads alone, raw: record ids by keyset, then their entries. */
async function rawRead(client: pg.Client): Promise<number> {
  let after = '00000000-0000-0000-0000-000000000000';
  let entries = 0;
  for (;;) {
    const ids = await client.query<{ record_id: string }>(
      `SELECT record_id FROM entries WHERE record_id > $1::uuid AND seq = 1
       ORDER BY record_id LIMIT ${BATCH}`,
      [after],
    );
    const batch = ids.rows.map((r) => r.record_id);
    if (batch.length === 0) return entries;
    const rows = await client.query(
      'SELECT * FROM entries WHERE record_id = ANY($1::uuid[]) ORDER BY record_id, seq',
      [batch],
    );
    entries += rows.rowCount ?? 0;
    after = batch[batch.length - 1] as string;
  }
}

export function run(): Promise<Row[]> {
  return withBenchServer(async (server, client) => {
    const copySeconds = await load(server, client);
    await rawRead(client); // warm the cache alike for both

    let started = performance.now();
    const read = await rawRead(client);
    const readSeconds = elapsed(started);

    const readRate = read / readSeconds;
    const rows: Row[] = [
      {
        path: `raw read, batches of ${BATCH} records (baseline)`,
        actions: read,
        records: RECORDS,
        seconds: readSeconds,
        'actions/s': readRate,
        'ratio to raw read': 1,
        'ratio to 1 thread': '-',
      },
    ];
    let oneThread = 0;
    for (const threads of [...new Set([1, THREADS])]) {
      const rebuild = await rebuildReadModel(server.registry, {
        databaseUrl: server.databaseUrl,
        threads,
      });
      const rate = rebuild.entries / rebuild.seconds;
      if (threads === 1) oneThread = rate;
      rows.push({
        path: `rebuildReadModel, ${threads} thread${threads === 1 ? '' : 's'}`,
        actions: rebuild.entries,
        records: rebuild.records,
        seconds: rebuild.seconds,
        'actions/s': rate,
        'ratio to raw read': rate / readRate,
        'ratio to 1 thread': rate / oneThread,
      });
    }
    if (process.env['BENCH_REBUILD_VERIFY'] !== '0') {
      started = performance.now();
      const verify = await verifyReadModel(server.registry);
      const seconds = elapsed(started);
      rows.push({
        path: `verifyReadModel (${verify.differences.length} differences)`,
        actions: verify.entries,
        records: verify.records,
        seconds,
        'actions/s': verify.entries / seconds,
        'ratio to raw read': verify.entries / seconds / readRate,
        'ratio to 1 thread': '-',
      });
    }
    rows.push({
      path: '(the log and read model loaded with COPY)',
      actions: ACTIONS,
      records: RECORDS,
      seconds: copySeconds,
      'actions/s': ACTIONS / copySeconds,
      'ratio to raw read': '-',
      'ratio to 1 thread': '-',
    });
    return rows;
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(
    `rebuild: ${RECORDS} records, ${STEPS.length} actions each (${ACTIONS} actions), ` +
      `${CHAINED ? 'chained' : 'without chain'}, ${THREADS} threads`,
  );
  table(await run());
}
