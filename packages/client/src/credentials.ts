import {
  CredentialVerifier,
  decodeStatusList,
  KEY_PURPOSE,
  parseStatusListId,
  statusFromBits,
  statusListIdOf,
  type VerificationResult,
} from '@registra/core';
import { Dexie, type DexieOptions, type Table } from 'dexie';
import type { JWK } from 'jose';

export interface CachedKey {
  kid: string;
  jwk: JWK;
}

export interface CachedStatusList {
  listId: string;
  /** The signed status list credential as the server sent it. */
  jwt: string;
  fetchedAt: string;
}

/**
 * What a device keeps to verify credentials offline: the registry's credential keys and its
 * status lists. Public data, so one database for the device, usable before anyone signs in.
 */
export class VerifierDatabase extends Dexie {
  keys!: Table<CachedKey, string>;
  lists!: Table<CachedStatusList, string>;

  constructor(options: DexieOptions) {
    super('registra-verifier', options);
    this.version(1).stores({ keys: 'kid', lists: 'listId' });
  }
}

/** A verification as the device made it, and how fresh its status lists were. */
export type OfflineVerification = VerificationResult & {
  /** When the status lists used were fetched; null when none was at hand. */
  statusCheckedAt: string | null;
};

type Fetch = typeof fetch;

/** The most status lists of one purpose a device fetches (each covers 131,072 credentials). */
const MAX_LISTS = 64;

/**
 * Verifies credentials as PROTOCOL 11 says, from cached keys and status lists: the same checks
 * as the server (core's CredentialVerifier), with no network needed once `refresh` has run.
 */
export class OfflineVerifier {
  readonly #db: VerifierDatabase;

  constructor(
    private readonly baseUrl: string,
    private readonly fetchImpl: Fetch,
    dexieOptions: DexieOptions,
  ) {
    this.#db = new VerifierDatabase(dexieOptions);
  }

  /** Brings the credential keys and every status list onto the device. Needs the network. */
  async refresh(): Promise<{ keys: number; lists: number }> {
    const response = await this.fetchImpl(`${this.baseUrl}/.well-known/jwks.json`);
    if (!response.ok) throw new Error(`the key set could not be fetched (${response.status})`);
    const { keys } = (await response.json()) as { keys: (JWK & Record<string, unknown>)[] };
    const credentialKeys = keys.filter((k) => k[KEY_PURPOSE] === 'credential' && k.kid);
    await this.#db.keys.bulkPut(credentialKeys.map((jwk) => ({ kid: jwk.kid as string, jwk })));
    let lists = 0;
    for (const purpose of ['revocation', 'supersession']) {
      for (let n = 0; n < MAX_LISTS; n++) {
        if (!(await this.#fetchList(`${purpose}-${n}`))) break;
        lists += 1;
      }
    }
    return { keys: credentialKeys.length, lists };
  }

  async #fetchList(listId: string): Promise<boolean> {
    const response = await this.fetchImpl(
      `${this.baseUrl}/api/v1/credentials/status/${encodeURIComponent(listId)}`,
    );
    if (response.status === 404) return false;
    if (!response.ok) throw new Error(`status list ${listId}: ${response.status}`);
    await this.#db.lists.put({
      listId,
      jwt: await response.text(),
      fetchedAt: new Date().toISOString(),
    });
    return true;
  }

  /** When the lists were last fetched (the oldest of them), or null before the first refresh. */
  async checkedAt(): Promise<string | null> {
    const lists = await this.#db.lists.toArray();
    if (lists.length === 0) return null;
    return lists.map((l) => l.fetchedAt).sort()[0] ?? null;
  }

  async verify(credential: string): Promise<OfflineVerification> {
    let checkedAt: string | null = null;
    const keyFor = async (kid: string) => (await this.#db.keys.get(kid))?.jwk;
    // Status lists are credentials of the registry too: their signature is checked the same way.
    const lists = new CredentialVerifier({ keyFor, statusOf: async () => 'active' });
    const bit = async (url: string, index: string): Promise<boolean | null> => {
      const listId = statusListIdOf(url);
      if (!parseStatusListId(listId)) return null;
      const cached = await this.#db.lists.get(listId);
      if (!cached) return null;
      const list = await lists.verify(cached.jwt);
      const encoded = list.valid ? list.claims?.['encodedList'] : undefined;
      if (typeof encoded !== 'string') return null;
      checkedAt = checkedAt === null || cached.fetchedAt < checkedAt ? cached.fetchedAt : checkedAt;
      try {
        return (await decodeStatusList(encoded))(Number(index));
      } catch {
        return null;
      }
    };
    const verifier = new CredentialVerifier({
      keyFor,
      statusOf: async (entries) => {
        const revocation = entries.find((e) => e.statusPurpose === 'revocation');
        const message = entries.find((e) => e.statusPurpose === 'message');
        return statusFromBits(
          revocation
            ? await bit(revocation.statusListCredential, revocation.statusListIndex)
            : null,
          message ? await bit(message.statusListCredential, message.statusListIndex) : null,
        );
      },
    });
    const result = await verifier.verify(credential);
    return { ...result, statusCheckedAt: checkedAt };
  }

  close(): void {
    this.#db.close();
  }
}
