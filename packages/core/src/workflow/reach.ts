import type { RegistryConfig } from '../config/load.js';
import { hookCovers } from '../config/hooks.js';
import { assignConfigOf } from '../config/lookup.js';
import { holds, type Principal } from '../config/principal.js';
import type { RecordTypeConfig } from '../config/schema.js';
import type { RecordState } from '../contracts/record.js';

/** What the reach rules need to know of a record. */
export type RecordHead = Pick<RecordState, 'id' | 'type' | 'createdAtLocation' | 'assignedTo'>;

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

/**
 * PROTOCOL 1 and 4.6: whether the principal can see the record: in their jurisdiction for its type,
 * or assigned to them. Out of reach is answered as if the record did not exist.
 */
export function inReach(
  principal: Principal,
  config: RegistryConfig,
  record: Pick<RecordHead, 'type' | 'createdAtLocation' | 'assignedTo'>,
): boolean {
  // A hook reaches the records of the types it covers, wherever they are (PROTOCOL 8).
  if (principal.hook) {
    const hook = config.hooks.get(principal.hook.id);
    return hook !== undefined && hookCovers(hook, record.type);
  }
  return (
    record.assignedTo === principal.id ||
    inJurisdiction(principal, config, record.type, record.createdAtLocation)
  );
}

/**
 * PROTOCOL 7: whether a record of this type at this office may be assigned to the principal: they
 * hold the permission of one of its actions there (its confirmations and assignment included).
 */
export function mayBeAssigned(
  principal: Principal,
  config: RegistryConfig,
  recordType: RecordTypeConfig,
  location: string,
): boolean {
  return actionPermissions(recordType).some((permission) =>
    holds(principal, permission, location, config.locations),
  );
}

function actionPermissions(recordType: RecordTypeConfig): string[] {
  const { CUSTOM, ASSIGN, ...plain } = recordType.actions;
  const permissions: string[] = [];
  for (const config of [...Object.values(plain), ...CUSTOM]) {
    if (!config) continue;
    permissions.push(config.permission);
    if (config.confirmation?.permission) permissions.push(config.confirmation.permission);
  }
  const assign = assignConfigOf(recordType);
  if (ASSIGN && assign) permissions.push(assign.permission, assign.reassignPermission);
  return permissions;
}
