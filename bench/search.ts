/**
 * Search and deduplication at scale (PROTOCOL 10), over a read model of N births loaded with COPY:
 * p95 of GET /api/v1/records?type=birth&status=DECLARED&limit=20 with `q` = a child's first name
 * and surname with one typo, and with a sound-alike spelling (two vowels changed: not a typo any
 * more, the same Double Metaphone code), against the same query without `q` (an index-only
 * filter), in BENCH_SEARCH_RUNS rounds; and p95 of finding the suspected duplicates of one new
 * record (a loaded birth written again with a typo) against all of them (`findDuplicates`).
 *
 *   npx tsx bench/search.ts   (BENCH_SEARCH_RECORDS=1000000, BENCH_SEARCH_QUERIES=300,
 *                              BENCH_SEARCH_RUNS=3; BENCH_SEARCH_EXPLAIN=1 prints EXPLAIN
 *                              ANALYZE of one query of each kind)
 */
import pg from 'pg';
import {
  matchWords,
  searchForm,
  searchKeys,
  trackingIdOf,
  type RecordTypeConfig,
  type Declaration,
  type RecordState,
  type RecordStatus,
} from '@registra/core';
import { findDuplicates } from '@registra/server';
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
const RUNS = size('BENCH_SEARCH_RUNS', 3, 3);
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
  state: RecordState;
}

/** A folded birth record as the read model holds it, with its search name. */
function record(
  i: number,
  random: () => number,
  people: Authors,
  recordType: RecordTypeConfig,
): Made {
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
    line: recordLine(state, searchForm(name), searchKeys(state, recordType)),
    name: `${person.childFirstName} ${person.surname}`,
    state,
  };
}

/**
 * Loads the read model: the secondary indexes are dropped, the rows COPYed, the indexes made again
 * from their own definitions (as a restore would), then ANALYZE. Returns names to search for.
 */
