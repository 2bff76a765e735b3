import type { ActionResult } from '@registra/core';
import fc from 'fast-check';
import { exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';
import { sql } from 'kysely';
import net from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Worker } from 'node:worker_threads';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  action,
  BIRTH,
  declareBirth,
  Device,
  newId,
  PASSWORD,
  startTestServer,
  storedEntryIds,
  type Session,
  type TestServer,
} from '../packages/server/test/harness.js';

/**
 * Hostile traffic (issue: reliability suite): more than ten thousand generated malformed or
 * malicious requests against every endpoint. Whatever arrives, the server answers 4xx as
 * problem+json (or 2xx when the request happened to be valid), never 5xx; it stays up, its memory
 * stays bounded, and nothing stored changes except what valid requests were entitled to change.
 *
 * The seed is printed at the start; on failure, HOSTILE_SEED and HOSTILE_PATH (both printed)
 * replay the run. HOSTILE_REQUESTS=<n> sends more (or fewer) generated requests.
 */
const SEED = Number(process.env['HOSTILE_SEED'] ?? Date.now() % 2 ** 31);
const REPLAY_PATH = process.env['HOSTILE_PATH'];
const BATCH = 16; // requests in flight at once
const REQUESTS = Number(process.env['HOSTILE_REQUESTS'] ?? 10_240);
// The peak while 16 requests are in flight, each up to 8 MiB decompressed, across every route
// (certificates, queues, the directory, files, and the exchange's GraphQL and Cedar joined them):
// transient native memory, 516 MB in a loaded run. A leak shows on the heap after a full
// collection (HEAP_LEAK_BUDGET), which stays within a few MB.
const RSS_BUDGET = 640 * 1024 * 1024;
/** After a full garbage collection, what the run may leave behind on the JavaScript heap. */
const HEAP_LEAK_BUDGET = 64 * 1024 * 1024;

// A full collection on demand, to tell garbage not yet collected from memory still held.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

let server: TestServer;
const sessions: Record<'agent' | 'registrar' | 'supervisor' | 'far' | 'admin', Session> =
  {} as never;
/** Tokens that must never authenticate anyone, by kind. */
const forged: { kind: string; token: string }[] = [];
/** A record in the agent's reach and assigned to them: hostile writes may land there. */
let target = '';
/** A record of Ilanga, out of the agent's reach. */
let farRecord = '';
/** A device id that belongs to the agent: another user sending it gets DEVICE_CONFLICT. */
let agentDevice = '';
const NAMES = ["O'Brien", 'Nguyễn', '张伟'];
const named = new Map<string, { id: string; trackingId: string }>();
const USERNAMES = new Set(['agent', 'registrar', 'registrar2', 'supervisor', 'agent.far', 'admin']);

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

beforeAll(async () => {
  server = await startTestServer();
  sessions.agent = await server.login('agent');
  sessions.registrar = await server.login('registrar');
  sessions.supervisor = await server.login('supervisor');
  sessions.far = await server.login('agent.far');
  sessions.admin = await server.login('admin');

  // Births with names that break naive code: an apostrophe, a combining-heavy Vietnamese name, CJK.
  const device = new Device(server, sessions.agent);
  agentDevice = device.id;
  for (const name of NAMES) {
    const recordId = await declareBirth(device, {
      ...BIRTH,
      'child.surname': name,
      'mother.surname': name,
    });
    const response = await server.request('GET', `/api/v1/records/${recordId}`, {
      token: sessions.agent.token,
    });
    const { record } = (await response.json()) as { record: { trackingId: string } };
    named.set(name, { id: recordId, trackingId: record.trackingId });
  }
  target = newId();
  await device.push(action({ type: 'CREATE', recordId: target, recordType: 'birth' }));
  farRecord = newId();
  await new Device(server, sessions.far).push(
    action({ type: 'CREATE', recordId: farRecord, recordType: 'birth' }),
  );

  // A user who is deactivated: their still-unexpired access token must stop working.
  const created = await server.request('POST', '/api/v1/users', {
    token: sessions.admin.token,
    body: {
      username: 'hostile.gone',
      name: 'Gone',
      role: 'field-agent',
      officeId: 'ibombo-office',
      password: PASSWORD,
    },
  });
  expect(created.status).toBe(201);
  const gone = await server.login('hostile.gone');
  const deactivated = await server.request('POST', '/api/v1/users/hostile.gone/deactivate', {
    token: sessions.admin.token,
  });
  expect(deactivated.status).toBe(200);
  USERNAMES.add('hostile.gone');
  forged.push({ kind: 'deactivated user', token: gone.token });

  // Tokens made with the server's own key that must still be refused, and forgeries.
  const stored = await server.db
    .selectFrom('signing_keys')
    .select(['kid', 'private_jwk', 'public_jwk'])
    .executeTakeFirstOrThrow();
  const realKey = await importJWK(stored.private_jwk as JWK, 'ES256');
  const now = Math.floor(Date.now() / 1000);
  const claims = { role: 'national-admin', office: 'ibombo-office' };
  const real = (
    sub: string,
    tweak: (jwt: SignJWT) => SignJWT = (jwt) => jwt.setExpirationTime(now + 600),
  ) =>
    tweak(
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'ES256', kid: stored.kid })
        .setSubject(sub)
        .setIssuer('registra')
        .setAudience('registra-api')
        .setIssuedAt(now - 60),
    ).sign(realKey);
  const agentId = sessions.agent.user.id;
  forged.push(
    {
      kind: 'expired',
      token: await real(agentId, (j) => j.setIssuedAt(now - 3600).setExpirationTime(now - 1800)),
    },
    { kind: 'expired 2s ago', token: await real(agentId, (j) => j.setExpirationTime(now - 2)) },
    {
      kind: 'not yet valid',
      token: await real(agentId, (j) => j.setNotBefore(now + 3600).setExpirationTime(now + 7200)),
    },
    {
      kind: 'wrong issuer',
      token: await real(agentId, (j) => j.setIssuer('evil').setExpirationTime(now + 600)),
    },
    {
      kind: 'wrong audience',
      token: await real(agentId, (j) => j.setAudience('other').setExpirationTime(now + 600)),
    },
    { kind: 'unknown subject', token: await real(newId()) },
    { kind: 'path subject', token: await real('../../etc/passwd') },
    { kind: 'sql subject', token: await real("' OR 1=1 --") },
    { kind: 'nul subject', token: await real(`${agentId}\u0000`) },
  );
  const other = await generateKeyPair('ES256', { extractable: true });
  /** The admin's claims, valid for ten minutes, under this header, signed with this key. */
  const asAdmin = (
    header: Parameters<SignJWT['setProtectedHeader']>[0],
    key: Parameters<SignJWT['sign']>[0],
  ) =>
    new SignJWT(claims)
      .setProtectedHeader(header)
      .setSubject(sessions.admin.user.id)
      .setIssuer('registra')
      .setAudience('registra-api')
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(key);
  forged.push({
    kind: 'signed with another key',
    token: await asAdmin({ alg: 'ES256', kid: stored.kid }, other.privateKey),
  });
  const payload = {
    sub: sessions.admin.user.id,
    iss: 'registra',
    aud: 'registra-api',
    iat: now,
    exp: now + 600,
    ...claims,
  };
  forged.push(
    { kind: 'alg none', token: `${b64({ alg: 'none', typ: 'JWT' })}.${b64(payload)}.` },
    { kind: 'alg none, no dot', token: `${b64({ alg: 'none' })}.${b64(payload)}` },
    {
      // Algorithm confusion: HMAC keyed with the published public key.
      kind: 'HS256 with the public key',
      token: await asAdmin(
        { alg: 'HS256', kid: stored.kid },
        new TextEncoder().encode(JSON.stringify(stored.public_jwk)),
      ),
    },
    {
      kind: 'embedded jwk',
      token: await asAdmin(
        { alg: 'ES256', jwk: await exportJWK(other.publicKey) },
        other.privateKey,
      ),
    },
  );
  const [header, , signature] = sessions.agent.token.split('.');
  forged.push(
    { kind: 'tampered payload', token: `${header}.${b64(payload)}.${signature}` },
    { kind: 'truncated signature', token: sessions.agent.token.slice(0, -8) },
    { kind: 'extra segment', token: `${sessions.agent.token}.AAAA` },
    { kind: 'refresh token as access token', token: sessions.agent.refreshToken },
  );
}, 120_000);
afterAll(() => server?.close());

// ---------------------------------------------------------------------------------------------
// The requests: compact recipes, generated by fast-check, built into HTTP requests when sent.
// ---------------------------------------------------------------------------------------------

/** A value that stands for something big: built only when serialised, printed small. */
class Big {
  constructor(
    readonly kind: 'string' | 'array' | 'object' | 'deep-array' | 'deep-object',
    readonly size: number,
  ) {}
  toJSON(): unknown {
    switch (this.kind) {
      case 'string':
        return 'x'.repeat(this.size);
      case 'array':
        return new Array<number>(this.size).fill(7);
      case 'object':
        return Object.fromEntries(Array.from({ length: this.size }, (_, i) => [`k${i}`, i]));
      case 'deep-array': {
        let value: unknown = [];
        for (let i = 0; i < this.size; i++) value = [value];
        return value;
      }
      case 'deep-object': {
        let value: unknown = {};
        for (let i = 0; i < this.size; i++) value = { a: value };
        return value;
      }
    }
  }
  [fc.toStringMethod](): string {
    return `Big(${this.kind}, ${this.size})`;
  }
}

