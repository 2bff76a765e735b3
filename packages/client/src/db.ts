import type { Action, Entry, RecordState } from '@registra/core';
import { Dexie, type DexieOptions, type Table } from 'dexie';
import type { AttentionItem, Draft, User } from './api.js';

export interface OutboxItem {
  deviceSeq: number;
  action: Action;
  savedAt: string;
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
}

export class SessionDatabase extends Dexie {
  sessions!: Table<SessionRow, string>;

  constructor(options: DexieOptions) {
    super('registra-sessions', options);
    this.version(1).stores({ sessions: 'username' });
  }
}
