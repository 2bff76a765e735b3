import { sql } from 'kysely';
import { eraseRecordKey, findErasure } from '../../store/record-keys.js';
import type { Registry } from '../context.js';
import { notFound } from '../problem.js';
import { refoldRecord } from '../read-model.js';
import { appendTransaction } from '../transaction.js';

export interface Erasure {
  recordId: string;
  erasedAt: string;
  erasedBy: string;
  /** False when the key had been erased before. */
  erasedNow: boolean;
}

/**
 * Erasure by crypto-shredding (PROTOCOL 13): the record's data key is destroyed, so that its
 * sensitive values, wherever they were stored sealed (the log, the WAL, backups), read as null.
 * The log is untouched and its chain still verifies; the read model is folded again without
 * them (and without their blind indexes). Who erased and when stays with the key's row.
 */
export async function eraseRecord(
  registry: Registry,
  recordId: string,
  erasedBy: string,
): Promise<Erasure> {
  return appendTransaction(registry, async (trx) => {
    // The record's row lock: no append of this record runs while its key is erased.
    const locked = await sql`SELECT 1 FROM records WHERE id = ${recordId}::uuid FOR UPDATE`.execute(
      trx,
    );
    if (locked.rows.length === 0) throw notFound('no such record');
    const erasedNow = await eraseRecordKey(trx, recordId, erasedBy);
    const erasure = await findErasure(trx, recordId);
    if (!erasure) throw notFound('the record has no data key (stored before keys were kept)');
    await refoldRecord(registry, trx, recordId);
    return { recordId, ...erasure, erasedNow };
  });
}
