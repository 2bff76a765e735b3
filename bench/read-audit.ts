/**
 * Read audit overhead (issue 14: "must not slow reads noticeably", target ≤ 10 %): p50 and p95 of
 * GET /api/v1/records/{id} and of a search page, from 20 concurrent clients, on two servers over one
 * database in one run: the real one, which records every read (batched writes), and one whose
 * audit drops what it is given. The requests alternate between the two, so noise falls on both.
 *
 *   npx tsx bench/read-audit.ts   (BENCH_AUDIT_REQUESTS=4000 per server and route)
 */
import { v7 as uuidv7 } from 'uuid';
import {
  AuthService,
  buildApp,
  loadSigner,
  Metrics,
  ReadAudit,
  type ReadAuditRow,
} from '@registra/server';
import { quantile, size, type Row } from './fixtures.js';
import { table, withBenchServer } from './support.js';

const REQUESTS = size('BENCH_AUDIT_REQUESTS', 4_000, 400);
const CLIENTS = 20;
const RECORDS = 200;

/** The baseline: an audit that records nothing. */
class NoAudit extends ReadAudit {
  override record(_row: ReadAuditRow): void {}
}

export async function run(): Promise<Row[]> {
  return withBenchServer(async (server) => {
    const token = await server.token('agent');
    const ids: string[] = [];
    for (let i = 0; i < RECORDS; i += 50) {
      const actions = Array.from({ length: 50 }, () => {
        const recordId = uuidv7();
        ids.push(recordId);
        return {
          id: uuidv7(),
          recordId,
          type: 'CREATE',
          recordType: 'birth',
          occurredAt: new Date().toISOString(),
        };
      });
      await fetch(`${server.url}/api/v1/actions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ actions }),
      });
    }
    const auth = new AuthService(server.registry, await loadSigner(server.db));
    const baseline = await buildApp({
      registry: server.registry,
      auth,
      metrics: new Metrics(),
      readAudit: new NoAudit(server.db),
    });
    await baseline.listen({ host: '127.0.0.1', port: 0 });
    const address = baseline.server.address();
    const baselineUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

    const rows: Row[] = [];
    try {
      for (const [route, path] of [
        ['GET /records/{id}', (i: number) => `/api/v1/records/${ids[i % ids.length]}`],
        ['GET /records?type=birth (50 a page)', () => '/api/v1/records?type=birth&limit=50'],
      ] as const) {
        const times = { audited: [] as number[], baseline: [] as number[] };
        let sent = 0;
        await Promise.all(
          Array.from({ length: CLIENTS }, async () => {
            while (sent < REQUESTS) {
              const i = sent++;
              for (const [which, url] of [
                ['audited', server.url],
                ['baseline', baselineUrl],
              ] as const) {
                const started = performance.now();
                const response = await fetch(url + path(i), {
                  headers: { authorization: `Bearer ${token}` },
                });
                await response.arrayBuffer();
                times[which].push(performance.now() - started);
              }
            }
          }),
        );
        const p = (which: keyof typeof times, q: number) => quantile(times[which], q);
        rows.push({
          route,
          requests: REQUESTS,
          'p50 ms, no audit': p('baseline', 0.5),
          'p50 ms, audited': p('audited', 0.5),
          'p95 ms, no audit': p('baseline', 0.95),
          'p95 ms, audited': p('audited', 0.95),
          'p95 ratio': p('audited', 0.95) / p('baseline', 0.95),
        });
      }
    } finally {
      await baseline.close();
    }
    const written = await server.db
      .selectFrom('read_audit')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirst();
    console.log(`read audit rows written: ${written?.n}`);
    return rows;
  });
}

if (import.meta.url === `file://${process.argv[1]}`) table(await run());
