import {
  dateIn,
  type RecordState,
  type RecordTypeConfig,
  type RegistryConfig,
} from '@registra/core';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.js';
import { nextCounter } from '../../store/counters.js';

/**
 * Makes a registration number from the record type's pattern: {year}, {office} (the creating
 * office's code) and {counter:N}, a counter per record type, year and office, N digits wide.
 */
export async function makeRegistrationNumber(
  trx: Kysely<Database>,
  config: RegistryConfig,
  recordType: RecordTypeConfig,
  record: RecordState,
  at: Date,
): Promise<string> {
  const pattern = recordType.registrationNumber?.pattern ?? '{year}{counter:8}';
  const office = config.locations.get(record.createdAtLocation);
  const filled = pattern
    .replaceAll('{year}', dateIn(config.document.timeZone, at).slice(0, 4))
    .replaceAll('{office}', office?.code ?? record.createdAtLocation);
  const counter = await nextCounter(trx, `${recordType.id}:${filled}`);
  return filled.replace(/\{counter(?::(\d+))?\}/, (_, width: string | undefined) =>
    String(counter).padStart(Number(width ?? 1), '0'),
  );
}
