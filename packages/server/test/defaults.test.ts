import { decodeJwt, exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import { ServerProcess } from '../../../test/support/server-process.js';
import { readEnv } from '../src/env.js';
import { expectProblem, freshDatabase } from './harness.js';

/**
 * Safer defaults (issue 8, part 6): a server on an operator's database (DATABASE_URL) creates no
 * demo users unless asked; access tokens name their deployment in `iss` (REGISTRA_ISSUER) and
 * must carry `exp`. Real `registra start` processes.
 */

const PASSWORD = 'defaults-test-password';
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function serverOnFreshDatabase(env: Record<string, string>): Promise<string> {
  const database = await freshDatabase();
  cleanups.push(() => database.drop());
  const server = new ServerProcess({
    DATABASE_URL: database.url,
    REGISTRA_DEMO_PASSWORD: PASSWORD,
    ...env,
  });
  cleanups.push(() => server.stop());
  await server.start();
  return `http://127.0.0.1:${await server.port}`;
}

const login = (base: string, username: string) =>
  fetch(`${base}/api/v1/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grant_type: 'password', username, password: PASSWORD }),
  });

const me = (base: string, token: string) =>
  fetch(`${base}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } });

describe('settings read from the environment', () => {
  it('seeds demo users on the embedded database, and with DATABASE_URL only when asked', () => {
    const url = 'postgres://registra@db.example.org/registra';
    expect(readEnv({}).REGISTRA_SEED_DEMO_USERS).toBe('true');
    expect(readEnv({ DATABASE_URL: url }).REGISTRA_SEED_DEMO_USERS).toBe('false');
    const asked = { DATABASE_URL: url, REGISTRA_SEED_DEMO_USERS: 'true' };
    expect(readEnv(asked).REGISTRA_SEED_DEMO_USERS).toBe('true');
    expect(readEnv({ REGISTRA_SEED_DEMO_USERS: 'false' }).REGISTRA_SEED_DEMO_USERS).toBe('false');
  });

  it('names the deployment in REGISTRA_ISSUER, by default after where it listens', () => {
    expect(readEnv({}).REGISTRA_ISSUER).toBe('http://127.0.0.1:3000');
    expect(readEnv({ HOST: '0.0.0.0', PORT: '8080' }).REGISTRA_ISSUER).toBe('http://0.0.0.0:8080');
    expect(readEnv({ HOST: '::', PORT: '8080' }).REGISTRA_ISSUER).toBe('http://[::]:8080');
    const named = { REGISTRA_ISSUER: 'https://crvs.example.org', PORT: '8080' };
    expect(readEnv(named).REGISTRA_ISSUER).toBe('https://crvs.example.org');
  });
});

describe('registra start with DATABASE_URL', () => {
  it('creates no demo users unless REGISTRA_SEED_DEMO_USERS=true', async () => {
    const base = await serverOnFreshDatabase({});
    for (const username of ['agent', 'admin']) {
      await expectProblem(await login(base, username), 401, 'INVALID_CREDENTIALS');
    }
  });
});

describe('access tokens of a deployment', () => {
  it('carry iss = REGISTRA_ISSUER and exp; a token of another issuer or without exp is refused', async () => {
    const pair = await generateKeyPair('ES256', { extractable: true });
    const privateJwk: JWK = { ...(await exportJWK(pair.privateKey)), kid: 'defaults-test' };
    const issuer = 'https://crvs.ibombo.example.org';
    const base = await serverOnFreshDatabase({
      REGISTRA_SEED_DEMO_USERS: 'true',
      REGISTRA_ISSUER: issuer,
      REGISTRA_SIGNING_KEY: JSON.stringify(privateJwk),
    });

    const response = await login(base, 'agent');
    expect(response.status).toBe(200);
    const { accessToken, user } = (await response.json()) as {
      accessToken: string;
      user: { id: string };
    };
    const claims = decodeJwt(accessToken);
    expect(claims.iss).toBe(issuer);
    expect(typeof claims.exp).toBe('number');

    // Made with the deployment's own key: only `iss` or `exp` differs from what it accepts.
    const key = await importJWK(privateJwk, 'ES256');
    const now = Math.floor(Date.now() / 1000);
    const token = (iss: string, exp: number | undefined) => {
      const jwt = new SignJWT({ role: 'field-agent', office: 'ibombo-office' })
        .setProtectedHeader({ alg: 'ES256', kid: 'defaults-test' })
        .setSubject(user.id)
        .setIssuer(iss)
        .setAudience('registra-api')
        .setIssuedAt(now - 60);
      return (exp === undefined ? jwt : jwt.setExpirationTime(exp)).sign(key);
    };
    expect((await me(base, await token(issuer, now + 600))).status).toBe(200);
    for (const refused of [
      await token('registra', now + 600), // what every deployment used to name itself
      await token('https://staging.example.org', now + 600),
      await token(issuer, undefined),
    ]) {
      await expectProblem(await me(base, refused), 401, 'INVALID_TOKEN');
    }
  });
});
