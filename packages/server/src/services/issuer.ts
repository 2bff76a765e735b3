import { CREDENTIAL_ALGORITHM, KEY_PURPOSE, VC_JWT_TYPE } from '@registra/core';
import { exportJWK, generateKeyPair, importJWK, SignJWT, type CryptoKey, type JWK } from 'jose';
import { v7 as uuidv7 } from 'uuid';
import type { DB } from '../db/database.js';
import {
  currentIssuerKey,
  findIssuerKey,
  loadIssuerKeys,
  putIssuerKey,
  type IssuerKeyRow,
} from '../store/issuer-keys.js';

/** A published issuer key: what it is for, and whether it still signs. */
export type PublishedIssuerKey = JWK & {
  purpose: 'credential';
  status: 'current' | 'retired';
  createdAt: string;
  retiredAt?: string;
};

async function newKey(): Promise<{ kid: string; privateJwk: JWK; publicJwk: JWK }> {
  const pair = await generateKeyPair(CREDENTIAL_ALGORITHM, { extractable: true });
  const kid = `issuer-${uuidv7()}`;
  return {
    kid,
    privateJwk: { ...(await exportJWK(pair.privateKey)), kid },
    publicJwk: { ...(await exportJWK(pair.publicKey)), kid },
  };
}

/**
 * The keys that sign credentials (PROTOCOL 11), apart from the access-token key. Kept in the
 * database so that every API node signs with the one current key; `registra keys rotate` makes a
 * new one current, and the retired ones stay published so that what they signed still verifies.
 */
export class Issuer {
  readonly #signing = new Map<string, CryptoKey>();

  constructor(
    private readonly db: DB,
    /** The issuer's id in credentials (the deployment's public URL) and its name. */
    readonly id: string,
    readonly name: string,
  ) {}

  /** The current key, made on first use. Read on each signature so a rotation applies at once. */
  async #current(): Promise<IssuerKeyRow> {
    const found = await currentIssuerKey(this.db);
    if (found) return found;
    await putIssuerKey(this.db, await newKey(), { retire: false });
    const made = await currentIssuerKey(this.db);
    if (!made) throw new Error('could not store an issuer key');
    return made;
  }

  /** Signs a credential (or a status list credential) as a `vc+jwt`. */
  async sign(payload: Record<string, unknown>): Promise<{ jwt: string; kid: string }> {
    const current = await this.#current();
    const key = await this.#key(current);
    const jwt = await new SignJWT(payload)
      .setProtectedHeader({ alg: CREDENTIAL_ALGORITHM, typ: VC_JWT_TYPE, kid: current.kid })
      .setIssuer(this.id)
      .setIssuedAt()
      .sign(key);
    return { jwt, kid: current.kid };
  }

  /**
   * Signs a statement of this registry other than a credential (a checkpoint) as a compact JWS of
   * media type `typ`, with the current credential key: verifiers find it in the same JWKS.
   */
  async signStatement(
    payload: Record<string, unknown>,
    typ: string,
  ): Promise<{ jws: string; kid: string }> {
    const current = await this.#current();
    const key = await this.#key(current);
    const jws = await new SignJWT(payload)
      .setProtectedHeader({ alg: CREDENTIAL_ALGORITHM, typ, kid: current.kid })
      .setIssuer(this.id)
      .setIssuedAt()
      .sign(key);
    return { jws, kid: current.kid };
  }

  async #key(current: IssuerKeyRow): Promise<CryptoKey> {
    let key = this.#signing.get(current.kid);
    if (!key) {
      key = (await importJWK(current.privateJwk, CREDENTIAL_ALGORITHM)) as CryptoKey;
      this.#signing.set(current.kid, key);
    }
    return key;
  }

  /** This registry's public key with that kid, current or retired. */
  async publicKey(kid: string): Promise<JWK | undefined> {
    return (await findIssuerKey(this.db, kid))?.publicJwk;
  }

  /** Every issuer key, for the JWKS: the history stays published. */
  async published(): Promise<PublishedIssuerKey[]> {
    const keys = await loadIssuerKeys(this.db);
    return keys.map((key) => ({
      ...key.publicJwk,
      alg: CREDENTIAL_ALGORITHM,
      use: 'sig',
      [KEY_PURPOSE]: 'credential',
      status: key.retiredAt ? 'retired' : 'current',
      createdAt: key.createdAt.toISOString(),
      ...(key.retiredAt ? { retiredAt: key.retiredAt.toISOString() } : {}),
    }));
  }

  /** Makes a new current key and retires the others (they stay published). */
  async rotate(): Promise<{ kid: string; retired: string[] }> {
    const before = (await loadIssuerKeys(this.db)).filter((k) => k.retiredAt === null);
    const key = await newKey();
    await putIssuerKey(this.db, key, { retire: true });
    return { kid: key.kid, retired: before.map((k) => k.kid) };
  }
}
