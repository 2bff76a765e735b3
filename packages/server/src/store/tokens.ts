import type { Kysely } from 'kysely';
import type { Database, JsonWebKeyShape } from '../db/schema.js';

export interface RefreshTokenRow {
  id: string;
  userId: string;
  family: string;
  expiresAt: Date;
  usedAt: Date | null;
  revokedAt: Date | null;
}

export async function insertRefreshToken(
  db: Kysely<Database>,
  token: { id: string; userId: string; family: string; tokenHash: string; expiresAt: Date },
): Promise<void> {
  await db
    .insertInto('refresh_tokens')
    .values({
      id: token.id,
      user_id: token.userId,
      family: token.family,
      token_hash: token.tokenHash,
      expires_at: token.expiresAt,
    })
    .execute();
}

/**
 * Marks the token used, if it was not: exactly one concurrent refresh with the same token wins.
 * Returns the token row as it was found, and whether this call was the one that used it.
 */
export async function useRefreshToken(
  db: Kysely<Database>,
  tokenHash: string,
): Promise<{ token: RefreshTokenRow; won: boolean } | undefined> {
  const used = await db
    .updateTable('refresh_tokens')
    .set({ used_at: new Date() })
    .where('token_hash', '=', tokenHash)
    .where('used_at', 'is', null)
    .returning(['id', 'user_id', 'family', 'expires_at', 'used_at', 'revoked_at'])
    .executeTakeFirst();
  const row =
    used ??
    (await db
      .selectFrom('refresh_tokens')
      .select(['id', 'user_id', 'family', 'expires_at', 'used_at', 'revoked_at'])
      .where('token_hash', '=', tokenHash)
      .executeTakeFirst());
  if (!row) return undefined;
  return {
    won: used !== undefined,
    token: {
      id: row.id,
      userId: row.user_id,
      family: row.family,
      expiresAt: row.expires_at,
      usedAt: row.used_at,
      revokedAt: row.revoked_at,
    },
  };
}

export async function revokeFamily(db: Kysely<Database>, family: string): Promise<void> {
  await db
    .updateTable('refresh_tokens')
    .set({ revoked_at: new Date() })
    .where('family', '=', family)
    .execute();
}

export async function revokeUserTokens(db: Kysely<Database>, userId: string): Promise<void> {
  await db
    .updateTable('refresh_tokens')
    .set({ revoked_at: new Date() })
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .execute();
}

export async function loadSigningKeys(
  db: Kysely<Database>,
): Promise<{ kid: string; privateJwk: JsonWebKeyShape; publicJwk: JsonWebKeyShape }[]> {
  const rows = await db
    .selectFrom('signing_keys')
    .selectAll()
    .orderBy('created_at', 'desc')
    .execute();
  return rows.map((r) => ({ kid: r.kid, privateJwk: r.private_jwk, publicJwk: r.public_jwk }));
}

export async function insertSigningKey(
  db: Kysely<Database>,
  key: { kid: string; privateJwk: JsonWebKeyShape; publicJwk: JsonWebKeyShape },
): Promise<void> {
  await db
    .insertInto('signing_keys')
    .values({
      kid: key.kid,
      private_jwk: JSON.stringify(key.privateJwk),
      public_jwk: JSON.stringify(key.publicJwk),
    })
    .onConflict((oc) => oc.column('kid').doNothing())
    .execute();
}
