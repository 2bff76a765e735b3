import { isOffice, type RegistryConfig } from './load.js';
import type { SingleSignOn } from './schema.js';

/**
 * Single sign-on (issue 14): the account a person signed on at an OpenID Connect provider gets,
 * from the provider's claims and the configuration's `singleSignOn` mapping. A person whose
 * claims map to no role or no office is refused, with the reason, and nothing is made for them.
 */
export type SignOnAccount =
  | { ok: true; username: string; name: string; role: string; officeId: string }
  | { ok: false; code: SignOnRefusal; detail: string };

export type SignOnRefusal = 'CLAIM_MISSING' | 'ROLE_NOT_MAPPED' | 'OFFICE_NOT_MAPPED';

/** A claim's values: a string, or the strings of a list (such as `groups`). */
function values(claims: Record<string, unknown>, name: string): string[] {
  const value = claims[name];
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return [];
}

const USERNAME = /^[\p{L}\p{N}._@-]{1,200}$/u;

export function signOnAccount(
  config: RegistryConfig,
  mapping: SingleSignOn,
  claims: Record<string, unknown>,
): SignOnAccount {
  const [username] = values(claims, mapping.usernameClaim);
  if (!username || !USERNAME.test(username)) {
    return {
      ok: false,
      code: 'CLAIM_MISSING',
      detail: `the provider sent no usable "${mapping.usernameClaim}" claim for the username`,
    };
  }
  const given = values(claims, mapping.role.claim);
  const role = Object.entries(mapping.role.values).find(([value]) => given.includes(value))?.[1];
  if (!role) {
    return {
      ok: false,
      code: 'ROLE_NOT_MAPPED',
      detail:
        given.length === 0
          ? `the provider sent no "${mapping.role.claim}" claim, which gives the role`
          : `no role is configured for "${mapping.role.claim}" ${JSON.stringify(given)}`,
    };
  }
  const [officeValue] = values(claims, mapping.office.claim);
  const officeId =
    officeValue === undefined
      ? undefined
      : mapping.office.values
        ? Object.hasOwn(mapping.office.values, officeValue)
          ? mapping.office.values[officeValue]
          : undefined
        : officeValue;
  const office = officeId === undefined ? undefined : config.locations.get(officeId);
  if (!officeId || !office || !isOffice(office)) {
    return {
      ok: false,
      code: 'OFFICE_NOT_MAPPED',
      detail:
        officeValue === undefined
          ? `the provider sent no "${mapping.office.claim}" claim, which gives the office`
          : `"${mapping.office.claim}" ${JSON.stringify(officeValue)} is not an office of this registry`,
    };
  }
  const [name] = values(claims, mapping.nameClaim);
  return { ok: true, username, name: name?.trim() || username, role, officeId };
}
