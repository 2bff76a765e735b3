import type { Server } from 'node:http';
import Provider from 'oidc-provider';
import { SignOn, type SignOnOptions } from '../src/services/sign-on.js';
import type { Registry } from '../src/services/context.js';
import { freePort } from './ports.js';

/**
 * A real OpenID Connect provider for tests (oidc-provider, with its development login form),
 * whose people are below, and a browser that signs on through it. The civil-registry example
 * maps `groups` to a role and `office` to an office.
 */
export const PEOPLE: Record<string, Record<string, unknown>> = {
  'sub-ama': {
    preferred_username: 'ama.sso',
    name: 'Ama Mwale',
    groups: ['staff', 'registra-registrars'],
    office: 'ibombo-office',
  },
  'sub-agent': {
    preferred_username: 'daliso.sso',
    name: 'Daliso Zulu',
    groups: ['registra-field-agents'],
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

export interface TestProvider {
  issuer: string;
  /** Registra's end of it, for startTestServer's `signOn`; knows the server's URL once set. */
  signOn(registry: Registry): SignOn;
  /** Starts the provider, once Registra's URL (its redirect URI) is known. */
  start(registraUrl: string): Promise<void>;
  close(): Promise<void>;
}

export function testProvider(): TestProvider {
  const options: SignOnOptions = {
    issuer: '',
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    name: 'Farajaland ID',
    publicUrl: '',
  };
  let listening: Server | null = null;
  const provider: TestProvider = {
    issuer: '',
    signOn: (registry) => {
      const mapping = registry.config.document.singleSignOn;
      if (!mapping) throw new Error('the configuration maps no claims');
      return new SignOn(registry, options, mapping);
    },
    start: async (registraUrl) => {
      const port = await freePort();
      const issuer = `http://127.0.0.1:${port}`;
      provider.issuer = issuer;
      options.issuer = issuer;
      options.publicUrl = registraUrl;
      const oidc = new Provider(issuer, {
        clients: [
          {
            client_id: CLIENT_ID,
            client_secret: CLIENT_SECRET,
            redirect_uris: [`${registraUrl}/api/v1/auth/sign-on/callback`],
            grant_types: ['authorization_code'],
            response_types: ['code'],
          },
        ],
        pkce: { required: () => true, methods: ['S256'] },
        claims: { openid: ['sub'], profile: ['name', 'preferred_username', 'groups', 'office'] },
        findAccount: async (_ctx, id) =>
          PEOPLE[id]
            ? { accountId: id, claims: async () => ({ sub: id, ...PEOPLE[id] }) }
            : undefined,
        features: { devInteractions: { enabled: true } },
        cookies: { keys: ['a-test-cookie-key'] },
        ttl: { Interaction: 600, Session: 600, Grant: 600, AccessToken: 600, IdToken: 600 },
      });
      const server = oidc.listen(port, '127.0.0.1');
      listening = server;
      await new Promise<void>((resolve) => server.on('listening', () => resolve()));
    },
    close: () =>
      new Promise<void>((resolve) => (listening ? listening.close(() => resolve()) : resolve())),
  };
  return provider;
}

export /** A browser, as far as a sign-on needs: cookies per origin, redirects followed by hand. */
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
  async signOn(registraUrl: string, accountId: string): Promise<URL> {
    let response = await this.go(`${registraUrl}/api/v1/auth/sign-on/start`);
    for (let hops = 0; hops < 20; hops++) {
      const location = response.headers.get('location');
      const url = response.url;
      if (location) {
        const next = new URL(location, url);
        // Registra's answer to the callback: back to the web app.
        if (next.origin === registraUrl && !next.pathname.startsWith('/api/')) return next;
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
export const signOnOutcome = (url: URL) =>
  new URLSearchParams(url.hash.replace(/^#\/sign-on\??/, ''));

/** Signs on as `accountId` in a fresh browser: the one-time code, or the refusal. */
export async function signOnAs(registraUrl: string, accountId: string): Promise<URLSearchParams> {
  return signOnOutcome(await new Browser().signOn(registraUrl, accountId));
}
