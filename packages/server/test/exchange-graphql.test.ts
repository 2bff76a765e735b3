import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  action,
  BIRTH,
  declareBirth,
  Device,
  PASSWORD,
  startTestServer,
  type Session,
  type TestServer,
} from './harness.js';
import { fixedPort } from './ports.js';

/**
 * A GraphQL provider (PROTOCOL 12) against a real process: the example health registry
 * (examples/providers/health-registry, graphql-js) that the test starts, stops and restarts slow.
 * The configuration is the civil registry's with that provider and two of its fields added: the
 * provider's `data` mapped by JSONata answers through the exchange; down or slow, its fields get
 * their own error while the registry's fields answer; the audit says so.
 */

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const PROVIDER = `${ROOT}examples/providers/health-registry/server.ts`;
const FIELDS = ['births.fullName', 'health-registry.bloodGroup', 'health-registry.immunisations'];
const QUERY = `query ($id: String!) { person(subjectId: $id) {
  subjectId fullName bloodGroup immunisations } }`;

let server: TestServer;
let consumer: string;
let agent: Session;
let registrar: Session;
let admin: Session;
let provider: ChildProcess | null = null;
let providerPort: number;
let configDir: string;
const logLines: string[] = [];

/** The civil registry's configuration with the health registry as a GraphQL provider. */
function configWithHealthRegistry(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'registra-exchange-graphql-'));
  const example = path.join(ROOT, 'examples/civil-registry');
  const document = JSON.parse(readFileSync(path.join(example, 'config.json'), 'utf8')) as {
    exchange: { providers: unknown[]; fields: unknown[] };
  };
  document.exchange.providers.push({
    id: 'health-registry',
    label: 'Ministry of Health registry',
    kind: 'graphql',
    urlEnv: 'REGISTRA_HEALTH_REGISTRY_URL',
    query:
      'query ($subjectId: String!) { person(registrationNumber: $subjectId) { bloodGroup immunisations { vaccine date } } }',
    timeoutMs: 1000,
  });
  document.exchange.fields.push(
    {
      name: 'bloodGroup',
      label: 'Blood group',
      provider: 'health-registry',
      path: 'person.bloodGroup',
    },
    {
      name: 'immunisations',
      label: 'Immunisations',
      provider: 'health-registry',
      path: "$join(person.immunisations.vaccine, ', ')",
    },
  );
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify(document));
  copyFileSync(path.join(example, 'users.json'), path.join(dir, 'users.json'));
  return dir;
}

/** Starts the health registry as its own process; resolves once it listens. */
function startProvider(env: Record<string, string> = {}): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', PROVIDER], {
    env: { ...process.env, PORT: String(providerPort), ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the provider exited with ${code}`)));
    child.stdout?.once('data', () => resolve(child));
  });
}

async function stopProvider(): Promise<void> {
  const child = provider;
  provider = null;
  if (!child || child.exitCode !== null) return;
  await new Promise((resolve) => {
    child.once('exit', resolve);
    child.kill('SIGTERM');
  });
}

beforeAll(async () => {
  providerPort = await fixedPort();
  provider = await startProvider();
  configDir = configWithHealthRegistry();
  process.env.REGISTRA_HEALTH_REGISTRY_URL = `http://127.0.0.1:${providerPort}/graphql`;
  server = await startTestServer(configDir, {
    app: {
      publicUrl: 'http://registry.example',
      logger: { level: 'info', stream: { write: (line: string) => void logLines.push(line) } },
    },
  });
  delete process.env.REGISTRA_HEALTH_REGISTRY_URL;
  const token = await server.request('POST', '/api/v1/auth/token', {
    body: {
      grant_type: 'client_credentials',
      client_id: 'passport-office',
      client_secret: PASSWORD,
    },
  });
  expect(token.status).toBe(200);
  consumer = ((await token.json()) as { accessToken: string }).accessToken;
  [agent, registrar, admin] = await Promise.all([
    server.login('agent'),
    server.login('registrar'),
    server.login('admin'),
  ]);
});
afterAll(async () => {
  await stopProvider();
  await server?.close();
  if (configDir) rmSync(configDir, { recursive: true, force: true });
});

const MOTHERS = ['Mwaka', 'Towela', 'Chanda'];
let births = 0;
/**
 * A registered birth whose informant has a phone; answers its registration number. Names, mothers
 * and dates differ from the file's other births, so that deduplication flags none.
 */
async function registeredBirth(firstName: string): Promise<string> {
  births += 1;
  const recordId = await declareBirth(new Device(server, agent), {
    ...BIRTH,
    'child.firstName': firstName,
    'child.surname': 'Kapembwa',
    'child.dob': `2026-0${births}-2${births}`,
    'mother.firstName': MOTHERS[births % MOTHERS.length] as string,
    'mother.surname': `${firstName}son`,
    'informant.phone': '+260971234567',
  });
  const results = await new Device(server, registrar).push(
    action({ type: 'ASSIGN', recordId, assignee: registrar.user.id }),
    action({ type: 'REGISTER', recordId }),
  );
  expect(results.map((r) => r.outcome)).toEqual(['accepted', 'accepted']);
  const record = await server.request('GET', `/api/v1/records/${recordId}`, {
    token: registrar.token,
  });
  return ((await record.json()) as { record: { registrationNumber: string } }).record
    .registrationNumber;
}

