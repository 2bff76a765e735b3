import type { Entry, RecordState } from '@registra/core';
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../db/schema.js';
import { writeAll } from './append.js';
import { ENTRY_COLUMNS, toEntry, type EntryRow } from './entries.js';

/** A delivery to write with the entry that causes it (PROTOCOL 8). */
export interface NewDelivery {
  id: string;
  hook: string;
  recordId: string;
  entryId: string;
  seq: number;
}

/** The INSERT of new deliveries, as one statement with one parameter (a CTE of writeAll). */
export function insertDeliveriesStatement(deliveries: readonly NewDelivery[]): RawBuilder<unknown> {
  const rows = JSON.stringify(
    deliveries.map((d) => ({
      id: d.id,
      hook: d.hook,
      record_id: d.recordId,
      entry_id: d.entryId,
      seq: d.seq,
    })),
  );
  return sql`
    INSERT INTO hook_deliveries (id, hook, record_id, entry_id, seq)
    SELECT id, hook, record_id, entry_id, seq
    FROM jsonb_to_recordset(${rows}::jsonb) AS x(id uuid, hook text, record_id uuid,
      entry_id uuid, seq integer)
    ON CONFLICT (hook, entry_id) DO NOTHING`;
}

/** A delivery as the store keeps it. */
export interface DeliveryRow {
  id: string;
  hook: string;
  recordId: string;
  entryId: string;
  seq: number;
  state: 'pending' | 'done';
  outcome: string | null;
  attempts: number;
  nextAttemptAt: Date;
  lastError: string | null;
  createdAt: Date;
}

const COLUMNS = sql`id, hook, record_id AS "recordId", entry_id AS "entryId", seq, state, outcome,
  attempts, next_attempt_at AS "nextAttemptAt", last_error AS "lastError",
  created_at AS "createdAt"`;

/**
 * Takes the first pending delivery of a record to a hook, if it is due and nobody holds it: its
 * lease runs `leaseSeconds`. Only the head is ever taken, so a record's deliveries go out in seq
 * order, one at a time, whatever the number of workers and processes.
 */
export async function claimHead(
  db: Kysely<Database>,
  hook: string,
  recordId: string,
  leaseSeconds: number,
): Promise<{ claimed: DeliveryRow | null; head: { nextAttemptAt: Date; leased: boolean } | null }> {
  const result = await sql<DeliveryRow & { claimed: boolean; leased: boolean }>`
    WITH head AS (
      SELECT id, next_attempt_at, leased_until FROM hook_deliveries
      WHERE hook = ${hook} AND record_id = ${recordId}::uuid AND state = 'pending'
      ORDER BY seq LIMIT 1 FOR UPDATE
    ), taken AS (
      UPDATE hook_deliveries d SET leased_until = now() + make_interval(secs => ${leaseSeconds})
      FROM head
      WHERE d.id = head.id AND head.next_attempt_at <= now()
        AND (head.leased_until IS NULL OR head.leased_until < now())
      RETURNING d.id
    )
    SELECT ${COLUMNS}, EXISTS (SELECT 1 FROM taken) AS claimed,
      (leased_until IS NOT NULL AND leased_until >= now()) AS leased
    FROM hook_deliveries WHERE id = (SELECT id FROM head)`.execute(db);
  const row = result.rows[0];
  if (!row) return { claimed: null, head: null };
  const { claimed, leased, ...delivery } = row;
  return claimed
    ? { claimed: delivery, head: null }
    : { claimed: null, head: { nextAttemptAt: delivery.nextAttemptAt, leased } };
}

/** A notify delivery taken with what it carries: its entry (null if gone) and the record now. */
export interface ClaimedNotice {
  delivery: DeliveryRow;
  entry: Entry | null;
}

/**
 * Takes, when the head is due and free, the record's first `limit` pending deliveries to a hook
 * in seq order, with their entries and the record's state, in one statement: a notify hook's
 * deliveries of one record go out one after the other under one lease.
 */
