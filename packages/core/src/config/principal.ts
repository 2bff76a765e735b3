import type { LocationIndex } from './locations.js';
import type { Role } from './schema.js';

/**
 * Who is acting, as the rules see them: a user or a machine client, with each permission they
 * hold mapped to the root of the subtree it is limited to (`null`: anywhere).
 */
export interface Principal {
  id: string;
  role: string;
  officeId: string;
  grants: Readonly<Record<string, string | null>>;
  /** A hook's principal (config/hooks.ts): the hook, and the one request its token may decide. */
  hook?: { id: string; requestId?: string };
}

export interface PrincipalSource {
  id: string;
  role: string;
  officeId: string;
}

export function principalFor(
  user: PrincipalSource,
  role: Role | undefined,
  locations: LocationIndex,
): Principal {
  const grants: Record<string, string | null> = {};
  if (role) {
    const jurisdiction = locations.jurisdictionOf(user.officeId, role.jurisdiction);
    for (const grant of role.permissions) {
      if (typeof grant === 'string') {
        if (!(grant in grants)) grants[grant] = jurisdiction;
      } else {
        grants[grant.permission] = grant.national ? null : jurisdiction;
      }
    }
  }
  return { id: user.id, role: user.role, officeId: user.officeId, grants };
}

/** Whether the principal holds `permission` for something located at `locationId`. */
export function holds(
  principal: Principal,
  permission: string,
  locationId: string,
  locations: LocationIndex,
): boolean {
  if (!Object.hasOwn(principal.grants, permission)) return false;
  const within = principal.grants[permission];
  if (within === undefined) return false;
  return within === null || locations.isWithin(locationId, within);
}

/** The server acting on its own: `createdBy` of the entries it appends (DUPLICATES_FOUND). */
export const SYSTEM_ID = 'system';

/** The server's own principal, acting at `officeId` (the office of the record it writes to). */
export function systemPrincipal(officeId: string): Principal {
  return { id: SYSTEM_ID, role: SYSTEM_ID, officeId, grants: {} };
}

/** Whether the principal is the server itself. User ids are UUIDs, so no user can be it. */
export function isSystem(principal: Pick<Principal, 'id'>): boolean {
  return principal.id === SYSTEM_ID;
}