const META = [
  "' OR 1=1 --",
  "'; DROP TABLE entries; --",
  '" OR ""="',
  '1; SELECT pg_sleep(10)',
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>',
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udfffy\ud800',
  '${jndi:ldap://x/a}',
  '{{7*7}}',
  '%00',
  '%2e%2e%2f',
  '../../etc/passwd',
  '..\\..\\windows\\win.ini',
  '\r\nX-Injected: 1',
  'NaN',
  '-1',
  '1e309',
  '__proto__',
  'constructor',
  'prototype',
  '\u202eevil',
  '💥',
  '',
  ' ',
  'O\u0027Brien',
  '张伟',
];

const anyCharString = fc.string({
  unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
  maxLength: 30,
});
const hostileString = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(...META) },
  { weight: 2, arbitrary: anyCharString },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 1000, max: 100_000 }).map((n) => new Big('string', n)),
  },
);
/** A JSON value of the wrong type for almost any field. */
const wrongValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double(),
  fc.constantFrom(-1, 0, 1e308, -0, 2 ** 53, 2 ** 31),
  hostileString,
  fc.array(fc.oneof(fc.integer(), hostileString), { maxLength: 3 }),
  fc.dictionary(
    hostileString.filter((s): s is string => typeof s === 'string'),
    fc.integer(),
    {
      maxKeys: 3,
    },
  ),
  fc.constantFrom(
    new Big('array', 100_000),
    new Big('object', 2_000),
    new Big('deep-array', 50),
    new Big('deep-object', 60),
  ),
);

type TokenName = 'none' | 'agent' | 'registrar' | 'far' | 'admin';
const tokenOf = (name: TokenName) => (name === 'none' ? undefined : sessions[name].token);

