/**
 * Search: p95 of a fuzzy name query with filters, GET /api/v1/records?type=birth&status=DECLARED
 * &q=<a name with a typo>&limit=20, over a read model of N records; against the same query
 * without `q` (an index-only filter) in the same run. Queries alternate, one at a time.
 *
 *   npx tsx bench/search.ts   (BENCH_SEARCH_RECORDS=1000000, BENCH_SEARCH_QUERIES=300;
 *                              BENCH_SEARCH_EXPLAIN=1 prints EXPLAIN ANALYZE of one query of each)
 */
import pg from 'pg';
import {
  searchForm,
  trackingIdOf,
  type Declaration,
  type RecordState,
  type RecordStatus,
} from '@registra/core';
import { v7 as uuidv7 } from 'uuid';
import {
  authors,
  birth,
  copyLines,
  elapsed,
  pick,
  prng,
  quantile,
  RECORD_COPY,
  recordLine,
  size,
  typo,
  type Authors,
  type Row,
} from './fixtures.js';
import { table, withBenchServer, type BenchServer } from './support.js';

const RECORDS = size('BENCH_SEARCH_RECORDS', 1_000_000, 10_000);
const QUERIES = size('BENCH_SEARCH_QUERIES', 300, 50);
const CHUNK = 20_000;

/** Status mix of a register a few years in: most records registered, a queue of declared ones. */
const STATUSES: [RecordStatus, number][] = [
  ['CREATED', 0.04],
  ['NOTIFIED', 0.11],
  ['DECLARED', 0.3],
  ['REGISTERED', 0.5],
  ['ARCHIVED', 0.05],
];
/** Most records are in the registrar's district; the others are out of their reach. */
const OFFICES: [string, number][] = [
  ['ibombo-office', 0.7],
  ['isamba-office', 0.15],
  ['ilanga-office', 0.15],
];

function weighted<T>(random: () => number, choices: [T, number][]): T {
  let r = random();
  for (const [value, weight] of choices) {
    if ((r -= weight) < 0) return value;
  }
  return (choices[choices.length - 1] as [T, number])[0];
}

interface Made {
  line: string;
  /** What a person would type to find this record. */
  name: string;
}

/** A folded birth record as the read model holds it, with its search name. */
function record(i: number, random: () => number, people: Authors): Made {
  const id = uuidv7();
  const person = birth(random);
  const status = weighted(random, STATUSES);
  const office = weighted(random, OFFICES);
  const created = Date.UTC(2024, 0, 1) + Math.floor(random() * 2.8 * 365 * 86_400_000);
  const updated = created + Math.floor(random() * 30 * 86_400_000);
  const at = (t: number) => new Date(t).toISOString();
  const declaration: Declaration = { ...person.notify };
  if (status !== 'CREATED' && status !== 'NOTIFIED') {
    Object.assign(declaration, person.update, person.declare);
  } else if (status === 'NOTIFIED' && random() < 0.5) Object.assign(declaration, person.update);
  const flags: string[] = [];
  if (status === 'NOTIFIED') flags.push('incomplete');
  if (status === 'DECLARED' && random() < 0.4) flags.push('validated');
  if (status === 'DECLARED' && random() < 0.05) flags.push('rejected');
  const declared =
    status === 'DECLARED' || status === 'REGISTERED'
      ? { at: at(created + 3_600_000), by: people.agent, location: office }
      : null;
  const registered =
    status === 'REGISTERED' ? { at: at(updated), by: people.registrar, location: office } : null;
  const state: RecordState = {
    id,
    type: 'birth',
    status,
    flags,
    declaration,
    trackingId: trackingIdOf(id),
    registrationNumber:
      status === 'REGISTERED'
        ? `B${new Date(updated).getUTCFullYear()}IBO${String(i).padStart(7, '0')}`
        : null,
    assignedTo: status === 'CREATED' || status === 'NOTIFIED' ? people.agent : null,
    printCount: status === 'REGISTERED' && random() < 0.7 ? 1 : 0,
    createdAt: at(created),
    createdBy: people.agent,
    createdAtLocation: office,
    updatedAt: at(updated),
    updatedBy: registered ? people.registrar : people.agent,
    seq: status === 'REGISTERED' ? 6 : status === 'DECLARED' ? 4 : 2,
    declared,
    registered,
    pending: [],
    conflicts: [],
  };
  const name = [
    person.childFirstName,
    person.surname,
    declaration['mother.firstName'],
    declaration['mother.surname'],
  ]
    .filter((part): part is string => typeof part === 'string')
    .join(' ');
  return {
    line: recordLine(state, searchForm(name)),
    name: `${person.childFirstName} ${person.surname}`,
  };
}

/**
 * Loads the read model: the secondary indexes are dropped, the rows COPYed, the indexes made again
 * from their own definitions (as a restore would), then ANALYZE. Returns names to search for.
 */
