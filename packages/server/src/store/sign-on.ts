import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.js';

/** A sign-on under way: what the provider's redirect must match. */
export interface SignOnRequest {
  state: string;
  codeVerifier: string;
  nonce: string;
  expiresAt: Date;
}

export async function insertSignOnRequest(
  db: Kysely<Database>,
  request: SignOnRequest,
): Promise<void> {
  // Requests left by people who never came back go with each new one.
  await db
    .deleteFrom('sign_on_requests')
    .where('expires_at', '<', sql<Date>`now()`)
    .execute();
  await db
    .insertInto('sign_on_requests')
    .values({
      state: request.state,
      code_verifier: request.codeVerifier,
      nonce: request.nonce,
      expires_at: request.expiresAt,
    })
    .execute();
}

/** Takes the request of that state, once: a replayed redirect finds nothing. */
export async function takeSignOnRequest(
  db: Kysely<Database>,
  state: string,
  now: Date,
): Promise<SignOnRequest | undefined> {
  const row = await db
    .deleteFrom('sign_on_requests')
    .where('state', '=', state)
    .returningAll()
    .executeTakeFirst();
  if (!row || row.expires_at <= now) return undefined;
  return {
    state: row.state,
    codeVerifier: row.code_verifier,
    nonce: row.nonce,
    expiresAt: row.expires_at,
  };
}

/** The user linked to the provider's account (issuer, subject). */
export async function findIdentity(
  db: Kysely<Database>,
  issuer: string,
  subject: string,
): Promise<string | undefined> {
  const row = await db
    .selectFrom('user_identities')
    .select('user_id')
    .where('issuer', '=', issuer)
    .where('subject', '=', subject)
    .executeTakeFirst();
  return row?.user_id;
}

export async function insertIdentity(
  db: Kysely<Database>,
  identity: { issuer: string; subject: string; userId: string },
): Promise<void> {
  await db
    .insertInto('user_identities')
    .values({ issuer: identity.issuer, subject: identity.subject, user_id: identity.userId })
    .execute();
}

/** Sets the role, office and name the provider's claims now give. */
export async function updateSignedOnUser(
  db: Kysely<Database>,
  userId: string,
  account: { name: string; role: string; officeId: string },
): Promise<void> {
  await db
    .updateTable('users')
    .set({ name: account.name, role: account.role, office_id: account.officeId })
    .where('id', '=', userId)
    .execute();
}

export async function insertSignOnCode(
  db: Kysely<Database>,
  code: { hash: string; userId: string; expiresAt: Date },
): Promise<void> {
  await db
    .deleteFrom('sign_on_codes')
    .where('expires_at', '<', sql<Date>`now()`)
    .execute();
  await db
    .insertInto('sign_on_codes')
    .values({ code_hash: code.hash, user_id: code.userId, expires_at: code.expiresAt })
    .execute();
}

/** Takes a one-time code, once; its user if it had not expired. */
export async function takeSignOnCode(
  db: Kysely<Database>,
  hash: string,
  now: Date,
): Promise<string | undefined> {
  const row = await db
    .deleteFrom('sign_on_codes')
    .where('code_hash', '=', hash)
    .returningAll()
    .executeTakeFirst();
  return row && row.expires_at > now ? row.user_id : undefined;
}
