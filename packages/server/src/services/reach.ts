import type { Principal, RegistryConfig } from '@registra/core';
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
