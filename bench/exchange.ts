/**
 * The exchange (PROTOCOL 12, issue 15), in process, over real HTTP to the example address registry:
 *
 * 1. Federated overhead: p95 of `person` with all five fields (consent, five Cedar decisions, the
 *    registry provider and the REST provider, JSONata, the audit row) minus p95 of a bare GET of
 *    the slowest provider measured in the same run (the baseline). Target: under 15 ms.
 * 2. Queries per second with consent and policy checks: `person` answered from the registry
 *    provider only (no network), sequential and 16 at a time. Target: at least 1,000/s on 2 cores.
 *
 * The store is in memory (consents, subjects, audit): this measures the exchange's own work, not
 * PostgreSQL's (each query adds one consent read, one subject read and one audit insert there).
 *
 *   npx tsx bench/exchange.ts            BENCH_N=2000 by default
 */
import {
  consentOf,
  loadConfigurationOrThrow,
  type Consent,
  type RecordState,
} from '@registra/core';
import { Consents, FederatedQuery, type ExchangeHost } from '@registra/exchange';
import { readFileSync } from 'node:fs';
import { startAddressRegistry } from '../examples/providers/address-registry/server.js';

const N = Number(process.env['BENCH_N'] ?? 2000);
const DELAY = Number(process.env['BENCH_PROVIDER_DELAY_MS'] ?? 20);

const p95 = (samples: number[]) => {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length * 0.95)] ?? 0;
};

const provider = await startAddressRegistry({ port: 0, delayMs: DELAY });
const address = provider.address();
const providerUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

const document = JSON.parse(
  readFileSync(new URL('../examples/civil-registry/config.json', import.meta.url), 'utf8'),
) as Record<string, unknown>;
const config = loadConfigurationOrThrow(document);
const consent: Consent = consentOf({
  id: '01900000-0000-7000-8000-000000000001',
  type: 'consent',
  flags: ['approved'],
  createdAt: new Date().toISOString(),
  updatedAt: new Date().toISOString(),
  declaration: {
    consumer: 'passport-office',
    subjectId: 'B2026IBO000001',
    purpose: 'passport',
    fields:
      'births.fullName,births.dateOfBirth,births.sex,births.placeOfBirth,address-registry.currentAddress',
    expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
  },
} as unknown as RecordState) as Consent;
const audit: unknown[] = [];
const host: ExchangeHost = {
  config,
  now: () => new Date(),
  publicUrl: 'http://127.0.0.1:3000',
  env: { REGISTRA_ADDRESS_REGISTRY_URL: providerUrl },
  problem: (status, code, detail) => new Error(`${status} ${code} ${detail}`),
  isProblem: () => false,
  logCode: () => undefined,
  authenticate: () => Promise.reject(new Error('not used')),
  store: {
    appendConsent: () => Promise.reject(new Error('not used')),
    consent: async () => consent,
    latestConsent: async () => consent,
    consentsOfSubject: async () => [consent],
    subject: async () => ({
      'child.firstName': 'Ama',
      'child.surname': 'Banda',
      'child.dob': '2026-10-01',
      'child.sex': 'female',
      'child.placeOfBirth': { province: 'central', district: 'ibombo', village: 'Mwembe' },
    }),
    saveCode: async () => undefined,
    checkCode: async () => false,
    saveSession: async () => undefined,
    session: async () => null,
    writeAudit: async (row) => void audit.push(row),
    audit: async () => ({ results: [], next: null }),
  },
};
const query = new FederatedQuery(host, new Consents(host));
const ALL = ['fullName', 'dateOfBirth', 'sex', 'placeOfBirth', 'currentAddress'];
const REGISTRY_ONLY = ['fullName', 'dateOfBirth', 'sex', 'placeOfBirth'];

async function timed(work: () => Promise<unknown>, n: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < n; i += 1) {
    const started = performance.now();
    await work();
    samples.push(performance.now() - started);
  }
  return samples;
}

// Warm up both paths.
await timed(() => fetch(`${providerUrl}/addresses/B1`).then((r) => r.json()), 50);
await timed(() => query.person('passport-office', 'B2026IBO000001', ALL), 50);

const federatedN = Math.max(200, Math.floor(N / 5));
const baseline = await timed(
  () => fetch(`${providerUrl}/addresses/B2026IBO000001`).then((r) => r.json()),
  federatedN,
);
const federated = await timed(
  () => query.person('passport-office', 'B2026IBO000001', ALL),
  federatedN,
);
const answer = await query.person('passport-office', 'B2026IBO000001', ALL);
if (Object.keys(answer.withheld).length > 0) throw new Error(JSON.stringify(answer.withheld));

const sequentialStart = performance.now();
await timed(() => query.person('passport-office', 'B2026IBO000001', REGISTRY_ONLY), N);
const sequential = N / ((performance.now() - sequentialStart) / 1000);

const concurrentStart = performance.now();
let next = 0;
await Promise.all(
  Array.from({ length: 16 }, async () => {
    while (next < N) {
      next += 1;
      await query.person('passport-office', 'B2026IBO000001', REGISTRY_ONLY);
    }
  }),
);
const concurrent = N / ((performance.now() - concurrentStart) / 1000);

const overhead = p95(federated) - p95(baseline);
console.table([
  { measure: 'slowest provider alone, p95 (baseline)', value: `${p95(baseline).toFixed(1)} ms` },
  {
    measure: 'federated person (5 fields, 2 providers), p95',
    value: `${p95(federated).toFixed(1)} ms`,
  },
  { measure: 'federated overhead, p95 (target < 15 ms)', value: `${overhead.toFixed(1)} ms` },
  { measure: 'queries/s with consent + policy, 1 at a time', value: Math.round(sequential) },
  {
    measure: 'queries/s with consent + policy, 16 at a time (target ≥ 1,000)',
    value: Math.round(concurrent),
  },
  {
    measure: 'ratio federated p95 / baseline p95',
    value: (p95(federated) / p95(baseline)).toFixed(2),
  },
]);
console.log(`audit rows written: ${audit.length}`);
provider.close();
