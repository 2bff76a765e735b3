import type { FieldError } from '@registra/core';
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../db/schema.js';

export interface DeviceRow {
  userId: string;
  ackThrough: number;
}

/**
 * Registers the device on first contact, or notes that it was seen, and locks its row either way:
 * one sync per device at a time. One statement, so one round trip.
 */
export async function lockDevice(
  trx: Kysely<Database>,
  deviceId: string,
  userId: string,
): Promise<DeviceRow> {
  const result = await sql<{ user_id: string; ack_through: string }>`
    INSERT INTO devices (id, user_id, ack_through) VALUES (${deviceId}::uuid, ${userId}::uuid, 0)
    ON CONFLICT (id) DO UPDATE SET last_seen_at = now()
    RETURNING user_id, ack_through`.execute(trx);
  const row = result.rows[0];
  if (!row) throw new Error('INSERT … ON CONFLICT DO UPDATE returned no row');
  return { userId: row.user_id, ackThrough: Number(row.ack_through) };
}

/** The device's new high-water mark, as a statement for writeAll. */
export function advanceDeviceStatement(deviceId: string, ackThrough: number): RawBuilder<unknown> {
  return sql`UPDATE devices SET ack_through = ${ackThrough} WHERE id = ${deviceId}::uuid`;
}

/**
 * For a sync that pushes nothing: the device's row, read without a transaction or a lock. A device
 * seen for the first time is registered; `last_seen_at` is kept to the minute, so that a device
 * paging through its backlog does not pay a WAL flush per page. Null when a concurrent first
 * contact won the insert: the caller then takes the locking path.
 */
export async function touchDevice(
  db: Kysely<Database>,
  deviceId: string,
  userId: string,
): Promise<DeviceRow | null> {
  const result = await sql<{ user_id: string; ack_through: string }>`
    WITH existing AS (SELECT user_id, ack_through FROM devices WHERE id = ${deviceId}::uuid),
    inserted AS (
      INSERT INTO devices (id, user_id, ack_through)
      SELECT ${deviceId}::uuid, ${userId}::uuid, 0 WHERE NOT EXISTS (SELECT 1 FROM existing)
      ON CONFLICT (id) DO NOTHING
      RETURNING user_id, ack_through),
    touched AS (
      UPDATE devices SET last_seen_at = now()
      WHERE id = ${deviceId}::uuid AND last_seen_at < now() - interval '1 minute')
    SELECT user_id, ack_through FROM existing
    UNION ALL
    SELECT user_id, ack_through FROM inserted`.execute(db);
  const row = result.rows[0];
  return row ? { userId: row.user_id, ackThrough: Number(row.ack_through) } : null;
}

export interface StoredRejection {
  deviceSeq: number;
  actionId: string;
  code: string;
  message: string;
  errors: FieldError[] | null;
}

export async function findRejections(
  trx: Kysely<Database>,
  deviceId: string,
  deviceSeqs: number[],
): Promise<Map<number, StoredRejection>> {
  if (deviceSeqs.length === 0) return new Map();
  const rows = await trx
    .selectFrom('device_rejections')
    .selectAll()
    .where('device_id', '=', deviceId)
    .where('device_seq', 'in', deviceSeqs.map(String))
    .execute();
  return new Map(
    rows.map((r) => [
      Number(r.device_seq),
      {
        deviceSeq: Number(r.device_seq),
        actionId: r.action_id,
        code: r.code,
        message: r.message,
        errors: r.errors as FieldError[] | null,
      },
    ]),
  );
}

/** Outcomes of actions rejected without being stored, as a statement for writeAll. */
export function saveRejectionsStatement(
  deviceId: string,
  rejections: StoredRejection[],
): RawBuilder<unknown> {
  const rows = JSON.stringify(
    rejections.map((r) => ({
      device_seq: r.deviceSeq,
      action_id: r.actionId,
      code: r.code,
      message: r.message,
      errors: r.errors,
    })),
  );
  return sql`
    INSERT INTO device_rejections (device_id, device_seq, action_id, code, message, errors)
    SELECT ${deviceId}::uuid, device_seq, action_id, code, message, errors
    FROM jsonb_to_recordset(${rows}::jsonb)
      AS x(device_seq bigint, action_id uuid, code text, message text, errors jsonb)
    ON CONFLICT (device_id, device_seq) DO NOTHING`;
}
