import {
  mapSensitiveBody,
  mapSensitiveCarry,
  mapSensitiveState,
  sensitiveFields,
  type BlindIndex,
  type FoldCarry,
  type RecordState,
  type RecordTypeConfig,
  type RegistryConfig,
} from '@registra/core';
import { createHmac, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.js';
import {
  findRecordKeys,
  findRecordKeysInRange,
  type StoredRecordKey,
} from '../../store/record-keys.js';
import { gcmOpen, gcmSeal, type KeyProvider } from './key-provider.js';

export { FileKeyProvider, type KeyProvider } from './key-provider.js';

/**
 * Envelope encryption of sensitive fields (PROTOCOL 13). Each record has a data key (AES-256-GCM)
 * wrapped by a key-encryption key of the key provider; a sensitive value is stored as
 * `enc:v1:<base64url of iv, tag, ciphertext>` of its JSON, bound to its record and field. The IV
 * is derived from the data key, the field and the value (a synthetic IV), so that sealing is
 * deterministic: the same fold seals to the same state, and the log's chain covers the ciphertext.
 * Core folds plaintext; sealing happens where the store is written, opening where it is read.
 */
export const ENVELOPE = 'enc:v1:';

const DATA_KEY_BYTES = 32;
/** Unwrapped data keys kept in memory, so that reads call the key provider once per record. */
const CACHE_MAX = 50_000;

const isEnvelope = (value: unknown): value is string =>
  typeof value === 'string' && value.startsWith(ENVELOPE);

export class Vault {
  readonly #dataKeys = new Map<string, Buffer>();

  readonly blind: BlindIndex;

  private constructor(
    readonly provider: KeyProvider,
    /** The blind index's own key: given to a rebuild's worker threads, which index too. */
    readonly blindKey: Buffer,
  ) {
    this.blind = blindIndexOf(blindKey);
  }

  static async open(provider: KeyProvider): Promise<Vault> {
    return new Vault(provider, await provider.blindIndexKey());
  }

  async #unwrap(stored: StoredRecordKey): Promise<Buffer | null> {
    if (stored.wrapped === null) return null;
    const id = `${stored.kekId}:${stored.wrapped.toString('base64')}`;
    let key = this.#dataKeys.get(id);
    if (!key) {
      key = await this.provider.unwrap(stored.kekId, stored.wrapped);
      if (this.#dataKeys.size >= CACHE_MAX) this.#dataKeys.clear();
      this.#dataKeys.set(id, key);
    }
    return key;
  }

  /** A new data key, wrapped by the current KEK. */
  async newKey(
    recordId: string,
    recordType: string,
  ): Promise<{ stored: StoredRecordKey; key: Buffer }> {
    const key = randomBytes(DATA_KEY_BYTES);
    const kekId = await this.provider.currentKekId();
    const wrapped = await this.provider.wrap(kekId, key);
    return { stored: { recordId, recordType, kekId, wrapped }, key };
  }

  /** The keys of these records, as stored now (an erased key is null). */
  async keyring(
    db: Kysely<Database>,
    config: RegistryConfig,
    recordIds: Iterable<string>,
  ): Promise<Keyring> {
    const ids = [...new Set(recordIds)];
    return this.keyringOf(config, await findRecordKeys(db, ids));
  }

  /** The keys of these records, as read with them (an append reads them with its records). */
  async keyringOf(config: RegistryConfig, stored: readonly StoredRecordKey[]): Promise<Keyring> {
    const keyring = new Keyring(config.recordTypes);
    for (const key of stored) {
      keyring.set(key.recordId, key.recordType, await this.#unwrap(key));
    }
    return keyring;
  }

  /**
   * The unwrapped keys of the records in a rebuild's range, for a worker thread (in this process)
   * to build its Keyring from: [recordId, recordType, key or null once erased].
   */
  async keysInRange(
    db: Kysely<Database>,
    range: { after: string | null; upTo: string | null },
  ): Promise<RecordKeyEntry[]> {
    const keys: RecordKeyEntry[] = [];
    for (const stored of await findRecordKeysInRange(db, range)) {
      keys.push([stored.recordId, stored.recordType, await this.#unwrap(stored)]);
    }
    return keys;
  }

  /** Re-wraps a stored data key with another KEK: the data key, and so the log, stay as they are. */
  async rewrap(stored: StoredRecordKey, kekId: string): Promise<Buffer | null> {
    if (stored.wrapped === null) return null;
    const key = await this.provider.unwrap(stored.kekId, stored.wrapped);
    return this.provider.wrap(kekId, key);
  }
}

/** A record's data key as handed to a worker thread: null once erased. */
export type RecordKeyEntry = [recordId: string, recordType: string, key: Buffer | null];

/** HMAC-SHA256 over the field and the identifier's form, with the blind index's own key. */
export function blindIndexOf(key: Buffer): BlindIndex {
  return (field, form) =>
    createHmac('sha256', key).update(`${field}\u0000${form}`).digest('base64url');
}

/** The data keys of some records, to seal and open their sensitive values. */
export class Keyring {
  readonly #keys = new Map<string, { recordType: string; key: Buffer | null }>();

  constructor(readonly recordTypes: ReadonlyMap<string, RecordTypeConfig>) {}

  static of(
    recordTypes: ReadonlyMap<string, RecordTypeConfig>,
    keys: readonly RecordKeyEntry[],
  ): Keyring {
    const keyring = new Keyring(recordTypes);
    for (const [recordId, recordType, key] of keys) keyring.set(recordId, recordType, key);
    return keyring;
  }

  set(recordId: string, recordType: string, key: Buffer | null): void {
    this.#keys.set(recordId, { recordType, key });
  }

  has(recordId: string): boolean {
    return this.#keys.has(recordId);
  }

  /** Whether the record's key was erased. */
  erased(recordId: string): boolean {
    const found = this.#keys.get(recordId);
    return found !== undefined && found.key === null;
  }

  #fields(recordType: string): ReadonlySet<string> {
    const type = this.recordTypes.get(recordType);
    return type ? sensitiveFields(type) : new Set();
  }

  /**
   * A value sealed with the record's key. With an erased key the value is dropped: an erased
   * record keeps no sensitive value, not even one sent after its erasure. A record with no key
   * row at all was stored before keys were kept, and stays as it was.
   */
  #seal(recordId: string) {
    const found = this.#keys.get(recordId);
    const key = found?.key ?? null;
    return (field: string, value: unknown): unknown => {
      if (isEnvelope(value) || !found) return value; // a record from before keys were kept
      if (key === null) return null;
      const plain = Buffer.from(JSON.stringify(value));
      const iv = createHmac('sha256', key).update(`${field}\u0000`).update(plain).digest();
      const aad = Buffer.from(`${recordId}\u0000${field}`);
      return ENVELOPE + gcmSeal(key, plain, aad, iv.subarray(0, 12)).toString('base64url');
    };
  }

  /** A value opened with the record's key; null when the key was erased (or never kept). */
  #open(recordId: string) {
    const key = this.#keys.get(recordId)?.key ?? null;
    return (field: string, value: unknown): unknown => {
      if (!isEnvelope(value)) return value; // written before the field was sensitive
      if (key === null) return null;
      const aad = Buffer.from(`${recordId}\u0000${field}`);
      const sealed = Buffer.from(value.slice(ENVELOPE.length), 'base64url');
      return JSON.parse(gcmOpen(key, sealed, aad).toString('utf8')) as unknown;
    };
  }

  #typeOf(recordId: string, fallback?: string): string {
    return this.#keys.get(recordId)?.recordType ?? fallback ?? '';
  }

  sealBody<B extends { declaration?: RecordState['declaration'] | undefined }>(
    recordId: string,
    recordType: string,
    body: B,
  ): B {
    return mapSensitiveBody(
      body,
      this.#fields(this.#typeOf(recordId, recordType)),
      this.#seal(recordId),
    );
  }

  /** An entry (or any body of one record) with its sensitive values in the clear. */
  openBody<B extends { recordId: string; declaration?: RecordState['declaration'] | undefined }>(
    body: B,
  ): B {
    if (!this.#keys.has(body.recordId) && !body.declaration) return body;
    const fields = this.#fields(
      this.#typeOf(body.recordId, (body as { recordType?: string }).recordType),
    );
    return mapSensitiveBody(body, fields, this.#open(body.recordId));
  }

  sealState(state: RecordState): RecordState {
    return mapSensitiveState(state, this.#fields(state.type), this.#seal(state.id));
  }

  openState(state: RecordState): RecordState {
    return mapSensitiveState(state, this.#fields(state.type), this.#open(state.id));
  }

  sealCarry(recordId: string, recordType: string, carry: FoldCarry): FoldCarry {
    return mapSensitiveCarry(carry, this.#fields(recordType), this.#seal(recordId));
  }

  openCarry(recordId: string, recordType: string, carry: FoldCarry): FoldCarry {
    return mapSensitiveCarry(carry, this.#fields(recordType), this.#open(recordId));
  }
}
