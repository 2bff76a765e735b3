import { holds, type Principal, type RecordState, type RegistryConfig } from '@registra/core';
import type { FeedScope } from '../store/entries.js';

/**
 * The records a principal may see: per record type they may read, the offices inside the subtree
 * their read permission is limited to (null: everywhere), plus records assigned to them.
 */
export function scopeOf(principal: Principal, config: RegistryConfig): FeedScope {
  const types: FeedScope['types'] = [];
  for (const recordType of config.recordTypes.values()) {
    const grant = principal.grants[recordType.readPermission];
    if (grant === undefined) continue;
    types.push({
      type: recordType.id,
      locations: grant === null ? null : config.locations.subtree(grant),
    });
  }
  return { types, assignedTo: principal.id };
}

/** Whether the record is within the principal's jurisdiction for reading, assignment aside. */
export function inJurisdiction(
  principal: Principal,
  config: RegistryConfig,
  recordType: string,
  location: string,
): boolean {
  const type = config.recordTypes.get(recordType);
  return type !== undefined && holds(principal, type.readPermission, location, config.locations);
}

/** PROTOCOL 1: a record outside the caller's reach is answered as if it did not exist. */
export function inReach(
  principal: Principal,
  config: RegistryConfig,
  record: Pick<RecordState, 'type' | 'createdAtLocation' | 'assignedTo'>,
): boolean {
  return (
    record.assignedTo === principal.id ||
    inJurisdiction(principal, config, record.type, record.createdAtLocation)
  );
}
