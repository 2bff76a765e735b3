import { sql } from 'kysely';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  action,
  BIRTH,
  declareBirth,
  Device,
  expectProblem,
  PASSWORD,
  startTestServer,
  type Session,
  type TestServer,
} from './harness.js';

/**
 * PROTOCOL 12 against real processes: the server, and the example address registry
 * (examples/providers/address-registry) as a child process the test starts, stops and restarts
 * slow. Each failure issue 15 names has its test: a rejection sticks, a revocation takes effect on
 * the next query, expiry, a policy error is a deny, an unknown field is a validation error, a
 * provider down or slow fails its own field only, and every outcome is audited.
 */

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const PROVIDER = `${ROOT}examples/providers/address-registry/server.ts`;

const FIELDS = [
  'births.fullName',
  'births.dateOfBirth',
  'births.sex',
  'births.placeOfBirth',
  'address-registry.currentAddress',
];
const QUERY = `query ($id: String!) { person(subjectId: $id) {
  subjectId fullName dateOfBirth sex placeOfBirth currentAddress } }`;

let server: TestServer;
let consumer: string;
let agent: Session;
let registrar: Session;
let admin: Session;
let provider: ChildProcess | null = null;
let providerPort: number;
const logLines: string[] = [];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

/** Starts the address registry as its own process; resolves once it listens. */
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
  providerPort = await freePort();
  provider = await startProvider();
  process.env.REGISTRA_ADDRESS_REGISTRY_URL = `http://127.0.0.1:${providerPort}`;
  server = await startTestServer('civil-registry', {
    jobs: true,
    app: {
      publicUrl: 'http://registry.example',
      logger: { level: 'info', stream: { write: (line: string) => void logLines.push(line) } },
    },
  });
  delete process.env.REGISTRA_ADDRESS_REGISTRY_URL;
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
});

let births = 0;
const NAMES = [
  'Chileshe',
  'Bwalya',
  'Mutale',
  'Kondwani',
  'Thandiwe',
  'Nsansa',
  'Luyando',
  'Mwila',
];
const SURNAMES = ['Mulenga', 'Zulu', 'Tembo', 'Phiri', 'Sakala', 'Lungu', 'Mwansa', 'Chanda'];
/**
 * A registered birth whose informant has a phone (the contact the code goes to); names and dates
 * differ from every other birth of the file, so that deduplication flags none.
 */
async function registeredBirth(): Promise<string> {
  births += 1;
  const recordId = await declareBirth(new Device(server, agent), {
    ...BIRTH,
    'child.firstName': NAMES[births % NAMES.length] as string,
    'child.surname': `${SURNAMES[Math.floor(births / NAMES.length) % SURNAMES.length]}`,
    'child.dob': `2026-0${1 + (births % 9)}-1${births % 10}`,
    'mother.firstName': SURNAMES[births % SURNAMES.length] as string,
    'mother.surname': NAMES[(births * 3) % NAMES.length] as string,
    'child.placeOfBirth': { province: 'central', district: 'ibombo', village: 'Mwembe' },
    'informant.phone': '+260971234567',
  });
  const results = await new Device(server, registrar).push(
    action({ type: 'ASSIGN', recordId, assignee: registrar.user.id }),
    action({ type: 'REGISTER', recordId }),
  );
  expect(results.map((r) => [r.outcome, r.code, r.message])).toEqual([
    ['accepted', null, null],
    ['accepted', null, null],
  ]);
  const record = await server.request('GET', `/api/v1/records/${recordId}`, {
    token: registrar.token,
  });
  const { record: state } = (await record.json()) as { record: { registrationNumber: string } };
  return state.registrationNumber;
}

interface ConsentBody {
  id: string;
  status: string;
  portalUrl: string;
  fields: string[];
  subjectId: string;
}

async function askConsent(
  subjectId: string,
  fields = FIELDS,
  expiresAt = new Date(Date.now() + 30 * 86_400_000).toISOString(),
): Promise<ConsentBody> {
  const response = await server.request('POST', '/api/v1/consents', {
    token: consumer,
    body: { subjectId, purpose: 'passport', fields, expiresAt },
  });
  expect(response.status).toBe(201);
  return (await response.json()) as ConsentBody;
}

/** The one-time code the server wrote to its log for the consent (no message hook). */
async function codeFor(consentId: string): Promise<string> {
  const sent = await server.request('POST', `/api/v1/consents/${consentId}/code`);
  expect(sent.status).toBe(202);
  const line = logLines
    .map((l) => JSON.parse(l) as { consentId?: string; code?: string })
    .findLast((l) => l.consentId === consentId);
  expect(line?.code).toMatch(/^[0-9]{6}$/);
  return line?.code as string;
}

