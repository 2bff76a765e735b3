/**
 * Certificates (PROTOCOL 11): the time to print one certificate to PDF, and the rate at which
 * credentials are verified.
 *
 * - PDF: GET /api/v1/records/{id}/certificates/birth-certificate for registered births, one at a
 *   time and two at a time (the renderer keeps two Chromium pages warm), after a warm-up; the
 *   baseline is GET /api/v1/records/{id} of the same records in the same run (same token check,
 *   same record read, no rendering).
 * - Verification: POST /api/v1/credentials/verify of the births' credentials from 32 concurrent
 *   clients, against GET /api/v1/health at the same concurrency; and offline, the SDK's verifier
 *   (core's CredentialVerifier with the keys and a status list in memory), in-process.
 *
 * The server runs in this process, so the load generator shares its two cores.
 *
 *   npx tsx bench/certificates.ts   (BENCH_CERT_RECORDS=40, BENCH_CERT_PDFS=200,
 *                                    BENCH_CERT_VERIFY=20000)
 */
import {
  certificateHtml,
  certificateTemplateOf,
  CredentialVerifier,
  decodeStatusList,
  statusFromBits,
  type RecordState,
} from '@registra/core';
import { credentialQr, PdfRenderer } from '@registra/server';
import { decodeJwt, type JWK } from 'jose';
import { v7 as uuidv7 } from 'uuid';
import { birth, elapsed, prng, quantile, size, type Row } from './fixtures.js';
import { withBenchServer, type BenchServer } from './support.js';

const RECORDS = size('BENCH_CERT_RECORDS', 40, 10);
const PDFS = size('BENCH_CERT_PDFS', 200, 40);
const VERIFICATIONS = size('BENCH_CERT_VERIFY', 20_000, 2_000);
const CLIENTS = 32;

