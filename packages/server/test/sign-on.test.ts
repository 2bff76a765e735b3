import { sql } from 'kysely';
import type { Server } from 'node:http';
import Provider from 'oidc-provider';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignOn, type SignOnOptions } from '../src/services/sign-on.js';
import { expectProblem, PASSWORD, startTestServer, type TestServer } from './harness.js';
import { freePort } from './ports.js';

/**
 * Single sign-on (issue 14) against a real OpenID Connect provider that the test starts
 * (oidc-provider), whose people are below; the civil-registry example maps `groups` to a role and
 * `office` to an office.
 */
const PEOPLE: Record<string, Record<string, unknown>> = {
  'sub-ama': {
    preferred_username: 'ama.sso',
    name: 'Ama Mwale',
    groups: ['staff', 'registra-registrars'],
    office: 'ibombo-office',
  },
  'sub-no-role': {
    preferred_username: 'bupe.sso',
    name: 'Bupe Banda',
    groups: ['staff', 'finance'],
    office: 'ibombo-office',
  },
  'sub-no-office': {
    preferred_username: 'chanda.sso',
    name: 'Chanda Phiri',
    groups: ['registra-field-agents'],
    office: 'head-office-annex',
  },
  'sub-taken': {
    preferred_username: 'agent', // a password account of the example
    name: 'Someone Else',
    groups: ['registra-field-agents'],
    office: 'ibombo-office',
  },
};

const CLIENT_ID = 'registra';
const CLIENT_SECRET = 'registra-test-secret-0123456789abcdef';

let server: TestServer;
let providerServer: Server;
let issuer: string;
const options: SignOnOptions = {
  issuer: '',
  clientId: CLIENT_ID,
  clientSecret: CLIENT_SECRET,
  name: 'Farajaland ID',
  publicUrl: '',
};

beforeAll(async () => {
  server = await startTestServer('civil-registry', {
    signOn: (registry) => {
      const mapping = registry.config.document.singleSignOn;
      if (!mapping) throw new Error('the example maps no claims');
      return new SignOn(registry, options, mapping);
    },
  });
  options.publicUrl = server.url;
  const port = await freePort();
  issuer = `http://127.0.0.1:${port}`;
  options.issuer = issuer;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        redirect_uris: [`${server.url}/api/v1/auth/sign-on/callback`],
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
    ],
    pkce: { required: () => true, methods: ['S256'] },
    claims: { openid: ['sub'], profile: ['name', 'preferred_username', 'groups', 'office'] },
    findAccount: async (_ctx, id) =>
      PEOPLE[id] ? { accountId: id, claims: async () => ({ sub: id, ...PEOPLE[id] }) } : undefined,
    features: { devInteractions: { enabled: true } },
    cookies: { keys: ['a-test-cookie-key'] },
    ttl: { Interaction: 600, Session: 600, Grant: 600, AccessToken: 600, IdToken: 600 },
  });
  providerServer = (provider as unknown as { listen(p: number, h: string): Server }).listen(
    port,
    '127.0.0.1',
  );
  await new Promise<void>((resolve) => providerServer.on('listening', () => resolve()));
});
afterAll(async () => {
  await new Promise<void>((resolve) => providerServer.close(() => resolve()));
  await server.close();
});

/** A browser, as far as a sign-on needs: cookies per origin, redirects followed by hand. */
class Browser {
  readonly #cookies = new Map<string, Map<string, string>>();

  async go(url: string, init: RequestInit = {}): Promise<Response> {
    const origin = new URL(url).origin;
    const jar = this.#cookies.get(origin) ?? new Map<string, string>();
    this.#cookies.set(origin, jar);
    const response = await fetch(url, {
      ...init,
      redirect: 'manual',
      headers: {
        accept: 'text/html',
        ...(jar.size ? { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') } : {}),
        ...(init.headers as Record<string, string> | undefined),
      },
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const at = (pair ?? '').indexOf('=');
      jar.set((pair ?? '').slice(0, at), (pair ?? '').slice(at + 1));
    }
    return response;
  }

  /**
   * Signs on as `accountId`: from Registra's start to the redirect that leaves the provider's
   * pages, logging in and consenting on the provider's forms on the way. Returns where Registra
   * finally sends the browser.
   */
  async signOn(accountId: string): Promise<URL> {
    let response = await this.go(`${server.url}/api/v1/auth/sign-on/start`);
    for (let hops = 0; hops < 20; hops++) {
      const location = response.headers.get('location');
      const url = response.url;
      if (location) {
        const next = new URL(location, url);
        // Registra's answer to the callback: back to the web app.
        if (next.origin === server.url && !next.pathname.startsWith('/api/')) return next;
        response = await this.go(next.href);
        continue;
      }
      const html = await response.text();
      const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
      if (!action) throw new Error(`stuck at ${url}: ${response.status} ${html.slice(0, 300)}`);
      const form = new URLSearchParams();
      for (const [, name, value] of html.matchAll(/<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"/g))
        form.set(name as string, value as string);
      if (/name="login"/.test(html)) {
        form.set('login', accountId);
        form.set('password', 'anything');
      }
      response = await this.go(new URL(action, url).href, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: form.toString(),
      });
    }
    throw new Error('too many redirects');
  }
}

/** The web app's sign-on page's query: `/#/sign-on?code=…` or `?error=…&detail=…`. */
const outcome = (url: URL) => new URLSearchParams(url.hash.replace(/^#\/sign-on\??/, ''));

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
    expect(to.origin).toBe(issuer);
    expect(to.searchParams.get('code_challenge_method')).toBe('S256');
    expect(to.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(to.searchParams.get('state')).toBeTruthy();
    expect(to.searchParams.get('nonce')).toBeTruthy();
    expect(to.searchParams.get('redirect_uri')).toBe(`${server.url}/api/v1/auth/sign-on/callback`);
  });

  it('makes the user from the claims on first sign-on, and gives Registra’s own tokens', async () => {
    const before = await userCount();
    const landed = await new Browser().signOn('sub-ama');
    const code = outcome(landed).get('code');
    expect(code, landed.href).toMatch(/^[A-Za-z0-9_-]{43}$/);
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
    const again = outcome(await new Browser().signOn('sub-ama')).get('code');
    const second = (await (await redeem(again as string)).json()) as { user: { id: string } };
    expect(await userCount()).toBe(before + 1);
    expect(second.user.id).toBe(body.user.id);
    const { rows } = await sql<{ office_id: string }>`
      SELECT office_id FROM users WHERE username = 'ama.sso'`.execute(server.db);
    expect(rows).toEqual([{ office_id: 'isamba-office' }]);
  });

  it('refuses claims that map to no role, with the reason, and makes no user', async () => {
    const before = await userCount();
    const landed = await new Browser().signOn('sub-no-role');
    const refused = outcome(landed);
    expect(refused.get('code')).toBeNull();
    expect(refused.get('error')).toBe('ROLE_NOT_MAPPED');
    expect(refused.get('detail')).toBe('no role is configured for "groups" ["staff","finance"]');
    expect(await userCount()).toBe(before);
    const { rows } = await sql`SELECT 1 FROM users WHERE username = 'bupe.sso'`.execute(server.db);
    expect(rows).toEqual([]);
  });

  it('refuses an office that is not one, and a username a password account has', async () => {
    const before = await userCount();
    const office = outcome(await new Browser().signOn('sub-no-office'));
    expect(office.get('error')).toBe('OFFICE_NOT_MAPPED');
    expect(office.get('detail')).toContain('"head-office-annex" is not an office');
    const taken = outcome(await new Browser().signOn('sub-taken'));
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
