/**
 * Bandwidth: one device's sync over emulated 3G, EDGE and rural 2G links (bench/shaper.ts), with
 * the real SDK (@registra/client over fake-indexeddb). The agent captured 200 actions offline (50
 * births: CREATE, NOTIFY, UPDATE, DECLARE) while another of their devices put 200 entries on the
 * server (40 births: the same four actions plus the server's UNASSIGN); `sync.now()` sends the
 * 200 and brings the other 200 (and the UNASSIGNs of its own declarations) down. Reports wall time,
 * attempts (a dropped connection is Unreachable: sync.now() again until done), requests, bytes on
 * the wire each way, and gzip bytes per uploaded action; the baseline is the same sync with no
 * proxy, in the same run. The device's fetch asks for br like a browser (Node's asks for gzip).
 *
 *   npx tsx bench/bandwidth.ts   (BENCH_BANDWIDTH_PROFILES=3G,EDGE,2G rural by default;
 *                                 BENCH_BANDWIDTH_LOSS=0.3 overrides the lossy profiles' loss)
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { createClient, Unreachable } from '@registra/client';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { v7 as uuidv7 } from 'uuid';
import { birth, birthActions, elapsed, prng, type Row } from './fixtures.js';
import { PROFILES, ShapingProxy, type LinkProfile } from './shaper.js';
import {
  PASSWORD,
  startBenchServer,
  startCluster,
  table,
  type BenchServer,
  type Cluster,
} from './support.js';

const SELECTED = (process.env['BENCH_BANDWIDTH_PROFILES'] ?? PROFILES.map((p) => p.name).join(','))
  .split(',')
  .map((name) => name.trim());
/** Overrides the loss of the lossy profiles, to exercise the retries (e.g. 0.3). */
const LOSS = process.env['BENCH_BANDWIDTH_LOSS'];
const OWN_RECORDS = 50;
const OTHER_RECORDS = 40;

/** What the device sent: gzip body bytes and the actions in each sync request. */
interface Uploads {
  bodies: { bytes: number; actions: Record<string, unknown>[] }[];
}

/** The platform fetch, asking for br as browsers do, and noting each sync request's body. */
function deviceFetch(uploads: Uploads): typeof fetch {
  return async (input, init) => {
    const headers = new Headers(init?.headers);
    headers.set('accept-encoding', 'gzip, deflate, br');
    const body = init?.body;
    if (String(input).endsWith('/api/v1/sync') && body instanceof Uint8Array) {
      const sent = JSON.parse(gunzipSync(body).toString()) as {
        actions: Record<string, unknown>[];
      };
      uploads.bodies.push({ bytes: body.length, actions: sent.actions });
    }
    return fetch(input, { ...init, headers });
  };
}

/** The agent's other device pushes 40 births straight to the server: 200 entries with UNASSIGNs. */
async function otherDevice(server: BenchServer, random: () => number): Promise<void> {
  const token = await server.token('agent');
  const actions: Record<string, unknown>[] = [];
  const at = new Date().toISOString();
  for (let i = 0; i < OTHER_RECORDS; i++) actions.push(...birthActions(birth(random), at));
  const response = await fetch(`${server.url}/api/v1/sync`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({
      deviceId: uuidv7(),
      cursor: null,
      actions: actions.map((a, i) => ({ ...a, deviceSeq: i + 1 })),
      limit: 1,
    }),
  });
  const body = (await response.json()) as { results?: { outcome: string }[] };
  if (body.results?.filter((r) => r.outcome === 'accepted').length !== actions.length) {
    throw new Error(
      `the other device's actions were not accepted: ${JSON.stringify(body).slice(0, 300)}`,
    );
  }
}

async function oneSync(cluster: Cluster, profile: LinkProfile | null): Promise<Row> {
  const server = await startBenchServer(cluster);
  const proxy = profile ? new ShapingProxy(Number(new URL(server.url).port), profile) : null;
  try {
    const baseUrl = proxy ? await proxy.start() : server.url;
    const uploads: Uploads = { bodies: [] };
    const client = createClient({
      baseUrl,
      indexedDB: new IDBFactory(),
      IDBKeyRange,
      backgroundSync: false,
      lockAfterMs: 0,
      fetch: deviceFetch(uploads),
    });
    try {
      await client.login('agent', PASSWORD);
      const random = prng(5);
      await otherDevice(server, random);
      for (let i = 0; i < OWN_RECORDS; i++) {
        const recordId = uuidv7();
        const person = birth(random);
        await client.actions.submit({ type: 'CREATE', recordId, recordType: 'birth' });
        await client.actions.submit({ type: 'NOTIFY', recordId, declaration: person.notify });
        await client.actions.submit({ type: 'UPDATE', recordId, declaration: person.update });
        await client.actions.submit({ type: 'DECLARE', recordId, declaration: person.declare });
      }
      const captured = (await client.actions.pending()).length;
      uploads.bodies.length = 0;
      if (proxy) {
        proxy.closeConnections(); // the sync opens its own connection, handshake included
        proxy.resetStats();
        proxy.lossy = true;
      }

      const started = performance.now();
      let attempts = 0;
      for (;;) {
        attempts += 1;
        try {
          await client.sync.now();
          break;
        } catch (error) {
          if (!(error instanceof Unreachable) || attempts >= 50) throw error;
        }
      }
      const seconds = elapsed(started);

      const left = (await client.actions.pending()).length;
      const records = (await client.records.query({ limit: 1000 })).length;
      if (left !== 0 || records !== OWN_RECORDS + OTHER_RECORDS) {
        throw new Error(`sync incomplete: ${left} actions left, ${records} records on the device`);
      }
      const sent = uploads.bodies.filter((b) => b.actions.length > 0);
      const bytes = sent.reduce((n, b) => n + b.bytes, 0);
      const actions = sent.reduce((n, b) => n + b.actions.length, 0);
      const first = sent[0]?.actions ?? [];
      const hundred = gzipSync(
        JSON.stringify({
          deviceId: uuidv7(),
          cursor: null,
          actions: first.slice(0, 100),
          limit: 500,
        }),
      ).length;
      return {
        link: profile
          ? `${profile.name} (${profile.downBps / 1000}/${profile.upBps / 1000} kbit/s, ${profile.rttMs} ms${profile.loss ? `, ${profile.loss * 100}% loss` : ''})`
          : 'no proxy (baseline)',
        actions: captured,
        seconds,
        attempts,
        requests: proxy ? proxy.stats.requests : uploads.bodies.length,
        'bytes up': proxy ? proxy.stats.up : '-',
        'bytes down': proxy ? proxy.stats.down : '-',
        'gzip B/action': bytes / actions,
        'B/action, batch of 100': hundred / Math.min(100, first.length),
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
    const rows = [await oneSync(cluster, null)];
    for (const profile of PROFILES.filter((p) => SELECTED.includes(p.name))) {
      const loss = LOSS !== undefined && profile.loss > 0 ? Number(LOSS) : profile.loss;
      rows.push(await oneSync(cluster, { ...profile, loss }));
    }
    const base = Number(rows[0]?.seconds);
    for (const row of rows) row['time ratio'] = Number(row.seconds) / base;
    return rows;
  } finally {
    await cluster.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(
    `bandwidth: ${OWN_RECORDS * 4} actions up and ${OTHER_RECORDS * 5} entries down, one sync.now() per link`,
  );
  table(await run());
}
