import type { ActionType } from '../contracts/action.js';
import type { LocationIndex } from './locations.js';
import type { Principal } from './principal.js';
import type { OutDelivery } from './adapters.js';
import type { Hook } from './schema.js';

/**
 * A hook that is on: its address resolved from `url` or `urlEnv` (PROTOCOL 8). An adapter out is
 * carried as a notify hook with `adapter` (its mapping and headers) and maybe no signing secret.
 */
export type HookConfig = Omit<Hook, 'secretEnv'> & {
  url: string;
  secretEnv?: string;
  adapter?: OutDelivery;
};

/** What a hook covers, as far as the rules care. */
export type HookCoverage = Pick<Hook, 'recordTypes' | 'actions'>;

/** Actions that may be appended `requested`: those a record type configures, CREATE aside. */
export const CONFIRMABLE_ACTIONS: ReadonlySet<ActionType> = new Set([
  'NOTIFY',
  'DECLARE',
  'UPDATE',
  'VALIDATE',
  'REGISTER',
  'REJECT',
  'ARCHIVE',
  'CORRECT',
  'PRINT_CERTIFICATE',
  'CUSTOM',
]);

/** Whether the hook covers actions of this type on records of this type (absent lists: all). */
export function hookCovers(hook: HookCoverage, recordType: string, type?: ActionType): boolean {
  if (hook.recordTypes && !hook.recordTypes.includes(recordType)) return false;
  return type === undefined || !hook.actions || hook.actions.includes(type);
}

export const HOOK_PRINCIPAL_PREFIX = 'hook:';

/**
 * The principal a hook acts as (PROTOCOL 8): `hook:<id>`, holding no permission and needing no
 * assignment. The rules let it decide only the requests its hook confirms (workflow/allowed.ts);
 * with `requestId` (a confirmation token's), only that one request. Its entries are located at the
 * root of the location tree: a hook has no office.
 */
export function hookPrincipal(
  hookId: string,
  locations: LocationIndex,
  requestId?: string,
): Principal {
  return {
    id: `${HOOK_PRINCIPAL_PREFIX}${hookId}`,
    role: 'hook',
    officeId: locations.all.find((l) => l.parentId === null)?.id ?? '',
    grants: {},
    hook: requestId === undefined ? { id: hookId } : { id: hookId, requestId },
  };
}