async function decide(consentId: string, decision: 'approve' | 'reject'): Promise<Response> {
  return server.request('POST', `/api/v1/consents/${consentId}/decision`, {
    body: { code: await codeFor(consentId), decision },
  });
}

interface GraphqlAnswer {
  data: { person: Record<string, string | null> | null } | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
}

async function ask(
  subjectId: string,
  query = QUERY,
): Promise<{ status: number; body: GraphqlAnswer }> {
  const response = await server.request('POST', '/api/v1/exchange/graphql', {
    token: consumer,
    body: { query, variables: { id: subjectId } },
  });
  const body = (await response.json()) as GraphqlAnswer;
  if (process.env.DEBUG_EXCHANGE) console.log(JSON.stringify(body));
  return { status: response.status, body };
}

/** The code of each withheld field, by field name. */
function withheld(body: GraphqlAnswer): Record<string, unknown> {
  return Object.fromEntries(
    (body.errors ?? []).map((e) => [e.path?.[e.path.length - 1], e.extensions?.code]),
  );
}

async function auditOf(subjectId: string) {
  const response = await server.request(
    'GET',
    `/api/v1/exchange/audit?subjectId=${encodeURIComponent(subjectId)}`,
    { token: admin.token },
  );
  expect(response.status).toBe(200);
  return (
    (await response.json()) as {
      results: {
        consentId: string | null;
        purpose: string | null;
        fields: { field: string; outcome: string; code: string | null }[];
      }[];
    }
  ).results;
}

