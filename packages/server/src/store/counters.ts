import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.js';

/** The next value of a named counter; the row lock keeps it gap-free and unique across nodes. */
export async function nextCounter(trx: Kysely<Database>, key: string): Promise<number> {
  const result = await sql<{ value: string }>`
    INSERT INTO registration_counters (key, value) VALUES (${key}, 1)
    ON CONFLICT (key) DO UPDATE SET value = registration_counters.value + 1
    RETURNING value`.execute(trx);
  return Number(result.rows[0]?.value);
}