/** Asks the consent and approves it with the one-time code the server wrote to its log. */
async function approvedConsent(subjectId: string): Promise<string> {
  const asked = await server.request('POST', '/api/v1/consents', {
    token: consumer,
    body: {
      subjectId,
      purpose: 'passport',
      fields: FIELDS,
      expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
    },
  });
  expect(asked.status).toBe(201);
  const { id } = (await asked.json()) as { id: string };
  expect((await server.request('POST', `/api/v1/consents/${id}/code`)).status).toBe(202);
  const code = logLines
    .map((l) => JSON.parse(l) as { consentId?: string; code?: string })
    .findLast((l) => l.consentId === id)?.code;
  expect(code).toMatch(/^[0-9]{6}$/);
  const decided = await server.request('POST', `/api/v1/consents/${id}/decision`, {
    body: { code, decision: 'approve' },
  });
  expect(decided.status).toBe(200);
  return id;
}

interface GraphqlAnswer {
  data: { person: Record<string, string | null> | null } | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
}

async function ask(subjectId: string): Promise<GraphqlAnswer> {
  const response = await server.request('POST', '/api/v1/exchange/graphql', {
    token: consumer,
    body: { query: QUERY, variables: { id: subjectId } },
  });
  expect(response.status).toBe(200);
  return (await response.json()) as GraphqlAnswer;
}

const withheld = (body: GraphqlAnswer) =>
  Object.fromEntries(
    (body.errors ?? []).map((e) => [e.path?.[e.path.length - 1], e.extensions?.code]),
  );

describe('a GraphQL provider', () => {
  it('answers its fields through the exchange, mapped from its data by JSONata', async () => {
    const subject = await registeredBirth('Chipo');
    await approvedConsent(subject);
    // What the provider itself answers for this subject, asked directly.
    const direct = await fetch(`http://127.0.0.1:${providerPort}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query:
          'query ($n: String!) { person(registrationNumber: $n) { bloodGroup immunisations { vaccine } } }',
        variables: { n: subject },
      }),
    });
    const { data } = (await direct.json()) as {
      data: { person: { bloodGroup: string; immunisations: { vaccine: string }[] } };
    };
    expect(data.person.immunisations.length).toBeGreaterThan(0);

    const answer = await ask(subject);
    expect(answer.errors).toBeUndefined();
    expect(answer.data?.person).toEqual({
      subjectId: subject,
      fullName: 'Chipo Kapembwa',
      bloodGroup: data.person.bloodGroup,
      immunisations: data.person.immunisations.map((i) => i.vaccine).join(', '),
    });
  });

  it('down or slow, it fails its own fields only, each with its code, and the audit says so', async () => {
    const subject = await registeredBirth('Natasha');
    await approvedConsent(subject);

    await stopProvider();
    const down = await ask(subject);
    expect(withheld(down)).toEqual({
      bloodGroup: 'PROVIDER_UNAVAILABLE',
      immunisations: 'PROVIDER_UNAVAILABLE',
    });
    expect(down.data?.person).toEqual({
      subjectId: subject,
      fullName: 'Natasha Kapembwa',
      bloodGroup: null,
      immunisations: null,
    });

    provider = await startProvider({ HEALTH_REGISTRY_DELAY_MS: '4000' });
    const slow = await ask(subject);
    expect(withheld(slow)).toEqual({
      bloodGroup: 'PROVIDER_TIMEOUT',
      immunisations: 'PROVIDER_TIMEOUT',
    });
    expect(slow.data?.person?.fullName).toBe('Natasha Kapembwa');
    await stopProvider();
    provider = await startProvider();

    const audit = await server.request(
      'GET',
      `/api/v1/exchange/audit?subjectId=${encodeURIComponent(subject)}`,
      { token: admin.token },
    );
    const rows = (
      (await audit.json()) as {
        results: { fields: { field: string; outcome: string; code: string | null }[] }[];
      }
    ).results;
    expect(rows.map((r) => r.fields.map((f) => [f.field, f.code]))).toEqual([
      [
        ['births.fullName', null],
        ['health-registry.bloodGroup', 'PROVIDER_TIMEOUT'],
        ['health-registry.immunisations', 'PROVIDER_TIMEOUT'],
      ],
      [
        ['births.fullName', null],
        ['health-registry.bloodGroup', 'PROVIDER_UNAVAILABLE'],
        ['health-registry.immunisations', 'PROVIDER_UNAVAILABLE'],
      ],
    ]);
  });

  it('a subject it does not know answers null, not an error', async () => {
    const subject = await registeredBirth('Mapalo');
    await approvedConsent(subject);
    await stopProvider();
    provider = await startProvider({ HEALTH_REGISTRY_UNKNOWN: subject });
    const answer = await ask(subject);
    expect(answer.errors).toBeUndefined();
    expect(answer.data?.person).toMatchObject({
      fullName: 'Mapalo Kapembwa',
      bloodGroup: null,
      immunisations: null,
    });
    await stopProvider();
    provider = await startProvider();
  });
});
