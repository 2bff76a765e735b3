import { sql, type Kysely } from 'kysely';
import pRetry from 'p-retry';
import type { Database } from '../db/schema.js';
import type { Registry } from './context.js';
import { WRITE_LOCK } from './read-model.js';

/**
 * PostgreSQL errors after which the whole transaction can simply run again: a deadlock, a
 * serialization failure, or two requests creating the same record at once (the loser then sees
 * the winner's record and answers RECORD_EXISTS or a duplicate).
 */
const RETRYABLE = new Set(['40001', '40P01', '23505']);

function sqlState(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error
    ? String(error.code)
    : undefined;
}

/** BEGIN and the rebuild lock, shared, in one round trip (a constant: no parameters needed). */
const BEGIN = sql.raw(`BEGIN; SELECT pg_advisory_xact_lock_shared(${WRITE_LOCK})`);

/**
 * Runs an appending transaction, holding the rebuild lock shared, and retries lost races. Every
 * round trip costs a socket write and a wakeup on both sides, so BEGIN and the lock share one.
 */
export function appendTransaction<T>(
  registry: Registry,
  work: (trx: Kysely<Database>) => Promise<T>,
): Promise<T> {
  return pRetry(
    () =>
      registry.db.connection().execute(async (trx) => {
        await BEGIN.execute(trx);
        try {
          const result = await work(trx);
          await sql`COMMIT`.execute(trx);
          return result;
        } catch (error) {
          await sql`ROLLBACK`.execute(trx).catch(() => undefined);
          throw error;
        }
      }),
    {
      retries: 5,
      minTimeout: 5,
      maxTimeout: 200,
      randomize: true,
      shouldRetry: ({ error }) => RETRYABLE.has(sqlState(error) ?? ''),
    },
  );
}
