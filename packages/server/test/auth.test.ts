import {
  createLocalJWKSet,
  decodeProtectedHeader,
  generateKeyPair,
  importJWK,
  jwtVerify,
  SignJWT,
  type JSONWebKeySet,
  type JWK,
} from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addUser } from '../src/services/users.js';
import { expectProblem, PASSWORD, startTestServer, type TestServer } from './harness.js';

/**
 * PROTOCOL section 2 (authentication) and the status codes of section 1: 401 for a missing, expired
 * or forged token, 403 for a valid token lacking a permission.
 */

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

interface PublicUser {
  id: string;
  username: string;
  name: string;
  role: string;
  scopes: string[];
  officeId: string;
}

interface TokenResponse {
  accessToken: string;
  refreshToken: string;
  tokenType: string;
  expiresIn: number;
  user: PublicUser;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const AGENT_SCOPES = [
  'record.read',
  'record.create',
  'record.declare',
  'record.update',
  'record.assign',
];

const token = (body: unknown) => server.request('POST', '/api/v1/auth/token', { body });

async function grant(body: Record<string, string>): Promise<TokenResponse> {
  const response = await token(body);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  return (await response.json()) as TokenResponse;
}

const passwordGrant = (username: string, password = PASSWORD) =>
  grant({ grant_type: 'password', username, password });

const refresh = (refreshToken: string) =>
  token({ grant_type: 'refresh_token', refreshToken: refreshToken });

const me = (accessToken: string) => server.request('GET', '/api/v1/me', { token: accessToken });

async function jwks(): Promise<JSONWebKeySet> {
  const response = await server.request('GET', '/.well-known/jwks.json');
  expect(response.status).toBe(200);
  return (await response.json()) as JSONWebKeySet;
}

/** The server's own private signing key, as stored in `signing_keys`. */
async function serverKey(): Promise<{ kid: string; jwk: JWK }> {
  const row = await server.db
    .selectFrom('signing_keys')
    .select(['kid', 'private_jwk'])
    .orderBy('created_at', 'desc')
    .executeTakeFirstOrThrow();
  return { kid: row.kid, jwk: row.private_jwk as JWK };
}

/**
 * An access token with the server's claims for `userId`, signed with `key`; without `exp` when
 * `times.exp` is undefined. The test server names no deployment: its issuer is `registra`.
 */
function accessToken(
  userId: string,
  key: Parameters<SignJWT['sign']>[0],
  kid: string,
  times: { iat: number; exp: number | undefined },
  issuer = 'registra',
): Promise<string> {
  const jwt = new SignJWT({ role: 'field-agent', office: 'ibombo-office' })
    .setProtectedHeader({ alg: 'ES256', kid })
    .setSubject(userId)
    .setIssuer(issuer)
    .setAudience('registra-api')
    .setIssuedAt(times.iat);
  return (times.exp === undefined ? jwt : jwt.setExpirationTime(times.exp)).sign(key);
}

/** Creates a user through the admin API, so that tests that disable users touch nobody else. */
async function createUser(username: string, password: string): Promise<void> {
  const admin = await passwordGrant('admin');
  const response = await server.request('POST', '/api/v1/users', {
    token: admin.accessToken,
    body: {
      username,
      name: 'Temporary Person',
      role: 'field-agent',
      officeId: 'ibombo-office',
      password,
    },
  });
  expect(response.status).toBe(201);
}

describe('password grant', () => {
  it('answers 200 with a token pair and the public user', async () => {
    const body = await passwordGrant('agent');
    expect(Object.keys(body).sort()).toEqual([
      'accessToken',
      'expiresIn',
      'refreshToken',
      'tokenType',
      'user',
    ]);
    expect(body.tokenType).toBe('Bearer');
    expect(body.expiresIn).toBe(900);
    expect(body.accessToken).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(body.refreshToken).toMatch(/^[\w-]{20,}$/);
    expect(body.user).toEqual({
      id: expect.stringMatching(UUID) as unknown,
      username: 'agent',
      name: 'Kalusha Bwalya',
      role: 'field-agent',
      scopes: AGENT_SCOPES,
      officeId: 'ibombo-office',
    });
  });

  it('signs the access token with ES256, verifiable against /.well-known/jwks.json', async () => {
    const body = await passwordGrant('registrar');
    const keys = await jwks();
    expect(keys.keys).toHaveLength(1);
    const [published] = keys.keys;
    expect(published).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(published).not.toHaveProperty('d');

    const header = decodeProtectedHeader(body.accessToken);
    expect(header).toMatchObject({ alg: 'ES256', kid: published?.kid });
    const { payload } = await jwtVerify(body.accessToken, createLocalJWKSet(keys), {
      algorithms: ['ES256'],
    });
    expect(payload.sub).toBe(body.user.id);
    expect(payload['role']).toBe('registrar');
    expect(payload['office']).toBe('ibombo-office');
    expect(payload.iss).toBe('registra');
    expect(payload.aud).toBe('registra-api');
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(900);
    expect(Math.abs((payload.iat ?? 0) - Date.now() / 1000)).toBeLessThan(60);
  });

  it('answers 401 INVALID_CREDENTIALS to a wrong password and to an unknown user alike', async () => {
    const wrong = await expectProblem(
      await token({ grant_type: 'password', username: 'agent', password: 'not-the-password' }),
      401,
      'INVALID_CREDENTIALS',
    );
    const unknown = await expectProblem(
      await token({ grant_type: 'password', username: 'nobody-at-all', password: PASSWORD }),
      401,
      'INVALID_CREDENTIALS',
    );
    // The answer must not tell which of the two was wrong.
    expect(unknown.detail).toBe(wrong.detail);
    // Usernames are exact: no case folding into someone else's account.
    await expectProblem(
      await token({ grant_type: 'password', username: 'AGENT', password: PASSWORD }),
      401,
      'INVALID_CREDENTIALS',
    );
  });
});

describe('refresh_token grant: rotation', () => {
  it('answers a new pair, after which the old refresh token fails', async () => {
    const first = await passwordGrant('agent');
    const response = await refresh(first.refreshToken);
    expect(response.status).toBe(200);
    const second = (await response.json()) as TokenResponse;
    expect(second.tokenType).toBe('Bearer');
    expect(second.expiresIn).toBe(900);
    expect(second.user).toEqual(first.user);
    expect(second.refreshToken).not.toBe(first.refreshToken);
    expect(second.accessToken).not.toBe(first.accessToken);
    expect((await me(second.accessToken)).status).toBe(200);

    await expectProblem(await refresh(first.refreshToken), 401, 'INVALID_CREDENTIALS');
  });

  it('revokes the whole family when a used refresh token comes back', async () => {
    const login = await passwordGrant('agent');
    const second = (await (await refresh(login.refreshToken)).json()) as TokenResponse;
    const thirdResponse = await refresh(second.refreshToken);
    expect(thirdResponse.status).toBe(200);
    const third = (await thirdResponse.json()) as TokenResponse;

    // The first token, used already, is presented again: it leaked.
    await expectProblem(await refresh(login.refreshToken), 401, 'INVALID_CREDENTIALS');
    // The newest token of that family, never used, stops working too.
    await expectProblem(await refresh(third.refreshToken), 401, 'INVALID_CREDENTIALS');

    // Another login (another family) is unaffected.
    const other = await passwordGrant('agent');
    expect((await refresh(other.refreshToken)).status).toBe(200);
  });

  it('answers 401 to a refresh token it never issued', async () => {
    await expectProblem(
      await refresh('AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'),
      401,
      'INVALID_CREDENTIALS',
    );
  });

  it('does not take an access token as a refresh token', async () => {
    const login = await passwordGrant('agent');
    await expectProblem(await refresh(login.accessToken), 401, 'INVALID_CREDENTIALS');
  });
});

describe('client_credentials grant: machine clients', () => {
  const clientSecret = 'integration-secret-1';
  beforeAll(async () => {
    await addUser(server.registry, {
      username: 'hook-client',
      name: 'Business rules hook',
      role: 'registrar',
      officeId: 'ibombo-office',
      password: clientSecret,
      kind: 'client',
    });
  });

  it('answers 200 with a token pair for a machine client', async () => {
    const body = await grant({
      grant_type: 'client_credentials',
      client_id: 'hook-client',
      client_secret: clientSecret,
    });
    expect(body.tokenType).toBe('Bearer');
    expect(body.expiresIn).toBe(900);
    expect(body.user).toMatchObject({
      username: 'hook-client',
      name: 'Business rules hook',
      role: 'registrar',
      officeId: 'ibombo-office',
    });
    const response = await me(body.accessToken);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(body.user);
  });

  it("refuses a client's secret with the password grant", async () => {
    await expectProblem(
      await token({ grant_type: 'password', username: 'hook-client', password: clientSecret }),
      401,
      'INVALID_CREDENTIALS',
    );
  });

  it("refuses a person's password with client_credentials", async () => {
    await expectProblem(
      await token({
        grant_type: 'client_credentials',
        client_id: 'agent',
        client_secret: PASSWORD,
      }),
      401,
      'INVALID_CREDENTIALS',
    );
  });

  it('refuses a wrong client secret', async () => {
    await expectProblem(
      await token({
        grant_type: 'client_credentials',
        client_id: 'hook-client',
        client_secret: 'integration-secret-2',
      }),
      401,
      'INVALID_CREDENTIALS',
    );
  });
});

describe('GET /api/v1/me and the access token', () => {
  it('answers the user object of the token', async () => {
    const login = await passwordGrant('supervisor');
    const response = await me(login.accessToken);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(login.user);
    expect(login.user).toMatchObject({
      username: 'supervisor',
      role: 'supervisor',
      scopes: ['record.read', 'record.assign', 'record.reassign'],
    });
  });

  it('answers 401 without a token', async () => {
    await expectProblem(await server.request('GET', '/api/v1/me'), 401, 'UNAUTHENTICATED');
  });

  it.each([
    ['a Basic scheme', 'Basic YWdlbnQ6cGFzc3dvcmQ='],
    ['no token', 'Bearer'],
    ['an empty token', 'Bearer '],
    ['two tokens', 'Bearer a.b.c d.e.f'],
    ['a lower-case scheme and junk', 'bearer !!!'],
    ['a token without its scheme', 'eyJhbGciOiJFUzI1NiJ9.e30.c2ln'],
  ])('answers 401 to a malformed Authorization header: %s', async (_label, header) => {
    const response = await server.request('GET', '/api/v1/me', {
      headers: { authorization: header },
    });
    await expectProblem(response, 401, 'UNAUTHENTICATED');
  });

  it('answers 401 INVALID_TOKEN to a token that is not a JWT', async () => {
    await expectProblem(await me('not.a.jwt'), 401, 'INVALID_TOKEN');
  });

  it('answers 401 to a token signed with another ES256 key, even under the right kid', async () => {
    const { kid } = await serverKey();
    const user = (await passwordGrant('agent')).user;
    const { privateKey } = await generateKeyPair('ES256');
    const now = Math.floor(Date.now() / 1000);
    const forged = await accessToken(user.id, privateKey, kid, { iat: now, exp: now + 600 });
    await expectProblem(await me(forged), 401, 'INVALID_TOKEN');
  });

  it('answers 401 to a token whose payload was altered after signing', async () => {
    const login = await passwordGrant('agent');
    const admin = await passwordGrant('admin');
    const [header, , signature] = login.accessToken.split('.');
    const payload = Buffer.from(
      JSON.stringify({
        ...(JSON.parse(
          Buffer.from(login.accessToken.split('.')[1] ?? '', 'base64url').toString(),
        ) as Record<string, unknown>),
        sub: admin.user.id,
      }),
    ).toString('base64url');
    await expectProblem(await me(`${header}.${payload}.${signature}`), 401, 'INVALID_TOKEN');
  });

  it('answers 401 to an unsigned token (alg none) and to an HS256 token', async () => {
    const user = (await passwordGrant('agent')).user;
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      sub: user.id,
      role: 'field-agent',
      office: 'ibombo-office',
      iss: 'registra',
      aud: 'registra-api',
      iat: now,
      exp: now + 600,
    };
    const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    await expectProblem(
      await me(`${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`),
      401,
      'INVALID_TOKEN',
    );
    // HS256 keyed with the published public key: the classic algorithm confusion.
    const [published] = (await jwks()).keys;
    const secret = new TextEncoder().encode(JSON.stringify(published));
    const hs = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(secret);
    await expectProblem(await me(hs), 401, 'INVALID_TOKEN');
  });

  it("answers 401 to an expired token signed with the server's own key", async () => {
    const { kid, jwk } = await serverKey();
    const key = await importJWK(jwk, 'ES256');
    const user = (await passwordGrant('agent')).user;
    const now = Math.floor(Date.now() / 1000);

    // The same key and claims with a future expiry are accepted: only the expiry differs.
    const fresh = await accessToken(user.id, key, kid, { iat: now - 60, exp: now + 600 });
    expect((await me(fresh)).status).toBe(200);

    const expired = await accessToken(user.id, key, kid, { iat: now - 1000, exp: now - 100 });
    await expectProblem(await me(expired), 401, 'INVALID_TOKEN');
  });

  it("answers 401 to a token signed with the server's own key that has no exp", async () => {
    const { kid, jwk } = await serverKey();
    const key = await importJWK(jwk, 'ES256');
    const user = (await passwordGrant('agent')).user;
    const now = Math.floor(Date.now() / 1000);
    const forever = await accessToken(user.id, key, kid, { iat: now - 60, exp: undefined });
    await expectProblem(await me(forever), 401, 'INVALID_TOKEN');
  });

  it("answers 401 to a token signed with the server's own key for another issuer", async () => {
    const { kid, jwk } = await serverKey();
    const key = await importJWK(jwk, 'ES256');
    const user = (await passwordGrant('agent')).user;
    const now = Math.floor(Date.now() / 1000);
    const times = { iat: now - 60, exp: now + 600 };
    const elsewhere = await accessToken(user.id, key, kid, times, 'https://staging.example.org');
    await expectProblem(await me(elsewhere), 401, 'INVALID_TOKEN');
  });

  it('answers 401 to a well-signed token for a user that does not exist', async () => {
    const { kid, jwk } = await serverKey();
    const key = await importJWK(jwk, 'ES256');
    const now = Math.floor(Date.now() / 1000);
    const ghost = await accessToken('0193a000-0000-7000-8000-000000000000', key, kid, {
      iat: now,
      exp: now + 600,
    });
    await expectProblem(await me(ghost), 401, 'INVALID_TOKEN');
  });

  it('answers 403 FORBIDDEN to a valid token lacking the permission', async () => {
    const agent = await passwordGrant('agent');
    await expectProblem(
      await server.request('GET', '/api/v1/users', { token: agent.accessToken }),
      403,
      'FORBIDDEN',
    );
    await expectProblem(
      await server.request('POST', '/api/v1/users/agent.far/deactivate', {
        token: agent.accessToken,
      }),
      403,
      'FORBIDDEN',
    );
  });

  it('answers 401, not 403, to a missing token on a permission-guarded route', async () => {
    await expectProblem(await server.request('GET', '/api/v1/users'), 401, 'UNAUTHENTICATED');
  });
});

