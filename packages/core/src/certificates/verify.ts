import {
  decodeProtectedHeader,
  importJWK,
  jwtVerify,
  type CryptoKey,
  type JWK,
  type JWTPayload,
} from 'jose';
import { CREDENTIAL_ALGORITHM, VC_JWT_TYPE, type StatusListEntry } from './credential.js';
import type { CredentialStatus } from './status-list.js';

export interface VerificationError {
  code: 'UNREADABLE' | 'NOT_FROM_THIS_REGISTRY' | 'SIGNATURE_INVALID' | 'STATUS_UNKNOWN';
  message: string;
}

/** PROTOCOL 11: `valid` says whether the signature and issuer hold; the status comes with it. */
export interface VerificationResult {
  valid: boolean;
  status: CredentialStatus | null;
  claims: Record<string, unknown> | null;
  errors: VerificationError[];
  /** Who issued it and when, for the verifier's screen. */
  issuer?: { id: string; name?: string } | undefined;
  validFrom?: string | undefined;
}

export interface CredentialVerifierOptions {
  /** This registry's credential key with that kid (current or retired), if it has one. */
  keyFor(kid: string): JWK | undefined | Promise<JWK | undefined>;
  /** The status of a credential that verified, from its status entries; null when not known. */
  statusOf(entries: StatusListEntry[], payload: JWTPayload): Promise<CredentialStatus | null>;
}

const MAX_LENGTH = 16_384;

const failure = (code: VerificationError['code'], message: string): VerificationResult => ({
  valid: false,
  status: null,
  claims: null,
  errors: [{ code, message }],
});

/**
 * Verifies a credential JWT the way the server and an offline device both do: readable, signed by
 * one of this registry's credential keys (ES256, `typ: vc+jwt`), then its status.
 */
export class CredentialVerifier {
  readonly #keys = new Map<string, CryptoKey>();

  constructor(private readonly options: CredentialVerifierOptions) {}

  async verify(credential: string): Promise<VerificationResult> {
    const jwt = credential.trim();
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      if (jwt.length > MAX_LENGTH || jwt.split('.').length !== 3) throw new Error('not a JWT');
      header = decodeProtectedHeader(jwt);
    } catch {
      return failure('UNREADABLE', 'this is not a credential: it cannot be read as a signed JWT');
    }
    const kid = typeof header.kid === 'string' ? header.kid : '';
    const key = kid === '' ? undefined : await this.#key(kid);
    if (!key)
      return failure(
        'NOT_FROM_THIS_REGISTRY',
        'not from this registry: no key of this registry signed it',
      );
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(jwt, key, {
        algorithms: [CREDENTIAL_ALGORITHM],
        typ: VC_JWT_TYPE,
      }));
    } catch {
      return failure(
        'SIGNATURE_INVALID',
        'the signature does not match: the credential was altered or forged',
      );
    }
    const subject = payload['credentialSubject'];
    const types = payload['type'];
    if (
      typeof subject !== 'object' ||
      subject === null ||
      !Array.isArray(types) ||
      !types.includes('VerifiableCredential')
    ) {
      return failure('UNREADABLE', 'the token is signed by this registry but is not a credential');
    }
    const rawStatus = payload['credentialStatus'];
    const entries = (Array.isArray(rawStatus) ? rawStatus : [rawStatus]).filter(
      (e): e is StatusListEntry => typeof e === 'object' && e !== null,
    );
    const status = await this.options.statusOf(entries, payload);
    const issuer = payload['issuer'] as VerificationResult['issuer'];
    return {
      valid: true,
      status,
      claims: subject as Record<string, unknown>,
      errors:
        status === null
          ? [
              {
                code: 'STATUS_UNKNOWN',
                message: 'its status could not be checked (no status list at hand)',
              },
            ]
          : [],
      issuer: typeof issuer === 'object' ? issuer : undefined,
      validFrom: typeof payload['validFrom'] === 'string' ? payload['validFrom'] : undefined,
    };
  }

  async #key(kid: string): Promise<CryptoKey | undefined> {
    const known = this.#keys.get(kid);
    if (known) return known;
    const jwk = await this.options.keyFor(kid);
    if (!jwk) return undefined;
    try {
      const { d: _private, ...publicJwk } = jwk;
      const key = (await importJWK(publicJwk, CREDENTIAL_ALGORITHM)) as CryptoKey;
      this.#keys.set(kid, key);
      return key;
    } catch {
      return undefined;
    }
  }
}

/** Combines the two lists' bits into one status: revoked wins over superseded. */
export function statusFromBits(
  revoked: boolean | null,
  superseded: boolean | null,
): CredentialStatus | null {
  if (revoked) return 'revoked';
  if (revoked === null || superseded === null) return null;
  return superseded ? 'superseded' : 'active';
}