async function post(server: BenchServer, token: string, actions: unknown[]): Promise<void> {
  const response = await fetch(`${server.url}/api/v1/actions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ actions }),
  });
  const body = (await response.json()) as { results?: { outcome: string }[] };
  if (!body.results?.every((r) => r.outcome === 'accepted'))
    throw new Error(`not accepted: ${JSON.stringify(body).slice(0, 300)}`);
}

/** Registered births, as the agent declares and the registrar registers them. */
async function registeredBirths(server: BenchServer): Promise<string[]> {
  const agent = await server.token('agent');
  const registrar = await server.token('registrar');
  const registrarId = (decodeJwt(registrar).sub ?? '') as string;
  const random = prng(11);
  const ids: string[] = [];
  for (let i = 0; i < RECORDS; i++) {
    const b = birth(random);
    const recordId = uuidv7();
    const at = new Date().toISOString();
    await post(server, agent, [
      { id: uuidv7(), recordId, type: 'CREATE', recordType: 'birth', occurredAt: at },
      {
        id: uuidv7(),
        recordId,
        type: 'DECLARE',
        occurredAt: at,
        declaration: { ...b.notify, ...b.update, ...b.declare },
      },
    ]);
    await post(server, registrar, [
      { id: uuidv7(), recordId, type: 'ASSIGN', assignee: registrarId, occurredAt: at },
      { id: uuidv7(), recordId, type: 'REGISTER', occurredAt: at },
    ]);
    ids.push(recordId);
  }
  return ids;
}

async function timed(
  count: number,
  concurrency: number,
  request: (i: number) => Promise<Response>,
): Promise<{ latencies: number[]; seconds: number }> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        const begun = performance.now();
        const response = await request(i);
        await response.arrayBuffer();
        if (!response.ok) throw new Error(`answered ${response.status}`);
        latencies.push(performance.now() - begun);
      }
    }),
  );
  return { latencies, seconds: elapsed(started) };
}

const ms = (values: number[], q: number) => Math.round(quantile(values, q) * 10) / 10;

export async function run(): Promise<Row[]> {
  return withBenchServer(async (server) => {
    const ids = await registeredBirths(server);
    const token = await server.token('registrar');
    const auth = { authorization: `Bearer ${token}` };
    const pdf = (i: number) =>
      fetch(`${server.url}/api/v1/records/${ids[i % ids.length]}/certificates/birth-certificate`, {
        headers: auth,
      });
    const record = (i: number) =>
      fetch(`${server.url}/api/v1/records/${ids[i % ids.length]}`, { headers: auth });
    // Warm-up: Chromium starts, each record gets its credential, the pages are warm.
    await timed(ids.length, 2, pdf);
    await timed(ids.length, 2, record);

    const rows: Row[] = [];
    for (const concurrency of [1, 2]) {
      const baseline = await timed(PDFS, concurrency, record);
      const printed = await timed(PDFS, concurrency, pdf);
      rows.push({
        measure: `certificate PDF, ${concurrency} at a time`,
        n: PDFS,
        'p50 ms': ms(printed.latencies, 0.5),
        'p95 ms': ms(printed.latencies, 0.95),
        'p99 ms': ms(printed.latencies, 0.99),
        'per s': Math.round(PDFS / printed.seconds),
        'baseline p95 ms or rate': ms(baseline.latencies, 0.95),
        'ratio to baseline':
          Math.round(
            (quantile(printed.latencies, 0.95) / quantile(baseline.latencies, 0.95)) * 10,
          ) / 10,
        target: 'p95 < 200 ms',
      });
    }

    const credentials: string[] = [];
    for (const id of ids) {
      const response = await fetch(`${server.url}/api/v1/records/${id}/credential`, {
        headers: auth,
      });
      credentials.push(((await response.json()) as { credential: string }).credential);
    }

    // The renderer alone: one certificate's HTML (QR drawn beforehand) to PDF in a warm page.
    const found = certificateTemplateOf(server.registry.config, 'birth', 'birth-certificate');
    if (!found) throw new Error('no birth certificate template');
    const shown = (await (await record(0)).json()) as { record: RecordState };
    const html = certificateHtml(found.template, 'en', shown.record, server.registry.config, {
      qr: await credentialQr(credentials[0] as string),
      notice: '',
      printedAt: new Date().toISOString(),
    });
    const renderer = new PdfRenderer({ executablePath: '/usr/bin/chromium', pages: 1 });
    try {
      for (let i = 0; i < 10; i++) await renderer.render(html);
      const renders: number[] = [];
      for (let i = 0; i < PDFS; i++) {
        const begun = performance.now();
        await renderer.render(html);
        renders.push(performance.now() - begun);
      }
      rows.push({
        measure: 'renderer only (HTML to PDF, warm page)',
        n: PDFS,
        'p50 ms': ms(renders, 0.5),
        'p95 ms': ms(renders, 0.95),
        'p99 ms': ms(renders, 0.99),
        'per s': Math.round(1000 / (renders.reduce((a, b) => a + b, 0) / renders.length)),
        'baseline p95 ms or rate': '',
        'ratio to baseline': '',
        target: 'p95 < 200 ms',
      });
    } finally {
      await renderer.close();
    }
    const verify = (i: number) =>
      fetch(`${server.url}/api/v1/credentials/verify`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ credential: credentials[i % credentials.length] }),
      });
    const health = () => fetch(`${server.url}/api/v1/health`);
    await timed(500, CLIENTS, verify);
    const healthRun = await timed(VERIFICATIONS, CLIENTS, health);
    const verifyRun = await timed(VERIFICATIONS, CLIENTS, verify);
    const healthRate = VERIFICATIONS / healthRun.seconds;
    const verifyRate = VERIFICATIONS / verifyRun.seconds;
    rows.push({
      measure: `verify over HTTP, ${CLIENTS} clients`,
      n: VERIFICATIONS,
      'p50 ms': ms(verifyRun.latencies, 0.5),
      'p95 ms': ms(verifyRun.latencies, 0.95),
      'p99 ms': ms(verifyRun.latencies, 0.99),
      'per s': Math.round(verifyRate),
      'baseline p95 ms or rate': Math.round(healthRate),
      'ratio to baseline': Math.round((verifyRate / healthRate) * 100) / 100,
      target: '≥ 2,000/s',
    });

    // Offline, as the SDK verifies: keys and the status lists in memory.
    const jwks = (await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as {
      keys: (JWK & { purpose?: string })[];
    };
    const keys = new Map(
      jwks.keys.filter((k) => k.purpose === 'credential').map((k) => [k.kid, k]),
    );
    const lists = new Map<string, (index: number) => boolean>();
    for (const listId of ['revocation-0', 'supersession-0']) {
      const jwt = await (await fetch(`${server.url}/api/v1/credentials/status/${listId}`)).text();
      const subject = decodeJwt(jwt)['credentialSubject'] as { encodedList: string };
      lists.set(listId, await decodeStatusList(subject.encodedList));
    }
    const offline = new CredentialVerifier({
      keyFor: (kid) => keys.get(kid),
      statusOf: async (entries) => {
        const bit = (purpose: string) => {
          const entry = entries.find((e) => e.statusPurpose === purpose);
          const list = entry && lists.get(entry.statusListCredential.split('/').pop() ?? '');
          return list && entry ? list(Number(entry.statusListIndex)) : null;
        };
        return statusFromBits(bit('revocation'), bit('message'));
      },
    });
    const started = performance.now();
    for (let i = 0; i < VERIFICATIONS; i++) {
      const result = await offline.verify(credentials[i % credentials.length] as string);
      if (!result.valid || result.status !== 'active') throw new Error('offline: not valid');
    }
    const offlineRate = VERIFICATIONS / elapsed(started);
    rows.push({
      measure: 'verify offline (SDK verifier, in-process)',
      n: VERIFICATIONS,
      'p50 ms': '',
      'p95 ms': '',
      'p99 ms': '',
      'per s': Math.round(offlineRate),
      'baseline p95 ms or rate': '',
      'ratio to baseline': '',
      target: '≥ 2,000/s',
    });
    return rows;
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { table } = await import('./support.js');
  table(await run());
}
