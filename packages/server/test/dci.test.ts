import { Ajv, type ValidateFunction } from 'ajv';
import { sql } from 'kysely';
import addFormatsModule from 'ajv-formats';
import canonicalize from 'canonicalize';
import {
  base64url,
  CompactSign,
  compactVerify,
  createLocalJWKSet,
  importJWK,
  type JWK,
} from 'jose';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { v7 as uuidv7 } from 'uuid';
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
import { civilRegistryWith, Receiver } from './receiver.js';

/**
 * Issue 16, the DCI / SPDCI registry API, against a real server and PostgreSQL: every request and
 * answer validated against the standard's own OpenAPI schemas (fixtures/dci, vendored), partners'
 * signatures checked, consent per subject with a whole-request rejection, scopes, and the audit.
 */

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const KEYS = `${ROOT}examples/civil-registry/dci/`;
const jwk = (name: string) => JSON.parse(readFileSync(`${KEYS}${name}.jwk.json`, 'utf8')) as JWK;
const fixture = (name: string) =>
  JSON.parse(
    readFileSync(fileURLToPath(new URL(`./fixtures/dci/${name}`, import.meta.url)), 'utf8'),
  ) as Record<string, unknown>;

type Json = Record<string, unknown>;
const pointer = (p: string) => p.replaceAll('~', '~0').replaceAll('/', '~1');
const unescape = (segment: string) => segment.replaceAll('~1', '/').replaceAll('~0', '~');
/**
 * The standard's bundled documents point into schemas through other `$ref`s (a bundler's
 * artifact: `#/paths/…/oneOf/0/properties/…` where `oneOf/0` is itself a `$ref`), which JSON
 * Pointer cannot walk. Each such reference is rewritten to the place it means; nothing else is
 * touched.
 */
function repairReferences(doc: Json): Json {
  const canonical = (ref: string): string[] => {
    let at: string[] = [];
    for (const segment of ref.slice(2).split('/').map(unescape)) {
      let node = at.reduce<unknown>((n, k) => (n as Json)[k], doc) as Json;
      while (!(segment in node) && typeof node.$ref === 'string') {
        at = canonical(node.$ref);
        node = at.reduce<unknown>((n, k) => (n as Json)[k], doc) as Json;
      }
      at = [...at, segment];
    }
    return at;
  };
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (typeof node !== 'object' || node === null) return;
    const object = node as Json;
    if (typeof object.$ref === 'string' && object.$ref.startsWith('#/')) {
      object.$ref = `#/${canonical(object.$ref).map(pointer).join('/')}`;
    }
    Object.values(object).forEach(visit);
  };
  visit(doc);
  return doc;
}

/**
 * The standard's TxnStatusRequest says `attribute_value` is `oneOf` a transaction id, a list of
 * reference ids, a correlation id (and, in the core API, a list of subscription codes): the first
 * and third are the same string schema, and the core API's SubscriptionCodeList has no `type`, so
 * no value can match exactly one. Read as `anyOf`, which allows what the standard lists; the tests
 * check the value against the branch meant (`TransactionId`) on their own.
 */
function relaxAttributeValue(doc: Json): Json {
  const schemas = (doc.components as Json).schemas as Json;
  const request = (schemas.TxnStatusRequest as Json).properties as Json;
  const value = ((request.txnstatus_request as Json).properties as Json).attribute_value as Json;
  value.anyOf = value.oneOf;
  delete value.oneOf;
  return doc;
}

// The standard's documents: OpenAPI 3.0 schemas, read by Ajv without its strict mode (they carry
// `example` and other annotations), with the formats they use.
const ajv = new Ajv({ strict: false, allErrors: true });
const addFormats = addFormatsModule as unknown as (a: Ajv) => Ajv;
addFormats(ajv);
ajv.addFormat('int32', true).addFormat('binary', true);
ajv.addSchema(
  relaxAttributeValue(repairReferences(fixture('registry_core_api_v1.0.0.json'))),
  'core',
);
ajv.addSchema(relaxAttributeValue(repairReferences(fixture('social_api_v1.0.0.json'))), 'social');
function schemaOf(doc: 'core' | 'social', path: string, part: 'request' | 'response' | 'error') {
  const at =
    part === 'request'
      ? 'requestBody/content/application~1json/schema'
      : part === 'response'
        ? 'responses/default/content/application~1json/schema'
        : 'responses/401/content/application~1json/schema';
  // An async endpoint's default answer is the acknowledgement, `Response`, by reference.
  const ack = `${doc}#/components/responses/Response/content/application~1json/schema`;
  const ref =
    part === 'error'
      ? `${doc}#/components/responses/HttpErrorResponse/content/application~1json/schema`
      : part === 'response' &&
          ajv.getSchema(`${doc}#/paths/${pointer(path)}/post/${at}`) === undefined
        ? ack
        : `${doc}#/paths/${pointer(path)}/post/${at}`;
  const validate = ajv.getSchema(ref);
  if (!validate) throw new Error(`no schema at ${ref}`);
  return validate;
}
function expectValid(validate: ValidateFunction, value: unknown) {
  const valid = validate(value);
  expect(valid ? [] : validate.errors).toEqual([]);
}

/** A partner's request, signed as the registry expects (independently of the server's code). */
async function signed<M>(partner: string, header: Record<string, unknown>, message: M) {
  const key = jwk(`${partner}.private`);
  const payload = new TextEncoder().encode(canonicalize({ header, message }));
  const jws = await new CompactSign(payload)
    .setProtectedHeader({ alg: 'ES256', kid: key.kid as string })
    .sign(await importJWK(key, 'ES256'));
  const [p, , s] = jws.split('.');
  return { signature: `${p}..${s}`, header, message };
}

