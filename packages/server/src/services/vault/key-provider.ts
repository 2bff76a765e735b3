import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  linkSync,
  mkdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

/**
 * Where key-encryption keys (KEKs) live (PROTOCOL 13). Data keys are wrapped and unwrapped through
 * it, never the KEK handed out, so that a KMS can stand behind the same interface: a KMS provider
 * calls its `Encrypt`/`Decrypt`, once per data key (the vault caches unwrapped keys).
 */
export interface KeyProvider {
  /** The KEK new data keys are wrapped with. */
  currentKekId(): Promise<string>;
  wrap(kekId: string, dataKey: Buffer): Promise<Buffer>;
  unwrap(kekId: string, wrapped: Buffer): Promise<Buffer>;
  /** The key of the blind indexes (HMAC-SHA256), apart from every KEK. */
  blindIndexKey(): Promise<Buffer>;
  /** Makes a new KEK current and returns its id; the old ones still unwrap until retired. */
  rotate(): Promise<string>;
  /** The KEKs it holds. */
  kekIds(): Promise<string[]>;
  /** Forgets KEKs that no data key is wrapped with any more. */
  retire(kekIds: string[]): Promise<void>;
}

const KeyFileSchema = z.strictObject({
  current: z.string().min(1),
  keks: z.record(z.string(), z.base64()),
  blindIndex: z.base64(),
});
type KeyFile = z.infer<typeof KeyFileSchema>;

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** AES-256-GCM of `plain` under `key`: iv, tag, ciphertext. */
export function gcmSeal(key: Buffer, plain: Buffer, aad: Buffer, iv = randomBytes(IV_BYTES)) {
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad);
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]);
}

/** The inverse of gcmSeal; throws when the ciphertext or its AAD was changed. */
export function gcmOpen(key: Buffer, sealed: Buffer, aad: Buffer): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, IV_BYTES));
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
  return Buffer.concat([decipher.update(sealed.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
}

const newKekId = () =>
  `kek-${new Date().toISOString().replace(/[-:.]/g, '')}-${randomBytes(3).toString('hex')}`;

/**
 * The default provider: KEKs in a JSON file (mode 0600) in the data directory, made on first use.
 * Re-read when it changes, so that every process of a deployment follows a rotation.
 */
export class FileKeyProvider implements KeyProvider {
  #cached: { version: string; file: KeyFile } | null = null;

  constructor(readonly file: string) {}

  static inDataDir(dataDir: string): FileKeyProvider {
    return new FileKeyProvider(path.join(dataDir, 'keys.json'));
  }

  #read(): KeyFile {
    if (!existsSync(this.file)) this.#create();
    // A rotation renames a new file into place: another inode.
    const { ino, mtimeMs, size } = statSync(this.file);
    const version = `${ino}:${mtimeMs}:${size}`;
    if (this.#cached?.version !== version) {
      const file = KeyFileSchema.parse(JSON.parse(readFileSync(this.file, 'utf8')));
      this.#cached = { version, file };
    }
    return this.#cached.file;
  }

  /**
   * The first keys, made once: linked into place only if no other process made them first (a
   * rename would replace theirs, and the data keys they already wrapped would be lost).
   */
  #create(): void {
    const id = newKekId();
    const file: KeyFile = {
      current: id,
      keks: { [id]: randomBytes(KEY_BYTES).toString('base64') },
      blindIndex: randomBytes(KEY_BYTES).toString('base64'),
    };
    mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
    const temporary = `${this.file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    writeFileSync(temporary, JSON.stringify(file, null, 2), { mode: 0o600 });
    try {
      linkSync(temporary, this.file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      unlinkSync(temporary);
    }
  }

  /** Written aside and renamed, so that a reader never sees half a file. */
  #write(file: KeyFile): void {
    mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
    const temporary = `${this.file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    writeFileSync(temporary, JSON.stringify(file, null, 2), { mode: 0o600 });
    chmodSync(temporary, 0o600);
    renameSync(temporary, this.file);
    this.#cached = null;
  }

  #kek(kekId: string): Buffer {
    let key = this.#read().keks[kekId];
    if (key === undefined) {
      this.#cached = null; // another process may have rotated since
      key = this.#read().keks[kekId];
    }
    if (key === undefined) throw new Error(`key-encryption key ${kekId} is not in ${this.file}`);
    return Buffer.from(key, 'base64');
  }

  async currentKekId(): Promise<string> {
    return this.#read().current;
  }

  async wrap(kekId: string, dataKey: Buffer): Promise<Buffer> {
    return gcmSeal(this.#kek(kekId), dataKey, Buffer.from(kekId));
  }

  async unwrap(kekId: string, wrapped: Buffer): Promise<Buffer> {
    return gcmOpen(this.#kek(kekId), wrapped, Buffer.from(kekId));
  }

  async blindIndexKey(): Promise<Buffer> {
    return Buffer.from(this.#read().blindIndex, 'base64');
  }

  async rotate(): Promise<string> {
    const file = this.#read();
    const id = newKekId();
    this.#write({
      ...file,
      current: id,
      keks: { ...file.keks, [id]: randomBytes(KEY_BYTES).toString('base64') },
    });
    return id;
  }

  async kekIds(): Promise<string[]> {
    return Object.keys(this.#read().keks);
  }

  async retire(kekIds: string[]): Promise<void> {
    const file = this.#read();
    const keks = { ...file.keks };
    for (const id of kekIds) if (id !== file.current) delete keks[id];
    this.#write({ ...file, keks });
  }
}
