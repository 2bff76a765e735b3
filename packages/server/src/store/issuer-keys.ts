import { sql, type Kysely } from 'kysely';
import type { Database, JsonWebKeyShape } from '../db/schema.js';

export interface IssuerKeyRow {
  kid: string;
  privateJwk: JsonWebKeyShape;
  publicJwk: JsonWebKeyShape;
  createdAt: Date;
  retiredAt: Date | null;
}

const toKey = (row: {
  kid: string;
  private_jwk: JsonWebKeyShape;
  public_jwk: JsonWebKeyShape;
  created_at: Date;
  retired_at: Date | null;
}): IssuerKeyRow => ({
  kid: row.kid,
  privateJwk: row.private_jwk,
  publicJwk: row.public_jwk,
  createdAt: row.created_at,
  retiredAt: row.retired_at,
});

/** Every issuer key, newest first: the current one and the retired ones it replaced. */
export async function loadIssuerKeys(db: Kysely<Database>): Promise<IssuerKeyRow[]> {
  const rows = await db
    .selectFrom('issuer_keys')
    .selectAll()
    .orderBy('created_at', 'desc')
    .orderBy('kid', 'desc')
    .execute();
  return rows.map(toKey);
}

export async function findIssuerKey(
  db: Kysely<Database>,
  kid: string,
): Promise<IssuerKeyRow | undefined> {
  const row = await db
    .selectFrom('issuer_keys')
    .selectAll()
    .where('kid', '=', kid)
    .executeTakeFirst();
  return row && toKey(row);
}

export async function currentIssuerKey(db: Kysely<Database>): Promise<IssuerKeyRow | undefined> {
  const row = await db
    .selectFrom('issuer_keys')
    .selectAll()
    .where('retired_at', 'is', null)
    .orderBy('created_at', 'desc')
    .orderBy('kid', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row && toKey(row);
}

/**
 * Stores `key` as the current issuer key. With `retire`, the keys current until now are retired
 * (rotation); without it the key is only stored when there is no current key yet (first start),
 * so that API nodes starting together agree on one key.
 */
export async function putIssuerKey(
  db: Kysely<Database>,
  key: { kid: string; privateJwk: JsonWebKeyShape; publicJwk: JsonWebKeyShape },
  options: { retire: boolean },
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    // One writer of issuer keys at a time, in any process.
    await sql`SELECT pg_advisory_xact_lock(hashtext('registra.issuer_keys'))`.execute(trx);
    if (options.retire) {
      await trx
        .updateTable('issuer_keys')
        .set({ retired_at: new Date() })
        .where('retired_at', 'is', null)
        .execute();
    } else if (await currentIssuerKey(trx)) {
      return;
    }
    await trx
      .insertInto('issuer_keys')
      .values({
        kid: key.kid,
        private_jwk: JSON.stringify(key.privateJwk),
        public_jwk: JSON.stringify(key.publicJwk),
      })
      .execute();
  });
}
