import type { Principal, RegistryConfig } from '@registra/core';
import type { DB } from '../db/database.js';
import type { ReadReplica } from '../db/replica.js';
import type { UserRow } from '../store/users.js';
import type { AppendEffect } from './append/effects.js';
import type { Vault } from './vault/index.js';

/** What every service works with: the database, the active configuration and the clock. */
export interface Registry {
  db: DB;
  config: RegistryConfig;
  now: () => Date;
  /** Sensitive fields' keys and blind indexes (PROTOCOL 13). */
  vault: Vault;
  /** What else happens when entries are appended (hooks, files, deduplication). */
  effects?: AppendEffect[];
  /** A streaming replica that takes reads (DATABASE_REPLICA_URL); see http/replica-reads.ts. */
  replica?: ReadReplica;
}

/** The authenticated caller: the stored user and their principal under the configuration. */
export interface Caller {
  user: UserRow;
  principal: Principal;
}
