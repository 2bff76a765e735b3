import canonicalize from 'canonicalize';
import { createPublicKey, type JsonWebKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { base64url, CompactSign, compactVerify, importJWK, type JWK } from 'jose';

/**
 * The DCI envelope's `signature` (issue 16): a JWS (RFC 7515) in compact form with a detached
 * payload (`<protected>..<signature>`, RFC 7515 appendix F), over the canonical JSON (RFC 8785) of
 * `{header, message}`. Anyone with the signer's public key re-makes the payload from the body and
 * verifies it with any JOSE library.
 */

export interface DciEnvelope {
  signature: string;
  header: Record<string, unknown>;
  message: unknown;
}

/** The JWS algorithm of a key: its own `alg`, or the usual one for its type. */
export function algorithmOf(jwk: JWK): string {
  if (jwk.alg) return jwk.alg;
  if (jwk.kty === 'EC') return jwk.crv === 'P-384' ? 'ES384' : 'ES256';
  if (jwk.kty === 'OKP') return 'EdDSA';
  return 'RS256';
}

/** Algorithms a partner's signature may use: asymmetric only, never `none` or HMAC. */
const ALGORITHMS = ['ES256', 'ES384', 'EdDSA', 'Ed25519', 'RS256', 'PS256'];

const payloadOf = (header: unknown, message: unknown): Uint8Array =>
  new TextEncoder().encode(canonicalize({ header, message }) ?? '');

/** A key that signs: the private JWK, imported once. */
export interface SigningKey {
  sign(header: Record<string, unknown>, message: unknown): Promise<string>;
  kid: string | undefined;
  /** What partners verify its signatures with: the public members only (published as a JWKS). */
  publicJwk: JWK;
}

/**
 * The public half of a private JWK, as node's crypto exports it (only the public members of its
 * key type: never `d`, `p`, `q`, …), with the key's id, its algorithm and its use.
 */
export function publicJwkOf(jwk: JWK): JWK {
  const exported = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' }).export({
    format: 'jwk',
  }) as JWK;
  return { ...exported, ...(jwk.kid ? { kid: jwk.kid } : {}), alg: algorithmOf(jwk), use: 'sig' };
}

export async function signingKey(jwk: JWK): Promise<SigningKey> {
  const alg = algorithmOf(jwk);
  const key = await importJWK(jwk, alg);
  return {
    kid: jwk.kid,
    publicJwk: publicJwkOf(jwk),
    async sign(header, message) {
      const jws = await new CompactSign(payloadOf(header, message))
        .setProtectedHeader({ alg, ...(jwk.kid ? { kid: jwk.kid } : {}) })
        .sign(key);
      const [protectedHeader, , signature] = jws.split('.');
      return `${protectedHeader}..${signature}`;
    },
  };
}

/** A header and message, signed. */
export async function signEnvelope(
  key: SigningKey,
  header: Record<string, unknown>,
  message: unknown,
): Promise<DciEnvelope> {
  return { signature: await key.sign(header, message), header, message };
}

/** A key that verifies: a partner's public JWK, imported once. */
export interface VerifyingKey {
  verify(envelope: { signature: string; header: unknown; message: unknown }): Promise<boolean>;
}

export async function verifyingKey(jwk: JWK): Promise<VerifyingKey> {
  const key = await importJWK(jwk, algorithmOf(jwk));
  return {
    async verify({ signature, header, message }) {
      const parts = signature.split('.');
      if (parts.length !== 3 || parts[1] !== '') return false;
      const jws = `${parts[0]}.${base64url.encode(payloadOf(header, message))}.${parts[2]}`;
      try {
        await compactVerify(jws, key, { algorithms: ALGORITHMS });
        return true;
      } catch {
        return false;
      }
    },
  };
}

/**
 * The registry's private signing JWK from the environment variable `name`: the JWK's JSON, or
 * the path of a file holding it. Unset: null (the DCI API is off).
 */
export function signingJwkFrom(
  env: Readonly<Record<string, string | undefined>>,
  name: string,
): JWK | null {
  const value = env[name]?.trim();
  if (!value) return null;
  const text = value.startsWith('{') ? value : readFileSync(value, 'utf8');
  const jwk = JSON.parse(text) as JWK;
  if (!jwk.d) throw new Error(`${name} must hold a private JWK (with "d")`);
  return jwk;
}
