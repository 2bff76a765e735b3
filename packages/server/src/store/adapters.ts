import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.js';

/** Where an adapter in goes on from: its checkpoint and the ETag of the last page it took. */
export interface AdapterPosition {
  checkpoint: unknown;
  etag: string | null;
}

/**
 * Takes the lease of an adapter in for `seconds` (a row is made on its first run): null when
 * another run holds it. A run killed mid-way holds it only until it runs out.
 */
export async function claimAdapter(
  db: Kysely<Database>,
  adapter: string,
  seconds: number,
): Promise<AdapterPosition | null> {
  await db
    .insertInto('adapter_state')
    .values({ adapter })
    .onConflict((oc) => oc.column('adapter').doNothing())
    .execute();
  const row = await db
    .updateTable('adapter_state')
    .set({
      leased_until: sql<Date>`now() + make_interval(secs => ${seconds})`,
      last_run_at: sql<Date>`now()`,
    })
    .where('adapter', '=', adapter)
    .where((eb) =>
      eb.or([eb('leased_until', 'is', null), eb('leased_until', '<', sql<Date>`now()`)]),
    )
    .returning(['checkpoint', 'etag'])
    .executeTakeFirst();
  return row ? { checkpoint: row.checkpoint ?? null, etag: row.etag } : null;
}

/** The checkpoint after a page whose items are applied, and counts of what they did. */
export async function savePage(
  db: Kysely<Database>,
  adapter: string,
  position: AdapterPosition,
  counts: RunCounts,
): Promise<void> {
  await db
    .updateTable('adapter_state')
    .set({
      checkpoint: JSON.stringify(position.checkpoint ?? null),
      etag: position.etag,
      applied: sql`applied + ${counts.applied}`,
      unchanged: sql`unchanged + ${counts.unchanged}`,
      failed: sql`failed + ${counts.failed}`,
    })
    .where('adapter', '=', adapter)
    .execute();
}

export interface RunCounts {
  applied: number;
  unchanged: number;
  failed: number;
}

/** The end of a run: the lease given back, and its success or error. */
export async function finishRun(
  db: Kysely<Database>,
  adapter: string,
  error: string | null,
): Promise<void> {
  await db
    .updateTable('adapter_state')
    .set(
      error === null
        ? { leased_until: null, last_success_at: sql<Date>`now()` }
        : { leased_until: null, last_error: error, last_error_at: sql<Date>`now()` },
    )
    .where('adapter', '=', adapter)
    .execute();
}

/** How many errors of each adapter are kept: the latest. */
const ERRORS_KEPT = 100;

/** Records errors of an adapter (an item's, or a run's), keeping the latest ERRORS_KEPT. */
export async function addAdapterErrors(
  db: Kysely<Database>,
  adapter: string,
  errors: readonly { key: string | null; message: string }[],
): Promise<void> {
  if (errors.length === 0) return;
  await db
    .insertInto('adapter_errors')
    .values(errors.map((e) => ({ adapter, item_key: e.key, message: e.message })))
    .execute();
  await sql`
    DELETE FROM adapter_errors WHERE adapter = ${adapter} AND id < (
      SELECT id FROM adapter_errors WHERE adapter = ${adapter}
      ORDER BY id DESC OFFSET ${ERRORS_KEPT - 1} LIMIT 1)`.execute(db);
}

export interface AdapterStateRow {
  adapter: string;
  checkpoint: unknown;
  running: boolean;
  lastRunAt: Date | null;
  lastSuccessAt: Date | null;
  lastError: string | null;
  lastErrorAt: Date | null;
  applied: number;
  unchanged: number;
  failed: number;
}

export async function adapterStates(db: Kysely<Database>): Promise<Map<string, AdapterStateRow>> {
  const rows = await db
    .selectFrom('adapter_state')
    .select([
      'adapter',
      'checkpoint',
      sql<boolean>`coalesce(leased_until > now(), false)`.as('running'),
      'last_run_at',
      'last_success_at',
      'last_error',
      'last_error_at',
      'applied',
      'unchanged',
      'failed',
    ])
    .execute();
  return new Map(
    rows.map((r) => [
      r.adapter,
      {
        adapter: r.adapter,
        checkpoint: r.checkpoint,
        running: r.running,
        lastRunAt: r.last_run_at,
        lastSuccessAt: r.last_success_at,
        lastError: r.last_error,
        lastErrorAt: r.last_error_at,
        applied: Number(r.applied),
        unchanged: Number(r.unchanged),
        failed: Number(r.failed),
      },
    ]),
  );
}

export interface AdapterErrorRow {
  at: Date;
  key: string | null;
  message: string;
}

/** The latest errors of an adapter, newest first. */
export async function latestAdapterErrors(
  db: Kysely<Database>,
  adapter: string,
  limit: number,
): Promise<AdapterErrorRow[]> {
  const rows = await db
    .selectFrom('adapter_errors')
    .select(['at', 'item_key', 'message'])
    .where('adapter', '=', adapter)
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
  return rows.map((r) => ({ at: r.at, key: r.item_key, message: r.message }));
}

/** What an adapter out's deliveries (hook_deliveries, by its id) say of it. */
export interface OutAdapterStats {
  pending: number;
  failing: number;
  delivered: number;
  oldestPendingAt: Date | null;
  lastDeliveredAt: Date | null;
  lastError: string | null;
  lastErrorAt: Date | null;
}

export async function outAdapterStats(
  db: Kysely<Database>,
  adapters: readonly string[],
): Promise<Map<string, OutAdapterStats>> {
  if (adapters.length === 0) return new Map();
  const result = await sql<{
    hook: string;
    pending: string;
    failing: string;
    delivered: string;
    oldest: Date | null;
    last_done: Date | null;
  }>`
    SELECT hook,
      count(*) FILTER (WHERE state = 'pending') AS pending,
      count(*) FILTER (WHERE state = 'pending' AND attempts > 0) AS failing,
      count(*) FILTER (WHERE state = 'done') AS delivered,
      min(created_at) FILTER (WHERE state = 'pending') AS oldest,
      max(done_at) AS last_done
    FROM hook_deliveries WHERE hook = ANY(${adapters}::text[]) GROUP BY hook`.execute(db);
  const errors = await sql<{ hook: string; last_error: string; at: Date }>`
    SELECT DISTINCT ON (hook) hook, last_error, next_attempt_at AS at
    FROM hook_deliveries
    WHERE hook = ANY(${adapters}::text[]) AND state = 'pending' AND last_error IS NOT NULL
    ORDER BY hook, id DESC`.execute(db);
  const lastErrors = new Map(errors.rows.map((r) => [r.hook, r]));
  return new Map(
    result.rows.map((r) => [
      r.hook,
      {
        pending: Number(r.pending),
        failing: Number(r.failing),
        delivered: Number(r.delivered),
        oldestPendingAt: r.oldest,
        lastDeliveredAt: r.last_done,
        lastError: lastErrors.get(r.hook)?.last_error ?? null,
        lastErrorAt: null,
      },
    ]),
  );
}

/** Which of these entry ids are stored (an adapter in's item already applied). */
export async function storedEntryIds(
  db: Kysely<Database>,
  ids: readonly string[],
): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await db.selectFrom('entries').select('id').where('id', 'in', ids).execute();
  return new Set(rows.map((r) => r.id));
}
