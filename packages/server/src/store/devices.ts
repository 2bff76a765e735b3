import type { FieldError } from '@registra/core';
import type { Transaction } from 'kysely';
import type { Database } from '../db/schema.js';

export interface DeviceRow {
  userId: string;
  ackThrough: number;
}

/** Registers the device on first contact and locks it: one sync per device at a time. */
export async function lockDevice(
  trx: Transaction<Database>,
  deviceId: string,
  userId: string,
): Promise<DeviceRow> {
  await trx
    .insertInto('devices')
    .values({ id: deviceId, user_id: userId, ack_through: 0 })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
  const row = await trx
    .selectFrom('devices')
    .select(['user_id', 'ack_through'])
    .where('id', '=', deviceId)
    .forUpdate()
    .executeTakeFirstOrThrow();
  return { userId: row.user_id, ackThrough: Number(row.ack_through) };
}

export async function advanceDevice(
  trx: Transaction<Database>,
  deviceId: string,
  ackThrough: number,
): Promise<void> {
  await trx
    .updateTable('devices')
    .set({ ack_through: ackThrough, last_seen_at: new Date() })
    .where('id', '=', deviceId)
    .execute();
}

export interface StoredRejection {
  deviceSeq: number;
  actionId: string;
  code: string;
  message: string;
  errors: FieldError[] | null;
}

export async function findRejections(
  trx: Transaction<Database>,
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

export async function saveRejections(
  trx: Transaction<Database>,
  deviceId: string,
  rejections: StoredRejection[],
): Promise<void> {
  if (rejections.length === 0) return;
  await trx
    .insertInto('device_rejections')
    .values(
      rejections.map((r) => ({
        device_id: deviceId,
        device_seq: r.deviceSeq,
        action_id: r.actionId,
        code: r.code,
        message: r.message,
        errors: r.errors === null ? null : JSON.stringify(r.errors),
      })),
    )
    .onConflict((oc) => oc.columns(['device_id', 'device_seq']).doNothing())
    .execute();
}
