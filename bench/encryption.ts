/**
 * Encryption and the hash chain: sync ingest with the example's sensitive fields sealed
 * (PROTOCOL 13: a data key per record, AES-256-GCM, blind indexes; the hash chain over the sealed
 * entries) against the same configuration with no field sensitive, on the same cluster in the
 * same run. The ingest actions (bench/fixtures.ts) carry mother's and father's national ids and
 * the informant's phone.
 *
 * The two servers run in this process, one after the other, in ROUNDS alternating rounds (so that
 * the machine's load and the cluster's warmth do not favour one side); the best round of each
 * counts, and the ratio is encrypted / plaintext.
 *
 * The chain cannot be switched off (no setting, variable or option of the server turns it off, on
 * purpose), so both servers chain their entries. Its cost is measured apart, in the same run:
 * after each side's timed ingest, the entries it stored are read back (store/entries.ts
 * loadChains, outside the clock) and `entryHash` (services/chain.ts, the one function an append
 * calls per entry) is timed over every one of them, each result checked against the stored hash.
 * That is the chain's CPU time for exactly the entries of the timed ingest. The third row is the
 * plaintext side with that time taken off its wall time: an estimate of ingest with neither the
 * sealing nor the chain. It leaves in the chain's two stored columns (hash and prev_hash, 128
 * bytes per entry), and it assumes the hashing held up the server's one event loop for its whole
 * duration (true of synchronous code on one thread; with several devices in flight the saving
 * could be smaller, never larger).
 *
 *   npx tsx bench/encryption.ts   (BENCH_N=4000 actions, BENCH_ENCRYPTION_DEVICES=4, BENCH_ROUNDS=3)
 */
import { entryHash } from '../packages/server/src/services/chain.js';
import { loadChains } from '../packages/server/src/store/entries.js';
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

interface Side {
  /** Wall seconds of the timed ingest of N actions. */
  seconds: number;
  /** Seconds of `entryHash` over the entries that ingest stored. */
  chainSeconds: number;
  entries: number;
}

async function ingest(cluster: Cluster, plaintext: boolean): Promise<Side> {
  const server = await startBenchServer(cluster, 'civil-registry', { plaintext });
  try {
    const token = await server.token('agent');
    await pushAll(server.url, token, [pushingDevice()], ingestBatches(WARMUP, BATCH));
    await analyze(server.databaseUrl);
    const queue = ingestBatches(N, BATCH);
    const recordIds = [...new Set(queue.flat().map((action) => String(action['recordId'])))];
    const started = performance.now();
    await pushAll(server.url, token, Array.from({ length: DEVICES }, pushingDevice), queue);
    const seconds = (performance.now() - started) / 1000;
    return { seconds, ...(await chainCost(server.db, recordIds)) };
  } finally {
    await server.close();
  }
}

/**
 * The hash chain's CPU time over the stored logs of these records: `entryHash` of each entry as
 * stored, chained to its stored predecessor, as the append computed it (checked against the hash).
 */
async function chainCost(
  db: Parameters<typeof loadChains>[0],
  recordIds: string[],
): Promise<{ chainSeconds: number; entries: number }> {
  const links = [...(await loadChains(db, recordIds)).values()].flat();
  const hashes: string[] = new Array<string>(links.length);
  const started = performance.now();
  for (let i = 0; i < links.length; i++) {
    const link = links[i] as (typeof links)[number];
    hashes[i] = entryHash(link.entry, link.prevHash);
  }
  const chainSeconds = (performance.now() - started) / 1000;
  links.forEach((link, i) => {
    if (link.hash !== hashes[i]) throw new Error(`entry ${link.entry.id}: hash differs`);
  });
  return { chainSeconds, entries: links.length };
}

export async function run(): Promise<Record<string, string | number>[]> {
  const cluster = await startCluster();
  try {
    const best: Record<'plaintext' | 'encrypted', Side | null> = {
      plaintext: null,
      encrypted: null,
    };
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? [true, false] : [false, true];
      for (const plaintext of order) {
        const measured = await ingest(cluster, plaintext);
        const side = plaintext ? 'plaintext' : 'encrypted';
        console.log(
          `round ${round + 1}, ${side}: ${(N / measured.seconds).toFixed(0)} actions/s; chain ${(
            (1e6 * measured.chainSeconds) /
            measured.entries
          ).toFixed(1)} µs per entry, ${((100 * measured.chainSeconds) / measured.seconds).toFixed(
            1,
          )} % of the wall time`,
        );
        const kept = best[side];
        if (!kept || measured.seconds < kept.seconds) best[side] = measured;
      }
    }
    const { plaintext, encrypted } = best;
    if (!plaintext || !encrypted) throw new Error('no round ran');
    // Neither sealed nor chained: the plaintext side's wall time less its own chain's hashing.
    const neither = plaintext.seconds - plaintext.chainSeconds;
    const row = (path: string, side: Side, seconds: number) => ({
      path,
      devices: DEVICES,
      'actions/s': N / seconds,
      'chain µs/entry': (1e6 * side.chainSeconds) / side.entries,
      'chain % of wall': (100 * side.chainSeconds) / side.seconds,
      'ratio to neither': neither / seconds,
    });
    return [
      row('estimate: nothing sealed, no chain (plaintext less its hashing)', plaintext, neither),
      row('sync, no field sensitive (hash chain on)', plaintext, plaintext.seconds),
      row(
        'sync, sensitive fields sealed + blind indexes (hash chain on)',
        encrypted,
        encrypted.seconds,
      ),
    ];
  } finally {
    await cluster.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(`encryption: N = ${N} actions, ${DEVICES} devices, best of ${ROUNDS} rounds`);
  table(await run());
}