/** Whether the registry's answer verifies with its published example key. */
async function registrySigned(body: { signature: string; header: unknown; message: unknown }) {
  const [p, , s] = body.signature.split('.');
  const payload = base64url.encode(
    canonicalize({ header: body.header, message: body.message }) ?? '',
  );
  try {
    await compactVerify(`${p}.${payload}.${s}`, await importJWK(jwk('registry.public'), 'ES256'));
    return true;
  } catch {
    return false;
  }
}

const header = (sender: string, count = 1) => ({
  version: '1.0.0',
  message_id: uuidv7(),
  message_ts: new Date().toISOString(),
  action: 'search',
  sender_id: sender,
  receiver_id: 'civil-registry',
  total_count: count,
  is_msg_encrypted: false,
});
const item = (criteria: { query_type: string; query: unknown } & Record<string, unknown>) => ({
  reference_id: uuidv7(),
  timestamp: new Date().toISOString(),
  search_criteria: { version: '1.0.0', ...criteria },
});
const byBrn = (brn: string) =>
  item({ query_type: 'idtype-value', query: { type: 'BRN', value: brn } });

interface SearchAnswer {
  signature: string;
  header: {
    status: string;
    sender_id: string;
    receiver_id: string;
    action: string;
    message_id: string;
  };
  message: {
    transaction_id: string;
    search_response: {
      status: string;
      status_reason_code?: string;
      status_reason_message?: string;
      data?: { reg_record_type: string; reg_records: Record<string, unknown>[] };
      pagination?: { page_size: number; page_number: number; total_count: number };
    }[];
  };
}

let server: TestServer;
let receiver: Receiver;
/** The passport office's callback server (a partner that needs each subject's consent). */
let passportOffice: Receiver;
let consumer: string;
let agent: Session;
let registrar: Session;
let admin: Session;
const logLines: string[] = [];

beforeAll(async () => {
  // The social protection MIS: the partner whose callbacks (on-search, notify, …) the test receives.
  receiver = await new Receiver({}).start();
  passportOffice = await new Receiver({}).start();
  const env = {
    REGISTRA_DCI_SIGNING_KEY: `${KEYS}registry.private.jwk.json`,
    REGISTRA_DCI_SOCIAL_PROTECTION_URL: receiver.url,
    REGISTRA_DCI_PASSPORT_OFFICE_URL: passportOffice.url,
  };
  // The example, with callbacks for the passport office and a life event a registered birth
  // can have again and again (its certificate printed), to notify about a consented subject.
  const config = civilRegistryWith((document) => {
    const passport = document.dci.partners.find((p) => p.id === 'passport-office');
    if (passport) passport.callbackUrlEnv = 'REGISTRA_DCI_PASSPORT_OFFICE_URL';
    document.dci.recordTypes
      .find((t) => t.recordType === 'birth')
      ?.events.push({ event: 'CertificateIssued', actions: ['PRINT_CERTIFICATE'] });
  });
  server = await startTestServer(config, {
    jobs: true,
    env,
    app: {
      publicUrl: 'http://registry.example',
      env,
      logger: { level: 'info', stream: { write: (line: string) => void logLines.push(line) } },
    },
  });
  const token = await server.request('POST', '/api/v1/auth/token', {
    body: {
      grant_type: 'client_credentials',
      client_id: 'passport-office',
      client_secret: PASSWORD,
    },
  });
  consumer = ((await token.json()) as { accessToken: string }).accessToken;
  [agent, registrar, admin] = await Promise.all([
    server.login('agent'),
    server.login('registrar'),
    server.login('admin'),
  ]);
});
afterAll(async () => {
  await server?.close();
  await receiver?.stop();
  await passportOffice?.stop();
});

/** Waits until `found` gives something (the job runner delivers in the background). */
async function until<T>(found: () => T | undefined, what: string): Promise<T> {
  for (let i = 0; i < 600; i++) {
    const value = found();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`never received: ${what}`);
}

/** Waits for the callback of `transactionId` that the registry posts to `path` at a partner. */
function callbackAt(at: Receiver, path: string, transactionId: string) {
  return until(
    () =>
      at
        .of(path)
        .find(
          (r) => (r.json.message as { transaction_id?: string }).transaction_id === transactionId,
        ),
    path,
  );
}

/** Waits until the awaited `found` gives something (a row written after a delivery, …). */
async function eventually<T>(found: () => Promise<T | undefined>, what: string): Promise<T> {
  for (let i = 0; i < 600; i++) {
    const value = await found();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`never happened: ${what}`);
}

interface AuditRow {
  purpose: string;
  consumer: string;
  subjectId: string;
  consentId: string | null;
  fields: { field: string; outcome: string; code: string | null }[];
}

async function auditOf(subjectId: string, consumer: string): Promise<AuditRow[]> {
  const response = await server.request(
    'GET',
    `/api/v1/exchange/audit?subjectId=${encodeURIComponent(subjectId)}&consumer=${consumer}`,
    { token: admin.token },
  );
  expect(response.status).toBe(200);
  return ((await response.json()) as { results: AuditRow[] }).results;
}

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
const SURNAMES = ['Mulenga', 'Zulu', 'Tembo', 'Phiri', 'Sakala', 'Lungu', 'Kapata', 'Hamoonga'];
const MOTHERS = ['Grace', 'Esther', 'Precious', 'Agness', 'Beatrice', 'Florence', 'Idah', 'Joyce'];
/**
 * A registered birth whose child and mother are named unlike every other birth of the file (so
 * that deduplication flags none, which would hold REGISTER); answers its registration number.
 */
