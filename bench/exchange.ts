/**
 * The exchange (PROTOCOL 12, issue 15) end to end: Registra (`registra start`, its own process,
 * REGISTRA_WORKERS HTTP workers) on PostgreSQL, over HTTP, with the example address registry
 * (examples/providers/address-registry, answering after BENCH_PROVIDER_DELAY_MS) as the REST
 * provider. BENCH_EXCHANGE_SUBJECTS registered births, each with its own approved consent, asked in
 * turn (so nothing is answered from one subject's warm cache).
 *
 * 1. Federated overhead: p95 of `person` with all five fields (the consent read, five policy
 *    decisions, the registry provider and the REST provider in parallel, JSONata, the audit row,
 *    GraphQL, authentication) minus p95 of a GET of the slowest provider straight from the load
 *    generator (the baseline, same run, same client). One request at a time. Target: < 15 ms.
 * 2. Queries per second with consent and policy checks: `person` with the four registry fields
 *    (no external provider: the exchange's own cost), BENCH_EXCHANGE_CONCURRENCY at a time, against
 *    two plain authenticated reads at the same concurrency: GET /api/v1/me as the consumer (the
 *    token check and one user read: the ratio's baseline) and GET /api/v1/records/:id by a
 *    registrar (a record read, with its read audit row). Target: ≥ 1,000/s on two cores.
 *
 *   npx tsx bench/exchange.ts   BENCH_EXCHANGE_REQUESTS=4000 per row, BENCH_EXCHANGE_FEDERATED=400
 *                               sequential federated queries, BENCH_EXCHANGE_CONCURRENCY=32,
 *                               BENCH_EXCHANGE_SUBJECTS=40, BENCH_PROVIDER_DELAY_MS=20,
 *                               REGISTRA_WORKERS=2
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomInt } from 'node:crypto';
import os from 'node:os';
import pg from 'pg';
import { v7 as uuidv7 } from 'uuid';
import { birth, elapsed, prng, quantile, size, type Row } from './fixtures.js';
import { startServerProcess, type ServerProcess } from './server-process.js';
import { PASSWORD, startCluster, table } from './support.js';
import { freePort } from '../packages/server/test/ports.js';

const REQUESTS = size('BENCH_EXCHANGE_REQUESTS', 4_000, 400);
const FEDERATED = size('BENCH_EXCHANGE_FEDERATED', 400, 100);
const CONCURRENCY = Number(process.env['BENCH_EXCHANGE_CONCURRENCY'] ?? 32);
const SUBJECTS = Number(process.env['BENCH_EXCHANGE_SUBJECTS'] ?? 40);
const DELAY = Number(process.env['BENCH_PROVIDER_DELAY_MS'] ?? 20);
const WORKERS = process.env['REGISTRA_WORKERS'] ?? '2';

const FIELDS = [
  'births.fullName',
  'births.dateOfBirth',
  'births.sex',
  'births.placeOfBirth',
  'address-registry.currentAddress',
];
const ALL = `query ($id: String!) { person(subjectId: $id) {
  subjectId fullName dateOfBirth sex placeOfBirth currentAddress } }`;
const REGISTRY_ONLY = `query ($id: String!) { person(subjectId: $id) {
  subjectId fullName dateOfBirth sex placeOfBirth } }`;

const json = { 'content-type': 'application/json' };
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function call(
  url: string,
  init: RequestInit & { headers?: Record<string, string> },
): Promise<unknown> {
  const response = await fetch(url, init);
  const body = (await response.json()) as unknown;
  if (!response.ok) throw new Error(`${url}: ${response.status} ${JSON.stringify(body)}`);
  return body;
}

async function tokenFor(
  server: ServerProcess,
  body: Record<string, string>,
): Promise<{ accessToken: string; user?: { id: string } }> {
  return (await call(`${server.url}/api/v1/auth/token`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify(body),
  })) as { accessToken: string; user?: { id: string } };
}

/** Registered births, each with an approved consent of the passport office. */
async function subjects(
  server: ServerProcess,
  consumer: string,
): Promise<{ numbers: string[]; recordIds: string[] }> {
  const agent = (
    await tokenFor(server, { grant_type: 'password', username: 'agent', password: PASSWORD })
  ).accessToken;
  const registrar = await tokenFor(server, {
    grant_type: 'password',
    username: 'registrar',
    password: PASSWORD,
  });
  const random = prng(15);
  const now = () => new Date().toISOString();
  const post = (token: string, actions: Record<string, unknown>[]) =>
    call(`${server.url}/api/v1/actions`, {
      method: 'POST',
      headers: { ...json, ...bearer(token) },
      body: JSON.stringify({ actions }),
    }) as Promise<{ results: { outcome: string }[] }>;
  const database = new pg.Client({ connectionString: server.databaseUrl });
  await database.connect();
  const numbers: string[] = [];
  const recordIds: string[] = [];
  try {
    for (let i = 0; numbers.length < SUBJECTS && i < SUBJECTS * 3; i += 1) {
      const recordId = uuidv7();
      const person = birth(random);
      await post(agent, [
        { id: uuidv7(), recordId, type: 'CREATE', recordType: 'birth', occurredAt: now() },
        {
          id: uuidv7(),
          recordId,
          type: 'DECLARE',
          occurredAt: now(),
          declaration: { ...person.notify, ...person.update, ...person.declare },
        },
      ]);
      const registered = await post(registrar.accessToken, [
        { id: uuidv7(), recordId, type: 'ASSIGN', occurredAt: now(), assignee: registrar.user?.id },
        { id: uuidv7(), recordId, type: 'REGISTER', occurredAt: now() },
      ]);
      // A birth flagged as a possible duplicate of an earlier one is skipped, not forced.
      if (registered.results.some((r) => r.outcome !== 'accepted')) continue;
      const { record } = (await call(`${server.url}/api/v1/records/${recordId}`, {
        headers: bearer(registrar.accessToken),
      })) as { record: { registrationNumber: string } };
      const consent = (await call(`${server.url}/api/v1/consents`, {
        method: 'POST',
        headers: { ...json, ...bearer(consumer) },
        body: JSON.stringify({
          subjectId: record.registrationNumber,
          purpose: 'passport',
          fields: FIELDS,
          expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
        }),
      })) as { id: string };
      // The code the citizen would receive, saved as the server saves it (its hash).
      const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
      await database.query(
        `INSERT INTO exchange_codes (consent_id, code_hash, expires_at)
         VALUES ($1, $2, now() + interval '1 hour')`,
        [consent.id, createHash('sha256').update(`${consent.id}:${code}`).digest('hex')],
      );
      await call(`${server.url}/api/v1/consents/${consent.id}/decision`, {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ code, decision: 'approve' }),
      });
      numbers.push(record.registrationNumber);
      recordIds.push(recordId);
    }
  } finally {
    await database.end();
  }
  if (numbers.length < SUBJECTS) throw new Error(`only ${numbers.length} births registered`);
  return { numbers, recordIds };
}

