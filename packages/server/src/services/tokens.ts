import { createHash, randomBytes } from 'node:crypto';
import {
  exportJWK,
  generateKeyPair,
  importJWK,
  jwtVerify,
  SignJWT,
  createLocalJWKSet,
  type JSONWebKeySet,
  type JWK,
  type CryptoKey,
} from 'jose';
import { LRUCache } from 'lru-cache';
import { v7 as uuidv7 } from 'uuid';
import type { DB } from '../db/database.js';
import { insertSigningKey, loadSigningKeys } from '../store/tokens.js';

export const ACCESS_TOKEN_SECONDS = 15 * 60;
export const REFRESH_TOKEN_DAYS = 30;
/** The issuer of servers that name no deployment: the in-process ones of tests and benchmarks. */
const UNNAMED_ISSUER = 'registra';
const AUDIENCE = 'registra-api';
const ALGORITHM = 'ES256';
/** Verified access tokens remembered per process (a few MB at most). */
const VERIFIED_TOKENS = 10_000;

export interface AccessClaims {
  sub: string;
  role: string;
  office: string;
  /** A confirmation token's (PROTOCOL 8): the one request `hook:<id>` may decide with it. */
  req?: string;
}

/** How long a confirmation token works: a hook that answered 202 may take its time. */
export const CONFIRMATION_TOKEN_DAYS = 30;

/** The ES256 key that signs access tokens, and the public set that verifies them. */
export interface Signer {
  sign(claims: AccessClaims): Promise<string>;
  /** A token for `hook:<id>` that may only APPROVE or DECLINE one request (PROTOCOL 8). */
  signConfirmation(hookId: string, requestId: string): Promise<string>;
  verify(token: string): Promise<AccessClaims>;
  jwks: JSONWebKeySet;
}

/**
 * Loads the signing key: from REGISTRA_SIGNING_KEY (a private JWK) when set, else from the database,
 * made on first start. Every API node of one deployment thus signs with the same key. `issuer`
 * (REGISTRA_ISSUER) names the deployment in `iss`, and only tokens that name it are accepted: a
 * token of another deployment sharing the key (a staging copy of production) opens nothing here.
 */
export async function loadSigner(
  db: DB,
  fromEnv?: string,
  issuer: string = UNNAMED_ISSUER,
): Promise<Signer> {
  let privateJwk: JWK;
  let publicJwk: JWK;
  if (fromEnv) {
    privateJwk = JSON.parse(fromEnv) as JWK;
    const { d: _d, ...pub } = privateJwk;
    publicJwk = pub;
    privateJwk.kid ??= 'env';
    publicJwk.kid = privateJwk.kid;
  } else {
    let [stored] = await loadSigningKeys(db);
    if (!stored) {
      const pair = await generateKeyPair(ALGORITHM, { extractable: true });
      const kid = uuidv7();
      await insertSigningKey(db, {
        kid,
        privateJwk: { ...(await exportJWK(pair.privateKey)), kid },
        publicJwk: { ...(await exportJWK(pair.publicKey)), kid },
      });
      [stored] = await loadSigningKeys(db);
    }
    if (!stored) throw new Error('could not store a signing key');
    privateJwk = stored.privateJwk;
    publicJwk = stored.publicJwk;
  }
  const key = (await importJWK(privateJwk, ALGORITHM)) as CryptoKey;
  const jwks: JSONWebKeySet = { keys: [{ ...publicJwk, alg: ALGORITHM, use: 'sig' }] };
  const keySet = createLocalJWKSet(jwks);
  const kid = privateJwk.kid as string;
  // A device sends the same access token with every request for 15 minutes, and checking an ES256
  // signature costs about as much CPU as a small append's SQL. A token that verified is
  // remembered, by its exact text, until it expires. Only tokens that verified are kept, so
  // forged ones cannot fill the cache. Whether the user is still active is checked on every
  // request all the same (AuthService.authenticate).
  const verified = new LRUCache<string, AccessClaims>({ max: VERIFIED_TOKENS });
  return {
    jwks,
    sign: (claims) =>
      new SignJWT({ role: claims.role, office: claims.office })
        .setProtectedHeader({ alg: ALGORITHM, kid })
        .setSubject(claims.sub)
        .setIssuer(issuer)
        .setAudience(AUDIENCE)
        .setIssuedAt()
        .setExpirationTime(`${ACCESS_TOKEN_SECONDS}s`)
        .setJti(uuidv7())
        .sign(key),
    signConfirmation: (hookId, requestId) =>
      new SignJWT({ role: 'hook', office: '', req: requestId })
        .setProtectedHeader({ alg: ALGORITHM, kid })
        .setSubject(`hook:${hookId}`)
        .setIssuer(issuer)
        .setAudience(AUDIENCE)
        .setIssuedAt()
        .setExpirationTime(`${CONFIRMATION_TOKEN_DAYS}d`)
        .setJti(uuidv7())
        .sign(key),
    verify: async (token) => {
      const known = verified.get(token);
      if (known) return known;
      const { payload } = await jwtVerify(token, keySet, {
        issuer,
        audience: AUDIENCE,
        algorithms: [ALGORITHM],
        // jose checks `exp` only when present: a token without one would never expire.
        requiredClaims: ['exp', 'sub'],
      });
      const claims: AccessClaims = {
        sub: String(payload.sub),
        role: String(payload['role']),
        office: String(payload['office']),
      };
      if (typeof payload['req'] === 'string') claims.req = payload['req'];
      const ttl = (payload.exp ?? 0) * 1000 - Date.now();
      if (ttl > 0) verified.set(token, claims, { ttl });
      return claims;
    },
  };
}

/** A refresh token: random, opaque, and stored only as its SHA-256. */
export function newRefreshToken(): { token: string; hash: string } {
  const token = randomBytes(32).toString('base64url');
  return { token, hash: hashRefreshToken(token) };
}

export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