describe('consent', () => {
  it('asks, and the query answers CONSENT_REQUIRED with the portal link until the citizen approves', async () => {
    const subject = await registeredBirth();
    const consent = await askConsent(subject);
    expect(consent).toMatchObject({ status: 'requested', subjectId: subject, fields: FIELDS });
    expect(consent.portalUrl).toBe(`http://registry.example/consent/${consent.id}`);

    const before = await ask(subject);
    expect(before.status).toBe(200);
    expect(before.body.data?.person).toMatchObject({
      subjectId: subject,
      fullName: null,
      currentAddress: null,
    });
    expect(withheld(before.body)).toEqual({
      fullName: 'CONSENT_REQUIRED',
      dateOfBirth: 'CONSENT_REQUIRED',
      sex: 'CONSENT_REQUIRED',
      placeOfBirth: 'CONSENT_REQUIRED',
      currentAddress: 'CONSENT_REQUIRED',
    });
    expect(before.body.errors?.[0]?.extensions?.consentUrl).toBe(consent.portalUrl);

    const approved = await decide(consent.id, 'approve');
    expect(approved.status).toBe(200);
    expect(((await approved.json()) as { consent: ConsentBody }).consent.status).toBe('approved');

    const after = await ask(subject);
    expect(after.body.errors).toBeUndefined();
    expect(after.body.data?.person).toMatchObject({
      subjectId: subject,
      fullName: expect.stringMatching(/^[A-Z][a-z]+ [A-Z][a-z]+$/),
      dateOfBirth: expect.stringMatching(/^2026-/),
      sex: 'female',
      placeOfBirth: 'Mwembe, ibombo',
      currentAddress: expect.stringMatching(/^\d+ .+, .+/),
    });
  });

  it('a rejection sticks: a later approval is refused and the fields stay withheld', async () => {
    const subject = await registeredBirth();
    const consent = await askConsent(subject);
    expect((await decide(consent.id, 'reject')).status).toBe(200);
    await expectProblem(await decide(consent.id, 'approve'), 409, 'CONSENT_DECIDED');
    const shown = await server.request('GET', `/api/v1/consents/${consent.id}`);
    expect(((await shown.json()) as ConsentBody).status).toBe('rejected');
    const answer = await ask(subject);
    expect(new Set(Object.values(withheld(answer.body)))).toEqual(new Set(['CONSENT_REQUIRED']));
    expect(answer.body.data?.person?.fullName).toBeNull();
  });

  it('a revocation takes effect on the next query, and sticks', async () => {
    const subject = await registeredBirth();
    const consent = await askConsent(subject);
    const approved = (await (await decide(consent.id, 'approve')).json()) as {
      session: { token: string };
    };
    expect((await ask(subject)).body.data?.person?.fullName).toMatch(/^[A-Z][a-z]+ [A-Z][a-z]+$/);

    const revoked = await server.request('POST', `/api/v1/consents/${consent.id}/revoke`, {
      token: approved.session.token,
      body: { reason: 'I changed my mind' },
    });
    expect(revoked.status).toBe(200);
    expect(((await revoked.json()) as ConsentBody).status).toBe('revoked');

    const answer = await ask(subject);
    expect(new Set(Object.values(withheld(answer.body)))).toEqual(new Set(['CONSENT_REVOKED']));
    expect(answer.body.data?.person?.fullName).toBeNull();
    await expectProblem(await decide(consent.id, 'approve'), 409, 'CONSENT_DECIDED');
  });

  it('a consent expires at expiresAt: at once for the query, and the job appends EXPIRE_CONSENT', async () => {
    const subject = await registeredBirth();
    const consent = await askConsent(subject, FIELDS, new Date(Date.now() + 2_000).toISOString());
    expect((await decide(consent.id, 'approve')).status).toBe(200);
    await expect
      .poll(
        async () => {
          const rows = await sql<{ type: string }>`
          SELECT body->>'customType' AS type FROM entries
          WHERE record_id = ${consent.id} AND status = 'accepted' ORDER BY seq`.execute(server.db);
          return rows.rows.map((r) => r.type);
        },
        { timeout: 60_000, interval: 200 },
      )
      .toEqual([null, 'APPROVE_CONSENT', 'EXPIRE_CONSENT']);
    const answer = await ask(subject);
    expect(new Set(Object.values(withheld(answer.body)))).toEqual(new Set(['CONSENT_EXPIRED']));
    await expectProblem(await decide(consent.id, 'approve'), 409, 'CONSENT_DECIDED');
  });

  it('refuses fields that are not exchanged, purposes that are not the consumer’s, and staff', async () => {
    const refused = await server.request('POST', '/api/v1/consents', {
      token: consumer,
      body: {
        subjectId: 'B1',
        purpose: 'tax',
        fields: ['births.motherName'],
        expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
      },
    });
    const problem = await expectProblem(refused, 400, 'INVALID_INPUT');
    expect(problem.errors?.map((e) => e.path).sort()).toEqual(['fields.0', 'purpose']);
    await expectProblem(
      await server.request('POST', '/api/v1/consents', {
        token: registrar.token,
        body: {
          subjectId: 'B1',
          purpose: 'passport',
          fields: FIELDS,
          expiresAt: new Date().toISOString(),
        },
      }),
      403,
      'FORBIDDEN',
    );
    await expectProblem(
      await server.request('POST', '/api/v1/exchange/graphql', {
        body: { query: '{ __typename }' },
      }),
      401,
      'UNAUTHENTICATED',
    );
  });

  it('a wrong code signs nobody in, and five tries use the code up', async () => {
    const subject = await registeredBirth();
    const consent = await askConsent(subject);
    const code = await codeFor(consent.id);
    const wrong = code === '000000' ? '111111' : '000000';
    for (let i = 0; i < 5; i += 1) {
      await expectProblem(
        await server.request('POST', `/api/v1/consents/${consent.id}/decision`, {
          body: { code: wrong, decision: 'approve' },
        }),
        401,
        'INVALID_CODE',
      );
    }
    await expectProblem(
      await server.request('POST', `/api/v1/consents/${consent.id}/decision`, {
        body: { code, decision: 'approve' },
      }),
      401,
      'INVALID_CODE',
    );
  });
  it('limits one-time codes: a fourth for one consent within 15 minutes is 429, others go out', async () => {
    const subject = await registeredBirth();
    const consent = await askConsent(subject);
    const other = await askConsent(subject, ['births.fullName']);
    const sendCode = (id: string) => server.request('POST', `/api/v1/consents/${id}/code`);
    for (let i = 0; i < 3; i += 1) expect((await sendCode(consent.id)).status).toBe(202);
    const refused = await sendCode(consent.id);
    await expectProblem(refused, 429, 'TOO_MANY_ATTEMPTS');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    const codesSent = () =>
      logLines
        .map((l) => JSON.parse(l) as { consentId?: string; code?: string })
        .filter((l) => l.consentId === consent.id && l.code).length;
    const sentBefore = codesSent();
    expect(sentBefore).toBe(3);
    expect((await sendCode(other.id)).status).toBe(202);
    server.clock.offsetMs = 16 * 60_000;
    try {
      expect((await sendCode(consent.id)).status).toBe(202);
    } finally {
      server.clock.offsetMs = 0;
    }
    // The refused request sent no code; the one after the window did.
    expect(codesSent()).toBe(sentBefore + 1);
  });
});