/** The example address registry in its own process (not on the load generator's event loop). */
async function startProvider(): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      new URL('../examples/providers/address-registry/server.ts', import.meta.url).pathname,
    ],
    {
      env: { ...process.env, PORT: String(port), ADDRESS_REGISTRY_DELAY_MS: String(DELAY) },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  await new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the provider exited with ${code}`)));
    child.stdout?.once('data', resolve);
  });
  return { url: `http://127.0.0.1:${port}`, child };
}

interface Run {
  latencies: number[];
  seconds: number;
  /** Answers with a withheld field (a provider timing out under load) or an HTTP error. */
  errors: number;
  /** The first failure's message, printed so that errors are explained, not just counted. */
  firstError?: string;
}

/** `requests` calls of `work(i)`, `concurrency` at a time; each call timed, failures counted. */
async function load(
  requests: number,
  concurrency: number,
  work: (i: number) => Promise<void>,
): Promise<Run> {
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < requests) {
        const i = next++;
        const begun = performance.now();
        await work(i).catch((error: Error) => {
          errors += 1;
          firstError ??= error.message.slice(0, 200);
        });
        latencies.push(performance.now() - begun);
      }
    }),
  );
  return { latencies, seconds: elapsed(started), errors, ...(firstError ? { firstError } : {}) };
}

