import type { Action, Entry, RecordState } from '@registra/core';
import { Dexie, type DexieOptions, type Table } from 'dexie';
import type { AttentionItem, Draft, User } from './api.js';
import type { ResumeKey } from './vault.js';

export interface OutboxItem {
  deviceSeq: number;
  action: Action;
  savedAt: string;
}

/** Where a file stands on this device (PROTOCOL 9). */
export type FileState =
  /** Chosen here, kept here, not on the server yet. */
  | 'local'
  /** Chosen here, partly on the server: `uploaded` bytes of `size`. */
  | 'uploading'
  /** On the server (uploaded from here, or found there). */
  | 'uploaded'
  /** The server refused the bytes (hash, type, size): `error` says why. */
  | 'refused'
  /** Downloaded from the server for offline reading. */
  | 'downloaded';

/** A file the device knows, without its bytes (those are in `fileData`). */
export interface FileRow {
  sha256: string;
  name: string;
  type: string;
  size: number;
  state: FileState;
  /** Bytes the server has acknowledged while uploading. */
  uploaded: number;
  /** The tus upload to resume after a broken connection or a reload. */
  uploadUrl: string | null;
  /** The field it was chosen for: the server applies that field's rule to the upload. */
  recordType?: string;
  field?: string;
  error: string | null;
  addedAt: string;
  /** Last shown or downloaded: the least recently used downloads leave first when over budget. */
  lastUsedAt: string;
  /** Whether its bytes are on the device. */
  held: boolean;
}

export interface FileDataRow {
  sha256: string;
  data: ArrayBuffer;
}

export interface MetaRow {
  key: string;
  value: unknown;
}

/**
 * One database per user on the device: what they captured is theirs, and another person logging
 * in on a shared phone never syncs it under their own name.
 */
export class UserDatabase extends Dexie {
  meta!: Table<MetaRow, string>;
  entries!: Table<Entry, [string, number]>;
  records!: Table<RecordState, string>;
  outbox!: Table<OutboxItem, number>;
  attention!: Table<AttentionItem, string>;
  drafts!: Table<Draft, string>;
  files!: Table<FileRow, string>;
  fileData!: Table<FileDataRow, string>;

  constructor(userId: string, options: DexieOptions) {
    super(`registra-user-${userId}`, options);
    this.version(1).stores({
      meta: 'key',
      entries: '[recordId+seq], recordId',
      records: 'id, type, status, assignedTo, updatedAt, trackingId, registrationNumber, *flags',
      outbox: 'deviceSeq, action.recordId',
      attention: 'action.id, action.recordId',
      drafts: 'id, updatedAt',
    });
    // The file queue beside the outbox: what a file is and where it stands apart from its bytes,
    // so that listing the queue never reads megabytes.
    this.version(2).stores({
      files: 'sha256, state, lastUsedAt',
      fileData: 'sha256',
    });
  }

  async getMeta<T>(key: string): Promise<T | undefined> {
    return (await this.meta.get(key))?.value as T | undefined;
  }

  async setMeta(key: string, value: unknown): Promise<void> {
    await this.meta.put({ key, value });
  }
}

/** What the device keeps of a login: enough to refresh tokens and to unlock offline. */
export interface SessionRow {
  username: string;
  user: User;
  accessToken: string;
  refreshToken: string;
  verifier: { salt: string; hash: string; iterations: number };
  lastLoginAt: string;
  /**
   * When the person was last active with the session open, or absent once it was locked or
   * logged out: a reload within the lock delay resumes it without the password.
   */
  activeAt?: string;
  /**
   * While `activeAt` is set: the device data key wrapped by a random non-extractable key kept
   * beside it, so that a reload within the lock delay opens sealed values without the password.
   * Removed with `activeAt` (lock, logout); after that only the password opens the data key.
   */
  resume?: ResumeKey;
}

export class SessionDatabase extends Dexie {
  sessions!: Table<SessionRow, string>;

  constructor(options: DexieOptions) {
    super('registra-sessions', options);
    this.version(1).stores({ sessions: 'username' });
  }
}
