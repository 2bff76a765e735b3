import { CONSENT_RECORD_TYPE, consentOf, type Consent, type RecordState } from '@registra/core';
import type { AuditPage, ExchangeAuditRow } from '@registra/exchange';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.js';

/** The exchange's reads and writes (PROTOCOL 12): consents from the read model, audit, codes. */

const toConsents = (rows: { state: RecordState }[]): Consent[] =>
  rows.flatMap(({ state }) => {
    const consent = consentOf(state);
    return consent ? [consent] : [];
  });

export async function findConsent(db: Kysely<Database>, id: string): Promise<Consent | null> {
  const row = await db
    .selectFrom('records')
    .select(['state', 'created_at_location'])
    .where('id', '=', id)
    .where('type', '=', CONSENT_RECORD_TYPE)
    .executeTakeFirst();
  return row ? (toConsents([row as { state: RecordState }])[0] ?? null) : null;
}

/** Where a consent was requested: the office its later entries are made at. */
export async function consentOffice(db: Kysely<Database>, id: string): Promise<string | null> {
  const row = await db
    .selectFrom('records')
    .select('created_at_location')
    .where('id', '=', id)
    .where('type', '=', CONSENT_RECORD_TYPE)
    .executeTakeFirst();
  return row?.created_at_location ?? null;
}

export async function latestConsent(
  db: Kysely<Database>,
  consumer: string,
  subjectId: string,
): Promise<Consent | null> {
  const rows = await sql<{ state: RecordState }>`
    SELECT state FROM records
    WHERE type = ${CONSENT_RECORD_TYPE}
      AND state->'declaration'->>'consumer' = ${consumer}
      AND state->'declaration'->>'subjectId' = ${subjectId}
    ORDER BY created_at DESC, id DESC LIMIT 1`.execute(db);
  return toConsents(rows.rows)[0] ?? null;
}

export async function consentsOfSubject(
  db: Kysely<Database>,
  subjectId: string,
): Promise<Consent[]> {
  const rows = await sql<{ state: RecordState }>`
    SELECT state FROM records
    WHERE type = ${CONSENT_RECORD_TYPE} AND state->'declaration'->>'subjectId' = ${subjectId}
    ORDER BY created_at DESC, id DESC LIMIT 200`.execute(db);
  return toConsents(rows.rows);
}

/** The declaration of the registered record of `recordType` with this registration number. */
export async function findSubject(
  db: Kysely<Database>,
  recordType: string,
  registrationNumber: string,
): Promise<Record<string, unknown> | null> {
  const row = await db
    .selectFrom('records')
    .select('state')
    .where('registration_number', '=', registrationNumber)
    .where('type', '=', recordType)
    .executeTakeFirst();
  return row ? ((row.state as RecordState).declaration as Record<string, unknown>) : null;
}

export async function insertCode(
  db: Kysely<Database>,
  consentId: string,
  codeHash: string,
  expiresAt: Date,
): Promise<void> {
  await db
    .insertInto('exchange_codes')
    .values({ consent_id: consentId, code_hash: codeHash, expires_at: expiresAt })
    .onConflict((oc) => oc.doNothing())
    .execute();
}

/** At most this many tries of codes per consent, counted against its live codes. */
const MAX_ATTEMPTS = 5;

/**
 * Whether the code is a live one of the consent. Every try counts against each of the consent's
 * live codes, so that guessing six digits is over after five tries.
 */
export async function checkCode(
  db: Kysely<Database>,
  consentId: string,
  codeHash: string,
  now: Date,
): Promise<boolean> {
  const rows = await sql<{ code_hash: string }>`
    UPDATE exchange_codes SET attempts = attempts + 1
    WHERE consent_id = ${consentId} AND expires_at > ${now} AND attempts < ${MAX_ATTEMPTS}
    RETURNING code_hash`.execute(db);
  return rows.rows.some((r) => r.code_hash === codeHash);
}

export async function insertSession(
  db: Kysely<Database>,
  tokenHash: string,
  subjectId: string,
  expiresAt: Date,
): Promise<void> {
  await db
    .insertInto('exchange_sessions')
    .values({ token_hash: tokenHash, subject_id: subjectId, expires_at: expiresAt })
    .execute();
}

export async function findSession(
  db: Kysely<Database>,
  tokenHash: string,
  now: Date,
): Promise<string | null> {
  const row = await db
    .selectFrom('exchange_sessions')
    .select('subject_id')
    .where('token_hash', '=', tokenHash)
    .where('expires_at', '>', now)
    .executeTakeFirst();
  return row?.subject_id ?? null;
}

export async function insertExchangeAudit(
  db: Kysely<Database>,
  row: ExchangeAuditRow,
): Promise<void> {
  await db
    .insertInto('exchange_audit')
    .values({
      at: row.at,
      consumer: row.consumer,
      subject_id: row.subjectId,
      purpose: row.purpose,
      consent_id: row.consentId,
      fields: JSON.stringify(row.fields),
      latencies: JSON.stringify(row.latencies),
    })
    .execute();
}

/** Exchanges, newest first, in keyset pages (`after`: the last row's id). */
export async function listExchangeAudit(
  db: Kysely<Database>,
  filter: { subjectId?: string; consumer?: string; limit: number; after?: string },
): Promise<AuditPage> {
  let query = db
    .selectFrom('exchange_audit')
    .select(['id', 'at', 'consumer', 'subject_id', 'purpose', 'consent_id', 'fields', 'latencies'])
    .orderBy('id', 'desc')
    .limit(filter.limit + 1);
  if (filter.subjectId !== undefined) query = query.where('subject_id', '=', filter.subjectId);
  if (filter.consumer !== undefined) query = query.where('consumer', '=', filter.consumer);
  if (filter.after !== undefined) query = query.where('id', '<', filter.after);
  const rows = await query.execute();
  const page = rows.slice(0, filter.limit);
  return {
    results: page.map((r) => ({
      id: String(r.id),
      at: r.at.toISOString(),
      consumer: r.consumer,
      subjectId: r.subject_id,
      purpose: r.purpose,
      consentId: r.consent_id,
      fields: r.fields as ExchangeAuditRow['fields'],
      latencies: r.latencies as ExchangeAuditRow['latencies'],
    })),
    next: rows.length > filter.limit ? String(page[page.length - 1]?.id) : null,
  };
}