/** A mutation of a valid body: the sender forgot a key, added one, or sent the wrong type. */
const mutation = fc.oneof(
  fc.record({ op: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('extra' as const), key: hostileString, value: wrongValue }),
  fc.record({ op: fc.constant('wrong' as const), at: fc.nat(), value: wrongValue }),
  fc.record({ op: fc.constant('whole' as const), value: wrongValue }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(body: Record<string, unknown>, mutations: Mutation[]): unknown {
  let value: unknown = body;
  for (const m of mutations) {
    if (m.op === 'whole') {
      value = m.value;
      continue;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Big)
      continue;
    const object = value as Record<string, unknown>;
    const keys = Object.keys(object);
    if (m.op === 'extra') {
      const key = typeof m.key === 'string' ? m.key : 'bigKey';
      // A JSON key "__proto__" is refused by the parser; as an own property it must stay one.
      Object.defineProperty(object, key, {
        value: m.value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    } else if (keys.length > 0) {
      const key = keys[m.at % keys.length] as string;
      if (m.op === 'delete') delete object[key];
      else object[key] = m.value;
    }
  }
  return value;
}

/** Bodies of the endpoints that take one, valid unless mutated. */
type BodyEndpoint = 'token' | 'sync' | 'actions' | 'users';
const BODY_PATHS: Record<BodyEndpoint, string> = {
  token: '/api/v1/auth/token',
  sync: '/api/v1/sync',
  actions: '/api/v1/actions',
  users: '/api/v1/users',
};

function validBody(endpoint: BodyEndpoint, grant = 0): Record<string, unknown> {
  switch (endpoint) {
    case 'token':
      return [
        { grant_type: 'refresh_token', refreshToken: 'not-a-refresh-token' },
        { grant_type: 'client_credentials', client_id: 'nobody', client_secret: 'x' },
        { grant_type: 'password', username: 'agent', password: 'not the password' },
      ][grant % 3] as Record<string, unknown>;
    case 'sync':
      return { deviceId: newId(), cursor: null, actions: [], limit: 5 };
    case 'actions':
      return { actions: [action({ type: 'UPDATE', recordId: newId(), declaration: {} })] };
    case 'users':
      return {
        username: `h${Math.random().toString(36).slice(2, 10)}`,
        name: 'Hostile',
        role: 'no-such-role',
        officeId: 'ibombo-office',
        password: 'long-enough-password',
      };
  }
}

const bodyEndpoint = fc.constantFrom<BodyEndpoint>('token', 'sync', 'actions', 'users');
/** Token for body endpoints: mostly one that gets past authentication, to reach validation. */
const bodyToken = (endpoint: BodyEndpoint) =>
  endpoint === 'users'
    ? fc.constantFrom<TokenName>('admin', 'admin', 'admin', 'agent')
    : fc.constantFrom<TokenName>('agent', 'agent', 'registrar', 'far', 'admin');

// Malicious actions inside otherwise valid sync or actions bodies.
const FIELD_VALUES: fc.Arbitrary<unknown> = fc.oneof(wrongValue, hostileString);
const declaration = fc.oneof(
  { weight: 1, arbitrary: fc.constant(new Big('object', 10_000)) }, // 10k unknown field ids
  {
    weight: 8,
    arbitrary: fc.dictionary(
      fc.constantFrom(
        'child.firstName',
        'child.surname',
        'child.dob',
        'child.sex',
        'child.weightAtBirth',
        'mother.nid',
        'child.placeOfBirth',
        'no.such.field',
        'constructor',
        'prototype',
        'toString',
        'hasOwnProperty',
        'valueOf',
        '__defineGetter__',
        '',
        'x'.repeat(129),
      ),
      FIELD_VALUES,
      { maxKeys: 6 },
    ),
  },
  {
    weight: 3,
    arbitrary: fc.record({ 'child.firstName': hostileString, 'child.surname': hostileString }),
  },
);
const maliciousAction = fc.record({
  type: fc.constantFrom(
    'CREATE',
    'DECLARE',
    'UPDATE',
    'NOTIFY',
    'REGISTER',
    'ASSIGN',
    'APPROVE',
    'CUSTOM',
    'DELETE',
    'create',
  ),
  on: fc.constantFrom('fresh', 'target', 'far', 'missing'),
  declaration,
  extra: fc.option(
    fc.record({
      key: fc.constantFrom('__proto__', 'constructor', 'isAdmin', 'seq', 'status', 'createdBy'),
      value: wrongValue,
    }),
    { nil: undefined },
  ),
  protoJson: fc.boolean(),
});
type MaliciousAction = typeof maliciousAction extends fc.Arbitrary<infer T> ? T : never;

function buildAction(m: MaliciousAction, deviceSeq: number | null): Record<string, unknown> {
  const recordId =
    m.on === 'fresh' ? newId() : m.on === 'target' ? target : m.on === 'far' ? farRecord : newId();
  const built: Record<string, unknown> = {
    ...action({ type: 'UPDATE', recordId }),
    type: m.type,
    declaration: m.declaration,
  };
  if (m.type === 'CREATE') built['recordType'] = 'birth';
  if (m.type === 'ASSIGN') built['assignee'] = sessions.agent.user.id;
  if (m.type === 'APPROVE') built['requestId'] = newId();
  if (m.type === 'CUSTOM') built['customType'] = 'X';
  if (deviceSeq !== null) built['deviceSeq'] = deviceSeq;
  if (m.extra) {
    Object.defineProperty(built, m.extra.key, {
      value: m.extra.value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return built;
}

const INVALID_UTF8 = [
  [0xff],
  [0xfe, 0xfe],
  [0xc3, 0x28],
  [0xa0, 0xa1],
  [0xe2, 0x28, 0xa1],
  [0xe2, 0x82],
  [0xf0, 0x28, 0x8c, 0xbc],
  [0xc0, 0xaf],
  [0xed, 0xa0, 0x80],
  [0xf4, 0x90, 0x80, 0x80],
  [0xf8, 0x88, 0x80, 0x80, 0x80],
  [0x00],
];

const QUERY_KEYS = [
  'type',
  'status',
  'flag',
  'q',
  'trackingId',
  'registrationNumber',
  'location',
  'assignedTo',
  'limit',
  'after',
];
const ABSURD_QUERY_VALUES = [
  '-1',
  '0',
  '1e309',
  '-1e309',
  'NaN',
  'Infinity',
  '201',
  '99999999999999999999999',
  '0x10',
  '1.5',
  ' 1',
  '',
  '%',
  '%zz',
  '%00',
  '%E0%A4%A',
  "'%20OR%201%3D1%20--",
  '%3Cscript%3E',
  'a'.repeat(300),
];
const afterValue = fc.oneof(
  fc.constantFrom(...ABSURD_QUERY_VALUES),
  fc.string({ maxLength: 40 }).map((s) => pct(s)),
  fc
    .tuple(
      fc.oneof(
        fc.constantFrom('1', '0', '-1', '1e400', 'NaN', '2026-13-45', '275760-09-14', '9999-12-31'),
        fc.string({ maxLength: 10 }),
        fc.integer(),
      ),
      fc.oneof(fc.uuid(), fc.constantFrom('0'.repeat(36), '-'.repeat(36), "' OR 1=1 --")),
    )
    .map((pair) => b64(pair)),
  fc.jsonValue({ maxDepth: 2 }).map((v) => b64(v)),
);

const PATH_IDS = [
  '../../etc/passwd',
  '..%2f..%2fetc%2fpasswd',
  '%2e%2e%2f%2e%2e%2fetc%2fpasswd',
  '%2e%2e',
  '..',
  '%00',
  'a%00b',
  '%E0%A4%A',
  '%',
  "'%20OR%201=1%20--",
  '%3Cscript%3E',
  '00000000-0000-0000-0000-000000000000',
  'ffffffff-ffff-ffff-ffff-ffffffffffff',
  '0193a000-0000-7000-8000-00000000000',
  '0193a000-0000-7000-8000-0000000000000',
  '{id}',
  ':id',
  '*',
  'null',
  'undefined',
  'agent%2f..',
  'x'.repeat(199),
  'x'.repeat(500),
];

const CONTENT_TYPES = [
  null,
  'text/plain',
  'text/html',
  'application/xml',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=xyz',
  'application/json; charset=utf-16',
  'application/json; charset=latin1',
  'application/jsonx',
  'application/*',
  '*/*',
  'application/octet-stream',
  'application/problem+json',
  'application/json;;;',
  'json',
  '',
];
const ENCODINGS = ['gzip', 'deflate', 'br', 'zstd', 'gzip, gzip', 'identity', 'x-garbage', 'GZIP'];

const GET_ENDPOINTS = [
  '/api/v1/me',
  '/api/v1/records',
  '/api/v1/config',
  '/api/v1/users',
  '/api/v1/users/directory',
  '/api/v1/workqueues',
  '/api/v1/workqueues/ready-to-print',
  '/api/v1/health',
  '/.well-known/jwks.json',
  '/metrics',
  '/api/v1/openapi.json',
];
/** What the protocol requires a token for (section 1). */
const PROTECTED: { method: string; path: () => string; body?: () => unknown }[] = [
  { method: 'GET', path: () => '/api/v1/me' },
  { method: 'POST', path: () => '/api/v1/sync', body: () => validBody('sync') },
  {
    method: 'POST',
    path: () => '/api/v1/actions',
    body: () => ({ actions: [action({ type: 'CREATE', recordId: newId(), recordType: 'birth' })] }),
  },
  { method: 'GET', path: () => '/api/v1/records?limit=5' },
  { method: 'GET', path: () => `/api/v1/records/${target}` },
  { method: 'GET', path: () => '/api/v1/config' },
  { method: 'GET', path: () => '/api/v1/users' },
  { method: 'GET', path: () => '/api/v1/users/directory' },
  { method: 'GET', path: () => '/api/v1/workqueues' },
  { method: 'GET', path: () => '/api/v1/workqueues/ready-to-print?limit=5' },
  {
    method: 'POST',
    path: () => '/api/v1/users',
    body: () => ({ ...validBody('users'), role: 'registrar' }),
  },
  { method: 'POST', path: () => '/api/v1/users/agent.far/deactivate' },
  { method: 'GET', path: () => '/metrics' },
  { method: 'GET', path: () => '/api/v1/openapi.json' },
];

interface Built {
  category: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer | string;
  /** The exact status the protocol demands, when the category determines it. */
  mustBe?: number[];
  /** Actions sent, for accounting what valid requests stored. */
  actions?: Map<string, { recordId: string; type: string }>;
}

function json(value: unknown): string {
  return JSON.stringify(value);
}

function withToken(name: TokenName, headers: Record<string, string> = {}): Record<string, string> {
  const token = tokenOf(name);
  return token ? { ...headers, authorization: `Bearer ${token}` } : headers;
}

function sentActions(body: unknown): Map<string, { recordId: string; type: string }> {
  const map = new Map<string, { recordId: string; type: string }>();
  const actions = (body as { actions?: unknown } | null)?.actions;
  if (Array.isArray(actions)) {
    for (const a of actions as Record<string, unknown>[]) {
      if (a && typeof a.id === 'string')
        map.set(a.id, { recordId: String(a.recordId), type: String(a.type) });
    }
  }
  return map;
}

function bodyRequest(
  category: string,
  endpoint: BodyEndpoint,
  token: TokenName,
  body: unknown,
  raw?: Buffer | string,
  headers: Record<string, string> = { 'content-type': 'application/json' },
): Built {
  return {
    category,
    method: 'POST',
    path: BODY_PATHS[endpoint],
    headers: withToken(token, headers),
    body: raw ?? json(body),
    actions: sentActions(body),
  };
}

const categories: { name: string; weight: number; arbitrary: fc.Arbitrary<() => Built> }[] = [
  {
    name: 'forged-token',
    weight: 10,
    arbitrary: fc
      .tuple(
        fc.nat({ max: PROTECTED.length - 1 }),
        fc.oneof(
          { weight: 3, arbitrary: fc.nat().map((i) => forged[i % forged.length]?.token ?? 'x') },
          {
            weight: 1,
            arbitrary: fc
              .array(fc.base64String({ minLength: 4, maxLength: 200 }), {
                minLength: 1,
                maxLength: 4,
              })
              .map((parts) => parts.join('.').replace(/[^A-Za-z0-9._~+/-]/g, '') || 'x'),
          },
        ),
      )
      .map(([i, token]) => () => {
        const target = PROTECTED[i] as (typeof PROTECTED)[number];
        const body = target.body?.();
        return {
          category: 'forged-token',
          method: target.method,
          path: target.path(),
          headers: {
            authorization: `Bearer ${token}`,
            ...(body ? { 'content-type': 'application/json' } : {}),
          },
          ...(body ? { body: json(body) } : {}),
          mustBe: [401],
        };
      }),
  },
  {
    name: 'bad-authorization-header',
    weight: 4,
    arbitrary: fc
      .tuple(
        fc.nat({ max: PROTECTED.length - 1 }),
        fc.oneof(
          fc.constantFrom(
            null,
            '',
            'Bearer',
            'Bearer ',
            'Bearer  x',
            'Basic YWdlbnQ6dGVzdC1wYXNzd29yZC0x',
            'Digest username="agent"',
            'Bearer null',
            'Bearer undefined',
            'Bearer a b',
          ),
          fc.string({ maxLength: 60 }).map((s) => s.replace(/[^\x20-\x7e]/g, '')),
          fc.constant('huge'),
        ),
      )
      .map(([i, header]) => () => {
        const target = PROTECTED[i] as (typeof PROTECTED)[number];
        const body = target.body?.();
        const headers: Record<string, string> = body ? { 'content-type': 'application/json' } : {};
        // A 100 kB header is refused by the HTTP parser itself (431): still problem+json.
        if (header === 'huge') headers['authorization'] = `Bearer ${'a'.repeat(100_000)}`;
        else if (header !== null) headers['authorization'] = header;
        return {
          category: 'bad-authorization-header',
          method: target.method,
          path: target.path(),
          headers,
          ...(body ? { body: json(body) } : {}),
          mustBe: header === 'huge' ? [431] : [401],
        };
      }),
  },
  {
    name: 'wrong-shape-body',
    weight: 14,
    arbitrary: bodyEndpoint.chain((endpoint) =>
      fc
        .tuple(bodyToken(endpoint), fc.nat(), fc.array(mutation, { minLength: 1, maxLength: 3 }))
        .map(([token, grant, mutations]) => () => {
          // Password grants cost a deliberate scrypt each: keep them to a trickle.
          const body = mutate(
            validBody(endpoint, endpoint === 'token' && grant % 10 === 0 ? 2 : grant % 2),
            mutations,
          );
          return bodyRequest('wrong-shape-body', endpoint, token, body);
        }),
    ),
  },
  {
    name: 'random-json-body',
    weight: 4,
    arbitrary: fc.tuple(bodyEndpoint, fc.jsonValue({ maxDepth: 4 })).map(
      ([endpoint, value]) =>
        () =>
          bodyRequest('random-json-body', endpoint, 'admin', value),
    ),
  },
  {
    name: 'huge-string',
    weight: 5,
    arbitrary: fc
      .tuple(bodyEndpoint, fc.nat(), fc.integer({ min: 50_000, max: 200_000 }))
      .map(([endpoint, at, size]) => () => {
        const body = mutate(validBody(endpoint, at % 2), [
          { op: 'wrong', at, value: new Big('string', size) },
        ]);
        return bodyRequest('huge-string', endpoint, endpoint === 'users' ? 'admin' : 'agent', body);
      }),
  },
  {
    name: 'huge-array',
    weight: 3,
    arbitrary: fc
      .tuple(
        fc.constantFrom('sync-actions', 'actions-actions', 'top-level', 'declaration'),
        fc.integer({ min: 1001, max: 5000 }),
      )
      .map(([where, size]) => () => {
        if (where === 'top-level')
          return bodyRequest('huge-array', 'sync', 'agent', new Big('array', size * 20));
        if (where === 'declaration') {
          const body = {
            actions: [
              action({
                type: 'CREATE',
                recordId: newId(),
                recordType: 'birth',
                declaration: { 'child.firstName': new Big('array', 100_000) as never },
              }),
            ],
          };
          return bodyRequest('huge-array', 'actions', 'agent', body);
        }
        const many = Array.from({ length: size }, (_, i) => ({
          id: newId(),
          deviceSeq: i + 1,
          x: 1,
        }));
        return where === 'sync-actions'
          ? bodyRequest('huge-array', 'sync', 'agent', { ...validBody('sync'), actions: many })
          : bodyRequest('huge-array', 'actions', 'agent', { actions: many });
      }),
  },
  {
    name: 'deep-nesting',
    weight: 4,
    arbitrary: fc
      .tuple(
        bodyEndpoint,
        fc.integer({ min: 65, max: 10_000 }),
        fc.constantFrom('[', '{"a":'),
        fc.constantFrom('top', 'inside', 'unclosed'),
        fc.boolean(),
      )
      .map(([endpoint, depth, open, where, gzip]) => () => {
        const close = open === '[' ? ']' : '}';
        const deep = open.repeat(depth) + (open === '[' ? '' : '1') + close.repeat(depth);
        let text: string;
        if (where === 'top') text = deep;
        else if (where === 'unclosed') text = open.repeat(depth);
        else {
          const valid = json(validBody(endpoint));
          text = `${valid.slice(0, -1)},"nested":${deep}}`;
        }
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (gzip) headers['content-encoding'] = 'gzip';
        return bodyRequest(
          'deep-nesting',
          endpoint,
          'admin',
          null,
          gzip ? gzipSync(text) : text,
          headers,
        );
      }),
  },
  {
    name: 'invalid-utf8',
    weight: 5,
    arbitrary: fc
      .tuple(
        bodyEndpoint,
        fc.nat(),
        fc.array(fc.nat({ max: INVALID_UTF8.length - 1 }), { minLength: 1, maxLength: 4 }),
        fc.boolean(),
      )
      .map(([endpoint, at, sequences, inString]) => () => {
        const body = validBody(endpoint, at % 2);
        const keys = Object.keys(body);
        const key = keys[at % keys.length] as string;
        body[key] = 'MARK';
        const text = json(body);
        const [before, after] = inString
          ? text.split('MARK')
          : [text.slice(0, text.indexOf('"MARK"')), text.slice(text.indexOf('"MARK"') + 6)];
        const bad = Buffer.from(sequences.flatMap((i) => INVALID_UTF8[i] as number[]));
        const raw = Buffer.concat([Buffer.from(before ?? ''), bad, Buffer.from(after ?? '')]);
        return bodyRequest(
          'invalid-utf8',
          endpoint,
          endpoint === 'users' ? 'admin' : 'agent',
          null,
          raw,
        );
      }),
  },
  {
    name: 'content-type',
    weight: 4,
    arbitrary: fc
      .tuple(bodyEndpoint, fc.constantFrom(...CONTENT_TYPES))
      .map(([endpoint, type]) => () => {
        const body = validBody(endpoint);
        return bodyRequest(
          'content-type',
          endpoint,
          endpoint === 'users' ? 'admin' : 'agent',
          body,
          json(body),
          type === null ? {} : { 'content-type': type },
        );
      }),
  },
  {
    name: 'truncated-json',
    weight: 4,
    arbitrary: fc
      .tuple(bodyEndpoint, fc.double({ min: 0, max: 0.999, noNaN: true }))
      .map(([endpoint, cut]) => () => {
        const text = json(
          endpoint === 'sync'
            ? {
                ...validBody('sync'),
                actions: [
                  {
                    ...action({ type: 'CREATE', recordId: newId(), recordType: 'birth' }),
                    deviceSeq: 1,
                  },
                ],
              }
            : validBody(endpoint),
        );
        return bodyRequest(
          'truncated-json',
          endpoint,
          endpoint === 'users' ? 'admin' : 'agent',
          null,
          text.slice(0, Math.floor(text.length * cut)),
        );
      }),
  },
  {
    name: 'content-encoding',
    weight: 5,
    arbitrary: fc
      .tuple(
        bodyEndpoint,
        fc.constantFrom(...ENCODINGS),
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }).map((bytes) => ({ kind: 'garbage' as const, bytes })),
          fc
            .double({ min: 0.1, max: 0.9, noNaN: true })
            .map((cut) => ({ kind: 'truncated' as const, cut })),
          fc.constant({ kind: 'bomb' as const }),
          fc.constant({ kind: 'mismatched' as const }),
        ),
      )
      .map(([endpoint, encoding, payload]) => () => {
        const valid = Buffer.from(json(validBody(endpoint)));
        let raw: Buffer;
        if (payload.kind === 'garbage') raw = Buffer.from(payload.bytes);
        else if (payload.kind === 'truncated') {
          const whole = gzipSync(valid);
          raw = whole.subarray(0, Math.floor(whole.length * payload.cut));
        } else if (payload.kind === 'bomb') {
          raw = bomb(encoding);
        } else raw = encoding === 'gzip' ? deflateSync(valid) : gzipSync(valid);
        return bodyRequest(
          'content-encoding',
          endpoint,
          endpoint === 'users' ? 'admin' : 'agent',
          null,
          raw,
          {
            'content-type': 'application/json',
            'content-encoding': encoding,
          },
        );
      }),
  },
  {
    name: 'metacharacters',
    weight: 10,
    arbitrary: fc
      .tuple(
        fc.constantFrom(
          'token-username',
          'token-refresh',
          'query',
          'users-body',
          'deactivate',
          'sync-declaration',
          'record-id',
        ),
        hostileString,
        fc.constantFrom(...QUERY_KEYS),
        fc.nat(),
      )
      .map(([where, raw, key, n]) => () => {
        const value = typeof raw === 'string' ? raw : 'x'.repeat(Math.min(raw.size, 100_000));
        switch (where) {
          case 'token-username':
            // Only one in five reaches scrypt; the rest are refused by validation first.
            return bodyRequest('metacharacters', 'token', 'none', {
              grant_type: 'password',
              username: value,
              password: n % 5 === 0 ? 'x' : '',
            });
          case 'token-refresh':
            return bodyRequest('metacharacters', 'token', 'none', {
              grant_type: 'refresh_token',
              refreshToken: value,
            });
          case 'query':
            return {
              category: 'metacharacters',
              method: 'GET',
              path: `/api/v1/records?${key}=${pct(value.slice(0, 4000))}`,
              headers: withToken('agent'),
            };
          case 'users-body':
            return bodyRequest('metacharacters', 'users', 'admin', {
              ...validBody('users'),
              ...[
                { username: value },
                { name: value },
                { role: value },
                { officeId: value },
                { password: value },
              ][n % 5],
            });
          case 'deactivate': {
            const name = pct(value.slice(0, 150));
            const safe = USERNAMES.has(value) || name === '' ? 'no-such-user' : name;
            return {
              category: 'metacharacters',
              method: 'POST',
              path: `/api/v1/users/${safe}/deactivate`,
              headers: withToken(n % 3 === 0 ? 'agent' : 'admin'),
            };
          }
          case 'sync-declaration': {
            const body = {
              ...validBody('sync'),
              actions: [
                {
                  ...action({
                    type: n % 2 === 0 ? 'CREATE' : 'UPDATE',
                    recordId: n % 2 === 0 ? newId() : target,
                    declaration: { 'child.firstName': value, [value.slice(0, 100) || 'k']: value },
                  }),
                  ...(n % 2 === 0 ? { recordType: 'birth' } : {}),
                  deviceSeq: 1,
                },
              ],
            };
            return bodyRequest('metacharacters', 'sync', 'agent', body);
          }
          default:
            return {
              category: 'metacharacters',
              method: 'GET',
              path: `/api/v1/records/${pct(value.slice(0, 150)) || '%20'}`,
              headers: withToken('agent'),
            };
        }
      }),
  },
  {
    name: 'path-id',
    weight: 6,
    arbitrary: fc
      .tuple(
        fc.oneof(fc.constantFrom(...PATH_IDS), fc.string({ minLength: 1, maxLength: 40 }).map(pct)),
        fc.constantFrom('record', 'deactivate'),
        fc.constantFrom<TokenName>('agent', 'admin', 'far'),
      )
      .map(([id, where, token]) => () => {
        const safe = USERNAMES.has(safeDecode(id)) ? 'no-such-user' : id;
        return {
          category: 'path-id',
          method: where === 'record' ? 'GET' : 'POST',
          path: where === 'record' ? `/api/v1/records/${safe}` : `/api/v1/users/${safe}/deactivate`,
          headers: withToken(token),
        };
      }),
  },
  {
    name: 'absurd-query',
    weight: 8,
    arbitrary: fc
      .array(
        fc.tuple(
          fc.oneof(
            fc.constantFrom(...QUERY_KEYS),
            fc.constantFrom('x', 'limit[]', 'a[b]', '__proto__', 'constructor'),
          ),
          fc.oneof(fc.constantFrom(...ABSURD_QUERY_VALUES), afterValue),
        ),
        { minLength: 1, maxLength: 4 },
      )
      .map((pairs) => () => ({
        category: 'absurd-query',
        method: 'GET',
        path: `/api/v1/records?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}`,
        headers: withToken('agent'),
      })),
  },
  {
    name: 'malicious-action',
    weight: 10,
    arbitrary: fc
      .tuple(
        fc.array(maliciousAction, { minLength: 1, maxLength: 3 }),
        fc.constantFrom('sync', 'actions'),
        fc.constantFrom<TokenName>('agent', 'agent', 'agent', 'registrar', 'far'),
      )
      .map(([actions, endpoint, token]) => () => {
        const built = actions.map((a, i) => buildAction(a, endpoint === 'sync' ? i + 1 : null));
        const body =
          endpoint === 'sync' ? { ...validBody('sync'), actions: built } : { actions: built };
        let text = json(body);
        // "__proto__" as a JSON key (what JSON.parse would turn into a prototype change).
        if (actions[0]?.protoJson)
          text = text.replace('"declaration":{', '"declaration":{"__proto__":{"isAdmin":true},');
        return bodyRequest('malicious-action', endpoint as BodyEndpoint, token, body, text);
      }),
  },
  {
    name: 'sync-envelope',
    weight: 5,
    arbitrary: fc
      .tuple(
        fc.oneof(
          fc
            .constantFrom(
              '99999999999999999999.99999999999999999999',
              '-1.-1',
              '0.0',
              '1.1',
              '1',
              '',
              'a.b',
              ' 1.1',
            )
            .map((c) => Buffer.from(c).toString('base64url')),
          fc.constantFrom('%%%', '!!!!', 'x'.repeat(200), 'x'.repeat(201), "' OR 1=1 --", '\u0000'),
          fc.string({ maxLength: 50 }),
        ),
        fc.constantFrom('cursor', 'seq-gap', 'non-contiguous', 'device-of-another', 'limit'),
        fc.integer({ min: -10, max: 10_000 }),
      )
      .map(([cursor, what, n]) => () => {
        const create = () => action({ type: 'CREATE', recordId: newId(), recordType: 'birth' });
        let body: Record<string, unknown>;
        let token: TokenName = 'agent';
        if (what === 'cursor') body = { ...validBody('sync'), cursor };
        else if (what === 'seq-gap')
          body = { ...validBody('sync'), actions: [{ ...create(), deviceSeq: Math.max(2, n) }] };
        else if (what === 'non-contiguous')
          body = {
            ...validBody('sync'),
            actions: [
              { ...create(), deviceSeq: 1 },
              { ...create(), deviceSeq: 1 + Math.max(2, n) },
            ],
          };
        else if (what === 'device-of-another') {
          body = {
            ...validBody('sync'),
            deviceId: agentDevice,
            actions: [{ ...create(), deviceSeq: 1 }],
          };
          token = 'registrar';
        } else body = { ...validBody('sync'), limit: n };
        return bodyRequest('sync-envelope', 'sync', token, body);
      }),
  },
  {
    name: 'wrong-method',
    weight: 3,
    arbitrary: fc
      .tuple(
        fc.constantFrom('PUT', 'DELETE', 'PATCH', 'OPTIONS', 'POST', 'GET', 'TRACE'),
        fc.constantFrom(
          ...GET_ENDPOINTS,
          '/api/v1/sync',
          '/api/v1/actions',
          '/api/v1/auth/token',
          `/api/v1/records/00000000-0000-0000-0000-000000000000`,
          '/api/v1/users/agent/deactivate',
          '/api/v2/sync',
          '/api/v1/',
          '/api/v1/records/',
          '/.well-known/',
        ),
      )
      .filter(([method, path]) => method !== 'TRACE' || path !== '')
      .map(([method, path]) => () => ({
        category: 'wrong-method',
        method: method === 'TRACE' ? 'PATCH' : method,
        path:
          path.endsWith('/deactivate') && method === 'POST'
            ? '/api/v1/users/no-such-user/deactivate'
            : path,
        headers: withToken('agent'),
      })),
  },
  {
    name: 'open-endpoints',
    weight: 4,
    arbitrary: fc
      .tuple(
        fc.constantFrom(
          '/api/v1/health',
          '/.well-known/jwks.json',
          '/metrics',
          '/api/v1/openapi.json',
          '/api/v1/config',
        ),
        fc.constantFrom(
          '',
          '?x=1',
          "?q=' OR 1=1 --",
          '?%00=%00',
          `?a=${'b'.repeat(5000)}`,
          '?__proto__[x]=1',
        ),
        fc.constantFrom<Record<string, string>>(
          {},
          { 'if-none-match': '*' },
          { 'if-none-match': '"garbage"' },
          { 'accept-encoding': 'br;q=2, gzip;q=-1, zstd, *;q=x' },
          { accept: 'application/xml' },
          { 'x-request-id': '../../etc/passwd' },
          { 'x-request-id': 'a'.repeat(1000) },
          { range: 'bytes=0-1' },
        ),
      )
      .map(([path, query, headers]) => () => ({
        category: 'open-endpoints',
        method: 'GET',
        path: path + query,
        headers: ['/api/v1/config', '/metrics', '/api/v1/openapi.json'].includes(path)
          ? withToken('agent', headers)
          : headers,
      })),
  },
];

/** Percent-encodes every byte of the UTF-8 form (unpaired surrogates become U+FFFD, as on the wire). */
function pct(s: string): string {
  return [...Buffer.from(s, 'utf8')]
    .map((b) =>
      /[A-Za-z0-9._~-]/.test(String.fromCharCode(b))
        ? String.fromCharCode(b)
        : `%${b.toString(16).padStart(2, '0').toUpperCase()}`,
    )
    .join('');
}

/** 12 MiB of JSON in a few kB: over the 8 MiB limit once decompressed. Made once. */
const bombs = new Map<string, Buffer>();
function bomb(encoding: string): Buffer {
  const kind = encoding === 'br' ? 'br' : encoding === 'deflate' ? 'deflate' : 'gzip';
  let made = bombs.get(kind);
  if (!made) {
    const big = Buffer.concat([
      Buffer.from('{"a":"'),
      Buffer.alloc(12 * 1024 * 1024, 0x61),
      Buffer.from('"}'),
    ]);
    made =
      kind === 'br'
        ? brotliCompressSync(big)
        : kind === 'deflate'
          ? deflateSync(big)
          : gzipSync(big);
    bombs.set(kind, made);
  }
  return made;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

const request = fc.oneof(...categories.map(({ weight, arbitrary }) => ({ weight, arbitrary })));

// ---------------------------------------------------------------------------------------------

interface Tally {
  byCategory: Map<string, number>;
  byStatus: Map<number, number>;
  /** Entries that valid requests stored: action id → record id. */
  stored: Map<string, string>;
  acceptedCreates: Set<string>;
  acceptedRegister: number;
  usersCreated: number;
  tokensIssued: number;
  syncDevices: number;
  slowest: { ms: number; what: string };
}

const PROBLEM_CODE = /^[A-Z][A-Z0-9_]*$/;

const bodyInit = (body: Buffer | string): string | Uint8Array<ArrayBuffer> =>
  typeof body === 'string' ? body : new Uint8Array(body);

async function send(built: Built, tally: Tally): Promise<void> {
  const started = performance.now();
  const what = `[${built.category}] ${built.method} ${built.path.slice(0, 160)}`;
  let response: Response;
  try {
    response = await fetch(server.url + built.path, {
      method: built.method,
      headers: built.headers,
      ...(built.body !== undefined ? { body: bodyInit(built.body) } : {}),
      redirect: 'manual',
      signal: AbortSignal.timeout(60_000),
    });
  } catch (error) {
    throw new Error(`${what}: no answer: ${String(error)}`, { cause: error });
  }
  const text = await response.text();
  const ms = performance.now() - started;
  if (ms > tally.slowest.ms) tally.slowest = { ms, what };
  const status = response.status;
  tally.byCategory.set(built.category, (tally.byCategory.get(built.category) ?? 0) + 1);
  tally.byStatus.set(status, (tally.byStatus.get(status) ?? 0) + 1);
  const fail = (why: string) =>
    new Error(`${what} → ${status}: ${why}\n  body: ${text.slice(0, 400)}`);

  if (status >= 500) throw fail('a server error');
  if (built.mustBe && !built.mustBe.includes(status)) throw fail(`expected ${built.mustBe}`);
  if (status >= 400) {
    const type = response.headers.get('content-type') ?? '';
    if (!type.startsWith('application/problem+json')) throw fail(`content-type ${type}`);
    let problem: Record<string, unknown>;
    try {
      problem = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw fail('the problem is not JSON');
    }
    if (
      typeof problem.type !== 'string' ||
      typeof problem.title !== 'string' ||
      typeof problem.detail !== 'string' ||
      typeof problem.code !== 'string' ||
      !PROBLEM_CODE.test(problem.code) ||
      problem.status !== status
    )
      throw fail('not a problem document {type,title,status,detail,code}');
    if (built.mustBe?.includes(401) && !['INVALID_TOKEN', 'UNAUTHENTICATED'].includes(problem.code))
      throw fail(`401 with code ${problem.code}`);
    return;
  }
  if (![200, 201, 304].includes(status)) throw fail('an unexpected success status');
  if (status === 201) tally.usersCreated += 1;
  if (built.path === '/api/v1/auth/token') tally.tokensIssued += 1;
  if (built.path.endsWith('/deactivate')) throw fail('deactivated a user');
  if (built.path === '/api/v1/sync') tally.syncDevices += 1;
  if ((built.path === '/api/v1/sync' || built.path === '/api/v1/actions') && status === 200) {
    const { results } = JSON.parse(text) as { results: ActionResult[] };
    for (const result of results) {
      const sent = built.actions?.get(result.id);
      if (result.seq === null || result.duplicate) continue;
      if (!sent) throw fail(`stored ${result.id}, which was not sent`);
      tally.stored.set(result.id, sent.recordId);
      if (result.outcome !== 'rejected' && sent.type === 'CREATE')
        tally.acceptedCreates.add(sent.recordId);
      if (result.outcome !== 'rejected' && sent.type === 'REGISTER') tally.acceptedRegister += 1;
    }
  }
}

interface Snapshot {
  records: Map<string, string>;
  users: Map<string, string>;
  entries: number;
  lastPos: string;
  refreshTokens: number;
  counters: string;
  signingKeys: number;
  devices: number;
}

async function snapshot(): Promise<Snapshot> {
  const { db } = server;
  const records = await sql<{ id: string; digest: string }>`
    SELECT id, md5(seq || ':' || status || ':' || state::text) AS digest FROM records`.execute(db);
  const users = await sql<{ id: string; digest: string }>`
    SELECT id, md5(username || name || role || office_id || kind || active || password_hash) AS digest
    FROM users`.execute(db);
  const entries = await sql<{ n: string; last: string | null }>`
    SELECT count(*) AS n, max(pos)::text AS last FROM entries`.execute(db);
  const one = async (query: ReturnType<typeof sql<{ v: string }>>) =>
    String((await query.execute(db)).rows[0]?.v ?? '');
  return {
    records: new Map(records.rows.map((r) => [r.id, r.digest])),
    users: new Map(users.rows.map((r) => [r.id, r.digest])),
    entries: Number(entries.rows[0]?.n),
    lastPos: entries.rows[0]?.last ?? '0',
    refreshTokens: Number(await one(sql<{ v: string }>`SELECT count(*) AS v FROM refresh_tokens`)),
    counters: await one(
      sql<{
        v: string;
      }>`SELECT coalesce(md5(string_agg(key || value, ',' ORDER BY key)), '') AS v FROM registration_counters`,
    ),
    signingKeys: Number(await one(sql<{ v: string }>`SELECT count(*) AS v FROM signing_keys`)),
    devices: Number(await one(sql<{ v: string }>`SELECT count(*) AS v FROM devices`)),
  };
}

describe('hostile traffic', () => {
  it(`answers ${REQUESTS}+ generated hostile requests with 4xx problem+json (or 2xx when valid), never 5xx`, async () => {
    console.log(`hostile: seed ${SEED} (replay with HOSTILE_SEED=${SEED})`);
    const before = await snapshot();
    const tally: Tally = {
      byCategory: new Map(),
      byStatus: new Map(),
      stored: new Map(),
      acceptedCreates: new Set(),
      acceptedRegister: 0,
      usersCreated: 0,
      tokensIssued: 0,
      syncDevices: 0,
      slowest: { ms: 0, what: '' },
    };

    // The server runs in this process: its memory is this process's memory.
    collectGarbage();
    const rssStart = process.memoryUsage().rss;
    const heapStart = process.memoryUsage().heapUsed;
    let rssMax = rssStart;
    let heapMax = heapStart;
    const sampler = setInterval(() => {
      const { rss, heapUsed } = process.memoryUsage();
      rssMax = Math.max(rssMax, rss);
      heapMax = Math.max(heapMax, heapUsed);
    }, 100);
    let batches = 0;
    const settled: number[] = [];
    const started = performance.now();
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.array(request, { minLength: BATCH, maxLength: BATCH }),
          async (batch) => {
            await Promise.all(batch.map((build) => send(build(), tally)));
            if (++batches % 80 === 0) {
              collectGarbage();
              settled.push(process.memoryUsage().rss);
            }
          },
        ),
        {
          seed: SEED,
          ...(REPLAY_PATH ? { path: REPLAY_PATH } : {}),
          numRuns: Math.ceil(REQUESTS / BATCH),
          endOnFailure: true,
          // The generated requests print as code; the error names the request that failed.
          reporter: (details) => {
            if (!details.failed) return;
            throw new Error(
              `hostile: failed with seed ${details.seed} (replay: HOSTILE_SEED=${details.seed} HOSTILE_PATH=${details.counterexamplePath}): ${String(details.errorInstance)}`,
              { cause: details.errorInstance },
            );
          },
        },
      );
    } finally {
      clearInterval(sampler);
    }
    const seconds = (performance.now() - started) / 1000;
    collectGarbage();
    const { rss: rssEnd, heapUsed: heapEnd } = process.memoryUsage();
    const sent = [...tally.byCategory.values()].reduce((a, b) => a + b, 0);
    const mb = (n: number) => `${(n / 1024 / 1024).toFixed(0)} MB`;
    console.log(
      [
        `hostile: ${sent} requests in ${seconds.toFixed(1)} s (${(sent / seconds).toFixed(0)}/s, ${BATCH} in flight), seed ${SEED}`,
        `  by category: ${[...tally.byCategory]
          .sort()
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}`,
        `  by status: ${[...tally.byStatus]
          .sort((a, b) => a[0] - b[0])
          .map(([k, v]) => `${k}×${v}`)
          .join(', ')}`,
        `  rss: start ${mb(rssStart)}, max ${mb(rssMax)} (+${mb(rssMax - rssStart)}), after a full collection every 80 batches ${settled.map(mb).join(', ')}, at the end ${mb(rssEnd)} (+${mb(rssEnd - rssStart)}); heap used: start ${mb(heapStart)}, max ${mb(heapMax)}, after a full collection at the end ${mb(heapEnd)}`,
        `  slowest: ${tally.slowest.ms.toFixed(0)} ms ${tally.slowest.what}`,
        `  valid requests' effects: ${tally.stored.size} entries stored (${tally.acceptedCreates.size} records created), ${tally.usersCreated} users created, ${tally.tokensIssued} tokens issued, ${tally.syncDevices} sync exchanges`,
      ].join('\n'),
    );
    expect(sent).toBeGreaterThanOrEqual(REQUESTS);
    expect(rssMax - rssStart).toBeLessThan(RSS_BUDGET);
    // RSS keeps some freed native memory (malloc arenas); a leak would show on the heap.
    expect(heapEnd - heapStart).toBeLessThan(HEAP_LEAK_BUDGET);

    // Still up.
    const health = await server.request('GET', '/api/v1/health');
    expect(health.status).toBe(200);
    const me = await server.request('GET', '/api/v1/me', { token: sessions.agent.token });
    expect(me.status).toBe(200);

    // Nothing stored changed but what valid requests were entitled to change.
    const after = await snapshot();
    const added = await server.db
      .selectFrom('entries')
      .select(['id', 'record_id', 'type', 'device_id'])
      .where(sql<boolean>`pos > ${before.lastPos}::bigint`)
      .execute();
    const touched = new Set(tally.stored.values());
    for (const entry of added) {
      // Every new entry is one a valid request was answered as storing, or the server's own
      // automatic UNASSIGN right after one.
      const known = tally.stored.get(entry.id) === entry.record_id;
      const automatic =
        entry.type === 'UNASSIGN' && entry.device_id === null && touched.has(entry.record_id);
      expect(known || automatic, `unexpected entry ${entry.id} ${entry.type}`).toBe(true);
    }
    expect(added.filter((e) => tally.stored.has(e.id)).length).toBe(tally.stored.size);
    expect(after.entries).toBe(before.entries + added.length);
    for (const [id, digest] of before.records) {
      if (!touched.has(id)) expect(after.records.get(id), `record ${id} changed`).toBe(digest);
    }
    const newRecords = [...after.records.keys()].filter((id) => !before.records.has(id));
    expect(new Set(newRecords)).toEqual(tally.acceptedCreates);
    for (const [id, digest] of before.users) {
      expect(after.users.get(id), `user ${id} changed`).toBe(digest);
    }
    expect(after.users.size).toBe(before.users.size + tally.usersCreated);
    expect(after.refreshTokens).toBe(before.refreshTokens + tally.tokensIssued);
    if (tally.acceptedRegister === 0) expect(after.counters).toBe(before.counters);
    expect(after.signingKeys).toBe(before.signingKeys);
    expect(after.devices - before.devices).toBeLessThanOrEqual(tally.syncDevices);
    console.log(
      `hostile: stored data: ${before.entries} → ${after.entries} entries, ${before.records.size} → ${after.records.size} records, ${before.users.size} → ${after.users.size} users, ${before.devices} → ${after.devices} devices`,
    );
  });

  it('refuses every forged, expired or revoked token on every protected endpoint with 401', async () => {
    let checked = 0;
    for (const { kind, token } of forged) {
      for (const target of PROTECTED) {
        const body = target.body?.();
        const response = await fetch(server.url + target.path(), {
          method: target.method,
          headers: {
            authorization: `Bearer ${token}`,
            ...(body ? { 'content-type': 'application/json' } : {}),
          },
          ...(body ? { body: json(body) } : {}),
        });
        expect(response.status, `${kind}: ${target.method} ${target.path()}`).toBe(401);
        expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
        checked += 1;
      }
    }
    console.log(
      `hostile: ${forged.length} kinds of forged token × ${PROTECTED.length} endpoints = ${checked} refused`,
    );
  });

  it('answers oversized bodies 413 and unreadable ones 4xx problem+json', async () => {
    const token = sessions.agent.token;
    const post = (body: Buffer | string, headers: Record<string, string> = {}) =>
      fetch(`${server.url}/api/v1/sync`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          ...headers,
        },
        body: bodyInit(body),
      });
    const nine = `{"a":"${'a'.repeat(9 * 1024 * 1024)}"}`;
    const plain = await post(nine);
    expect(plain.status).toBe(413);
    expect(await plain.json()).toMatchObject({ status: 413, code: 'PAYLOAD_TOO_LARGE' });
    const bomb = await post(gzipSync(nine), { 'content-encoding': 'gzip' });
    expect(bomb.status).toBe(413);
    expect(await bomb.json()).toMatchObject({ status: 413, code: 'PAYLOAD_TOO_LARGE' });
    const header = await fetch(`${server.url}/api/v1/me`, {
      headers: { authorization: `Bearer ${'a'.repeat(100_000)}` },
    });
    expect(header.status).toBe(431);
    expect(header.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await header.json()).toMatchObject({ status: 431 });
    const badUrl = await fetch(`${server.url}/api/v1/records/%E0%A4%A`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(badUrl.status).toBe(400);
    expect(await badUrl.json()).toMatchObject({ status: 400, code: 'INVALID_INPUT' });
  });

  it('keeps an action with a NUL or an unpaired surrogate to itself: rejected INVALID_INPUT, the rest of the batch goes on', async () => {
    const device = new Device(server, sessions.agent);
    const ok = newId();
    const results = await device.push(
      action({
        type: 'CREATE',
        recordId: newId(),
        recordType: 'birth',
        declaration: { 'child.firstName': 'a\u0000b' },
      }),
      action({
        type: 'CREATE',
        recordId: newId(),
        recordType: 'birth',
        declaration: { 'child.firstName': 'a\ud800b' },
      }),
      action({
        type: 'CREATE',
        recordId: newId(),
        recordType: 'birth',
        annotation: { 'no\u0000te': 'x' },
      }),
      // An unknown top-level key is named in the answer; its NUL must not break storing that.
      {
        ...action({ type: 'CREATE', recordId: newId(), recordType: 'birth' }),
        ...({ 'x\u0000\ud800': 1 } as object),
      },
      action({
        type: 'CREATE',
        recordId: ok,
        recordType: 'birth',
        declaration: { 'child.firstName': 'Ama' },
      }),
    );
    expect(results.map((r) => [r.outcome, r.code])).toEqual([
      ['rejected', 'INVALID_INPUT'],
      ['rejected', 'INVALID_INPUT'],
      ['rejected', 'INVALID_INPUT'],
      ['rejected', 'INVALID_INPUT'],
      ['accepted', null],
    ]);
  });

  it('refuses a cursor it never handed out before appending anything', async () => {
    for (const cursor of [
      '%%%',
      Buffer.from('99999999999999999999.1').toString('base64url'),
      Buffer.from('1.99999999999999999999').toString('base64url'),
    ]) {
      const recordId = newId();
      const response = await server.request('POST', '/api/v1/sync', {
        token: sessions.agent.token,
        body: {
          deviceId: newId(),
          cursor,
          actions: [{ ...action({ type: 'CREATE', recordId, recordType: 'birth' }), deviceSeq: 1 }],
        },
      });
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ code: 'INVALID_INPUT', status: 400 });
      expect(await storedEntryIds(server, recordId)).toEqual([]);
    }
  });

  it('keeps one agent from bloating a record for everyone: sizes capped, pages bounded by bytes', async () => {
    const MiB = 1024 * 1024;
    const ROUNDS = 4;
    const device = new Device(server, sessions.agent);
    const recordId = newId();
    await device.push(action({ type: 'CREATE', recordId, recordType: 'birth' }));
    collectGarbage();
    const heapBefore = process.memoryUsage().heapUsed;

    // The largest actions PROTOCOL 7 lets through, refused FORBIDDEN (the agent may not register)
    // and so stored whole as rejected entries: 200 a request, the most for one record.
    const note = (bytes: number) => ({ note: 'x'.repeat(bytes) });
    const send = async (annotation: Record<string, string>, count: number) => {
      const actions = device.stamp(
        Array.from({ length: count }, () => action({ type: 'REGISTER', recordId, annotation })),
      );
      const json = JSON.stringify({ deviceId: device.id, cursor: null, actions });
      const body = gzipSync(json);
      const response = await fetch(`${server.url}/api/v1/sync`, {
        method: 'POST',
        body: bodyInit(body),
        headers: {
          authorization: `Bearer ${sessions.agent.token}`,
          'content-type': 'application/json',
          'content-encoding': 'gzip',
        },
      });
      expect(response.status).toBe(200);
      const answer = (await response.json()) as { results: ActionResult[] };
      return { sent: json.length, wire: body.length, results: answer.results };
    };
    let sentBytes = 0;
    let wireBytes = 0;
    let stored = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const { sent, wire, results } = await send(note(16 * 1024 - 64), 200);
      sentBytes += sent;
      wireBytes += wire;
      stored += results.filter((r) => r.seq !== null).length;
      // The first FORBIDDEN, the rest DEPENDENCY_REJECTED (rule 4): all stored, in reach.
      expect(new Set(results.map((r) => r.code))).toEqual(
        new Set(['FORBIDDEN', 'DEPENDENCY_REJECTED']),
      );
    }
    // One byte past the annotation's limit: refused, stored nowhere.
    const over = await send(note(16 * 1024), 200);
    expect(over.results.every((r) => r.code === 'INVALID_INPUT' && r.seq === null)).toBe(true);
    const size = await sql<{ n: string; bytes: string }>`
      SELECT count(*) AS n, sum(pg_column_size(body)) AS bytes FROM entries
      WHERE record_id = ${recordId}::uuid`.execute(server.db);
    expect(Number(size.rows[0]?.n)).toBe(1 + stored);

    // Everyone who can see the record still syncs it, in pages of at most 4 MiB.
    const registrar = new Device(server, sessions.registrar);
    let pages = 0;
    let largest = 0;
    let pulled = 0;
    for (let more = true; more;) {
      const response = await registrar.post([], registrar.cursor, 5000);
      expect(response.status).toBe(200);
      const text = await response.text();
      const page = JSON.parse(text) as { changes: unknown[]; cursor: string; hasMore: boolean };
      registrar.cursor = page.cursor;
      more = page.hasMore;
      pulled += page.changes.length;
      pages += 1;
      largest = Math.max(largest, text.length);
    }
    expect(largest).toBeLessThanOrEqual(4 * MiB + 64 * 1024);
    expect(pulled).toBeGreaterThanOrEqual(1 + stored);

    // And reads the record, its log in pages bounded the same way.
    let logPages = 0;
    let logEntries = 0;
    let logLargest = 0;
    for (let after = 0, more = true; more; logPages++) {
      const response = await server.request(
        'GET',
        `/api/v1/records/${recordId}?entriesAfter=${after}`,
        { token: sessions.registrar.token },
      );
      expect(response.status).toBe(200);
      const text = await response.text();
      const page = JSON.parse(text) as { entries: { seq: number }[]; hasMoreEntries: boolean };
      logEntries += page.entries.length;
      logLargest = Math.max(logLargest, text.length);
      more = page.hasMoreEntries;
      after = page.entries[page.entries.length - 1]?.seq ?? after;
    }
    expect(logEntries).toBe(1 + stored);
    expect(logLargest).toBeLessThanOrEqual(4 * MiB + 64 * 1024);

    collectGarbage();
    const held = process.memoryUsage().heapUsed - heapBefore;
    expect(held).toBeLessThan(HEAP_LEAK_BUDGET);
    console.log(
      `hostile: bloat: sent ${ROUNDS} requests of 200 actions, ${(sentBytes / MiB).toFixed(1)} MiB ` +
        `(${(wireBytes / 1024).toFixed(0)} KiB gzip) within the limits, and one more of 200 one byte over; ` +
        `${stored} stored (${(Number(size.rows[0]?.bytes) / MiB).toFixed(1)} MiB), 200 refused; ` +
        `a registrar pulled ${pulled} entries in ${pages} pages (largest ${(largest / MiB).toFixed(2)} MiB) ` +
        `and read the log in ${logPages} pages (largest ${(logLargest / MiB).toFixed(2)} MiB); ` +
        `heap held ${(held / MiB).toFixed(1)} MiB`,
    );
  });

  it("stores O'Brien, Nguyễn and 张伟 byte-exact and finds them", async () => {
    const limitations: string[] = [];
    for (const name of NAMES) {
      const { id, trackingId } = named.get(name) as { id: string; trackingId: string };
      const response = await server.request('GET', `/api/v1/records/${id}`, {
        token: sessions.agent.token,
      });
      const { record } = (await response.json()) as {
        record: { declaration: Record<string, unknown> };
      };
      expect(record.declaration['child.surname']).toBe(name);
      const stored = await sql<{ bytes: Buffer }>`
        SELECT convert_to(state->'declaration'->>'child.surname', 'UTF8') AS bytes
        FROM records WHERE id = ${id}::uuid`.execute(server.db);
      expect(Buffer.from(stored.rows[0]?.bytes ?? []).equals(Buffer.from(name, 'utf8'))).toBe(true);

      const search = await server.request('GET', `/api/v1/records?q=${pct(name)}`, {
        token: sessions.agent.token,
      });
      expect(search.status).toBe(200);
      const found = ((await search.json()) as { results: { id: string }[] }).results.some(
        (r) => r.id === id,
      );
      if (!found) {
        // Only a name without any letter pg_trgm can index (CJK under the cluster's locale) may
        // miss; it must then be found by its tracking id, and the limitation is reported.
        expect(/\p{Script=Han}/u.test(name), `${name} not found by q`).toBe(true);
        const byTracking = await server.request('GET', `/api/v1/records?trackingId=${trackingId}`, {
          token: sessions.agent.token,
        });
        const results = ((await byTracking.json()) as { results: { id: string }[] }).results;
        expect(results.map((r) => r.id)).toEqual([id]);
        limitations.push(`${name}: not found by q (trigram search), found by trackingId`);
      }
    }
    console.log(
      `hostile: names: ${limitations.length === 0 ? 'all found by q' : limitations.join('; ')}`,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Phases against the limits of PROTOCOL 7, on a server of their own (its request timeout short).
// ---------------------------------------------------------------------------------------------

/** Devices syncing at once, and syncs each makes per round (two quiet, two flooded). */
const SYNC_DEVICES = 4;
const SYNCS_PER_DEVICE = Number(process.env['HOSTILE_SYNCS'] ?? 20);
/** Login requests in flight at once during the flood, from this many loopback addresses. */
const FLOOD_IN_FLIGHT = Number(process.env['HOSTILE_FLOOD_IN_FLIGHT'] ?? 128);
const FLOOD_ADDRESSES = 250;
/** Slow-body connections, and the phase server's request timeout. */
const SLOW_CONNECTIONS = Number(process.env['HOSTILE_SLOW_CONNECTIONS'] ?? 1000);
const PHASE_REQUEST_TIMEOUT = 2000;

const p95 = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.95) - 1)] ?? NaN;
};

