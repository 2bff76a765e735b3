import {
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors,
  importJWK,
  jwtVerify,
  SignJWT,
  type JSONWebKeySet,
  type JWK,
} from 'jose';
import { expect } from 'vitest';
import type { TestServer } from '../../server/test/harness.js';

/**
 * The access token as it will be once its lifetime has passed: the same claims, signed with the
 * server's own key, issued and expired in the past. What a device holds after sitting unused for
 * longer than an access token lives, without waiting or touching the server's clock.
 */
export async function expiredCopy(server: TestServer, accessToken: string): Promise<string> {
  const header = decodeProtectedHeader(accessToken);
  const claims = decodeJwt(accessToken);
  const lifetime = (claims.exp as number) - (claims.iat as number);
  const issuedAt = Math.floor(Date.now() / 1000) - lifetime - 60;
  const key = await server.db
    .selectFrom('signing_keys')
    .select('private_jwk')
    .where('kid', '=', header.kid as string)
    .executeTakeFirstOrThrow();
  const expired = await new SignJWT({ ...claims, iat: issuedAt, exp: issuedAt + lifetime })
    .setProtectedHeader({ alg: header.alg as string, kid: header.kid as string })
    .sign(await importJWK(key.private_jwk as JWK, header.alg));

  // Expired, and nothing else wrong with it: it verified while it lived.
  const jwks = (await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as JSONWebKeySet;
  const keys = createLocalJWKSet(jwks);
  await jwtVerify(expired, keys, { currentDate: new Date((issuedAt + 1) * 1000) });
  await expect(jwtVerify(expired, keys)).rejects.toBeInstanceOf(errors.JWTExpired);
  return expired;
}
