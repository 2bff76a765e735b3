import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectProblem, PASSWORD, startTestServer, type TestServer } from './harness.js';
import { PEOPLE, signOnAs, testProvider, type TestProvider } from './oidc.js';

/**
 * Single sign-on (issue 14) against a real OpenID Connect provider that the test starts
 * (oidc-provider; see oidc.ts for its people and the browser that signs on).
 */
let server: TestServer;
let provider: TestProvider;

beforeAll(async () => {
  provider = testProvider();
  server = await startTestServer('civil-registry', { signOn: provider.signOn });
  await provider.start(server.url);
});
afterAll(async () => {
  await provider.close();
  await server.close();
});

async function redeem(code: string): Promise<Response> {
  return server.request('POST', '/api/v1/auth/token', {
    body: { grant_type: 'sign_on_code', code },
  });
}

const userCount = async () =>
  Number((await sql<{ n: string }>`SELECT count(*) AS n FROM users`.execute(server.db)).rows[0]?.n);

describe('single sign-on with an OpenID Connect provider', () => {
  it('tells the login screen the provider’s name', async () => {
    const response = await server.request('GET', '/api/v1/auth/sign-on');
    expect(await response.json()).toEqual({
      enabled: true,
      name: 'Farajaland ID',
      start: '/api/v1/auth/sign-on/start',
    });
  });

  it('starts with PKCE (S256), a state and a nonce', async () => {
    const response = await fetch(`${server.url}/api/v1/auth/sign-on/start`, {
      redirect: 'manual',
    });
    expect(response.status).toBe(302);
    const to = new URL(response.headers.get('location') ?? '');
    expect(to.origin).toBe(provider.issuer);
    expect(to.searchParams.get('code_challenge_method')).toBe('S256');
    expect(to.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(to.searchParams.get('state')).toBeTruthy();
    expect(to.searchParams.get('nonce')).toBeTruthy();
    expect(to.searchParams.get('redirect_uri')).toBe(`${server.url}/api/v1/auth/sign-on/callback`);
  });

  it('makes the user from the claims on first sign-on, and gives Registra’s own tokens', async () => {
    const before = await userCount();
    const landed = await signOnAs(server.url, 'sub-ama');
    const code = landed.get('code');
    expect(code, landed.toString()).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await userCount()).toBe(before + 1);

    const response = await redeem(code as string);
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      accessToken: string;
      refreshToken: string;
      user: { id: string; username: string; name: string; role: string; officeId: string };
    };
    expect(body.user).toMatchObject({
      username: 'ama.sso',
      name: 'Ama Mwale',
      role: 'registrar',
      officeId: 'ibombo-office',
    });
    // Registra's token, as after a password login: /me, and a refresh that rotates.
    const me = await server.request('GET', '/api/v1/me', { token: body.accessToken });
    expect(await me.json()).toMatchObject({ username: 'ama.sso', role: 'registrar' });
    const refreshed = await server.request('POST', '/api/v1/auth/token', {
      body: { grant_type: 'refresh_token', refreshToken: body.refreshToken },
    });
    expect(refreshed.status).toBe(200);

    // The code works once.
    await expectProblem(await redeem(code as string), 401, 'INVALID_CREDENTIALS');
    // The account has no password: a password login cannot reach it.
    await expectProblem(
      await server.request('POST', '/api/v1/auth/token', {
        body: { grant_type: 'password', username: 'ama.sso', password: '!sign-on' },
      }),
      401,
      'INVALID_CREDENTIALS',
    );

    // Signing on again finds the same user, kept to what the provider now says.
    (PEOPLE['sub-ama'] as Record<string, unknown>)['office'] = 'isamba-office';
    const again = (await signOnAs(server.url, 'sub-ama')).get('code');
    const second = (await (await redeem(again as string)).json()) as { user: { id: string } };
    expect(await userCount()).toBe(before + 1);
    expect(second.user.id).toBe(body.user.id);
    const { rows } = await sql<{ office_id: string }>`
      SELECT office_id FROM users WHERE username = 'ama.sso'`.execute(server.db);
    expect(rows).toEqual([{ office_id: 'isamba-office' }]);
  });

  it('refuses claims that map to no role, with the reason, and makes no user', async () => {
    const before = await userCount();
    const refused = await signOnAs(server.url, 'sub-no-role');
    expect(refused.get('code')).toBeNull();
    expect(refused.get('error')).toBe('ROLE_NOT_MAPPED');
    expect(refused.get('detail')).toBe('no role is configured for "groups" ["staff","finance"]');
    expect(await userCount()).toBe(before);
    const { rows } = await sql`SELECT 1 FROM users WHERE username = 'bupe.sso'`.execute(server.db);
    expect(rows).toEqual([]);
  });

  it('refuses an office that is not one, and a username a password account has', async () => {
    const before = await userCount();
    const office = await signOnAs(server.url, 'sub-no-office');
    expect(office.get('error')).toBe('OFFICE_NOT_MAPPED');
    expect(office.get('detail')).toContain('"head-office-annex" is not an office');
    const taken = await signOnAs(server.url, 'sub-taken');
    expect(taken.get('error')).toBe('USERNAME_TAKEN');
    expect(await userCount()).toBe(before);
    // The password account is untouched and still logs in.
    const { rows } = await sql<{ role: string; name: string }>`
      SELECT role, name FROM users WHERE username = 'agent'`.execute(server.db);
    expect(rows[0]?.role).toBe('field-agent');
    expect(rows[0]?.name).not.toBe('Someone Else');
    await server.login('agent', PASSWORD);
  });

  it('answers a caller that is not a browser with problem+json: a replayed or forged state', async () => {
    const forged = await server.request(
      'GET',
      '/api/v1/auth/sign-on/callback?code=abc&state=not-a-state',
      { headers: { accept: 'application/json' } },
    );
    await expectProblem(forged, 400, 'SIGN_ON_EXPIRED');
    await expectProblem(await redeem('not-a-code'), 401, 'INVALID_CREDENTIALS');
  });
});

describe('without a provider', () => {
  it('offers no sign-on', async () => {
    const plain = await startTestServer();
    try {
      const response = await plain.request('GET', '/api/v1/auth/sign-on');
      expect(await response.json()).toEqual({ enabled: false });
      const start = await plain.request('GET', '/api/v1/auth/sign-on/start');
      await expectProblem(start, 404, 'NOT_FOUND');
    } finally {
      await plain.close();
    }
  });
});
