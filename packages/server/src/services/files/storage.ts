import type { DataStore } from '@tus/server';
import type { Readable } from 'node:stream';

/** A byte range of a file, both ends included (HTTP Range). */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Where file bytes live (PROTOCOL 9): uploads in progress in a tus datastore, and accepted files
 * under their SHA-256, once per content. A directory under the data directory by default
 * (local-storage.ts), any S3-compatible bucket when REGISTRA_S3_BUCKET is set (s3-storage.ts).
 * Which files are held is the database's to say (table `files`); this is only the bytes.
 */
export interface FileStorage {
  /** Receives tus uploads in progress. */
  readonly uploads: DataStore;
  /** The bytes of a complete upload. */
  readUpload(uploadId: string): Promise<Readable>;
  /** Keeps a verified upload's bytes under their hash (nothing to do if they are already kept). */
  adopt(uploadId: string, sha256: string): Promise<void>;
  /** Forgets an upload: adopted, refused, or abandoned. Missing is not an error. */
  discardUpload(uploadId: string): Promise<void>;
  has(sha256: string): Promise<boolean>;
  read(sha256: string, range?: ByteRange): Promise<Readable>;
  /** Deletes a file's bytes. Missing is not an error. */
  delete(sha256: string): Promise<void>;
  /** Deletes uploads in progress that have passed the datastore's expiration. */
  deleteExpiredUploads(): Promise<number>;
  /** A short description for the startup log. */
  readonly description: string;
}
