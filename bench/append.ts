/**
 * Append cost against log length (PROTOCOL 7: "appending to a record costs the same whatever the
 * length of its log"): 200 UPDATEs, sent to POST /api/v1/actions ten at a time, on a record whose
 * log already holds BENCH_APPEND_LOG entries (10,000), against the same on a fresh record, the two
 * interleaved request by request in one run so that the machine's noise falls on both alike.
 *
 *   npx tsx bench/append.ts
 */
import { v7 as uuidv7 } from 'uuid';
import { elapsed, size, type Row } from './fixtures.js';
import { table, withBenchServer } from './support.js';

const LOG = size('BENCH_APPEND_LOG', 10_000, 1_000);
const UPDATES = 200;
const PER_REQUEST = 10;
const ROUNDS = size('BENCH_ROUNDS', 3);

type Post = (actions: Record<string, unknown>[]) => Promise<void>;

const update = (recordId: string, i: number) => ({
  id: uuidv7(),
  recordId,
  type: 'UPDATE',
  occurredAt: new Date().toISOString(),
  declaration: { 'child.firstName': `Name${i}` },
});

async function createRecord(post: Post): Promise<string> {
  const recordId = uuidv7();
  await post([
    {
      id: uuidv7(),
      recordId,
      type: 'CREATE',
      recordType: 'birth',
      occurredAt: new Date().toISOString(),
    },
  ]);
  return recordId;
}

export async function run(): Promise<Row[]> {
  return withBenchServer(async (server) => {
    const token = await server.token('agent');
    const post: Post = async (actions) => {
      const response = await fetch(`${server.url}/api/v1/actions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ actions }),
      });
      const body = (await response.json()) as { results?: { outcome: string }[] };
      if (body.results?.some((r) => r.outcome !== 'accepted') ?? true) {
        throw new Error(`not accepted: ${JSON.stringify(body).slice(0, 300)}`);
      }
    };

    // The long record, through the same API, 200 UPDATEs a request (the per-record limit).
    const long = await createRecord(post);
    const building = performance.now();
    for (let i = 0; i < LOG - 1; i += 200) {
      const n = Math.min(200, LOG - 1 - i);
      await post(Array.from({ length: n }, (_, k) => update(long, i + k)));
    }
    const buildSeconds = elapsed(building);

    const rows: Row[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const fresh = await createRecord(post);
      const ms = { fresh: 0, long: 0 };
      for (let i = 0; i < UPDATES; i += PER_REQUEST) {
        for (const [which, recordId] of [
          ['fresh', fresh],
          ['long', long],
        ] as const) {
          const batch = Array.from({ length: PER_REQUEST }, (_, k) => update(recordId, i + k));
          const started = performance.now();
          await post(batch);
          ms[which] += performance.now() - started;
        }
      }
      rows.push({
        round,
        'fresh record, ms / 200 UPDATEs': ms.fresh,
        [`record of ${LOG.toLocaleString('en-US')}+ entries, ms / 200 UPDATEs`]: ms.long,
        'ratio long / fresh': ms.long / ms.fresh,
      });
    }
    console.log(
      `built the long record (${LOG.toLocaleString('en-US')} entries, 200 a request) in ${buildSeconds.toFixed(1)} s`,
    );
    return rows;
  });
}

if (import.meta.url === `file://${process.argv[1]}`) table(await run());
