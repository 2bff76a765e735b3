import { holds, inReach } from '@registra/core';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { insertReads, readsOf, type ReadAuditRow } from '../store/read-audit.js';
import { findRecordState } from '../store/records.js';
import type { Caller, Registry } from './context.js';
import { forbidden, notFound } from './problem.js';
import { MANAGE_USERS } from './users.js';

export type { ReadAuditRow } from '../store/read-audit.js';

/** How long a read waits in memory before it is written with the others, at most. */
const FLUSH_MS = 250;
/** A batch written at once; more waiting starts a write at once. */
const BATCH = 500;
/** Reads held when the database cannot take them: past this the oldest are dropped and counted. */
const MAX_PENDING = 50_000;

/**
 * The read audit's writer (PROTOCOL 13): reads are kept in memory and written in batches, one
 * statement a batch, so that a read costs an array push rather than a write of its own. A process
 * that dies loses at most the last FLUSH_MS of reads; `close` writes what is pending.
 */
export class ReadAudit {
  #pending: ReadAuditRow[] = [];
  #timer: NodeJS.Timeout | null = null;
  #writing: Promise<void> = Promise.resolve();
  /** Reads dropped because the database could not take them in time. */
  dropped = 0;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly onError: (error: unknown) => void = () => undefined,
  ) {}

  record(row: ReadAuditRow): void {
    this.#pending.push(row);
    if (this.#pending.length > MAX_PENDING) {
      const excess = this.#pending.length - MAX_PENDING;
      this.#pending.splice(0, excess);
      this.dropped += excess;
    }
    if (this.#pending.length >= BATCH) void this.flush();
    else this.#timer ??= setTimeout(() => void this.flush(), FLUSH_MS);
  }

  /** Writes what is pending; resolves once it is written (or has failed and been reported). */
  flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const batch = this.#pending;
    this.#pending = [];
    this.#writing = this.#writing.then(async () => {
      for (let i = 0; i < batch.length; i += BATCH) {
        const part = batch.slice(i, i + BATCH);
        try {
          await insertReads(this.db, part);
        } catch (error) {
          // Kept for the next flush, so that an outage of the database loses no read.
          this.#pending.unshift(...batch.slice(i));
          this.onError(error);
          this.#timer ??= setTimeout(() => void this.flush(), FLUSH_MS * 4);
          return;
        }
      }
    });
    return this.#writing;
  }

  close(): Promise<void> {
    return this.flush();
  }
}

/**
 * A record's reads, newest first, with the key of the next page: for administrators, and for
 * whoever may register records of its type where it was created (a registrar in jurisdiction).
 */
export async function recordReads(
  registry: Registry,
  caller: Caller,
  recordId: string,
  limit: number,
  after: string | undefined,
) {
  const { config } = registry;
  const { principal } = caller;
  const record = await findRecordState(registry.db, recordId);
  const admin = holds(principal, MANAGE_USERS, principal.officeId, config.locations);
  if (!record || (!admin && !inReach(principal, config, record))) throw notFound('no such record');
  const register = config.recordTypes.get(record.type)?.actions.REGISTER?.permission;
  const registrar =
    register !== undefined &&
    holds(principal, register, record.createdAtLocation, config.locations);
  if (!admin && !registrar) throw forbidden('you may not see who read this record');
  const rows = await readsOf(registry.db, recordId, limit + 1, after ?? null);
  const page = rows.slice(0, limit);
  return {
    results: page.map(({ at, userId, role, route, kind }) => ({
      at: at.toISOString(),
      userId,
      role,
      route,
      kind,
    })),
    next: rows.length > limit ? (page[page.length - 1]?.id ?? null) : null,
  };
}
