import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';

export interface UserRow {
  id: string;
  username: string;
  name: string;
  role: string;
  officeId: string;
  kind: 'user' | 'client';
  active: boolean;
}

const COLUMNS = ['id', 'username', 'name', 'role', 'office_id', 'kind', 'active'] as const;

type Row = {
  id: string;
  username: string;
  name: string;
  role: string;
  office_id: string;
  kind: 'user' | 'client';
  active: boolean;
};

const toUser = (r: Row): UserRow => ({
  id: r.id,
  username: r.username,
  name: r.name,
  role: r.role,
  officeId: r.office_id,
  kind: r.kind,
  active: r.active,
});

export async function findUserById(db: Kysely<Database>, id: string): Promise<UserRow | undefined> {
  const row = await db.selectFrom('users').select(COLUMNS).where('id', '=', id).executeTakeFirst();
  return row && toUser(row);
}

export async function findUserWithHash(
  db: Kysely<Database>,
  username: string,
): Promise<(UserRow & { passwordHash: string }) | undefined> {
  const row = await db
    .selectFrom('users')
    .select([...COLUMNS, 'password_hash'])
    .where('username', '=', username)
    .executeTakeFirst();
  return row && { ...toUser(row), passwordHash: row.password_hash };
}

export async function listUsers(db: Kysely<Database>): Promise<UserRow[]> {
  const rows = await db.selectFrom('users').select(COLUMNS).orderBy('username').execute();
  return rows.map(toUser);
}

/** The active users among the given ids. */
export async function findActiveUsers(db: Kysely<Database>, ids: string[]): Promise<UserRow[]> {
  if (ids.length === 0) return [];
  const rows = await db
    .selectFrom('users')
    .select(COLUMNS)
    .where('id', 'in', ids)
    .where('active', '=', true)
    .execute();
  return rows.map(toUser);
}

export interface NewUser {
  id: string;
  username: string;
  name: string;
  role: string;
  officeId: string;
  kind: 'user' | 'client';
  passwordHash: string;
}

/** Inserts the user unless the username is taken; returns whether it was inserted. */
export async function insertUser(db: Kysely<Database>, user: NewUser): Promise<boolean> {
  const result = await db
    .insertInto('users')
    .values({
      id: user.id,
      username: user.username,
      name: user.name,
      role: user.role,
      office_id: user.officeId,
      kind: user.kind,
      password_hash: user.passwordHash,
    })
    .onConflict((oc) => oc.column('username').doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
}

export async function setUserActive(
  db: Kysely<Database>,
  username: string,
  active: boolean,
): Promise<UserRow | undefined> {
  const row = await db
    .updateTable('users')
    .set({ active })
    .where('username', '=', username)
    .returning(COLUMNS)
    .executeTakeFirst();
  return row && toUser(row);
}

/**
 * Makes or refreshes a machine client that the configuration defines (an adapter in): its name,
 * role and office follow the configuration; it has no usable password.
 */
export async function upsertMachineClient(
  db: Kysely<Database>,
  client: Pick<UserRow, 'id' | 'username' | 'name' | 'role' | 'officeId'>,
): Promise<void> {
  await db
    .insertInto('users')
    .values({
      id: client.id,
      username: client.username,
      name: client.name,
      role: client.role,
      office_id: client.officeId,
      kind: 'client',
      password_hash: '!',
    })
    .onConflict((oc) =>
      oc.column('id').doUpdateSet({
        name: client.name,
        role: client.role,
        office_id: client.officeId,
      }),
    )
    .execute();
}
