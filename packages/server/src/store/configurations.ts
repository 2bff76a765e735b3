import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';

/** Keeps every configuration version ever used, so old entries can be read against theirs. */
export async function saveConfiguration(
  db: Kysely<Database>,
  version: string,
  document: unknown,
): Promise<void> {
  await db
    .insertInto('configurations')
    .values({ version, document: JSON.stringify(document) })
    .onConflict((oc) => oc.column('version').doNothing())
    .execute();
}

export async function findConfiguration(db: Kysely<Database>, version: string): Promise<unknown> {
  const row = await db
    .selectFrom('configurations')
    .select('document')
    .where('version', '=', version)
    .executeTakeFirst();
  return row?.document;
}
