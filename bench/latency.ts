/**
 * Latency: p50/p95/p99 of single-action POST /api/v1/actions requests from 100 concurrent clients
 * (field agents updating records they created, registrars validating records assigned to them),
 * against GET /api/v1/health under the same concurrency, measured in the same run. The server runs
 * in its own process (as `registra start` does), so the load generator does not share its event
 * loop.
 *
 * Two loads: flat out (each client sends again as soon as it is answered: latency at saturation,
 * mostly queueing) and paced (each client sends BENCH_LATENCY_RATE requests a second, open loop).
 *
 *   npx tsx bench/latency.ts   (BENCH_LATENCY_REQUESTS=10000 per row, BENCH_LATENCY_CLIENTS=100,
 *                               BENCH_LATENCY_RATE=1)
 */
import { v7 as uuidv7 } from 'uuid';
import { birth, elapsed, prng, quantile, size, type Row } from './fixtures.js';
import { startServerProcess, type ServerProcess } from './server-process.js';
import { startCluster, table } from './support.js';

const REQUESTS = size('BENCH_LATENCY_REQUESTS', 10_000, 500);
const CLIENTS = Number(process.env['BENCH_LATENCY_CLIENTS'] ?? 100);
/** A quarter of the clients are registrars; each client works on its own few records. */
const REGISTRAR_SHARE = 0.25;
const RECORDS_PER_CLIENT = 3;
/** Requests per second per client in the open-loop runs. */
const RATE = Number(process.env['BENCH_LATENCY_RATE'] ?? 1);

interface Client {
  token: string;
  /** The next request's action, on one of the client's own records. */
  next(): Record<string, unknown>;
}

