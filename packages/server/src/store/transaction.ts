import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.js';

/**
 * Runs `work` in a transaction that first takes the advisory lock `sharedLock` in shared mode.
 * BEGIN and the lock go in one simple-protocol message (the key is a constant of the code, not
 * input: no parameter needed), because every round trip costs a socket write and a wakeup.
 */
export function lockedTransaction<T>(
  db: Kysely<Database>,
  sharedLock: number,
  work: (trx: Kysely<Database>) => Promise<T>,
): Promise<T> {
  if (!Number.isSafeInteger(sharedLock)) throw new Error('the lock key must be an integer');
  const begin = sql.raw(`BEGIN; SELECT pg_advisory_xact_lock_shared(${sharedLock})`);
  return db.connection().execute(async (trx) => {
    await begin.execute(trx);
    try {
      const result = await work(trx);
      await sql`COMMIT`.execute(trx);
      return result;
    } catch (error) {
      await sql`ROLLBACK`.execute(trx).catch(() => undefined);
      throw error;
    }
  });
}

/** Takes the advisory lock `key` exclusively until the transaction ends. */
export async function lockExclusively(trx: Kysely<Database>, key: number): Promise<void> {
  await sql`SELECT pg_advisory_xact_lock(${key})`.execute(trx);
}
