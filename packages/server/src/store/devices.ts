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