async function post(
  server: ServerProcess,
  token: string,
  actions: Record<string, unknown>[],
): Promise<void> {
  const response = await fetch(`${server.url}/api/v1/actions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ actions }),
  });
  const body = (await response.json()) as { results?: { outcome: string; message?: string }[] };
  const refused = body.results?.find((r) => r.outcome !== 'accepted');
  if (!response.ok || !body.results || refused) {
    throw new Error(`actions not accepted: ${JSON.stringify(body).slice(0, 300)}`);
  }
}

const now = () => new Date().toISOString();

/** An agent's client: creates and notifies its records, then keeps updating them. */
async function agentClient(server: ServerProcess, token: string, seed: number): Promise<Client> {
  const random = prng(seed);
  const records = Array.from({ length: RECORDS_PER_CLIENT }, () => uuidv7());
  await post(
    server,
    token,
    records.flatMap((recordId) => [
      { id: uuidv7(), recordId, type: 'CREATE', recordType: 'birth', occurredAt: now() },
      {
        id: uuidv7(),
        recordId,
        type: 'NOTIFY',
        occurredAt: now(),
        declaration: birth(random).notify,
      },
    ]),
  );
  let turn = 0;
  return {
    token,
    next: () => {
      const recordId = records[turn++ % records.length] as string;
      const person = birth(random);
      const declaration =
        turn % 2 === 0 ? person.update : { 'informant.phone': person.update['informant.phone'] };
      return { id: uuidv7(), recordId, type: 'UPDATE', occurredAt: now(), declaration };
    },
  };
}

/** A registrar's client: records an agent declared, assigned to the registrar, validated again and again. */
async function registrarClient(
  server: ServerProcess,
  agentToken: string,
  token: string,
  registrarId: string,
  seed: number,
): Promise<Client> {
  const random = prng(seed);
  const records = Array.from({ length: RECORDS_PER_CLIENT }, () => uuidv7());
  await post(
    server,
    agentToken,
    records.flatMap((recordId) => {
      const person = birth(random);
      return [
        { id: uuidv7(), recordId, type: 'CREATE', recordType: 'birth', occurredAt: now() },
        {
          id: uuidv7(),
          recordId,
          type: 'DECLARE',
          occurredAt: now(),
          declaration: { ...person.notify, ...person.update, ...person.declare },
        },
      ];
    }),
  );
  await post(
    server,
    token,
    records.map((recordId) => ({
      id: uuidv7(),
      recordId,
      type: 'ASSIGN',
      occurredAt: now(),
      assignee: registrarId,
    })),
  );
  let turn = 0;
  return {
    token,
    next: () => ({
      id: uuidv7(),
      recordId: records[turn++ % records.length],
      type: 'VALIDATE',
      occurredAt: now(),
    }),
  };
}

/**
 * Open loop: each client sends one request every 1/RATE seconds whether or not the previous one
 * was answered (field devices do not wait for each other), from a random start within the period.
 */
async function paced(
  clients: Client[],
  requests: number,
  send: (client: Client) => Promise<void>,
): Promise<{ latencies: number[]; seconds: number }> {
  const latencies: number[] = [];
  const period = 1000 / RATE;
  const perClient = Math.ceil(requests / clients.length);
  const started = performance.now();
  const random = prng(7);
  await Promise.all(
    clients.map(async (client) => {
      const offset = random() * period;
      const inFlight: Promise<void>[] = [];
      for (let k = 0; k < perClient; k++) {
        const due = started + offset + k * period;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        const sent = performance.now();
        inFlight.push(send(client).then(() => void latencies.push(performance.now() - sent)));
      }
      await Promise.all(inFlight);
    }),
  );
  return { latencies, seconds: elapsed(started) };
}

/** Closed loop: each client sends its next request as soon as the previous one is answered. */
async function load(
  clients: Client[],
  requests: number,
  send: (client: Client) => Promise<void>,
): Promise<{ latencies: number[]; seconds: number }> {
  const latencies: number[] = [];
  let left = requests;
  const started = performance.now();
  await Promise.all(
    clients.map(async (client) => {
      while (left > 0) {
        left -= 1;
        const sent = performance.now();
        await send(client);
        latencies.push(performance.now() - sent);
      }
    }),
  );
  return { latencies, seconds: elapsed(started) };
}

async function me(server: ServerProcess, token: string): Promise<string> {
  const response = await fetch(`${server.url}/api/v1/me`, {
    headers: { authorization: `Bearer ${token}` },
  });
  return ((await response.json()) as { id: string }).id;
}

export async function run(): Promise<Row[]> {
  const cluster = await startCluster();
  try {
    const server = await startServerProcess(cluster);
    try {
      const agent = await server.token('agent');
      const registrars = [
        { token: await server.token('registrar'), id: '' },
        { token: await server.token('registrar2'), id: '' },
      ];
      for (const registrar of registrars) registrar.id = await me(server, registrar.token);

      const registrarClients = Math.round(CLIENTS * REGISTRAR_SHARE);
      const clients: Client[] = [];
      for (let i = 0; i < CLIENTS; i++) {
        const registrar = registrars[i % registrars.length];
        clients.push(
          i < registrarClients && registrar
            ? await registrarClient(server, agent, registrar.token, registrar.id, i + 1)
            : await agentClient(server, agent, i + 1),
        );
      }

      const health = async () => {
        const response = await fetch(`${server.url}/api/v1/health`);
        if (!response.ok) throw new Error(`health answered ${response.status}`);
        await response.arrayBuffer();
      };
      const action = (client: Client) => post(server, client.token, [client.next()]);

      // Warm up both paths (JIT, connections, caches), then measure each under the same load.
      await load(clients, Math.min(1_000, REQUESTS / 10), () => health());
      await load(clients, Math.min(1_000, REQUESTS / 10), action);
      const baseline = await load(clients, REQUESTS, () => health());
      const measured = await load(clients, REQUESTS, action);
      const pacedBaseline = await paced(clients, REQUESTS, () => health());
      const pacedMeasured = await paced(clients, REQUESTS, action);

      const row = (path: string, { latencies, seconds }: typeof baseline): Row => ({
        path,
        requests: latencies.length,
        'req/s': latencies.length / seconds,
        'p50 ms': quantile(latencies, 0.5),
        'p95 ms': quantile(latencies, 0.95),
        'p99 ms': quantile(latencies, 0.99),
        'max ms': Math.max(...latencies),
        'p95 ratio to health': 0,
      });
      const closed = [
        row(`GET /health, ${CLIENTS} clients flat out (baseline)`, baseline),
        row(`POST /actions, 1 action, ${CLIENTS} clients flat out`, measured),
      ];
      const open = [
        row(`GET /health, ${CLIENTS} clients × ${RATE}/s (baseline)`, pacedBaseline),
        row(`POST /actions, 1 action, ${CLIENTS} clients × ${RATE}/s`, pacedMeasured),
      ];
      for (const pair of [closed, open]) {
        const base = Number(pair[0]?.['p95 ms']);
        for (const r of pair) r['p95 ratio to health'] = Number(r['p95 ms']) / base;
      }
      return [...closed, ...open];
    } finally {
      await server.stop();
    }
  } finally {
    await cluster.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(
    `latency: ${REQUESTS} requests per row from ${CLIENTS} concurrent clients ` +
      `(${Math.round(CLIENTS * REGISTRAR_SHARE)} registrars validating, the rest agents updating); ` +
      `flat out: each sends again once answered; × ${RATE}/s: each sends ${RATE} a second, answered or not`,
  );
  table(await run());
}
