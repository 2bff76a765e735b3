import { FileStore } from '@tus/file-store';
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, open, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { ByteRange, FileStorage } from './storage.js';

/**
 * Files in a directory (by default `<REGISTRA_DATA_DIR>/files`): tus uploads in progress under
 * `uploads/`, accepted files under `sha256/<first two hex digits>/<hash>`. A file is written
 * under a temporary name, flushed to disk, then renamed, so that a crash never leaves half a file
 * under a hash.
 */
export class LocalFileStorage implements FileStorage {
  readonly uploads: FileStore;
  readonly description: string;
  readonly #uploadsDir: string;
  readonly #filesDir: string;

  constructor(directory: string, expirationMs: number) {
    this.#uploadsDir = path.join(directory, 'uploads');
    this.#filesDir = path.join(directory, 'sha256');
    this.uploads = new FileStore({
      directory: this.#uploadsDir,
      expirationPeriodInMilliseconds: expirationMs,
    });
    this.description = `directory ${path.resolve(directory)}`;
  }

  #path(sha256: string): string {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`not a SHA-256: ${sha256}`);
    return path.join(this.#filesDir, sha256.slice(0, 2), sha256);
  }

  async readUpload(uploadId: string): Promise<Readable> {
    const upload = await this.uploads.getUpload(uploadId);
    return createReadStream(path.join(this.#uploadsDir, upload.id));
  }

  async adopt(uploadId: string, sha256: string): Promise<void> {
    const target = this.#path(sha256);
    if (await this.has(sha256)) return;
    await mkdir(path.dirname(target), { recursive: true });
    const temporary = `${target}.${randomUUID()}.tmp`;
    try {
      await copyFile(path.join(this.#uploadsDir, uploadId), temporary);
      const handle = await open(temporary, 'r');
      await handle.sync().finally(() => handle.close());
      await rename(temporary, target);
    } finally {
      await rm(temporary, { force: true });
    }
  }

  async discardUpload(uploadId: string): Promise<void> {
    await this.uploads.remove(uploadId).catch(() => undefined);
    await rm(path.join(this.#uploadsDir, `${uploadId}.json`), { force: true });
  }

  async has(sha256: string): Promise<boolean> {
    return stat(this.#path(sha256)).then(
      (s) => s.isFile(),
      () => false,
    );
  }

  async read(sha256: string, range?: ByteRange): Promise<Readable> {
    const file = this.#path(sha256);
    // Open first, so that a missing file fails here and not in the middle of an answer.
    const handle = await open(file, 'r');
    return handle.createReadStream(range ? { start: range.start, end: range.end } : {});
  }

  async delete(sha256: string): Promise<void> {
    await rm(this.#path(sha256), { force: true });
  }

  deleteExpiredUploads(): Promise<number> {
    return this.uploads.deleteExpired();
  }
}