async function load(
  server: BenchServer,
  client: pg.Client,
): Promise<{ names: string[]; seconds: number }> {
  const people = await authors(client);
  const started = performance.now();
  const { rows: indexes } = await client.query<{ indexname: string; indexdef: string }>(
    `SELECT indexname, indexdef FROM pg_indexes
     WHERE tablename = 'records' AND indexname <> 'records_pkey'`,
  );
  for (const { indexname } of indexes) await client.query(`DROP INDEX ${indexname}`);
  const random = prng(3);
  const names: string[] = [];
  for (let first = 0; first < RECORDS; first += CHUNK) {
    const lines: string[] = [];
    for (let i = first; i < Math.min(RECORDS, first + CHUNK); i++) {
      const made = record(i, random, people);
      lines.push(made.line);
      if (names.length < 5_000 && random() < 0.01) names.push(made.name);
    }
    await copyLines(client, RECORD_COPY, lines);
  }
  for (const { indexdef } of indexes) await client.query(indexdef);
  await client.query('VACUUM ANALYZE records');
  void server;
  return { names, seconds: elapsed(started) };
}

async function timed(
  server: BenchServer,
  token: string,
  query: string,
): Promise<{ ms: number; hits: number }> {
  const started = performance.now();
  const response = await fetch(`${server.url}/api/v1/records?${query}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  const body = (await response.json()) as { results?: unknown[] };
  const ms = performance.now() - started;
  if (!response.ok || !body.results)
    throw new Error(`search answered ${response.status}: ${JSON.stringify(body).slice(0, 300)}`);
  return { ms, hits: body.results.length };
}

/** EXPLAIN ANALYZE of the statement listRecords runs for a registrar of Ibombo. */
async function explain(client: pg.Client, registrarId: string, q: string | null): Promise<string> {
  const offices = ['ibombo', 'ibombo-office', 'ibombo-hospital'];
  const reach = `((r.type = 'birth' AND r.created_at_location = ANY($1::text[]))
    OR (r.type = 'death' AND r.created_at_location = ANY($1::text[])) OR r.assigned_to = $2::uuid)`;
  const statement =
    q === null
      ? `SELECT r.state, r.updated_at AS key FROM records r
         WHERE ${reach} AND r.type = 'birth' AND r.status = 'DECLARED'
         ORDER BY r.updated_at DESC, r.id DESC LIMIT 21`
      : `SELECT r.state, word_similarity($3, r.name) AS key FROM records r
         WHERE ${reach} AND r.type = 'birth' AND r.status = 'DECLARED' AND $3 <% r.name
         ORDER BY key DESC, r.id DESC LIMIT 21`;
  const { rows } = await client.query<{ 'QUERY PLAN': string }>(
    `EXPLAIN (ANALYZE, BUFFERS) ${statement}`,
    q === null ? [offices, registrarId] : [offices, registrarId, q],
  );
  return rows.map((r) => r['QUERY PLAN']).join('\n');
}

export function run(): Promise<Row[]> {
  return withBenchServer(async (server, client) => {
    const { names, seconds: loadSeconds } = await load(server, client);
    const token = await server.token('registrar');
    const random = prng(4);
    const queries = Array.from({ length: QUERIES }, () => {
      const [first, surname] = pick(random, names).split(' ') as [string, string];
      return random() < 0.5
        ? `${typo(first, random)} ${surname}`
        : `${first} ${typo(surname, random)}`;
    });
    const filter = 'type=birth&status=DECLARED&limit=20';
    const fuzzy = (q: string) => `${filter}&q=${encodeURIComponent(q)}`;

    for (const q of queries.slice(0, 20)) {
      await timed(server, token, filter);
      await timed(server, token, fuzzy(q));
    }
    const plain: number[] = [];
    const withQ: number[] = [];
    let hits = 0;
    for (const q of queries) {
      plain.push((await timed(server, token, filter)).ms);
      const answer = await timed(server, token, fuzzy(q));
      withQ.push(answer.ms);
      hits += answer.hits;
    }
    if (process.env['BENCH_SEARCH_EXPLAIN'] === '1') {
      const registrarId = (await authors(client)).registrar;
      console.log(`EXPLAIN ANALYZE without q:\n${await explain(client, registrarId, null)}\n`);
      console.log(
        `EXPLAIN ANALYZE with q = '${queries[0]}':\n${await explain(client, registrarId, queries[0] ?? '')}\n`,
      );
    }
    const row = (path: string, latencies: number[], results: number): Row => ({
      path,
      queries: latencies.length,
      'results/query': results,
      'p50 ms': quantile(latencies, 0.5),
      'p95 ms': quantile(latencies, 0.95),
      'p99 ms': quantile(latencies, 0.99),
      'p95 ratio to baseline': 0,
    });
    const rows = [
      row('type=birth&status=DECLARED (baseline)', plain, 20),
      row('… &q=<first surname, one typo>', withQ, hits / queries.length),
    ];
    const base = Number(rows[0]?.['p95 ms']);
    for (const r of rows) r['p95 ratio to baseline'] = Number(r['p95 ms']) / base;
    rows.push({
      path: `(${RECORDS} records loaded with COPY, indexed, analysed)`,
      queries: '-',
      'results/query': '-',
      'p50 ms': '-',
      'p95 ms': '-',
      'p99 ms': '-',
      'p95 ratio to baseline': `${loadSeconds.toFixed(0)} s`,
    });
    return rows;
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(
    `search: ${RECORDS} birth records in the read model, ${QUERIES} queries of each kind`,
  );
  table(await run());
}
