import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.js';

/** Advisory lock classes (two-key form) of the login throttle: one username, one address. */
const USERNAME_LOCK = 0x4c4f_4755; // "LOGU"
const ADDRESS_LOCK = 0x4c4f_4741; // "LOGA"

/**
 * Serialises the attempts of one username and of one address, on every API node, until the
 * transaction ends: a burst of parallel guesses is counted one by one, not all against the same
 * count. Always username first, then address, so two attempts never wait for each other in a circle.
 */
export async function lockLoginKeys(
  trx: Kysely<Database>,
  username: string,
  address: string,
): Promise<void> {
  await sql`SELECT pg_advisory_xact_lock(${USERNAME_LOCK}, hashtext(${username})),
                   pg_advisory_xact_lock(${ADDRESS_LOCK}, hashtext(${address}))`.execute(trx);
}

export interface AttemptsInWindow {
  /** Attempts since the window's start, failed or still being checked. */
  count: number;
  /** When the `nth` most recent failed attempt of the window was made, if there are that many. */
  nthLatestFailure: Date | null;
}

/** Attempts of one username (or address) since `since`. */
export async function attemptsSince(
  db: Kysely<Database>,
  key: { username: string } | { address: string },
  since: Date,
  nth: number,
): Promise<AttemptsInWindow> {
  const match = 'username' in key ? sql`username = ${key.username}` : sql`address = ${key.address}`;
  const { rows } = await sql<{ count: string; nth: Date | null }>`
    SELECT
      (SELECT count(*) FROM login_attempts WHERE ${match} AND attempted_at > ${since}) AS count,
      (SELECT attempted_at FROM login_attempts
        WHERE ${match} AND attempted_at > ${since} AND failed
        ORDER BY attempted_at DESC OFFSET ${nth - 1} LIMIT 1) AS nth`.execute(db);
  const row = rows[0];
  return { count: Number(row?.count ?? 0), nthLatestFailure: row?.nth ?? null };
}

/**
 * Records an attempt about to be checked, and deletes up to `prune` rows from before
 * `expiredBefore` (skipping rows another login is deleting): each attempt removes more old rows
 * than it adds, so the table holds little more than the attempts of the longest window.
 */
export async function recordAttempt(
  db: Kysely<Database>,
  attempt: { username: string; address: string; at: Date },
  expiredBefore: Date,
  prune: number,
): Promise<string> {
  const { rows } = await sql<{ id: string }>`
    WITH expired AS (
      DELETE FROM login_attempts WHERE id IN (
        SELECT id FROM login_attempts WHERE attempted_at < ${expiredBefore}
        ORDER BY attempted_at LIMIT ${prune} FOR UPDATE SKIP LOCKED)
    )
    INSERT INTO login_attempts (username, address, attempted_at)
    VALUES (${attempt.username}, ${attempt.address}, ${attempt.at})
    RETURNING id::text AS id`.execute(db);
  return (rows[0] as { id: string }).id;
}

/** The password was wrong: the attempt counts as a failure for its whole window. */
export async function markAttemptFailed(db: Kysely<Database>, id: string): Promise<void> {
  await db.updateTable('login_attempts').set({ failed: true }).where('id', '=', id).execute();
}

/** The password was right, or it could not be checked: the attempt does not count. */
export async function forgetAttempt(db: Kysely<Database>, id: string): Promise<void> {
  await db.deleteFrom('login_attempts').where('id', '=', id).execute();
}
