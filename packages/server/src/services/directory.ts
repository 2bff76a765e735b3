import type { Principal, RegistryConfig } from '@registra/core';
import { listUsers, type UserRow } from '../store/users.js';
import type { Caller, Registry } from './context.js';

/** One person as others see them: enough to name them in a history or a queue. */
export interface DirectoryEntry {
  id: string;
  name: string;
  role: string;
  roleLabel: string;
  officeId: string;
  officeName: string;
  active: boolean;
}

/**
 * The people a caller may see by name: everyone whose jurisdiction overlaps theirs (their own
 * office and district, the province above, national staff). Only such a person can have written
 * to, or been assigned, a record the caller can see (an ASSIGN names someone who may act at the
 * record's office), so every name on those records is in it. Deactivated users stay, since their
 * names remain in the histories. No secret is read: the store's user rows hold no password hash.
 */
export async function directoryFor(registry: Registry, caller: Caller): Promise<DirectoryEntry[]> {
  const { config } = registry;
  const mine = rootsOf(caller.principal);
  const everyone = await listUsers(registry.db);
  return everyone
    .filter((user) => {
      if (user.id === caller.user.id || user.officeId === caller.user.officeId) return true;
      const theirs = rootsOf(config.principal(user));
      return overlaps(mine, theirs, config);
    })
    .map((user) => entryOf(user, config));
}

/** The subtrees a principal's grants reach; null stands for everywhere. */
function rootsOf(principal: Principal): (string | null)[] {
  return [...new Set(Object.values(principal.grants))];
}

function overlaps(a: (string | null)[], b: (string | null)[], config: RegistryConfig): boolean {
  if (a.length === 0 || b.length === 0) return false;
  if (a.includes(null) || b.includes(null)) return true;
  const { locations } = config;
  return a.some((x) =>
    b.some(
      (y) => x !== null && y !== null && (locations.isWithin(x, y) || locations.isWithin(y, x)),
    ),
  );
}

function entryOf(user: UserRow, config: RegistryConfig): DirectoryEntry {
  return {
    id: user.id,
    name: user.name,
    role: user.role,
    roleLabel: config.roles.get(user.role)?.label ?? user.role,
    officeId: user.officeId,
    officeName: config.locations.get(user.officeId)?.name ?? user.officeId,
    active: user.active,
  };
}