async function registeredBirth(): Promise<string> {
  return (await registerBirth()).registrationNumber;
}

/** A registered birth (as `registeredBirth`): its id and registration number. */
async function registerBirth(): Promise<{ recordId: string; registrationNumber: string }> {
  births += 1;
  const at = (list: string[], k: number) => list[k % list.length] as string;
  const recordId = await declareBirth(new Device(server, agent), {
    ...BIRTH,
    'child.firstName': at(NAMES, births),
    'child.surname': at(SURNAMES, births * 3),
    'child.dob': `2025-${String(1 + (births % 12)).padStart(2, '0')}-1${births % 10}`,
    'child.sex': 'female',
    'mother.firstName': at(MOTHERS, births * 5),
    'mother.surname': at(SURNAMES, births * 3 + 1),
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
  const { registrationNumber } = (
    (await record.json()) as { record: { registrationNumber: string } }
  ).record;
  return { recordId, registrationNumber };
}

/**
 * A consent of the passport office about `subjectId`, approved by the citizen with their code as
 * the consent portal does: its id, and the citizen's session the decision answers.
 */
async function approvedConsent(subjectId: string): Promise<{ id: string; session: string }> {
  const asked = await server.request('POST', '/api/v1/consents', {
    token: consumer,
    body: {
      subjectId,
      purpose: 'passport',
      fields: ['births.fullName', 'births.dateOfBirth'],
      expiresAt: new Date(Date.now() + 30 * 86_400_000).toISOString(),
    },
  });
  expect(asked.status).toBe(201);
  const { id } = (await asked.json()) as { id: string };
  expect((await server.request('POST', `/api/v1/consents/${id}/code`)).status).toBe(202);
  const code = logLines
    .map((l) => JSON.parse(l) as { consentId?: string; code?: string })
    .findLast((l) => l.consentId === id)?.code;
  const decided = await server.request('POST', `/api/v1/consents/${id}/decision`, {
    body: { code, decision: 'approve' },
  });
  expect(decided.status).toBe(200);
  const { session } = (await decided.json()) as { session: { token: string } };
  return { id, session: session.token };
}

async function syncSearch(body: unknown): Promise<Response> {
  return server.request('POST', '/dci/registry/sync/search', { body });
}

describe('DCI sync search', () => {
  it('answers a consented subject, signed, clamped to the scope, audited, as the standard says', async () => {
    const brn = await registeredBirth();
    const { id: consentId } = await approvedConsent(brn);
    const request = await signed('passport-office', header('passport-office'), {
      transaction_id: uuidv7(),
      search_request: [byBrn(brn)],
    });
    expectValid(schemaOf('social', '/registry/sync/search', 'request'), request);
    expectValid(schemaOf('core', '/registry/sync/search', 'request'), request);
    const response = await syncSearch(request);
    expect(response.status).toBe(200);
    const body = (await response.json()) as SearchAnswer;
    expectValid(schemaOf('social', '/registry/sync/search', 'response'), body);
    expect(await registrySigned(body)).toBe(true);
    expect(body.header).toMatchObject({
      action: 'on-search',
      status: 'succ',
      sender_id: 'civil-registry',
      receiver_id: 'passport-office',
    });
    const [answer] = body.message.search_response;
    expect(answer?.status).toBe('succ');
    expect(answer?.pagination).toEqual({ page_size: 100, page_number: 1, total_count: 1 });
    const [record] = answer?.data?.reg_records ?? [];
    // Only the partner's scope: never the mother's, the informant's or the place of birth.
    expect(Object.keys(record ?? {}).sort()).toEqual(
      ['@type', 'child.dob', 'child.firstName', 'child.sex', 'child.surname', 'identifier'].sort(),
    );
    expect(record?.identifier).toEqual([{ identifier_type: 'BRN', identifier_value: brn }]);
    expect(JSON.stringify(body)).not.toContain('+260971234567');

    const audit = await server.request(
      'GET',
      `/api/v1/exchange/audit?subjectId=${encodeURIComponent(brn)}&consumer=passport-office`,
      { token: admin.token },
    );
    const { results } = (await audit.json()) as {
      results: {
        purpose: string;
        consentId: string;
        fields: { field: string; outcome: string }[];
      }[];
    };
    expect(results[0]).toMatchObject({ purpose: 'dci.search', consentId });
    expect(results[0]?.fields.map((f) => [f.field, f.outcome])).toContainEqual([
      'birth.child.firstName',
      'given',
    ]);
  });

  it('rejects the whole request when one subject found has no consent: nothing leaks', async () => {
    const consented = await registeredBirth();
    await approvedConsent(consented);
    const unconsented = await registeredBirth();
    const request = await signed('passport-office', header('passport-office', 2), {
      transaction_id: uuidv7(),
      search_request: [byBrn(consented), byBrn(unconsented)],
    });
    const response = await syncSearch(request);
    expect(response.status).toBe(200);
    const body = (await response.json()) as SearchAnswer;
    expectValid(schemaOf('social', '/registry/sync/search', 'response'), body);
    expect(await registrySigned(body)).toBe(true);
    expect(body.header.status).toBe('rjct');
    expect(body.message.search_response.map((r) => [r.status, r.data])).toEqual([
      ['rjct', undefined],
      ['rjct', undefined],
    ]);
    expect(body.message.search_response[0]?.status_reason_message).toMatch(/^CONSENT_REQUIRED/);
    const text = JSON.stringify(body);
    expect(text).not.toContain(consented);
    expect(text).not.toContain('reg_records');

    const audit = await server.request(
      'GET',
      `/api/v1/exchange/audit?subjectId=${encodeURIComponent(unconsented)}`,
      { token: admin.token },
    );
    const { results } = (await audit.json()) as {
      results: { fields: { outcome: string; code: string }[] }[];
    };
    expect(results[0]?.fields[0]).toMatchObject({ outcome: 'withheld', code: 'CONSENT_REQUIRED' });
  });

  it('refuses a bad signature, an unknown sender and an unsigned request, and audits them', async () => {
    const brn = await registeredBirth();
    await approvedConsent(brn);
    const good = await signed('passport-office', header('passport-office'), {
      transaction_id: uuidv7(),
      search_request: [byBrn(brn)],
    });
    const tampered = { ...good, message: { ...good.message, transaction_id: 'changed' } };
    const bad = await syncSearch(tampered);
    expect(bad.status).toBe(401);
    const problem = (await bad.json()) as { code: string; errors: { code: string }[] };
    expect(problem.code).toBe('DCI_SIGNATURE_INVALID');
    expect(problem.errors[0]?.code).toBe('err.signature.invalid');
    expectValid(schemaOf('core', '/registry/sync/search', 'error'), problem);

    // Signed by another partner's key, in passport-office's name.
    const forged = await signed('social-protection', header('passport-office'), good.message);
    expect((await syncSearch(forged)).status).toBe(401);

    const stranger = await signed('passport-office', header('someone-else'), good.message);
    const unknown = await syncSearch(stranger);
    expect(unknown.status).toBe(401);
    expect(((await unknown.json()) as { code: string }).code).toBe('DCI_SENDER_UNKNOWN');

    const unsigned = await syncSearch({ header: good.header, message: good.message });
    expect(unsigned.status).toBe(401);
    expect(((await unsigned.json()) as { code: string }).code).toBe('DCI_SIGNATURE_MISSING');

    expect((await syncSearch({ nonsense: true })).status).toBe(400);
    expect((await syncSearch(good)).status).toBe(200);

    const audit = await server.request('GET', '/api/v1/exchange/audit?consumer=passport-office', {
      token: admin.token,
    });
    const { results } = (await audit.json()) as {
      results: { subjectId: string; fields: { code: string | null }[] }[];
    };
    expect(results.map((r) => r.fields[0]?.code)).toEqual(
      expect.arrayContaining(['DCI_SIGNATURE_INVALID', 'DCI_SIGNATURE_MISSING']),
    );
  });

  it('reads expressions over the allow-list only, pages them, and rejects bad criteria by item', async () => {
    await registeredBirth();
    await registeredBirth();
    const expression = (query: Record<string, unknown>, pagination?: Record<string, number>) =>
      item({
        query_type: 'expression',
        query: {
          type: 'ns:org:QueryType:NoSql',
          value: { expression: { collection: 'birth', query } },
        },
        ...(pagination ? { pagination } : {}),
      });
    const request = await signed('social-protection', header('social-protection', 4), {
      transaction_id: uuidv7(),
      search_request: [
        expression(
          { $and: [{ 'child.sex': { $eq: 'female' } }, { 'child.dob': { $ge: '2025-01-01' } }] },
          {
            page_size: 1,
            page_number: 2,
          },
        ),
        expression({ 'mother.nid': { $eq: 'x' } }),
        item({ query_type: 'idtype-value', query: { type: 'PASSPORT', value: '1' } }),
        expression({ 'child.sex': 'female' }, { page_size: 5000 }),
      ],
    });
    // The standard's RegistryQueries is a oneOf whose ExpTemplate and IdentifierTypeValue both
    // match any {type, value: {…}}: an expression query can never pass it. Each query is checked
    // against ExpTemplate itself, and the rest of the envelope with the queries left out.
    const template = ajv.getSchema('core#/components/schemas/ExpTemplate') as ValidateFunction;
    for (const entry of request.message.search_request) {
      if (entry.search_criteria.query_type === 'expression')
        expectValid(template, entry.search_criteria.query);
    }
    expectValid(schemaOf('social', '/registry/sync/search', 'request'), {
      ...request,
      message: {
        ...request.message,
        search_request: request.message.search_request.map((entry) => ({
          ...entry,
          search_criteria: { ...entry.search_criteria, query: { type: 'UIN', value: '1' } },
        })),
      },
    });
    const response = await syncSearch(request);
    expect(response.status).toBe(200);
    const body = (await response.json()) as SearchAnswer;
    expectValid(schemaOf('social', '/registry/sync/search', 'response'), body);
    const [paged, notAllowed, unknownType, tooLarge] = body.message.search_response;
    expect([paged?.status, paged?.status_reason_message]).toEqual(['succ', undefined]);
    expect(paged?.data?.reg_records).toHaveLength(1);
    expect(paged?.pagination?.page_number).toBe(2);
    expect(paged?.pagination?.total_count).toBeGreaterThanOrEqual(births);
    // The aggregate partner's scope: the mother's names, never her id number.
    expect(Object.keys(paged?.data?.reg_records[0] ?? {})).toContain('mother.firstName');
    expect(Object.keys(paged?.data?.reg_records[0] ?? {})).not.toContain('mother.nid');
    expect([notAllowed?.status, notAllowed?.status_reason_code]).toEqual([
      'rjct',
      'rjct.search_criteria.invalid',
    ]);
    expect(unknownType?.status_reason_code).toBe('rjct.search_criteria.invalid');
    expect(tooLarge?.status_reason_code).toBe('rjct.pagination.invalid');
  });
});

describe("the registry's DCI key", () => {
  it('is published as a JWKS, unauthenticated, public parts only, and verifies its answers', async () => {
    const response = await server.request('GET', '/dci/.well-known/jwks.json');
    expect(response.status).toBe(200);
    const { keys } = (await response.json()) as { keys: JWK[] };
    expect(keys).toHaveLength(1);
    const [key] = keys as [JWK];
    const published = jwk('registry.public');
    expect(key).toEqual({ ...published, use: 'sig', purpose: 'dci' });
    for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'])
      expect(key).not.toHaveProperty(secret);

    // What a partner does: verify an answer with the key it fetched, by the answer's `kid`.
    const request = await signed('social-protection', header('social-protection'), {
      transaction_id: uuidv7(),
      search_request: [byBrn('none')],
    });
    const answer = (await (await syncSearch(request)).json()) as SearchAnswer;
    const [protectedHeader, , signature] = answer.signature.split('.');
    const { kid } = JSON.parse(
      new TextDecoder().decode(base64url.decode(protectedHeader as string)),
    ) as { kid: string };
    expect(kid).toBe(key.kid);
    const payload = base64url.encode(
      canonicalize({ header: answer.header, message: answer.message }) ?? '',
    );
    const verified = await compactVerify(
      `${protectedHeader}.${payload}.${signature}`,
      createLocalJWKSet({ keys }),
    );
    expect(verified.protectedHeader.alg).toBe('ES256');
  });
});

const envelopeHeader = (sender: string, action: string, count = 1) => ({
  ...header(sender, count),
  action,
});

/** A signed subscribe request of `partner` to births' `events`, one criterion each. */
const subscribeRequest = (partner: string, events: string[]) =>
  signed(partner, envelopeHeader(partner, 'subscribe', events.length), {
    transaction_id: uuidv7(),
    subscribe_request: events.map((event) => ({
      reference_id: uuidv7(),
      timestamp: new Date().toISOString(),
      subscribe_criteria: {
        version: '1.0.0',
        reg_event_type: event,
        filter_type: 'predicate',
        filter: [],
        notify_record_type: 'birth',
      },
    })),
  });

type OnSubscribe = SearchAnswer & {
  message: { subscribe_response: { status: string; subscriptions: { code: string }[] }[] };
};

/**
 * Sends a subscribe request and waits for its answer at the partner's receiver: the ack and the
 * on-subscribe callback, whose subscriptions' codes are in request order.
 */
async function subscribe(request: Awaited<ReturnType<typeof subscribeRequest>>, at: Receiver) {
  const acked = await server.request('POST', '/dci/registry/subscribe', { body: request });
  expect(acked.status).toBe(200);
  const ack = (await acked.json()) as SearchAnswer;
  const answered = await callbackAt(at, '/registry/on-subscribe', request.message.transaction_id);
  const onSubscribe = answered.json as unknown as OnSubscribe;
  const codes = onSubscribe.message.subscribe_response.map(
    (r) => r.subscriptions[0]?.code as string,
  );
  return { ack, onSubscribe, codes };
}

/** A signed unsubscribe request of `partner` for its subscriptions `codes`. */
const unsubscribeRequest = (partner: string, codes: string[]) =>
  signed(partner, envelopeHeader(partner, 'unsubscribe'), {
    transaction_id: uuidv7(),
    timestamp: new Date().toISOString(),
    subscription_codes: codes,
  });

describe('DCI async search, subscriptions and notifications', () => {
  it("acknowledges a search and posts the signed result to the partner's /registry/on-search", async () => {
    const brn = await registeredBirth();
    const transactionId = uuidv7();
    const request = await signed('social-protection', header('social-protection'), {
      transaction_id: transactionId,
      search_request: [byBrn(brn)],
    });
    expectValid(schemaOf('core', '/registry/search', 'request'), request);
    const response = await server.request('POST', '/dci/registry/search', { body: request });
    expect(response.status).toBe(200);
    const ack = (await response.json()) as SearchAnswer & { message: { ack_status: string } };
    expectValid(schemaOf('core', '/registry/search', 'response'), ack);
    expect(ack.message.ack_status).toBe('ACK');
    expect(await registrySigned(ack)).toBe(true);

    const callback = await callbackAt(receiver, '/registry/on-search', transactionId);
    const body = callback.json as unknown as SearchAnswer;
    expectValid(schemaOf('social', '/registry/on-search', 'request'), body);
    expect(await registrySigned(body)).toBe(true);
    expect(body.header.action).toBe('on-search');
    const [record] = body.message.search_response[0]?.data?.reg_records ?? [];
    expect(record?.identifier).toEqual([{ identifier_type: 'BRN', identifier_value: brn }]);
    expect(record).toHaveProperty('mother.firstName');
    expect(record).not.toHaveProperty('mother.nid');

    // The transaction's status, asked synchronously, gives the same answer.
    const status = await server.request('POST', '/dci/registry/sync/txn/status', {
      body: await signed('social-protection', envelopeHeader('social-protection', 'txn-status'), {
        transaction_id: uuidv7(),
        txnstatus_request: {
          reference_id: uuidv7(),
          txn_type: 'search',
          attribute_type: 'transaction_id',
          attribute_value: transactionId,
        },
      }),
    });
    expect(status.status).toBe(200);
    const txn = (await status.json()) as SearchAnswer & {
      message: { txnstatus_response: { txn_type: string; txn_status: SearchAnswer['message'] } };
    };
    // The social API's schema: its records are a list (the core API's RegistryRecord is one object).
    expectValid(schemaOf('social', '/registry/sync/txn/status', 'response'), txn);
    expect(await registrySigned(txn)).toBe(true);
    expect(txn.message.txnstatus_response.txn_type).toBe('search');
    expect(txn.message.txnstatus_response.txn_status.search_response[0]?.status).toBe('succ');
  });

  it("answers an async txn status by a signed /registry/txn/on-status, the sync status's answer", async () => {
    const brn = await registeredBirth();
    const transactionId = uuidv7();
    const search = await signed('social-protection', header('social-protection'), {
      transaction_id: transactionId,
      search_request: [byBrn(brn)],
    });
    expect((await server.request('POST', '/dci/registry/search', { body: search })).status).toBe(
      200,
    );
    await callbackAt(receiver, '/registry/on-search', transactionId);
    const statusRequest = (asked: string) =>
      signed('social-protection', envelopeHeader('social-protection', 'txn-status'), {
        transaction_id: uuidv7(),
        txnstatus_request: {
          reference_id: uuidv7(),
          txn_type: 'search',
          attribute_type: 'transaction_id',
          attribute_value: asked,
        },
      });
    type TxnAnswer = SearchAnswer & {
      message: {
        transaction_id: string;
        correlation_id: string;
        txnstatus_response: { txn_type: string; txn_status: SearchAnswer['message'] };
      };
    };

    const request = await statusRequest(transactionId);
    expectValid(schemaOf('core', '/registry/txn/status', 'request'), request);
    expectValid(schemaOf('social', '/registry/txn/status', 'request'), request);
    expectValid(
      ajv.getSchema('core#/components/schemas/TransactionId') as ValidateFunction,
      request.message.txnstatus_request.attribute_value,
    );
    const acked = await server.request('POST', '/dci/registry/txn/status', { body: request });
    expect(acked.status).toBe(200);
    const ack = (await acked.json()) as SearchAnswer & {
      message: { ack_status: string; correlation_id: string };
    };
    expectValid(schemaOf('core', '/registry/txn/status', 'response'), ack);
    expectValid(schemaOf('social', '/registry/txn/status', 'response'), ack);
    expect(await registrySigned(ack)).toBe(true);
    expect([ack.header.action, ack.message.ack_status]).toEqual(['txn-status', 'ACK']);

    const callback = await callbackAt(
      receiver,
      '/registry/txn/on-status',
      request.message.transaction_id,
    );
    const onStatus = callback.json as unknown as TxnAnswer;
    // The social API's schema: its records are a list (the core API's RegistryRecord is one object).
    expectValid(schemaOf('social', '/registry/txn/on-status', 'request'), onStatus);
    expect(await registrySigned(onStatus)).toBe(true);
    expect(onStatus.header).toMatchObject({
      action: 'txn-on-status',
      status: 'succ',
      sender_id: 'civil-registry',
      receiver_id: 'social-protection',
    });
    // The callback answers the acknowledged request, under the acknowledgement's correlation id.
    expect(onStatus.message.correlation_id).toBe(ack.message.correlation_id);
    const [record] = onStatus.message.txnstatus_response.txn_status.search_response[0]?.data
      ?.reg_records ?? [{}];
    expect(record?.identifier).toEqual([{ identifier_type: 'BRN', identifier_value: brn }]);

    // The same answer as the sync status gives.
    const sync = await server.request('POST', '/dci/registry/sync/txn/status', {
      body: await statusRequest(transactionId),
    });
    const syncAnswer = (await sync.json()) as TxnAnswer;
    expect(syncAnswer.header.status).toBe('succ');
    expect(onStatus.message.txnstatus_response).toEqual(syncAnswer.message.txnstatus_response);

    // A transaction the partner never made: rejected, by the callback too.
    const unknown = await statusRequest(uuidv7());
    expect(
      (await server.request('POST', '/dci/registry/txn/status', { body: unknown })).status,
    ).toBe(200);
    const rejected = await callbackAt(
      receiver,
      '/registry/txn/on-status',
      unknown.message.transaction_id,
    );
    const rejectedBody = rejected.json as unknown as TxnAnswer;
    expectValid(schemaOf('social', '/registry/txn/on-status', 'request'), rejectedBody);
    expect(rejectedBody.header.status).toBe('rjct');
    expect(rejectedBody.message.txnstatus_response.txn_status.search_response).toEqual([]);

    // A forged status request is refused before anything is queued.
    const forged = await signed(
      'passport-office',
      envelopeHeader('social-protection', 'txn-status'),
      request.message,
    );
    const refused = await server.request('POST', '/dci/registry/txn/status', { body: forged });
    expect(refused.status).toBe(401);
    expectValid(schemaOf('core', '/registry/txn/status', 'error'), await refused.json());
  });

  it('subscribes to births, notifies a new birth signed, and stops after unsubscribing', async () => {
    const request = await subscribeRequest('social-protection', ['LiveBirth']);
    const transactionId = request.message.transaction_id;
    expectValid(schemaOf('core', '/registry/subscribe', 'request'), request);
    const { ack, onSubscribe, codes } = await subscribe(request, receiver);
    expectValid(schemaOf('core', '/registry/subscribe', 'response'), ack);
    expect(await registrySigned(ack)).toBe(true);
    expectValid(schemaOf('core', '/registry/on-subscribe', 'request'), onSubscribe);
    expect(await registrySigned(onSubscribe)).toBe(true);
    const code = codes[0] as string;
    expect(code).toBeTruthy();

    // The partner fails the first notification: it is retried, and both attempts are audited.
    let refusedNotify = false;
    receiver.reply = (delivery) => {
      if (delivery.path === '/registry/notify' && !refusedNotify) {
        refusedNotify = true;
        return { status: 503, body: {} };
      }
      return { status: 200, body: {} };
    };
    const brn = await registeredBirth();
    const notified = await until(
      () =>
        receiver.of('/registry/notify').find((r) => {
          const events = (
            r.json.message as {
              notify_event: {
                data: { reg_records: { identifier: { identifier_value: string }[] } };
              }[];
            }
          ).notify_event;
          return events[0]?.data.reg_records.identifier.some((i) => i.identifier_value === brn);
        }),
      'notify',
    );
    const notify = notified.json as unknown as SearchAnswer & {
      message: {
        transaction_id: string;
        notify_event: { data: { reg_event_type: string; reg_records: Record<string, unknown> } }[];
      };
    };
    expectValid(schemaOf('core', '/registry/notify', 'request'), notify);
    expect(await registrySigned(notify)).toBe(true);
    expect(notify.message.transaction_id).toBe(transactionId);
    expect(notify.message.notify_event[0]?.data.reg_event_type).toBe('LiveBirth');
    expect(Object.keys(notify.message.notify_event[0]?.data.reg_records ?? {})).not.toContain(
      'informant.phone',
    );
    expect(refusedNotify).toBe(true);

    // Each notification sent is in the exchange audit: the partner, the subject, what of its
    // scope went out, and whether the partner took it (the refused attempt, then the retry).
    // (Waited for in the table: the audit's route is read once, below.)
    await eventually(async () => {
      const { rows } = await sql<{ n: string }>`
        SELECT count(*) AS n FROM exchange_audit WHERE purpose = 'dci.notify'
          AND subject_id = ${brn} AND fields->0->>'outcome' = 'given'`.execute(server.db);
      return Number(rows[0]?.n) > 0 ? true : undefined;
    }, 'the notification in the audit');
    const notifyAudit = (await auditOf(brn, 'social-protection')).filter(
      (r) => r.purpose === 'dci.notify',
    );
    // Both attempts are the same notification (the partner dedupes on the message id).
    const attempts = receiver
      .of('/registry/notify')
      .map((r) => (r.json.header as { message_id: string }).message_id);
    expect(attempts).toEqual([notify.header.message_id, notify.header.message_id]);
    expect(
      notifyAudit.map((r) => [r.consumer, r.subjectId, r.fields[0]?.outcome, r.fields[0]?.code]),
    ).toEqual([
      ['social-protection', brn, 'given', null],
      ['social-protection', brn, 'withheld', 'DCI_CALLBACK_FAILED'],
    ]);
    expect(notifyAudit[0]?.fields.map((f) => f.field)).toContain('birth.child.firstName');
    expect(notifyAudit[0]?.fields.map((f) => f.field)).not.toContain('birth.informant.phone');

    const unsubscribe = await unsubscribeRequest('social-protection', [code]);
    const unacked = await server.request('POST', '/dci/registry/unsubscribe', {
      body: unsubscribe,
    });
    expect(unacked.status).toBe(200);
    expectValid(schemaOf('core', '/registry/unsubscribe', 'response'), await unacked.json());
    const ended = await callbackAt(
      receiver,
      '/registry/on-unsubscribe',
      unsubscribe.message.transaction_id,
    );
    expect(await registrySigned(ended.json as unknown as SearchAnswer)).toBe(true);
    expect((ended.json.message as { subscription_status: unknown }).subscription_status).toEqual([
      { code, status: 'unsubscribe' },
    ]);
    // A birth registered now makes no notification (written with its entry, or not at all).
    const later = await registeredBirth();
    const { rows } = await sql<{ n: string }>`
      SELECT count(*) AS n FROM dci_callbacks WHERE kind = 'notify'
        AND payload->>'subscription' = ${code}`.execute(server.db);
    expect(Number(rows[0]?.n)).toBe(1);
    expect(later).not.toBe(brn);
    expect(
      (await auditOf(later, 'social-protection')).filter((r) => r.purpose === 'dci.notify'),
    ).toEqual([]);
  });
});

describe('DCI notifications and the consent of their subject', () => {
  const COLLECTOR = {
    relationship: 'mother',
    name: 'A. Banda',
    idType: 'NID',
    idNumber: '1234567890',
  };
  interface NotifyEvent {
    reference_id: string;
    data: {
      reg_event_type: string;
      reg_records: { identifier: { identifier_value: string }[] } & Record<string, unknown>;
    };
  }
  type NotifyAnswer = SearchAnswer & {
    message: { transaction_id: string; notify_event: NotifyEvent[] };
  };
  interface Notification {
    id: string;
    state: string;
    lastError: string | null;
    attempts: number;
    entryId: string;
  }
  /** The notifications of a subscription, as the outbox keeps them, oldest first. */
  const notificationsOf = async (code: string): Promise<Notification[]> =>
    (
      await sql<Notification>`
        SELECT id, state, last_error AS "lastError", attempts, payload->>'entryId' AS "entryId"
        FROM dci_callbacks WHERE kind = 'notify' AND payload->>'subscription' = ${code}
        ORDER BY created_at, id`.execute(server.db)
    ).rows;
  /** Waits until the subscription has `count` notifications and none of them is pending. */
  const settled = (code: string, count: number) =>
    eventually(async () => {
      const rows = await notificationsOf(code);
      return rows.length === count && rows.every((r) => r.state !== 'pending') ? rows : undefined;
    }, `${count} notification(s) of ${code} settled`);
  const print = (recordId: string, assign: boolean) =>
    new Device(server, registrar).push(
      ...(assign ? [action({ type: 'ASSIGN', recordId, assignee: registrar.user.id })] : []),
      action({
        type: 'PRINT_CERTIFICATE',
        recordId,
        annotation: { templateId: 'birth-certificate', collector: COLLECTOR },
      }),
    );

  it('sends a partner that needs consent only what a standing consent permits, and settles the rest', async () => {
    // The passport office (not an aggregate partner) subscribes to births and to certificates.
    const { onSubscribe, codes } = await subscribe(
      await subscribeRequest('passport-office', ['LiveBirth', 'CertificateIssued']),
      passportOffice,
    );
    expect(onSubscribe.message.subscribe_response.map((r) => r.status)).toEqual(['succ', 'succ']);
    const [birthCode, certificateCode] = codes;

    // Registered, the birth has no consent yet (its number is new): the notification is withheld.
    const { recordId, registrationNumber: brn } = await registerBirth();
    expect((await settled(birthCode as string, 1)).map((n) => [n.state, n.lastError])).toEqual([
      ['withheld', 'CONSENT_REQUIRED'],
    ]);

    // The citizen approves: the certificate's notification goes out, with the partner's scope.
    const consent = await approvedConsent(brn);
    expect((await print(recordId, true)).map((r) => r.outcome)).toEqual(['accepted', 'accepted']);
    const [sent] = await settled(certificateCode as string, 1);
    expect([sent?.state, sent?.lastError]).toEqual(['done', null]);
    const notified = passportOffice.of('/registry/notify');
    expect(notified.map((r) => (r.json.header as { message_id: string }).message_id)).toEqual([
      sent?.id,
    ]);
    const notify = notified[0]?.json as unknown as NotifyAnswer;
    expectValid(schemaOf('core', '/registry/notify', 'request'), notify);
    expect(await registrySigned(notify)).toBe(true);
    const event = notify.message.notify_event[0];
    expect(event?.data.reg_event_type).toBe('CertificateIssued');
    expect(event?.data.reg_records.identifier.map((i) => i.identifier_value)).toContain(brn);

    // The citizen revokes it from the portal, with their session.
    const revoked = await server.request('POST', `/api/v1/consents/${consent.id}/revoke`, {
      token: consent.session,
      body: { reason: 'I no longer want the passport office to know' },
    });
    expect(revoked.status).toBe(200);
    expect(((await revoked.json()) as { status: string }).status).toBe('revoked');

    // The next certificate: nothing of it reaches the partner, and it is settled, not retried.
    expect((await print(recordId, false)).map((r) => r.outcome)).toEqual(['accepted']);
    const [, withheld] = await settled(certificateCode as string, 2);
    expect([withheld?.state, withheld?.lastError, withheld?.attempts]).toEqual([
      'withheld',
      'CONSENT_REVOKED',
      0,
    ]);
    expect(passportOffice.of('/registry/notify')).toHaveLength(1);
    const key = `dci.notify:${withheld?.entryId}:CertificateIssued`;
    const job = await eventually(async () => {
      const { rows } = await sql<{ lastError: string | null }>`
        SELECT last_error AS "lastError" FROM graphile_worker.jobs WHERE key = ${key}`.execute(
        server.db,
      );
      return rows.length === 0 || rows.some((r) => r.lastError !== null) ? rows : undefined;
    }, 'the notification job finished or failed');
    expect(job).toEqual([]);

    // The audit has every notification, newest first: withheld with the consent's code, given
    // under the consent, withheld for want of one.
    const audit = (await auditOf(brn, 'passport-office')).filter((r) => r.purpose === 'dci.notify');
    expect(
      audit.map((r) => [
        r.consentId,
        [...new Set(r.fields.map((f) => `${f.outcome} ${f.code ?? ''}`.trim()))],
      ]),
    ).toEqual([
      [null, ['withheld CONSENT_REVOKED']],
      [consent.id, ['given']],
      [null, ['withheld CONSENT_REQUIRED']],
    ]);
    expect(audit[0]?.fields.map((f) => f.field)).toEqual([
      'birth.child.firstName',
      'birth.child.surname',
      'birth.child.dob',
      'birth.child.sex',
    ]);
    // The citizen sees it too, with who was refused what and why.
    const mine = await server.request('GET', '/api/v1/exchange/my-access', {
      token: consent.session,
    });
    expect(mine.status).toBe(200);
    const { results } = (await mine.json()) as { results: AuditRow[] };
    expect(
      results
        .filter((r) => r.purpose === 'dci.notify')
        .map((r) => [r.consumer, r.fields[0]?.outcome, r.fields[0]?.code]),
    ).toEqual([
      ['passport-office', 'withheld', 'CONSENT_REVOKED'],
      ['passport-office', 'given', null],
      ['passport-office', 'withheld', 'CONSENT_REQUIRED'],
    ]);
  });

  it('withholds a notification queued before its subscription ended: the partner asked for no more', async () => {
    const { codes } = await subscribe(
      await subscribeRequest('social-protection', ['LiveBirth']),
      receiver,
    );
    const code = codes[0] as string;

    // The partner is down: the next birth's notification waits, retried.
    receiver.reply = (delivery) =>
      delivery.path === '/registry/notify' ? { status: 503, body: {} } : { status: 200, body: {} };
    try {
      await registeredBirth();
      await eventually(async () => {
        const [notification] = await notificationsOf(code);
        return notification && notification.attempts >= 1 ? notification : undefined;
      }, 'a failed attempt');
      const unsubscribe = await unsubscribeRequest('social-protection', [code]);
      expect(
        (await server.request('POST', '/dci/registry/unsubscribe', { body: unsubscribe })).status,
      ).toBe(200);
      // Its next attempt sends nothing and settles it: no retrying a notification nobody wants.
      const [notification] = await settled(code, 1);
      expect([notification?.state, notification?.lastError]).toEqual([
        'withheld',
        'SUBSCRIPTION_ENDED',
      ]);
    } finally {
      receiver.reply = () => ({ status: 200, body: {} });
    }
  });
});
