import { referencesIn, type Action, type RecordHead, type RegistryConfig } from '@registra/core';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.js';
import { findRecordHeads } from '../../store/records.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The stored records that a request's reference fields name, other than the request's own, in one
 * query (none when the request holds no references). Records of the request itself are answered
 * from their state as the request goes (core's decideAction asks), so that a reference counts a
 * record only once it is stored or accepted earlier in the same request.
 */
export async function findReferencedRecords(
  trx: Kysely<Database>,
  config: RegistryConfig,
  actions: Action[],
  typeOf: (recordId: string) => string | undefined,
): Promise<Map<string, RecordHead>> {
  const own = new Set(actions.map((a) => a.recordId));
  const created = new Map(
    actions.flatMap((a) => (a.recordType ? [[a.recordId, a.recordType]] : [])),
  );
  const ids = new Set<string>();
  for (const action of actions) {
    const type = typeOf(action.recordId) ?? created.get(action.recordId);
    const recordType = config.recordTypes.get(type ?? '');
    if (!recordType || !action.declaration) continue;
    // Not validated yet: only well-formed ids are looked up (the others fail validation).
    for (const { id } of referencesIn(recordType, action.declaration))
      if (UUID.test(id) && !own.has(id)) ids.add(id);
  }
  return findRecordHeads(trx, [...ids]);
}
