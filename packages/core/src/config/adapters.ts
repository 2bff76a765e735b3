import type { LocationIndex } from './locations.js';
import { principalFor, type Principal } from './principal.js';
import type { AdapterHeader, InAdapter, OutAdapter, Role } from './schema.js';

/** What an adapter out adds to the notify hook that carries its deliveries (services/hooks). */
export interface OutDelivery {
  /** The JSONata mapping of `{hook, entry, record}` to the body sent. */
  mapping: string;
  /** Headers whose values the server reads from the environment. */
  headers: readonly AdapterHeader[];
}

/** An adapter in that is on: its address resolved from `url` or `urlEnv`. */
export type InAdapterConfig = InAdapter & { url: string };

/** An adapter out that is on, its address resolved. */
export type OutAdapterConfig = OutAdapter & { url: string };

export const ADAPTER_PRINCIPAL_PREFIX = 'adapter:';

/** The `createdBy` of the entries an adapter in appends. */
export function adapterPrincipalId(adapterId: string): string {
  return `${ADAPTER_PRINCIPAL_PREFIX}${adapterId}`;
}

/**
 * The principal an adapter in acts as: `adapter:<id>`, holding its configured role at its office,
 * so that the rules (permissions, jurisdiction, validation) are the ones a person of that role
 * meets on a device. No user row stands for it.
 */
export function adapterPrincipal(
  adapter: Pick<InAdapter, 'id' | 'role' | 'office'>,
  role: Role | undefined,
  locations: LocationIndex,
): Principal {
  return principalFor(
    { id: adapterPrincipalId(adapter.id), role: adapter.role, officeId: adapter.office },
    role,
    locations,
  );
}
