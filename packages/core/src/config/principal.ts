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
