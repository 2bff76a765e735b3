import type { Kysely } from 'kysely';
import pRetry from 'p-retry';
import type { Database } from '../db/schema.js';
import { lockedTransaction } from '../store/transaction.js';
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

/** Runs an appending transaction, holding the rebuild lock shared, and retries lost races. */
export function appendTransaction<T>(
  registry: Registry,
  work: (trx: Kysely<Database>) => Promise<T>,
): Promise<T> {
  return pRetry(() => lockedTransaction(registry.db, WRITE_LOCK, work), {
    retries: 5,
    minTimeout: 5,
    maxTimeout: 200,
    randomize: true,
    shouldRetry: ({ error }) => RETRYABLE.has(sqlState(error) ?? ''),
  });
}
