/**
 * Offline capture: 1,000 births captured on a device with no network (CREATE + DECLARE each, in
 * the SDK's IndexedDB outbox), then synced in one go. Reports the sync time, requests and gzip
 * bytes sent per action; the baseline is the same actions posted straight to /sync by plain HTTP
 * (no IndexedDB, no local validation) in the same run.
 *
 *   npx tsx bench/offline-capture.ts      (BENCH_RECORDS=1000)
 */
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { v7 as uuidv7 } from 'uuid';
import { createClient } from '../packages/client/src/index.js';
import { PASSWORD, startBenchServer, startCluster, table } from './support.js';

const RECORDS = Number(process.env['BENCH_RECORDS'] ?? 1000);
const FIRST = [
  'Ama',
  'Kofi',
  'Chipo',
  'Thandiwe',
  'Mutale',
  'Bwalya',
  'Zanele',
  'Chanda',
  'Mwila',
  'Naledi',
];
const LAST = ['Banda', 'Phiri', 'Mwale', 'Tembo', 'Zulu', 'Sakala', 'Lungu', 'Mumba'];

function declaration(i: number) {
  return {
    'child.firstName': FIRST[i % FIRST.length] as string,
    'child.surname': LAST[(i * 7) % LAST.length] as string,
    'child.dob': `2026-0${1 + (i % 9)}-1${i % 10}`,
    'child.sex': i % 2 === 0 ? 'female' : 'male',
    'child.placeOfBirth': { province: 'central', district: 'ibombo', village: `Village ${i % 40}` },
    'mother.firstName': FIRST[(i + 3) % FIRST.length] as string,
    'mother.surname': LAST[(i * 7) % LAST.length] as string,
    'mother.nid': String(1_000_000_000 + i * 7919),
    'informant.phone': `+26097${1_000_000 + i}`,
  };
}

export async function run(): Promise<Record<string, string | number>[]> {
  const cluster = await startCluster();
  try {
    // Baseline: the same actions, straight to /sync in batches of 100.
    const raw = await startBenchServer(cluster);
    const token = await raw.token('agent');
    const deviceId = uuidv7();
    const actions = Array.from({ length: RECORDS }, (_, i) => {
      const recordId = uuidv7();
      const occurredAt = new Date().toISOString();
      return [
        { id: uuidv7(), recordId, type: 'CREATE', recordType: 'birth', occurredAt },
        {
          id: uuidv7(),
          recordId,
          type: 'DECLARE',
          occurredAt,
          baseSeq: 0,
          declaration: declaration(i),
        },
      ];
    }).flat();
    let started = performance.now();
    for (let i = 0; i < actions.length; i += 100) {
      const batch = actions.slice(i, i + 100).map((a, j) => ({ ...a, deviceSeq: i + j + 1 }));
      const response = await fetch(`${raw.url}/api/v1/sync`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ deviceId, cursor: null, actions: batch, limit: 1 }),
      });
      await response.arrayBuffer();
    }
    const baselineSeconds = (performance.now() - started) / 1000;
    await raw.close();

    // The SDK: capture offline into IndexedDB, then one sync.
    const server = await startBenchServer(cluster);
    let online = true;
    let bytesSent = 0;
    let requests = 0;
    const client = createClient({
      baseUrl: server.url,
      indexedDB: new IDBFactory(),
      IDBKeyRange,
      backgroundSync: false,
      lockAfterMs: 0,
      fetch: async (input, init) => {
        if (!online) throw new TypeError('offline');
        if (String(input).endsWith('/api/v1/sync')) {
          requests += 1;
          bytesSent += (init?.body as Uint8Array | undefined)?.byteLength ?? 0;
        }
        return fetch(input, init);
      },
    });
    await client.login('agent', PASSWORD);
    online = false;
    started = performance.now();
    for (let i = 0; i < RECORDS; i++) {
      const recordId = uuidv7();
      await client.actions.submit({ type: 'CREATE', recordId, recordType: 'birth' });
      await client.actions.submit({ type: 'DECLARE', recordId, declaration: declaration(i) });
    }
    const captureSeconds = (performance.now() - started) / 1000;
    online = true;
    started = performance.now();
    const report = await client.sync.now();
    const syncSeconds = (performance.now() - started) / 1000;
    client.close();
    await server.close();
    if (report.accepted !== RECORDS * 2) throw new Error(`only ${report.accepted} accepted`);
    return [
      {
        what: `capture ${RECORDS} records offline (SDK, IndexedDB)`,
        seconds: captureSeconds,
        requests: 0,
        'bytes/action': '-',
      },
      {
        what: 'sync them (SDK: gzip, outbox, fold)',
        seconds: syncSeconds,
        requests,
        'bytes/action': bytesSent / (RECORDS * 2),
      },
      {
        what: 'baseline: plain POST /sync, batches of 100',
        seconds: baselineSeconds,
        requests: Math.ceil(actions.length / 100),
        'bytes/action': '-',
      },
      {
        what: 'ratio SDK sync / baseline',
        seconds: syncSeconds / baselineSeconds,
        requests: '-',
        'bytes/action': '-',
      },
    ];
  } finally {
    await cluster.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(`offline capture: ${RECORDS} births (CREATE + DECLARE), fake-indexeddb in Node`);
  table(await run());
}