/**
 * The login flood, on a thread of its own so that its own work does not slow the server's event
 * loop (they share this process): wrong passwords for real and made-up usernames, from loopback
 * addresses (Linux lets a client bind to any of 127/8), `inFlight` at a time, as fast as the
 * server answers, until told to stop; answers how many got each status.
 */
const FLOOD_WORKER = `
  const http = require('node:http');
  const { parentPort, workerData } = require('node:worker_threads');
  const { url, inFlight, addresses, usernames } = workerData;
  const { hostname, port } = new URL(url);
  const statuses = {};
  let sent = 0;
  let stopping = false;
  parentPort.on('message', () => { stopping = true; });
  const login = (from, username, password) => new Promise((resolve) => {
    const text = JSON.stringify({ grant_type: 'password', username, password });
    const request = http.request({ host: hostname, port, localAddress: from, method: 'POST',
      path: '/api/v1/auth/token', agent: false,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) } },
      (response) => { response.resume(); response.on('end', () => resolve(response.statusCode)); });
    request.on('error', () => resolve(0));
    request.end(text);
  });
  const loop = async (id) => {
    for (let i = 0; !stopping; i++) {
      const n = sent++;
      const a = n % addresses;
      const from = '127.0.' + (10 + (a >> 8)) + '.' + (1 + (a & 255));
      const username = n % 10 === 0 ? usernames[n % usernames.length] : 'flood-' + id + '-' + i;
      const status = await login(from, username, 'guess-' + n);
      statuses[status] = (statuses[status] || 0) + 1;
    }
  };
  Promise.all(Array.from({ length: inFlight }, (_, id) => loop(id)))
    .then(() => parentPort.postMessage({ sent, statuses }));
`;

