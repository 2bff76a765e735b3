import {
  mapSensitiveBody,
  mapSensitiveState,
  sensitiveFields,
  type Action,
  type Entry,
  type RecordState,
  type RegistryConfig,
} from '@registra/core';
import type { AttentionItem, Draft } from './api.js';
import type { OutboxItem } from './db.js';

/**
 * The device's data key (issue 14 point 7): the values of sensitive fields are sealed with it
 * before they reach IndexedDB, so that a lost phone does not give up ID numbers. The key is
 * AES-GCM 256, drawn on the device, kept in the user's meta only wrapped by a key derived with
 * PBKDF2 from the password (or the sign-on passphrase), and held unwrapped only in memory, as a
 * non-extractable CryptoKey, while the session is open.
 */
const PREFIX = 'dev:v1:';
const ITERATIONS = 210_000;
/** Opened values kept in memory (see `Vault`); past this, forgotten all at once. */
const MAX_REMEMBERED = 100_000;

/** The data key as the user's meta keeps it: wrapped, with what derives the wrapping key. */
export interface WrappedKey {
  salt: string;
  iterations: number;
  iv: string;
  wrapped: string;
}

/**
 * What lets a reload within the lock delay resume without the password: the data key wrapped by
 * a random, non-extractable key stored beside it in the session row. Removed when the session
 * locks or logs out (see client.ts's `markActive`).
 */
export interface ResumeKey {
  key: CryptoKey;
  iv: string;
  wrapped: string;
}

const toBase64 = (bytes: Uint8Array) => {
  let text = '';
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text);
};
const fromBase64 = (text: string) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
const AES = { name: 'AES-GCM', length: 256 } as const;

async function passwordKey(secret: string, salt: Uint8Array, iterations: number) {
  const material = await crypto.subtle.importKey(
    'raw',
    new TextEncoder().encode(secret.normalize('NFC')),
    'PBKDF2',
    false,
    ['deriveKey'],
  );
  return crypto.subtle.deriveKey(
    { name: 'PBKDF2', hash: 'SHA-256', salt: salt as BufferSource, iterations },
    material,
    AES,
    false,
    ['wrapKey', 'unwrapKey'],
  );
}

async function wrapWith(dataKey: CryptoKey, wrapping: CryptoKey) {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const wrapped = await crypto.subtle.wrapKey('raw', dataKey, wrapping, { name: 'AES-GCM', iv });
  return { iv: toBase64(iv), wrapped: toBase64(new Uint8Array(wrapped)) };
}

function unwrapWith(
  stored: { iv: string; wrapped: string },
  wrapping: CryptoKey,
  extractable: boolean,
): Promise<CryptoKey> {
  return crypto.subtle.unwrapKey(
    'raw',
    fromBase64(stored.wrapped) as BufferSource,
    wrapping,
    { name: 'AES-GCM', iv: fromBase64(stored.iv) as BufferSource },
    AES,
    extractable,
    ['encrypt', 'decrypt'],
  );
}

/** A new data key, wrapped for `secret`. */
export async function newWrappedKey(secret: string): Promise<WrappedKey> {
  const dataKey = await crypto.subtle.generateKey(AES, true, ['encrypt', 'decrypt']);
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const wrapped = await wrapWith(dataKey, await passwordKey(secret, salt, ITERATIONS));
  return { salt: toBase64(salt), iterations: ITERATIONS, ...wrapped };
}

/**
 * Opens the wrapped data key with `secret`: the key for use (non-extractable) and the resume
 * material. Null when the secret does not open it.
 */
export async function unwrapKey(
  stored: WrappedKey,
  secret: string,
): Promise<{ key: CryptoKey; resume: ResumeKey } | null> {
  const wrapping = await passwordKey(secret, fromBase64(stored.salt), stored.iterations);
  try {
    const key = await unwrapWith(stored, wrapping, false);
    const exportable = await unwrapWith(stored, wrapping, true);
    const resumeKey = await crypto.subtle.generateKey(AES, false, ['wrapKey', 'unwrapKey']);
    return { key, resume: { key: resumeKey, ...(await wrapWith(exportable, resumeKey)) } };
  } catch {
    return null;
  }
}

/** The data key from the resume material of an active session; null when it does not open. */
export async function resumeKey(resume: ResumeKey): Promise<CryptoKey | null> {
  try {
    return await unwrapWith(resume, resume.key, false);
  } catch {
    return null;
  }
}

export function isSealed(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith(PREFIX);
}

/**
 * Seals and opens the sensitive values of what the device stores. Sealing covers the fields
 * declared `sensitive` in any record type of the configuration (a union: an entry does not always
 * say its record's type, and sealing one field too many costs nothing). Opening opens every sealed
 * value whatever the configuration says now, so that a field no longer sensitive still reads.
 */