describe('deactivation', () => {
  it("stops a deactivated user's access and refresh tokens at once", async () => {
    await createUser('leaver', 'leaver-password-1');
    const session = await passwordGrant('leaver', 'leaver-password-1');
    expect((await me(session.accessToken)).status).toBe(200);
    // A second session whose refresh token has been rotated once: all of them must die.
    const other = await passwordGrant('leaver', 'leaver-password-1');
    const rotated = (await (await refresh(other.refreshToken)).json()) as TokenResponse;

    const admin = await passwordGrant('admin');
    const response = await server.request('POST', '/api/v1/users/leaver/deactivate', {
      token: admin.accessToken,
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ username: 'leaver', active: false });

    await expectProblem(await me(session.accessToken), 401, 'INVALID_TOKEN');
    await expectProblem(await me(rotated.accessToken), 401, 'INVALID_TOKEN');
    await expectProblem(await refresh(session.refreshToken), 401, 'INVALID_CREDENTIALS');
    await expectProblem(await refresh(rotated.refreshToken), 401, 'INVALID_CREDENTIALS');
    await expectProblem(
      await token({ grant_type: 'password', username: 'leaver', password: 'leaver-password-1' }),
      401,
      'INVALID_CREDENTIALS',
    );
  });
});

describe('malformed token requests: 400 INVALID_INPUT', () => {
  it.each<[string, unknown, string[]]>([
    ['an empty object', {}, ['body.grant_type']],
    ['a missing grant_type', { username: 'agent', password: PASSWORD }, ['body.grant_type']],
    [
      'an unknown grant_type',
      { grant_type: 'implicit', username: 'agent', password: PASSWORD },
      ['body.grant_type'],
    ],
    [
      'an extra key',
      { grant_type: 'password', username: 'agent', password: PASSWORD, scope: 'all' },
      ['body'],
    ],
    [
      'wrong types',
      { grant_type: 'password', username: 42, password: true },
      ['body.username', 'body.password'],
    ],
    ['a missing password', { grant_type: 'password', username: 'agent' }, ['body.password']],
    [
      'an empty password',
      { grant_type: 'password', username: 'agent', password: '' },
      ['body.password'],
    ],
    [
      'a numeric refresh token',
      { grant_type: 'refresh_token', refreshToken: 5 },
      ['body.refreshToken'],
    ],
    [
      'password fields with client_credentials',
      { grant_type: 'client_credentials', username: 'agent', password: PASSWORD },
      ['body.client_id', 'body.client_secret', 'body'],
    ],
    ['an array', [{ grant_type: 'password' }], ['body']],
    ['a string', 'password', ['body']],
    ['null', null, ['body']],
  ])('refuses %s', async (_label, body, paths) => {
    const response = await server.request('POST', '/api/v1/auth/token', {
      body: JSON.stringify(body),
    });
    const problem = await expectProblem(response, 400, 'INVALID_INPUT');
    expect(problem.errors?.map((e) => e.path).sort()).toEqual([...paths].sort());
    for (const error of problem.errors ?? []) expect(error.message).not.toBe('');
  });

  it('names the unknown key in the message', async () => {
    const problem = await expectProblem(
      await token({ grant_type: 'password', username: 'agent', password: PASSWORD, scope: 'x' }),
      400,
      'INVALID_INPUT',
    );
    expect(problem.errors?.[0]?.message).toContain('scope');
  });
});