export async function claimNotices(
  db: Kysely<Database>,
  hook: string,
  recordId: string,
  leaseSeconds: number,
  limit: number,
): Promise<{
  claimed: ClaimedNotice[];
  record: RecordState | null;
  head: { nextAttemptAt: Date; leased: boolean } | null;
}> {
  const entryColumns = sql.join(
    ENTRY_COLUMNS.map((c) => sql`e.${sql.ref(c)} AS ${sql.id(`e_${c}`)}`),
  );
  const result = await sql<
    DeliveryRow & { claimed: boolean; leased: boolean; state: RecordState | null } & Record<
        string,
        unknown
      >
  >`
    WITH queue AS (
      SELECT id, seq, next_attempt_at, leased_until FROM hook_deliveries
      WHERE hook = ${hook} AND record_id = ${recordId}::uuid AND state = 'pending'
      ORDER BY seq LIMIT ${limit} FOR UPDATE
    ), head AS (
      SELECT next_attempt_at <= now() AND (leased_until IS NULL OR leased_until < now()) AS free
      FROM queue ORDER BY seq LIMIT 1
    ), taken AS (
      UPDATE hook_deliveries d SET leased_until = now() + make_interval(secs => ${leaseSeconds})
      FROM queue q
      WHERE d.id = q.id AND (SELECT free FROM head)
      RETURNING d.id
    )
    SELECT d.id, d.hook, d.record_id AS "recordId", d.entry_id AS "entryId", d.seq, d.state,
      d.outcome, d.attempts, d.next_attempt_at AS "nextAttemptAt", d.last_error AS "lastError",
      d.created_at AS "createdAt", coalesce((SELECT free FROM head), false) AS claimed,
      (d.leased_until IS NOT NULL AND d.leased_until >= now()) AS leased,
      r.state, ${entryColumns}
    FROM queue q JOIN hook_deliveries d ON d.id = q.id
    LEFT JOIN entries e ON e.id = d.entry_id
    LEFT JOIN records r ON r.id = d.record_id
    ORDER BY q.seq`.execute(db);
  const first = result.rows[0];
  if (!first) return { claimed: [], record: null, head: null };
  if (!first.claimed) {
    return {
      claimed: [],
      record: null,
      head: { nextAttemptAt: first.nextAttemptAt, leased: first.leased },
    };
  }
  return {
    record: first.state,
    head: null,
    claimed: result.rows.map((row) => {
      const entryRow = Object.fromEntries(
        ENTRY_COLUMNS.map((c) => [c, row[`e_${c}`]]),
      ) as unknown as EntryRow;
      return {
        delivery: {
          id: row.id,
          hook: row.hook,
          recordId: row.recordId,
          entryId: row.entryId,
          seq: row.seq,
          state: row.state as unknown as DeliveryRow['state'],
          outcome: row.outcome,
          attempts: row.attempts,
          nextAttemptAt: row.nextAttemptAt,
          lastError: row.lastError,
          createdAt: row.createdAt,
        },
        entry: entryRow.id ? toEntry(entryRow) : null,
      };
    }),
  };
}

/**
 * The end of a run of notify deliveries, in one round trip: `delivered` are done, `failed` waits
 * for its next attempt, and the lease on the others (not tried) is released.
 */
export async function finishNotices(
  db: Kysely<Database>,
  delivered: string[],
  failed: { id: string; error: string; nextAttemptAt: Date } | null,
  untried: string[],
): Promise<void> {
  const writes: RawBuilder<unknown>[] = [];
  if (delivered.length > 0) {
    writes.push(sql`UPDATE hook_deliveries SET state = 'done', outcome = 'delivered',
        attempts = attempts + 1, leased_until = NULL, done_at = now()
      WHERE id = ANY(${delivered}::uuid[])`);
  }
  if (failed) {
    writes.push(
      attemptStatement(failed.id, {
        done: false,
        error: failed.error,
        nextAttemptAt: failed.nextAttemptAt,
      }),
    );
  }
  if (untried.length > 0) {
    writes.push(sql`UPDATE hook_deliveries SET leased_until = NULL
      WHERE id = ANY(${untried}::uuid[])`);
  }
  await writeAll(db, writes);
}

/** The end of an attempt: done with an outcome, or failed until `nextAttemptAt`. */
export type AttemptResult =
  | { done: true; outcome: string; error?: string | null }
  | { done: false; error: string; nextAttemptAt: Date };

/** Records an attempt and releases the lease, as a statement (for writeAll, or alone). */
export function attemptStatement(id: string, result: AttemptResult): RawBuilder<unknown> {
  return result.done
    ? sql`UPDATE hook_deliveries SET state = 'done', outcome = ${result.outcome},
          attempts = attempts + 1, last_error = ${result.error ?? null}, leased_until = NULL,
          done_at = now()
        WHERE id = ${id}::uuid`
    : sql`UPDATE hook_deliveries SET attempts = attempts + 1, last_error = ${result.error},
          next_attempt_at = ${result.nextAttemptAt.toISOString()}::timestamptz,
          leased_until = NULL
        WHERE id = ${id}::uuid`;
}

/** Ends every pending delivery of a request's entry without sending (it was decided). */
export function settleStatement(entryId: string, outcome: string): RawBuilder<unknown> {
  return sql`UPDATE hook_deliveries SET state = 'done', outcome = ${outcome}, leased_until = NULL,
      done_at = now()
    WHERE entry_id = ${entryId}::uuid AND state = 'pending'`;
}

