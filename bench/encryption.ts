/**
 * Encryption: sync ingest with the example's sensitive fields sealed (PROTOCOL 13: a data key per
 * record, AES-256-GCM, blind indexes; the hash chain over the sealed entries) against the same
 * configuration with no field sensitive, on the same cluster in the same run. The ingest actions
 * (bench/fixtures.ts) carry mother's and father's national ids and the informant's phone.
 *
 * The two servers run in this process, one after the other, in ROUNDS alternating rounds (so that
 * the machine's load and the cluster's warmth do not favour one side); the best round of each
 * counts, and the ratio is encrypted / plaintext.
 *
 *   npx tsx bench/encryption.ts   (BENCH_N=4000 actions, BENCH_ENCRYPTION_DEVICES=4, BENCH_ROUNDS=3)
 */
import { ingestBatches, size } from './fixtures.js';
import {
  analyze,
  pushAll,
  pushingDevice,
  startBenchServer,
  startCluster,
  table,
  type Cluster,
} from './support.js';

const N = size('BENCH_N', 4_000, 100);
const WARMUP = size('BENCH_WARMUP', 1_000, 100);
const DEVICES = Number(process.env['BENCH_ENCRYPTION_DEVICES'] ?? 4);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);
const BATCH = 100;

async function ingest(cluster: Cluster, plaintext: boolean): Promise<number> {
  const server = await startBenchServer(cluster, 'civil-registry', { plaintext });
  try {
    const token = await server.token('agent');
    await pushAll(server.url, token, [pushingDevice()], ingestBatches(WARMUP, BATCH));
    await analyze(server.databaseUrl);
    const queue = ingestBatches(N, BATCH);
    const started = performance.now();
    await pushAll(server.url, token, Array.from({ length: DEVICES }, pushingDevice), queue);
    return N / ((performance.now() - started) / 1000);
  } finally {
    await server.close();
  }
}

export async function run(): Promise<Record<string, string | number>[]> {
  const cluster = await startCluster();
  try {
    const best = { plaintext: 0, encrypted: 0 };
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? [true, false] : [false, true];
      for (const plaintext of order) {
        const rate = await ingest(cluster, plaintext);
        const side = plaintext ? 'plaintext' : 'encrypted';
        console.log(`round ${round + 1}, ${side}: ${rate.toFixed(0)} actions/s`);
        best[side] = Math.max(best[side], rate);
      }
    }
    return [
      {
        path: 'sync, no field sensitive (hash chain on)',
        devices: DEVICES,
        'actions/s': best.plaintext,
        ratio: 1,
      },
      {
        path: 'sync, sensitive fields sealed + blind indexes (hash chain on)',
        devices: DEVICES,
        'actions/s': best.encrypted,
        ratio: best.encrypted / best.plaintext,
      },
    ];
  } finally {
    await cluster.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(`encryption: N = ${N} actions, ${DEVICES} devices, best of ${ROUNDS} rounds`);
  table(await run());
}
