import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../db/schema.js';

/**
 * The DCI tables (migrations 0061_dci, 0066_dci_txn_status, 0070_dci_callback_withheld):
 * subscriptions, and the outbox of callbacks to partners.
 */

/**
 * A callback's state: `pending` until the partner answers 2xx (`done`), or `withheld` when what
 * it would carry may not be sent (a notification without the subject's consent).
 */
export type CallbackState = 'pending' | 'done' | 'withheld';

export type CallbackKind =
  'on-search' | 'on-subscribe' | 'on-unsubscribe' | 'notify' | 'txn-on-status';

export interface SubscriptionRow {
  code: string;
  partner: string;
  recordType: string;
  event: string;
  transactionId: string;
  referenceId: string;
  criteria: unknown;
  status: 'subscribe' | 'unsubscribe';
  createdAt: string;
}

export interface CallbackRow {
  id: string;
  partner: string;
  kind: CallbackKind;
  transactionId: string;
  correlationId: string;
  payload: Record<string, unknown>;
  response: unknown;
  state: CallbackState;
}

export async function insertSubscriptions(
  db: Kysely<Database>,
  rows: Omit<SubscriptionRow, 'status' | 'createdAt'>[],
): Promise<void> {
  if (rows.length === 0) return;
  await sql`
    INSERT INTO dci_subscriptions (code, partner, record_type, event, transaction_id, reference_id, criteria)
    SELECT code, partner, record_type, event, transaction_id, reference_id, criteria
    FROM jsonb_to_recordset(${JSON.stringify(
      rows.map((r) => ({
        code: r.code,
        partner: r.partner,
        record_type: r.recordType,
        event: r.event,
        transaction_id: r.transactionId,
        reference_id: r.referenceId,
        criteria: r.criteria,
      })),
    )}::jsonb) AS x(code text, partner text, record_type text, event text, transaction_id text,
      reference_id text, criteria jsonb)`.execute(db);
}

/** The partner's active subscription to this event of this record type, if any. */
export async function activeSubscription(
  db: Kysely<Database>,
  partner: string,
  recordType: string,
  event: string,
): Promise<string | null> {
  const { rows } = await sql<{ code: string }>`
    SELECT code FROM dci_subscriptions
    WHERE partner = ${partner} AND record_type = ${recordType} AND event = ${event}
      AND status = 'subscribe' LIMIT 1`.execute(db);
  return rows[0]?.code ?? null;
}

/** Ends the partner's subscriptions among `codes`; answers each code's status before. */
export async function endSubscriptions(
  db: Kysely<Database>,
  partner: string,
  codes: string[],
): Promise<Map<string, 'subscribe' | 'unsubscribe'>> {
  const { rows } = await sql<{ code: string; status: 'subscribe' | 'unsubscribe' }>`
    SELECT code, status FROM dci_subscriptions
    WHERE partner = ${partner} AND code = ANY(${codes}::text[]) FOR UPDATE`.execute(db);
  await sql`
    UPDATE dci_subscriptions SET status = 'unsubscribe', ended_at = now()
    WHERE partner = ${partner} AND code = ANY(${codes}::text[]) AND status = 'subscribe'`.execute(
    db,
  );
  return new Map(rows.map((r) => [r.code, r.status]));
}

export async function findSubscription(
  db: Kysely<Database>,
  code: string,
): Promise<SubscriptionRow | null> {
  const { rows } = await sql<{
    code: string;
    partner: string;
    record_type: string;
    event: string;
    transaction_id: string;
    reference_id: string;
    criteria: unknown;
    status: 'subscribe' | 'unsubscribe';
    created_at: Date;
  }>`SELECT * FROM dci_subscriptions WHERE code = ${code}`.execute(db);
  const r = rows[0];
  return r
    ? {
        code: r.code,
        partner: r.partner,
        recordType: r.record_type,
        event: r.event,
        transactionId: r.transaction_id,
        referenceId: r.reference_id,
        criteria: r.criteria,
        status: r.status,
        createdAt: r.created_at.toISOString(),
      }
    : null;
}

