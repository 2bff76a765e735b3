import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.js';

export interface CredentialRow {
  id: string;
  recordId: string;
  recordType: string;
  issuedSeq: number;
  issuedAt: Date;
  kid: string;
  statusList: number;
  statusIndex: number;
  jwt: string;
}

const COLUMNS = [
  'id',
  'record_id',
  'record_type',
  'issued_seq',
  'issued_at',
  'kid',
  'status_list',
  'status_index',
  'jwt',
] as const;

const toCredential = (row: {
  id: string;
  record_id: string;
  record_type: string;
  issued_seq: number;
  issued_at: Date;
  kid: string;
  status_list: number;
  status_index: number;
  jwt: string;
}): CredentialRow => ({
  id: row.id,
  recordId: row.record_id,
  recordType: row.record_type,
  issuedSeq: row.issued_seq,
  issuedAt: row.issued_at,
  kid: row.kid,
  statusList: row.status_list,
  statusIndex: row.status_index,
  jwt: row.jwt,
});

/** The next position in issuance order: it decides the credential's status list and index. */
export async function nextCredentialOrdinal(db: Kysely<Database>): Promise<number> {
  const { rows } = await sql<{ n: string }>`SELECT nextval('credential_ordinal') AS n`.execute(db);
  return Number(rows[0]?.n);
}

/** Stores a credential unless the record already has one for that seq; answers the stored one. */
export async function insertCredential(
  db: Kysely<Database>,
  credential: CredentialRow,
): Promise<CredentialRow> {
  await db
    .insertInto('credentials')
    .values({
      id: credential.id,
      record_id: credential.recordId,
      record_type: credential.recordType,
      issued_seq: credential.issuedSeq,
      issued_at: credential.issuedAt,
      kid: credential.kid,
      status_list: credential.statusList,
      status_index: credential.statusIndex,
      jwt: credential.jwt,
    })
    .onConflict((oc) => oc.columns(['record_id', 'issued_seq']).doNothing())
    .execute();
  const stored = await db
    .selectFrom('credentials')
    .select(COLUMNS)
    .where('record_id', '=', credential.recordId)
    .where('issued_seq', '=', credential.issuedSeq)
    .executeTakeFirstOrThrow();
  return toCredential(stored);
}

/** The record's latest credential. */
export async function latestCredential(
  db: Kysely<Database>,
  recordId: string,
): Promise<CredentialRow | undefined> {
  const row = await db
    .selectFrom('credentials')
    .select(COLUMNS)
    .where('record_id', '=', recordId)
    .orderBy('issued_seq', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row && toCredential(row);
}

export async function findCredential(
  db: Kysely<Database>,
  id: string,
): Promise<CredentialRow | undefined> {
  const row = await db
    .selectFrom('credentials')
    .select(COLUMNS)
    .where('id', '=', id)
    .executeTakeFirst();
  return row && toCredential(row);
}

/** Whether any credential was issued into status list `list` (lists are made as they fill). */
export async function statusListExists(db: Kysely<Database>, list: number): Promise<boolean> {
  const row = await db
    .selectFrom('credentials')
    .select('id')
    .where('status_list', '=', list)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * What happened to a credential's record after it was issued: each accepted entry that may change
 * its status (an APPROVE answered as the request it confirmed), or one row with `type` null when
 * nothing did.
 */
export interface LaterAction {
  credentialId: string;
  statusIndex: number;
  recordType: string;
  type: string | null;
  customType: string | null;
}

/** Frequent actions that never change a credential's status. */
const NEUTRAL = ['ASSIGN', 'UNASSIGN', 'PRINT_CERTIFICATE'];

/** The actions after issuance of every credential in status list `list`, or of one credential. */
export async function actionsAfterIssuance(
  db: Kysely<Database>,
  where: { list: number } | { credentialId: string },
): Promise<LaterAction[]> {
  const filter =
    'list' in where ? sql`c.status_list = ${where.list}` : sql`c.id = ${where.credentialId}::uuid`;
  const { rows } = await sql<{
    credential_id: string;
    status_index: number;
    record_type: string;
    type: string | null;
    custom_type: string | null;
  }>`
    SELECT c.id AS credential_id, c.status_index, c.record_type,
      COALESCE(r.type, e.type) AS type,
      CASE WHEN e.type = 'APPROVE' THEN r.body->>'customType' ELSE e.body->>'customType' END AS custom_type
    FROM credentials c
    LEFT JOIN entries e ON e.record_id = c.record_id AND e.seq > c.issued_seq
      AND e.status = 'accepted' AND e.type <> ALL(${NEUTRAL})
    LEFT JOIN entries r ON e.type = 'APPROVE' AND r.record_id = e.record_id
      AND r.id = (e.body->>'requestId')::uuid
    WHERE ${filter}`.execute(db);
  return rows.map((row) => ({
    credentialId: row.credential_id,
    statusIndex: row.status_index,
    recordType: row.record_type,
    type: row.type,
    customType: row.custom_type,
  }));
}

/** The accepted actions of a record after `afterSeq` (APPROVEs as what they confirmed). */
export async function recordActionsAfter(
  db: Kysely<Database>,
  recordId: string,
  afterSeq: number,
): Promise<{ type: string; customType: string | null }[]> {
  const { rows } = await sql<{ type: string; custom_type: string | null }>`
    SELECT COALESCE(r.type, e.type) AS type,
      CASE WHEN e.type = 'APPROVE' THEN r.body->>'customType' ELSE e.body->>'customType' END AS custom_type
    FROM entries e
    LEFT JOIN entries r ON e.type = 'APPROVE' AND r.record_id = e.record_id
      AND r.id = (e.body->>'requestId')::uuid
    WHERE e.record_id = ${recordId}::uuid AND e.seq > ${afterSeq} AND e.status = 'accepted'
      AND e.type <> ALL(${NEUTRAL})`.execute(db);
  return rows.map((row) => ({ type: row.type, customType: row.custom_type }));
}