describe('query', () => {
  it('an unknown field is a GraphQL validation error, not a 500', async () => {
    const { status, body } = await ask(
      'B1',
      '{ person(subjectId: "B1") { fullName motherMaidenName } }',
    );
    expect(status).toBe(400);
    expect(body.errors?.[0]?.message).toMatch(/motherMaidenName/);
  });

  it('refuses queries over the depth and cost limits before running them', async () => {
    const deep = await ask(
      'B1',
      '{ person(subjectId: "B1") { fullName } a: person(subjectId: "B1") { fullName } }'.replace(
        'fullName }',
        'fullName } __typename',
      ),
    );
    expect(deep.status).toBe(200);
    const aliases = Array.from(
      { length: 30 },
      (_, i) => `p${i}: person(subjectId: "B1") { fullName sex dateOfBirth }`,
    ).join(' ');
    const costly = await ask('B1', `{ ${aliases} }`);
    expect(costly.status).toBe(400);
    expect(costly.body.errors?.[0]?.extensions?.code).toBe('QUERY_TOO_COSTLY');
  });

  it('a provider that is down or slow fails its own field only, with its code', async () => {
    const subject = await registeredBirth();
    const consent = await askConsent(subject);
    expect((await decide(consent.id, 'approve')).status).toBe(200);

    await stopProvider();
    const down = await ask(subject);
    expect(withheld(down.body)).toEqual({ currentAddress: 'PROVIDER_UNAVAILABLE' });
    expect(down.body.data?.person).toMatchObject({ sex: 'female', currentAddress: null });

    provider = await startProvider({ ADDRESS_REGISTRY_DELAY_MS: '5000' });
    const slow = await ask(subject);
    expect(withheld(slow.body)).toEqual({ currentAddress: 'PROVIDER_TIMEOUT' });
    expect(slow.body.data?.person).toMatchObject({ sex: 'female', currentAddress: null });
    await stopProvider();
    provider = await startProvider();

    const audit = await auditOf(subject);
    expect(audit[0]?.fields).toContainEqual({
      field: 'address-registry.currentAddress',
      outcome: 'withheld',
      code: 'PROVIDER_TIMEOUT',
      reason: expect.any(String),
    });
    expect(audit[1]?.fields).toContainEqual({
      field: 'address-registry.currentAddress',
      outcome: 'withheld',
      code: 'PROVIDER_UNAVAILABLE',
      reason: expect.any(String),
    });
  });

  it('a field the consent does not name is CONSENT_REQUIRED while the named ones answer', async () => {
    const subject = await registeredBirth();
    const consent = await askConsent(subject, ['births.fullName']);
    expect((await decide(consent.id, 'approve')).status).toBe(200);
    const answer = await ask(subject);
    expect(answer.body.data?.person?.fullName).toMatch(/^[A-Z][a-z]+ [A-Z][a-z]+$/);
    expect(withheld(answer.body)).toEqual({
      dateOfBirth: 'CONSENT_REQUIRED',
      sex: 'CONSENT_REQUIRED',
      placeOfBirth: 'CONSENT_REQUIRED',
      currentAddress: 'CONSENT_REQUIRED',
    });
  });
});

describe('audit', () => {
  it('records every exchange, denials included, for admins; the citizen sees their own', async () => {
    const subject = await registeredBirth();
    await ask(subject); // no consent yet: all withheld
    const consent = await askConsent(subject, ['births.fullName', 'births.sex']);
    const { session } = (await (await decide(consent.id, 'approve')).json()) as {
      session: { token: string };
    };
    await ask(subject);

    const audit = await auditOf(subject);
    expect(audit).toHaveLength(2);
    expect(audit[0]).toMatchObject({ consentId: consent.id, purpose: 'passport' });
    expect(audit[0]?.fields).toEqual([
      { field: 'births.fullName', outcome: 'given', code: null },
      { field: 'births.dateOfBirth', outcome: 'withheld', code: 'CONSENT_REQUIRED' },
      { field: 'births.sex', outcome: 'given', code: null },
      { field: 'births.placeOfBirth', outcome: 'withheld', code: 'CONSENT_REQUIRED' },
      { field: 'address-registry.currentAddress', outcome: 'withheld', code: 'CONSENT_REQUIRED' },
    ]);
    expect(audit[1]).toMatchObject({ consentId: null, purpose: null });
    expect(audit[1]?.fields.every((f) => f.outcome === 'withheld')).toBe(true);

    await expectProblem(
      await server.request('GET', '/api/v1/exchange/audit', { token: registrar.token }),
      403,
      'FORBIDDEN',
    );
    const mine = await server.request('GET', '/api/v1/exchange/my-access', {
      token: session.token,
    });
    expect(mine.status).toBe(200);
    const body = (await mine.json()) as { results: unknown[]; consents: ConsentBody[] };
    expect(body.results).toHaveLength(2);
    expect(body.consents.map((c) => c.id)).toEqual([consent.id]);
    await expectProblem(
      await server.request('GET', '/api/v1/exchange/my-access'),
      401,
      'UNAUTHENTICATED',
    );
  });

  it('the audit is append-only', async () => {
    await expect(sql`DELETE FROM exchange_audit`.execute(server.db)).rejects.toThrow(/append-only/);
  });
});