export class Vault {
  /**
   * Sealed value -> its JSON, for the session: a local search opens every record the device holds,
   * and WebCrypto costs a round trip per value. In memory only, gone with the vault at lock.
   */
  readonly #opened = new Map<string, string>();

  constructor(
    private readonly key: CryptoKey,
    private readonly config: () => Promise<RegistryConfig>,
  ) {}

  async #fields(): Promise<ReadonlySet<string>> {
    const config = await this.config();
    const fields = new Set<string>();
    for (const recordType of config.recordTypes.values())
      for (const field of sensitiveFields(recordType)) fields.add(field);
    return fields;
  }

  async seal(value: unknown): Promise<string> {
    if (isSealed(value)) return value;
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const json = JSON.stringify(value);
    const plain = new TextEncoder().encode(json);
    const cipher = new Uint8Array(
      await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, this.key, plain),
    );
    const joined = new Uint8Array(iv.length + cipher.length);
    joined.set(iv);
    joined.set(cipher, iv.length);
    const sealed = PREFIX + toBase64(joined);
    this.#remember(sealed, json);
    return sealed;
  }

  #remember(sealed: string, json: string): void {
    if (this.#opened.size >= MAX_REMEMBERED) this.#opened.clear();
    this.#opened.set(sealed, json);
  }

  async open(value: unknown): Promise<unknown> {
    if (!isSealed(value)) return value;
    const known = this.#opened.get(value);
    if (known !== undefined) return JSON.parse(known) as unknown;
    const joined = fromBase64(value.slice(PREFIX.length));
    const plain = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: joined.subarray(0, 12) as BufferSource },
      this.key,
      joined.subarray(12) as BufferSource,
    );
    const json = new TextDecoder().decode(plain);
    this.#remember(value, json);
    return JSON.parse(json) as unknown;
  }

  /** `values` with every sealed value opened (a declaration). */
  async #openValues<T extends Record<string, unknown> | undefined>(values: T): Promise<T> {
    if (!values) return values;
    let copy: Record<string, unknown> | null = null;
    for (const [field, value] of Object.entries(values)) {
      if (!isSealed(value)) continue;
      copy ??= { ...values };
      copy[field] = await this.open(value);
    }
    return (copy ?? values) as T;
  }

  /** Applies an async change to the sensitive fields through core's (synchronous) mappers. */
  async #sealed<T>(map: (change: (field: string, value: unknown) => unknown) => T): Promise<T> {
    const sealed = new Map<string, Promise<string>>();
    // First pass collects the values, second puts the sealed ones in their place.
    map((field, value) => {
      sealed.set(field, this.seal(value));
      return value;
    });
    if (sealed.size === 0) return map((_, value) => value);
    const done = new Map<string, string>();
    for (const [field, promise] of sealed) done.set(field, await promise);
    return map((field, value) => done.get(field) ?? value);
  }

  async sealBody<B extends Action | Entry>(body: B): Promise<B> {
    const fields = await this.#fields();
    return this.#sealed((change) => mapSensitiveBody(body, fields, change));
  }

  async sealState(state: RecordState): Promise<RecordState> {
    const fields = await this.#fields();
    return this.#sealed((change) => mapSensitiveState(state, fields, change));
  }

  async sealOutbox(item: OutboxItem): Promise<OutboxItem> {
    return { ...item, action: await this.sealBody(item.action) };
  }

  async sealDraft(draft: Draft): Promise<Draft> {
    const fields = await this.#fields();
    return this.#sealed((change) => ({
      ...draft,
      declaration: mapSensitiveBody(
        { declaration: draft.declaration as Action['declaration'] },
        fields,
        change,
      ).declaration as Draft['declaration'],
    }));
  }

  async openBody<B extends { declaration?: Action['declaration'] }>(body: B): Promise<B> {
    const declaration = await this.#openValues(body.declaration);
    return declaration === body.declaration ? body : { ...body, declaration };
  }

  async openState(state: RecordState): Promise<RecordState> {
    const declaration = await this.#openValues(state.declaration);
    return declaration === state.declaration ? state : { ...state, declaration };
  }

  async openOutbox(item: OutboxItem): Promise<OutboxItem> {
    const action = await this.openBody(item.action);
    return action === item.action ? item : { ...item, action };
  }

  async openAttention(item: AttentionItem): Promise<AttentionItem> {
    const action = await this.openBody(item.action);
    return action === item.action ? item : { ...item, action };
  }

  async openDraft(draft: Draft): Promise<Draft> {
    const declaration = await this.#openValues(draft.declaration);
    return declaration === draft.declaration ? draft : { ...draft, declaration };
  }

  openAll<T>(items: readonly T[], open: (item: T) => Promise<T>): Promise<T[]> {
    return Promise.all(items.map(open));
  }
}