/** A callback to send: a row of the outbox. */
export function insertCallbackStatement(
  row: Omit<CallbackRow, 'response' | 'state'>,
): RawBuilder<unknown> {
  return sql`
    INSERT INTO dci_callbacks (id, partner, kind, transaction_id, correlation_id, payload)
    VALUES (${row.id}::uuid, ${row.partner}, ${row.kind}, ${row.transactionId}, ${row.correlationId},
      ${JSON.stringify(row.payload)}::jsonb)`;
}

/**
 * A notification per active subscription to this event of this record type, written with the
 * entry that makes the event (so that a crash loses none).
 */
export function notificationsStatement(event: {
  recordType: string;
  event: string;
  entryId: string;
  recordId: string;
  at: string;
}): RawBuilder<unknown> {
  return sql`
    INSERT INTO dci_callbacks (id, partner, kind, transaction_id, correlation_id, payload)
    SELECT gen_random_uuid(), s.partner, 'notify', s.transaction_id, gen_random_uuid()::text,
      jsonb_build_object('subscription', s.code, 'referenceId', s.reference_id,
        'entryId', ${event.entryId}::text, 'recordId', ${event.recordId}::text,
        'event', ${event.event}::text, 'at', ${event.at}::text)
    FROM dci_subscriptions s
    WHERE s.record_type = ${event.recordType} AND s.event = ${event.event} AND s.status = 'subscribe'`;
}

function toCallback(r: {
  id: string;
  partner: string;
  kind: CallbackKind;
  transaction_id: string;
  correlation_id: string;
  payload: Record<string, unknown>;
  response: unknown;
  state: CallbackState;
}): CallbackRow {
  return {
    id: r.id,
    partner: r.partner,
    kind: r.kind,
    transactionId: r.transaction_id,
    correlationId: r.correlation_id,
    payload: r.payload,
    response: r.response,
    state: r.state,
  };
}

/** Pending callbacks: by id, or the notifications of one entry. */
export async function pendingCallbacks(
  db: Kysely<Database>,
  by: { id: string } | { entryId: string },
): Promise<CallbackRow[]> {
  const where =
    'id' in by
      ? sql`id = ${by.id}::uuid`
      : sql`kind = 'notify' AND payload->>'entryId' = ${by.entryId}`;
  const { rows } = await sql<Parameters<typeof toCallback>[0]>`
    SELECT id, partner, kind, transaction_id, correlation_id, payload, response, state
    FROM dci_callbacks WHERE state = 'pending' AND ${where} ORDER BY id`.execute(db);
  return rows.map(toCallback);
}

export async function callbacksOfTransaction(
  db: Kysely<Database>,
  partner: string,
  transactionId: string,
): Promise<CallbackRow[]> {
  const { rows } = await sql<Parameters<typeof toCallback>[0]>`
    SELECT id, partner, kind, transaction_id, correlation_id, payload, response, state
    FROM dci_callbacks WHERE partner = ${partner} AND transaction_id = ${transactionId}
    ORDER BY created_at LIMIT 100`.execute(db);
  return rows.map(toCallback);
}

/** An attempt's outcome: acknowledged (`done`), or failed and left `pending` for a retry. */
export async function settleCallback(
  db: Kysely<Database>,
  id: string,
  outcome: { ok: true; response: unknown } | { ok: false; error: string; response?: unknown },
): Promise<void> {
  await sql`
    UPDATE dci_callbacks SET attempts = attempts + 1,
      response = COALESCE(${outcome.response === undefined ? null : JSON.stringify(outcome.response)}::jsonb, response),
      state = CASE WHEN ${outcome.ok} THEN 'done' ELSE state END,
      done_at = CASE WHEN ${outcome.ok} THEN now() ELSE done_at END,
      last_error = ${outcome.ok ? null : outcome.error}
    WHERE id = ${id}::uuid`.execute(db);
}

/**
 * Settles a callback that must not be sent (no attempt is made): `withheld`, with the reason's
 * code as its last error, and never retried.
 */
export async function withholdCallback(
  db: Kysely<Database>,
  id: string,
  code: string,
): Promise<void> {
  await sql`
    UPDATE dci_callbacks SET state = 'withheld', done_at = now(), last_error = ${code}
    WHERE id = ${id}::uuid AND state = 'pending'`.execute(db);
}