/**
 * Heads of records whose first pending delivery is due since `graceSeconds` and held by no live
 * lease: work that no job will do any more (a worker killed mid-job leaves its job locked).
 */
export async function findStrandedHeads(
  db: Kysely<Database>,
  graceSeconds: number,
  limit: number,
): Promise<{ hook: string; recordId: string }[]> {
  const result = await sql<{ hook: string; recordId: string }>`
    SELECT DISTINCT hook, record_id AS "recordId" FROM hook_deliveries
    WHERE state = 'pending' AND next_attempt_at < now() - make_interval(secs => ${graceSeconds})
      AND (leased_until IS NULL OR leased_until < now())
    LIMIT ${limit}`.execute(db);
  return result.rows;
}

export interface DeliveryFilter {
  hook?: string | undefined;
  state?: 'pending' | 'failing' | 'done' | undefined;
  recordId?: string | undefined;
  /** Keyset: the id of the last delivery of the previous page (ids are UUIDv7: time order). */
  after?: string | undefined;
  limit: number;
}

/** A page of deliveries, newest first. */
/** A delivery as listed for administrators: with its record's tracking id and type, to name it. */
export type ListedDelivery = DeliveryRow & { trackingId: string | null; recordType: string | null };

export async function listDeliveries(
  db: Kysely<Database>,
  filter: DeliveryFilter,
): Promise<ListedDelivery[]> {
  const where = [sql`true`];
  if (filter.hook) where.push(sql`hook = ${filter.hook}`);
  if (filter.recordId) where.push(sql`record_id = ${filter.recordId}::uuid`);
  if (filter.state === 'done') where.push(sql`state = 'done'`);
  if (filter.state === 'pending') where.push(sql`state = 'pending' AND attempts = 0`);
  if (filter.state === 'failing') where.push(sql`state = 'pending' AND attempts > 0`);
  if (filter.after) where.push(sql`id < ${filter.after}::uuid`);
  const result = await sql<ListedDelivery>`
    SELECT ${COLUMNS}, r.tracking_id AS "trackingId", r.type AS "recordType"
    FROM hook_deliveries d LEFT JOIN LATERAL (
      SELECT tracking_id, type FROM records WHERE records.id = d.record_id
    ) r ON true
    WHERE ${sql.join(where, sql` AND `)}
    ORDER BY id DESC LIMIT ${filter.limit}`.execute(db);
  return result.rows;
}

/** Makes a pending delivery due now; answers its hook and record, or undefined. */
export async function makeDueNow(
  db: Kysely<Database>,
  id: string,
): Promise<{ hook: string; recordId: string } | undefined> {
  const result = await sql<{ hook: string; recordId: string }>`
    UPDATE hook_deliveries SET next_attempt_at = now()
    WHERE id = ${id}::uuid AND state = 'pending'
    RETURNING hook, record_id AS "recordId"`.execute(db);
  return result.rows[0];
}

/** Per hook: pending deliveries and the age in seconds of the oldest (for /metrics). */
export async function pendingByHook(
  db: Kysely<Database>,
): Promise<{ hook: string; pending: number; oldestSeconds: number }[]> {
  const result = await sql<{ hook: string; pending: string; oldest: number }>`
    SELECT hook, count(*) AS pending,
      extract(epoch FROM now() - min(created_at))::float8 AS oldest
    FROM hook_deliveries WHERE state = 'pending' GROUP BY hook`.execute(db);
  return result.rows.map((r) => ({
    hook: r.hook,
    pending: Number(r.pending),
    oldestSeconds: r.oldest,
  }));
}

/**
 * Pending requests of the given action types, on records flagged `<type>:requested` (`flags`, the
 * GIN index finds them), requested more than `olderThanSeconds` ago and not yet overdue.
 */
export async function findOverdueRequests(
  db: Kysely<Database>,
  flags: string[],
  actionTypes: string[],
  olderThanSeconds: number,
  limit: number,
): Promise<{ recordId: string; recordType: string; requestId: string; type: string }[]> {
  const result = await sql<{
    recordId: string;
    recordType: string;
    requestId: string;
    type: string;
  }>`
    SELECT r.id AS "recordId", r.type AS "recordType", p.value->>'id' AS "requestId",
      p.value->>'type' AS type
    FROM records r CROSS JOIN LATERAL jsonb_array_elements(r.state->'pending') AS p(value)
    JOIN entries e ON e.id = (p.value->>'id')::uuid
    WHERE r.flags && ${flags}::text[]
      AND p.value->>'overdue' IS NULL
      AND p.value->>'type' = ANY(${actionTypes}::text[])
      AND e.recorded_at < now() - make_interval(secs => ${olderThanSeconds})
    LIMIT ${limit}`.execute(db);
  return result.rows;
}
