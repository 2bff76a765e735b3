/**
 * Files: a 2 MB photo uploaded by the real SDK (@registra/client, tus-js-client over fetch, its
 * default 256 KiB chunks) over the emulated 3G and EDGE links of bench/shaper.ts, whole and with
 * the connection cut when half of it has gone up. Reports wall time, requests, the bytes on the
 * wire device → server (HTTP headers included, as the shaper counts them) against the file's size
 * (target ≤ 1.05), and what the server had when the cut came. The baseline is the same upload
 * with no proxy, in the same run.
 *
 *   npx tsx bench/files.ts   (BENCH_FILES_PROFILES=3G,EDGE by default; BENCH_FILES_BYTES)
 */
import { createClient, Unreachable } from '@registra/client';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { randomBytes } from 'node:crypto';
import { elapsed, type Row } from './fixtures.js';
import { PROFILES, ShapingProxy, type LinkProfile } from './shaper.js';
import { PASSWORD, startBenchServer, startCluster, table, type Cluster } from './support.js';

const SELECTED = (process.env['BENCH_FILES_PROFILES'] ?? '3G,EDGE')
  .split(',')
  .map((name) => name.trim());
const QUICK = process.env['BENCH_QUICK'] === '1';
const BYTES = Number(process.env['BENCH_FILES_BYTES'] ?? (QUICK ? 512 * 1024 : 2 * 1024 * 1024));

/** A photo's bytes: a JPEG header, then noise (a camera's JPEG does not compress either). */
function photo(size: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(randomBytes(size));
  bytes.set([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01]);
  return bytes;
}

async function oneUpload(
  cluster: Cluster,
  profile: LinkProfile | null,
  cutAtHalf: boolean,
): Promise<Row> {
  const server = await startBenchServer(cluster);
  const proxy = profile ? new ShapingProxy(Number(new URL(server.url).port), profile) : null;
  try {
    const baseUrl = proxy ? await proxy.start() : server.url;
    let patches = 0;
    const client = createClient({
      baseUrl,
      indexedDB: new IDBFactory(),
      IDBKeyRange,
      backgroundSync: false,
      lockAfterMs: 0,
      fetch: (input, init) => {
        if (init?.method === 'PATCH') patches += 1;
        return fetch(input, init);
      },
    });
    try {
      await client.login('agent', PASSWORD);
      const bytes = photo(BYTES);
      const value = await client.files.add(new Blob([bytes], { type: 'image/jpeg' }), {
        name: 'photo.jpg',
        recordType: 'birth',
        field: 'documents.proofOfBirth',
      });
      if (proxy) {
        proxy.closeConnections(); // the upload opens its own connection, handshake included
        proxy.resetStats();
      }
      patches = 0;
      let cut: number | null = null;
      const watch =
        proxy && cutAtHalf
          ? setInterval(() => {
              if (cut === null && proxy.stats.up >= BYTES / 2) {
                cut = proxy.stats.up;
                proxy.closeConnections();
              }
            }, 5)
          : null;
      const started = performance.now();
      let attempts = 0;
      try {
        for (;;) {
          attempts += 1;
          try {
            await client.files.upload();
            break;
          } catch (error) {
            if (!(error instanceof Unreachable) || attempts >= 20) throw error;
          }
        }
      } finally {
        if (watch) clearInterval(watch);
      }
      const seconds = elapsed(started);
      const state = client.files.status.get()[value.sha256]?.state;
      if (state !== 'uploaded') throw new Error(`the upload ended ${state}`);
      const up = proxy ? proxy.stats.up : 0;
      return {
        link: profile
          ? `${profile.name} (${profile.downBps / 1000}/${profile.upBps / 1000} kbit/s, ${profile.rttMs} ms)`
          : 'no proxy (baseline)',
        upload: cutAtHalf ? 'cut at 50 %' : 'whole',
        'file bytes': BYTES,
        seconds,
        'upload calls': attempts,
        PATCHes: patches,
        requests: proxy ? proxy.stats.requests : '-',
        'bytes up': proxy ? up : '-',
        'up / file': proxy ? up / BYTES : '-',
        'bytes down': proxy ? proxy.stats.down : '-',
        'cut at byte': cut ?? '-',
        'time ratio': 0,
      };
    } finally {
      client.close();
    }
  } finally {
    await proxy?.stop();
    await server.close();
  }
}

export async function run(): Promise<Row[]> {
  const cluster = await startCluster();
  try {
    const rows = [await oneUpload(cluster, null, false)];
    for (const profile of PROFILES.filter((p) => SELECTED.includes(p.name))) {
      rows.push(await oneUpload(cluster, profile, false));
      rows.push(await oneUpload(cluster, profile, true));
    }
    const base = Number(rows[0]?.seconds);
    for (const row of rows) row['time ratio'] = Number(row.seconds) / base;
    return rows;
  } finally {
    await cluster.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(`files: a ${BYTES}-byte photo uploaded with tus, whole and cut at 50 %`);
  table(await run());
}
