/**
 * Checkpoints (issue 14): the signed Merkle root over every record's head hash, at 100,000 and
 * 1,000,000 records in one run. Against two floors measured alongside: reading the same
 * (id, head hash) rows in the same keyset batches with a raw client, and hashing the same leaves
 * into the tree in memory. The heap the checkpoint adds is sampled while it runs: streamed, it
 * should not grow with the count.
 *
 *   npx tsx bench/checkpoint.ts   (BENCH_CHECKPOINT_SIZES=100000,1000000 by default;
 *                                  BENCH_QUICK=1: 10000,100000)
 */
import pg from 'pg';
import {
  inclusionProof,
  Issuer,
  leafHash,
  makeCheckpoint,
  MerkleBuilder,
  verifyLatestCheckpoint,
} from '@registra/server';
import { elapsed, type Row } from './fixtures.js';
import { table, withBenchServer, type BenchServer } from './support.js';

const SIZES = (
  process.env['BENCH_CHECKPOINT_SIZES'] ??
  (process.env['BENCH_QUICK'] === '1' ? '10000,100000' : '100000,1000000')
)
  .split(',')
  .map(Number);
/** What the checkpoint reads at a time (services/checkpoints.ts). */
const BATCH = 5000;

/**
 * Grows the log to `total` records of one entry each, with synthetic head hashes (SHA-256 of the
 * record id), written by SQL: the entries and read-model rows a real CREATE leaves, as far as a
 * checkpoint reads them.
 */
async function grow(client: pg.Client, from: number, total: number): Promise<void> {
  for (let first = from; first < total; first += 100_000) {
    const last = Math.min(total, first + 100_000) - 1;
    await client.query(
      `WITH made AS (
         SELECT md5('record ' || i)::uuid AS id FROM generate_series($1::int, $2::int) AS i
       ), entries_made AS (
         INSERT INTO entries (id, record_id, seq, record_type, type, body, status, created_by,
                              created_by_role, created_at_location, recorded_at, config_version,
                              hash, prev_hash)
         SELECT gen_random_uuid(), id, 1, 'birth', 'CREATE', '{}'::jsonb, 'accepted', 'bench',
                'agent', 'ibombo-office', now(), '1', encode(sha256(id::text::bytea), 'hex'), NULL
         FROM made
       )
       INSERT INTO records (id, type, status, flags, tracking_id, created_at_location, created_by,
                            created_at, updated_at, seq, name, state, head_hash)
       SELECT id, 'birth', 'CREATED', '{}', 'B' || substr(id::text, 1, 8), 'ibombo-office',
              gen_random_uuid(), now(), now(), 1, '', '{}'::jsonb,
              encode(sha256(id::text::bytea), 'hex')
       FROM made`,
      [first, last],
    );
  }
  await client.query('VACUUM ANALYZE entries');
  await client.query('VACUUM ANALYZE records');
}

/** Floor 1: the same rows in the same batches, read by a raw client and dropped. */
async function rawRead(client: pg.Client): Promise<number> {
  let after = '00000000-0000-0000-0000-000000000000';
  let count = 0;
  for (;;) {
    const { rows } = await client.query<{ id: string; head_hash: string }>(
      `SELECT id, head_hash FROM records WHERE id > $1::uuid ORDER BY id LIMIT ${BATCH}`,
      [after],
    );
    if (rows.length === 0) return count;
    count += rows.length;
    after = rows[rows.length - 1]?.id as string;
  }
}

/** Floor 2: the leaves hashed into the tree in memory, nothing read. */
function hashOnly(n: number): number {
  const builder = new MerkleBuilder();
  const head = 'ab'.repeat(32);
  for (let i = 0; i < n; i++) {
    const id = `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
    builder.add(leafHash(id, head));
  }
  return builder.finish().size;
}

/** Runs `work`, sampling the heap every 20 ms: the most it grew over the start, in MB. */
async function withHeapPeak<T>(work: () => Promise<T>): Promise<{ value: T; peakMb: number }> {
  globalThis.gc?.();
  const base = process.memoryUsage().heapUsed;
  let peak = base;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().heapUsed);
  }, 20);
  try {
    const value = await work();
    peak = Math.max(peak, process.memoryUsage().heapUsed);
    return { value, peakMb: (peak - base) / 1e6 };
  } finally {
    clearInterval(timer);
  }
}

async function measure(server: BenchServer, client: pg.Client, n: number): Promise<Row[]> {
  const issuer = new Issuer(server.db, 'http://bench', 'bench');
  await rawRead(client); // warm the cache alike for all
  let started = performance.now();
  const read = await rawRead(client);
  const readSeconds = elapsed(started);
  started = performance.now();
  hashOnly(n);
  const hashSeconds = elapsed(started);

  started = performance.now();
  const made = await withHeapPeak(() => makeCheckpoint(server.registry, issuer));
  const checkpointSeconds = elapsed(started);
  const floor = readSeconds + hashSeconds;

  // One record grows after the checkpoint, as records do: its proof reads its old head.
  const { rows } = await client.query<{ id: string }>(
    'SELECT id FROM records ORDER BY id OFFSET $1 LIMIT 1',
    [Math.floor(n / 2)],
  );
  const recordId = rows[0]?.id as string;
  await client.query(
    `WITH grown AS (
       INSERT INTO entries (id, record_id, seq, record_type, type, body, status, created_by,
                            created_by_role, created_at_location, recorded_at, config_version,
                            hash, prev_hash)
       SELECT gen_random_uuid(), id, seq + 1, 'birth', 'UPDATE', '{}'::jsonb, 'accepted', 'bench',
              'agent', 'ibombo-office', now(), '1', encode(sha256(head_hash::bytea), 'hex'),
              head_hash
       FROM records WHERE id = $1::uuid
       RETURNING record_id, seq, hash
     )
     UPDATE records r SET seq = g.seq, head_hash = g.hash FROM grown g WHERE r.id = g.record_id`,
    [recordId],
  );
  started = performance.now();
  const proof = await withHeapPeak(() => inclusionProof(server.registry, recordId, made.value.id));
  const proofSeconds = elapsed(started);
  started = performance.now();
  const verified = await withHeapPeak(() => verifyLatestCheckpoint(server.registry, issuer));
  const verifySeconds = elapsed(started);
  if (verified.value.problems.length > 0) throw new Error(verified.value.problems.join('; '));

  const row = (path: string, seconds: number, heap: number | string): Row => ({
    records: n,
    path,
    seconds,
    'hashes/s': n / seconds,
    'ratio to floor': seconds / floor,
    'heap peak MB': heap,
  });
  return [
    { ...row(`raw read of ${read} (id, head) rows, batches of ${BATCH}`, readSeconds, '-') },
    { ...row('Merkle tree of as many leaves, in memory', hashSeconds, '-') },
    row('makeCheckpoint (read + tree + sign + store)', checkpointSeconds, made.peakMb),
    row(`inclusionProof (path of ${proof.value.auditPath.length})`, proofSeconds, proof.peakMb),
    row('verifyLatestCheckpoint', verifySeconds, verified.peakMb),
  ];
}

export function run(): Promise<Row[]> {
  return withBenchServer(async (server, client) => {
    const rows: Row[] = [];
    let loaded = 0;
    for (const n of SIZES) {
      await grow(client, loaded, n);
      loaded = n;
      rows.push(...(await measure(server, client, n)));
    }
    return rows;
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(`checkpoint: ${SIZES.join(', ')} records`);
  table(await run());
}
