import type { AdapterHeader, InAdapter, OutAdapter } from './schema.js';

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

/**
 * The username of the machine client an adapter in acts as (`adapter:<id>`): a user row of kind
 * `client` that the server keeps in step with the adapter's `role` and `office`, so that its
 * entries are created by a principal like any other and pass the same rules a person of that role
 * meets on a device. It has no password: nobody can sign in as it.
 */
export function adapterUsername(adapterId: string): string {
  return `adapter:${adapterId}`;
}