/** The exchange's rows for one server: its own subjects, measured against the same baselines. */
async function measure(
  server: ServerProcess,
  providerUrl: string,
  label: string,
): Promise<{ rows: Row[] }> {
  const consumer = (
    await tokenFor(server, {
      grant_type: 'client_credentials',
      client_id: 'passport-office',
      client_secret: PASSWORD,
    })
  ).accessToken;
  const registrar = await server.token('registrar');
  const { numbers: ids, recordIds } = await subjects(server, consumer);
  const subject = (i: number) => ids[i % ids.length] as string;
  const direct = async (i: number) => {
    await call(`${providerUrl}/addresses/${encodeURIComponent(subject(i))}`, {});
  };
  const graphql = (query: string) => async (i: number) => {
    const body = (await call(`${server.url}/api/v1/exchange/graphql`, {
      method: 'POST',
      headers: { ...json, ...bearer(consumer) },
      body: JSON.stringify({ query, variables: { id: subject(i) } }),
    })) as { errors?: unknown[] };
    if (body.errors) throw new Error(`withheld: ${JSON.stringify(body.errors).slice(0, 300)}`);
  };
  const me = async () => {
    await call(`${server.url}/api/v1/me`, { headers: bearer(consumer) });
  };
  const plainRead = async (i: number) => {
    const id = recordIds[i % recordIds.length];
    await call(`${server.url}/api/v1/records/${id}`, { headers: bearer(registrar) });
  };

  // Warm up every path (JIT, connections, the workers' caches).
  await load(200, 4, direct);
  await load(400, CONCURRENCY, graphql(ALL));
  await load(400, CONCURRENCY, plainRead);
  await load(200, CONCURRENCY, me);

  const providerAlone = await load(FEDERATED, 1, direct);
  const federated = await load(FEDERATED, 1, graphql(ALL));
  const meBaseline = await load(REQUESTS, CONCURRENCY, me);
  const readBaseline = await load(REQUESTS, CONCURRENCY, plainRead);
  const exchange = await load(REQUESTS, CONCURRENCY, graphql(REGISTRY_ONLY));
  const exchangeAll = await load(REQUESTS, CONCURRENCY, graphql(ALL));

  const row = (measure: string, run: Run, base?: Run): Row => {
    if (run.firstError) console.log(`${label}${measure}: first error: ${run.firstError}`);
    return {
      measure: `${label}${measure}`,
      requests: run.latencies.length,
      'req/s': Math.round(run.latencies.length / run.seconds),
      'p50 ms': quantile(run.latencies, 0.5),
      'p95 ms': quantile(run.latencies, 0.95),
      'p95 - baseline ms': base
        ? quantile(run.latencies, 0.95) - quantile(base.latencies, 0.95)
        : 0,
      'ratio req/s to baseline': base ? base.seconds / run.seconds : 1,
      errors: run.errors,
    };
  };
  return {
    rows: [
      row('GET address registry directly, 1 at a time (baseline 1)', providerAlone),
      row('exchange person, 5 fields, 2 providers, 1 at a time', federated, providerAlone),
      row(`GET /me as the consumer, ${CONCURRENCY} at a time (baseline 2)`, meBaseline),
      row(`GET /records/:id as registrar, ${CONCURRENCY} at a time (baseline 3)`, readBaseline),
      row(`exchange person, 4 registry fields, ${CONCURRENCY} at a time`, exchange, meBaseline),
      row(`exchange person, 5 fields, ${CONCURRENCY} at a time`, exchangeAll, meBaseline),
    ],
  };
}

/**
 * BENCH_EXCHANGE_BEFORE=<another checkout> (with its node_modules): that version's server too, on
 * the same cluster and provider, measured in turn with this one, so that a change is compared
 * with what it replaced under the same load.
 */
export async function run(): Promise<Row[]> {
  const loadBefore = os.loadavg();
  const cluster = await startCluster();
  const { url: providerUrl, child: provider } = await startProvider();
  const env = { REGISTRA_ADDRESS_REGISTRY_URL: providerUrl, REGISTRA_WORKERS: WORKERS };
  const before = process.env['BENCH_EXCHANGE_BEFORE'];
  try {
    const rows: Row[] = [];
    const versions: [string, string | undefined][] = before
      ? [
          ['before: ', before],
          ['after: ', undefined],
        ]
      : [['', undefined]];
    for (const [label, root] of versions) {
      const server = await startServerProcess(cluster, env, root);
      try {
        rows.push(...(await measure(server, providerUrl, label)).rows);
      } finally {
        await server.stop();
      }
    }
    const loadAfter = os.loadavg();
    console.log(
      `workers ${WORKERS}, subjects ${SUBJECTS}, provider delay ${DELAY} ms, cpus ${os.cpus().length}, ` +
        `load average before ${loadBefore.map((l) => l.toFixed(2)).join(' ')}, ` +
        `after ${loadAfter.map((l) => l.toFixed(2)).join(' ')}`,
    );
    return rows;
  } finally {
    provider.kill('SIGTERM');
    await cluster.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) table(await run());