function startFlood(url: string): {
  stop(): Promise<{ sent: number; statuses: Record<string, number> }>;
} {
  const worker = new Worker(FLOOD_WORKER, {
    eval: true,
    workerData: {
      url,
      inFlight: FLOOD_IN_FLIGHT,
      addresses: FLOOD_ADDRESSES,
      usernames: ['agent', 'registrar', 'registrar2', 'supervisor', 'agent.far', 'admin'],
    },
  });
  const done = new Promise<{ sent: number; statuses: Record<string, number> }>(
    (resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    },
  );
  return {
    stop: async () => {
      worker.postMessage('stop');
      const result = await done;
      await worker.terminate();
      return result;
    },
  };
}

describe('hostile phases: a login flood and slow bodies (PROTOCOL 7)', () => {
  let phase: TestServer;
  beforeAll(async () => {
    phase = await startTestServer('civil-registry', {
      app: { requestTimeout: PHASE_REQUEST_TIMEOUT },
    });
  }, 120_000);
  afterAll(() => phase?.close());

  /** Every device syncs SYNCS_PER_DEVICE times (a new record, gzip up and down); answers ms each. */
  async function syncRound(devices: Device[], statuses: Map<number, number>): Promise<number[]> {
    const durations: number[] = [];
    await Promise.all(
      devices.map(async (device) => {
        for (let i = 0; i < SYNCS_PER_DEVICE; i++) {
          const recordId = newId();
          const actions = device.stamp([
            action({ type: 'CREATE', recordId, recordType: 'birth' }),
            action({
              type: 'UPDATE',
              recordId,
              baseSeq: 1,
              declaration: { 'child.firstName': 'Ama' },
            }),
            action({
              type: 'UPDATE',
              recordId,
              baseSeq: 2,
              declaration: { 'child.surname': 'Banda' },
            }),
          ]);
          const body = { deviceId: device.id, cursor: device.cursor, actions, limit: 200 };
          const started = performance.now();
          const response = await fetch(`${phase.url}/api/v1/sync`, {
            method: 'POST',
            headers: {
              authorization: `Bearer ${device.session.token}`,
              'content-type': 'application/json',
              'content-encoding': 'gzip',
              'accept-encoding': 'gzip',
            },
            body: new Uint8Array(gzipSync(JSON.stringify(body))),
          });
          const answer = (await response.json()) as { cursor?: string };
          durations.push(performance.now() - started);
          statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
          if (response.status === 200) device.cursor = answer.cursor ?? device.cursor;
        }
      }),
    );
    return durations;
  }

  it('keeps devices syncing through a login flood (sync p95 quiet and during the flood)', async () => {
    const users = ['agent', 'registrar', 'registrar2', 'supervisor'];
    const devices: Device[] = [];
    for (let i = 0; i < SYNC_DEVICES; i++)
      devices.push(new Device(phase, await phase.login(users[i % users.length] as string)));
    const syncStatuses = new Map<number, number>();
    await syncRound(devices, new Map()); // warm up: connections, plans, the JIT
    // Quiet and flooded rounds alternate, so that the machine's other load weighs on both alike.
    const quiet: number[] = [];
    const flooded: number[] = [];
    const floodStatuses = new Map<number, number>();
    let sent = 0;
    for (let round = 0; round < 2; round++) {
      quiet.push(...(await syncRound(devices, syncStatuses)));
      const flood = startFlood(phase.url);
      // Let the flood fill the hashing queue before measuring.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      flooded.push(...(await syncRound(devices, syncStatuses)));
      const result = await flood.stop();
      sent += result.sent;
      for (const [status, n] of Object.entries(result.statuses))
        floodStatuses.set(Number(status), (floodStatuses.get(Number(status)) ?? 0) + n);
    }

    const quietP95 = p95(quiet);
    const floodP95 = p95(flooded);
    const tally = (m: Map<number, number>) =>
      [...m]
        .sort((a, b) => a[0] - b[0])
        .map(([k, v]) => `${k}×${v}`)
        .join(', ');
    console.log(
      [
        `hostile: login flood: ${sent} login requests (${FLOOD_IN_FLIGHT} in flight, ${FLOOD_ADDRESSES} addresses): ${tally(floodStatuses)}`,
        `  ${quiet.length + flooded.length} syncs by ${SYNC_DEVICES} devices (3 actions each, gzip both ways): ${tally(syncStatuses)}`,
        `  sync p95 quiet ${quietP95.toFixed(0)} ms, during the flood ${floodP95.toFixed(0)} ms: ratio ${(floodP95 / quietP95).toFixed(2)} (target ≤ 2)`,
      ].join('\n'),
    );
    expect([...syncStatuses.keys()]).toEqual([200]);
    // Every flood answer is a refusal: wrong password, throttled, or a full hashing queue.
    for (const status of floodStatuses.keys()) expect([401, 429, 503]).toContain(status);
    expect((await phase.request('GET', '/api/v1/health')).status).toBe(200);
  });

  it('answers slow-body connections 408 or closes them, and keeps answering health and sync', async () => {
    const { port } = new URL(phase.url);
    // Past the login throttle's windows: the flood may have locked this username out.
    phase.clock.offsetMs += 16 * 60_000;
    const session = await phase.login('registrar');
    const head =
      `POST /api/v1/sync HTTP/1.1\r\nHost: registra\r\nAuthorization: Bearer ${session.token}\r\n` +
      'Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"deviceId":';
    const outcome = { answered408: 0, closedSilently: 0, otherAnswer: 0 };
    const connections = await Promise.all(
      Array.from({ length: SLOW_CONNECTIONS }, async () => {
        const socket = net.connect(Number(port), '127.0.0.1');
        socket.on('error', () => undefined);
        await new Promise((resolve) => socket.once('connect', resolve));
        let received = '';
        socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
        socket.write(head);
        // A byte every 200 ms: never idle, never complete.
        const drip = setInterval(() => socket.writable && socket.write(' '), 200);
        return new Promise<void>((resolve) =>
          socket.once('close', () => {
            clearInterval(drip);
            if (received.startsWith('HTTP/1.1 408 ')) outcome.answered408 += 1;
            else if (received === '') outcome.closedSilently += 1;
            else outcome.otherAnswer += 1;
            resolve();
          }),
        );
      }),
    );
    // Meanwhile the server answers everyone else.
    const probes = { health: 0, sync: 0 };
    const device = new Device(phase, session);
    for (let i = 0; i < 10; i++) {
      expect((await fetch(`${phase.url}/api/v1/health`)).status).toBe(200);
      probes.health += 1;
      await device.sync();
      probes.sync += 1;
    }
    await Promise.all(connections);
    console.log(
      `hostile: slow bodies: ${SLOW_CONNECTIONS} connections sent headers and a body a byte every 200 ms: ${outcome.answered408} answered 408 and closed, ${outcome.closedSilently} closed, ${outcome.otherAnswer} answered otherwise; meanwhile ${probes.health} health checks and ${probes.sync} syncs answered 200`,
    );
    expect(outcome.otherAnswer).toBe(0);
    expect(outcome.answered408 + outcome.closedSilently).toBe(SLOW_CONNECTIONS);
    expect((await fetch(`${phase.url}/api/v1/health`)).status).toBe(200);
  });
});