async function load(
  server: BenchServer,
  client: pg.Client,
): Promise<{ names: string[]; samples: RecordState[]; seconds: number }> {
  const people = await authors(client);
  const recordType = server.registry.config.recordTypes.get('birth') as RecordTypeConfig;
  const started = performance.now();
  const { rows: indexes } = await client.query<{ indexname: string; indexdef: string }>(
    `SELECT indexname, indexdef FROM pg_indexes
     WHERE tablename = 'records' AND indexname <> 'records_pkey'`,
  );
  for (const { indexname } of indexes) await client.query(`DROP INDEX ${indexname}`);
  const random = prng(3);
  const names: string[] = [];
  const samples: RecordState[] = [];
  for (let first = 0; first < RECORDS; first += CHUNK) {
    const lines: string[] = [];
    for (let i = first; i < Math.min(RECORDS, first + CHUNK); i++) {
      const made = record(i, random, people, recordType);
      lines.push(made.line);
      if (names.length < 5_000 && random() < 0.01) names.push(made.name);
      if (samples.length < 2_000 && made.state.status === 'DECLARED' && random() < 0.005) {
        samples.push(made.state);
      }
    }
    await copyLines(client, RECORD_COPY, lines);
  }
  for (const { indexdef } of indexes) await client.query(indexdef);
  await client.query('VACUUM ANALYZE records');
  return { names, samples, seconds: elapsed(started) };
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

/**
 * A sound-alike spelling: two vowels after the first letter changed (Mulenga → Molinga), which
 * Double Metaphone does not hear and which is beyond one typo. Null when the word has too few.
 */
function soundAlike(word: string, random: () => number): string | null {
  const letters = [...word];
  const vowels = letters
    .map((c, i) => (i > 0 && 'aeiou'.includes(c) ? i : -1))
    .filter((i) => i > 0);
  if (vowels.length < 2) return null;
  for (let attempt = 0; attempt < 20; attempt++) {
    const changed = [...letters];
    const [a, b] = [pick(random, vowels), pick(random, vowels)];
    if (a === b) continue;
    for (const i of [a, b]) {
      changed[i] = pick(
        random,
        [...'aeiou'].filter((v) => v !== letters[i]),
      );
    }
    const variant = changed.join('');
    if (matchWords(searchForm(variant), searchForm(word)) === 'phonetic') return variant;
  }
  return null;
}

function typoQueries(names: string[], random: () => number): string[] {
  return Array.from({ length: QUERIES }, () => {
    const [first, surname] = pick(random, names).split(' ') as [string, string];
    return random() < 0.5
      ? `${typo(first, random)} ${surname}`
      : `${first} ${typo(surname, random)}`;
  });
}

function phoneticQueries(names: string[], random: () => number): string[] {
  const queries: string[] = [];
  while (queries.length < QUERIES) {
    const [first, surname] = pick(random, names).split(' ') as [string, string];
    const useFirst = random() < 0.5;
    const variant = soundAlike(useFirst ? first : surname, random);
    if (variant) queries.push(useFirst ? `${variant} ${surname}` : `${first} ${variant}`);
  }
  return queries;
}

/** The same birth written again by another registrar: a typo in the child's first name. */
function writtenAgain(state: RecordState, random: () => number): RecordState {
  const first = String(state.declaration['child.firstName'] ?? '');
  return {
    ...state,
    id: uuidv7(),
    declaration: { ...state.declaration, 'child.firstName': typo(first, random) },
  };
}

const latencyRow = (path: string, latencies: number[], results: number): Row => ({
  path,
  queries: latencies.length,
  'results/query': results,
  'p50 ms': quantile(latencies, 0.5),
  'p95 ms': quantile(latencies, 0.95),
  'p99 ms': quantile(latencies, 0.99),
});

export function run(): Promise<Row[]> {
  return withBenchServer(async (server, client) => {
    const { names, samples, seconds: loadSeconds } = await load(server, client);
    const token = await server.token('registrar');
    const filter = 'type=birth&status=DECLARED&limit=20';
    const withQ = (q: string) => `${filter}&q=${encodeURIComponent(q)}`;
    const rows: Row[] = [];
    for (let round = 1; round <= RUNS; round++) {
      const random = prng(100 + round);
      const kinds = [
        { label: 'one typo', queries: typoQueries(names, random) },
        { label: 'sound-alike', queries: phoneticQueries(names, random) },
      ];
      for (const q of kinds.flatMap((k) => k.queries.slice(0, 10))) {
        await timed(server, token, filter);
        await timed(server, token, withQ(q));
      }
      const plain: number[] = [];
      const measured = kinds.map(() => ({ latencies: [] as number[], hits: 0 }));
      for (let i = 0; i < QUERIES; i++) {
        plain.push((await timed(server, token, filter)).ms);
        for (const [k, kind] of kinds.entries()) {
          const answer = await timed(server, token, withQ(kind.queries[i] as string));
          (measured[k] as { latencies: number[] }).latencies.push(answer.ms);
          (measured[k] as { hits: number }).hits += answer.hits;
        }
      }
      rows.push(latencyRow(`run ${round}: type=birth&status=DECLARED (baseline)`, plain, 20));
      for (const [k, kind] of kinds.entries()) {
        const m = measured[k] as { latencies: number[]; hits: number };
        rows.push(
          latencyRow(
            `run ${round}: … &q=<first surname, ${kind.label}>`,
            m.latencies,
            m.hits / QUERIES,
          ),
        );
      }
      if (round === 1 && process.env['BENCH_SEARCH_EXPLAIN'] === '1') {
        const registrarId = (await authors(client)).registrar;
        console.log(`EXPLAIN ANALYZE without q:\n${await explain(client, registrarId, null)}\n`);
      }
    }
    // Deduplication of one new record against all of them: the candidate lookup and the scoring.
    const random = prng(200);
    const dedup: number[] = [];
    let found = 0;
    for (const state of samples.slice(0, QUERIES)) {
      const started = performance.now();
      const candidates = await findDuplicates(server.registry, writtenAgain(state, random));
      dedup.push(performance.now() - started);
      if (candidates.some((c) => c.recordId === state.id)) found += 1;
    }
    rows.push({
      ...latencyRow('findDuplicates of one new birth (a typo in the first name)', dedup, 0),
      'results/query': `${found} of ${dedup.length} found their original`,
    });
    rows.push({
      path: `(${RECORDS} records loaded with COPY, indexed, analysed)`,
      queries: '-',
      'results/query': '-',
      'p50 ms': '-',
      'p95 ms': '-',
      'p99 ms': `${loadSeconds.toFixed(0)} s`,
    });
    return rows;
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(
    `search: ${RECORDS} birth records in the read model, ${QUERIES} queries of each kind, ${RUNS} runs`,
  );
  table(await run());
}
