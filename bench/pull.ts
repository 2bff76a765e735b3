/**
 * Pull: entries per second served to a device that starts from an empty cursor, following
 * `cursor` with POST /api/v1/sync (limit 500) until `hasMore` is false; against a raw read of the
 * same table through node-postgres in pages of 500, measured in the same run.
 *
 *   npx tsx bench/pull.ts     (BENCH_PULL_ENTRIES=100000 entries, 10 per record, by default)
 */
import pg from 'pg';
import { v7 as uuidv7 } from 'uuid';
import type { SyncResponse } from '@registra/core';
import { readChanges } from '../packages/server/src/services/feed.js';
import {
  authors,
  copyRecordLogs,
  elapsed,
  quantile,
  size,
  type Row,
  type Step,
} from './fixtures.js';
import { table, withBenchServer, type BenchServer } from './support.js';

const ENTRIES = size('BENCH_PULL_ENTRIES', 100_000, 1_000);
const PAGE = 500;
const ROUNDS = size('BENCH_ROUNDS', 3);
const PARALLEL = 4;
const STEPS: readonly Step[] = [
  'CREATE',
  'NOTIFY',
  'UPDATE',
  'UPDATE',
  'UPDATE',
  'UPDATE',
  'DECLARE',
  'UNASSIGN',
  'ASSIGN',
  'VALIDATE',
];

/** COPYs the log (in transactions of 10,000 entries) and the matching read-model rows. */
async function load(server: BenchServer, client: pg.Client): Promise<number> {
  const recordType = server.registry.config.recordTypes.get('birth');
  if (!recordType) throw new Error('no birth record type');
  const seconds = await copyRecordLogs(client, recordType, {
    steps: STEPS,
    records: Math.ceil(ENTRIES / STEPS.length),
    perCopy: Math.ceil(10_000 / STEPS.length),
    seed: 1,
  });
  await client.query('ANALYZE entries');
  await client.query('ANALYZE records');
  return seconds;
}

/** Baseline: SELECT * FROM entries ORDER BY pos through a server-side cursor, 500 rows a FETCH. */
async function rawCursor(client: pg.Client): Promise<number> {
  let rows = 0;
  await client.query('BEGIN');
  await client.query('DECLARE feed NO SCROLL CURSOR FOR SELECT * FROM entries ORDER BY pos');
  for (;;) {
    const page = await client.query(`FETCH ${PAGE} FROM feed`);
    rows += page.rowCount ?? 0;
    if ((page.rowCount ?? 0) < PAGE) break;
  }
  await client.query('COMMIT');
  return rows;
}

/** Raw keyset pages over the feed's own index, (tx, pos): what the feed query walks. */
async function rawKeyset(client: pg.Client): Promise<number> {
  let rows = 0;
  let after = { tx: '0', pos: '0' };
  for (;;) {
    const page = await client.query<{ tx_text: string; pos: string }>(
      `SELECT e.*, e.tx::text AS tx_text FROM entries e
       WHERE (e.tx, e.pos) > ($1::xid8, $2::bigint) ORDER BY e.tx, e.pos LIMIT ${PAGE}`,
      [after.tx, after.pos],
    );
    rows += page.rows.length;
    const last = page.rows[page.rows.length - 1];
    if (!last || page.rows.length < PAGE) break;
    after = { tx: last.tx_text, pos: last.pos };
  }
  return rows;
}

/** The feed service itself, without HTTP: SQL, row mapping and scope. */
async function serviceOnly(server: BenchServer, agentId: string): Promise<number> {
  const { registry } = server;
  const principal = registry.config.principal({
    id: agentId,
    role: 'field-agent',
    officeId: 'ibombo-office',
  });
  let rows = 0;
  let cursor: string | null = null;
  for (;;) {
    const page = await readChanges(registry, principal, uuidv7(), cursor, PAGE);
    rows += page.changes.length;
    cursor = page.cursor;
    if (!page.hasMore) break;
  }
  return rows;
}

/** A device with an empty cursor: POST /sync until hasMore is false. */
async function devicePull(
  server: BenchServer,
  token: string,
  acceptEncoding: string,
): Promise<{ entries: number; requests: number }> {
  const deviceId = uuidv7();
  let cursor: string | null = null;
  let entries = 0;
  let requests = 0;
  for (;;) {
    const response = await fetch(`${server.url}/api/v1/sync`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'accept-encoding': acceptEncoding,
        authorization: `Bearer ${token}`,
      },
      body: JSON.stringify({ deviceId, cursor, actions: [], limit: PAGE }),
    });
    requests += 1;
    if (!response.ok) throw new Error(`sync answered ${response.status}: ${await response.text()}`);
    const body = (await response.json()) as SyncResponse;
    entries += body.changes.length;
    cursor = body.cursor;
    if (!body.hasMore) break;
  }
  return { entries, requests };
}

export function run(): Promise<Row[]> {
  return withBenchServer(async (server, client) => {
    const copySeconds = await load(server, client);
    const token = await server.token('agent');
    const agentId = (await authors(client)).agent;
    await rawCursor(client); // warm the cache: every path below reads from memory

    type Pulled = number | { entries: number; requests: number };
    const paths: [string, () => Promise<Pulled>][] = [
      ['raw: DECLARE CURSOR, FETCH 500 (baseline)', () => rawCursor(client)],
      ['raw: keyset pages of 500 on (tx, pos)', () => rawKeyset(client)],
      ['readChanges service, no HTTP', () => serviceOnly(server, agentId)],
      ['POST /sync, uncompressed answers', () => devicePull(server, token, 'identity')],
      ['POST /sync, gzip answers (Node fetch)', () => devicePull(server, token, 'gzip')],
      ['POST /sync, br answers (browsers)', () => devicePull(server, token, 'gzip, deflate, br')],
      [
        `POST /sync, uncompressed, ${PARALLEL} devices at once`,
        async () => {
          const each = await Promise.all(
            Array.from({ length: PARALLEL }, () => devicePull(server, token, 'identity')),
          );
          return {
            entries: each.reduce((n, e) => n + e.entries, 0),
            requests: each.reduce((n, e) => n + e.requests, 0),
          };
        },
      ],
    ];
    // Rounds over all paths, so that a noisy moment hits every path alike; the median is kept.
    const seconds = paths.map(() => [] as number[]);
    const counts = paths.map(() => ({ entries: 0, requests: 0 }));
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, [, work]] of paths.entries()) {
        const started = performance.now();
        const result = await work();
        seconds[i]?.push(elapsed(started));
        const entries = typeof result === 'number' ? result : result.entries;
        counts[i] = {
          entries,
          requests: typeof result === 'number' ? Math.ceil(entries / PAGE) : result.requests,
        };
      }
    }
    const rows: Row[] = paths.map(([path], i) => {
      const median = quantile(seconds[i] ?? [], 0.5);
      const { entries, requests } = counts[i] ?? { entries: 0, requests: 0 };
      return { path, entries, requests, seconds: median, 'entries/s': entries / median };
    });
    const raw = Number(rows[0]?.['entries/s']);
    for (const row of rows) row['ratio to raw'] = Number(row['entries/s']) / raw;
    rows.push({
      path: `(the log and read model loaded with COPY)`,
      entries: ENTRIES,
      requests: '-',
      seconds: copySeconds,
      'entries/s': ENTRIES / copySeconds,
      'ratio to raw': '-',
    });
    return rows;
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(
    `pull: ${ENTRIES} entries, ${STEPS.length} per record, pages of ${PAGE}, median of ${ROUNDS} rounds`,
  );
  table(await run());
}
