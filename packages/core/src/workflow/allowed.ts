import type { ActionType } from '../contracts/action.js';
import type { RecordState, RecordStatus } from '../contracts/record.js';
import type { LocationIndex } from '../config/locations.js';
import {
  actionConfigOf,
  assignConfigOf,
  confirmationOf,
  customActionOf,
} from '../config/lookup.js';
import { holds, isSystem, type Principal } from '../config/principal.js';
import type { RecordTypeConfig } from '../config/schema.js';
import { FLAGS } from '../fold/fold.js';

/** PROTOCOL 5.4: what each status allows, before flags, pending requests and the configuration. */
export const ALLOWED_BY_STATUS: Readonly<Record<RecordStatus, readonly ActionType[]>> = {
  CREATED: ['NOTIFY', 'DECLARE', 'UPDATE', 'ARCHIVE', 'CUSTOM'],
  NOTIFIED: ['DECLARE', 'UPDATE', 'REJECT', 'ARCHIVE', 'CUSTOM'],
  DECLARED: ['VALIDATE', 'UPDATE', 'REGISTER', 'REJECT', 'ARCHIVE', 'CUSTOM'],
  REGISTERED: ['PRINT_CERTIFICATE', 'CORRECT', 'CUSTOM'],
  ARCHIVED: [],
};

const BLOCKED_BY_REJECTED: ReadonlySet<ActionType> = new Set(['REGISTER', 'VALIDATE']);

/** PROTOCOL 10: what a suspected duplicate may not do until a reviewer decides. */
const BLOCKED_BY_SUSPICION: ReadonlySet<ActionType> = new Set(['REGISTER', 'VALIDATE']);

const REVIEW: ReadonlySet<ActionType> = new Set(['MARK_DUPLICATE', 'MARK_NOT_DUPLICATE']);

export type DenialCode =
  'INVALID_TRANSITION' | 'FORBIDDEN' | 'NOT_ASSIGNED' | 'ALREADY_ASSIGNED' | 'SELF_APPROVAL';

export type Verdict = { allowed: true } | { allowed: false; code: DenialCode; message: string };

/** What someone means to do, as far as the rules care. */
export interface Intent {
  type: ActionType;
  customType?: string | undefined;
  requestId?: string | undefined;
  /** ASSIGN only; defaults to the principal. */
  assignee?: string | undefined;
}

export interface RuleContext {
  recordType: RecordTypeConfig;
  principal: Principal;
  locations: LocationIndex;
}

const ok: Verdict = { allowed: true };
const deny = (code: DenialCode, message: string): Verdict => ({ allowed: false, code, message });

/**
 * Whether the principal may perform the intended action on the record now (`null`: the record does
 * not exist yet, so only CREATE). Checked in this order: offered by the record type, permission
 * in the jurisdiction, status and flags, self-approval, assignment.
 */
export function checkAction(
  record: RecordState | null,
  intent: Intent,
  context: RuleContext,
): Verdict {
  const { recordType, principal, locations } = context;
  const { type } = intent;

  if (record === null) {
    if (type !== 'CREATE') return deny('INVALID_TRANSITION', 'the record does not exist yet');
    return holds(principal, recordType.actions.CREATE.permission, principal.officeId, locations)
      ? ok
      : deny('FORBIDDEN', `you may not create ${recordType.id} records here`);
  }
  if (type === 'CREATE') return deny('INVALID_TRANSITION', 'the record already exists');
  if (record.status === 'ARCHIVED') return deny('INVALID_TRANSITION', 'the record is archived');

  if (type === 'DUPLICATES_FOUND' || isSystem(principal)) {
    if (type !== 'DUPLICATES_FOUND' || !isSystem(principal)) {
      return deny('FORBIDDEN', 'only the server appends DUPLICATES_FOUND, and nothing else');
    }
    return recordType.deduplication
      ? ok
      : deny('INVALID_TRANSITION', `${recordType.id} records are not deduplicated`);
  }

  const can = (permission: string) =>
    holds(principal, permission, record.createdAtLocation, locations);

  if (principal.hook) return checkHook(record, intent, context, principal.hook);
  if (type === 'HOOK_OVERDUE') {
    return deny('FORBIDDEN', 'HOOK_OVERDUE is appended by the server only');
  }
  if (REVIEW.has(type)) return checkReview(record, intent, context, can);

  if (type === 'ASSIGN' || type === 'UNASSIGN')
    return checkAssignment(record, intent, context, can);

  if (type === 'APPROVE' || type === 'DECLINE') {
    const pending = record.pending.find((p) => p.id === intent.requestId);
    if (!pending) return deny('INVALID_TRANSITION', 'there is no such pending request');
    const confirmation = confirmationOf(recordType, pending.type, pending.customType);
    if (!confirmation) return deny('INVALID_TRANSITION', `${pending.type} needs no confirmation`);
    if (!can(confirmation.permission)) {
      return deny('FORBIDDEN', `you may not decide ${pending.type} requests here`);
    }
    if (BLOCKED_BY_SUSPICION.has(pending.type) && blockedByDuplicates(record)) {
      return deny('INVALID_TRANSITION', `${pending.type} waits for the duplicate review`);
    }
    if (pending.requestedBy === principal.id) {
      return deny('SELF_APPROVAL', 'a request must be decided by someone other than its requester');
    }
    return checkAssigned(record, context);
  }

  const config = actionConfigOf(recordType, type, intent.customType);
  if (!config) {
    const what = type === 'CUSTOM' ? `the custom action ${intent.customType}` : type;
    return deny('INVALID_TRANSITION', `${recordType.id} records do not offer ${what}`);
  }
  if (!can(config.permission)) return deny('FORBIDDEN', `you may not ${label(intent)} here`);

  const transition = checkTransition(record, intent, recordType);
  if (!transition.allowed) return transition;
  return checkAssigned(record, context);
}

/**
 * A hook's principal (PROTOCOL 8): it may decide (APPROVE, DECLINE) a pending request that its
 * hook confirms, and, the server on its behalf, mark it overdue; nothing else. It needs no
 * permission nor assignment, and is never the requester. A confirmation token's principal may
 * decide only the one request it was issued for.
 */
function checkHook(
  record: RecordState,
  intent: Intent,
  { recordType }: RuleContext,
  hook: NonNullable<Principal['hook']>,
): Verdict {
  const { type } = intent;
  const decides = type === 'APPROVE' || type === 'DECLINE';
  const server = type === 'HOOK_OVERDUE' && hook.requestId === undefined;
  if (!decides && !server) {
    return deny('FORBIDDEN', 'a hook may only approve or decline the requests it confirms');
  }
  if (hook.requestId !== undefined && intent.requestId !== hook.requestId) {
    return deny('FORBIDDEN', `this confirmation token decides request ${hook.requestId} only`);
  }
  const pending = record.pending.find((p) => p.id === intent.requestId);
  if (!pending) return deny('INVALID_TRANSITION', 'there is no such pending request');
  if (confirmationOf(recordType, pending.type, pending.customType)?.hook !== hook.id) {
    return deny('FORBIDDEN', `hook ${hook.id} does not confirm ${pending.type} requests`);
  }
  if (type === 'HOOK_OVERDUE' && pending.overdue) {
    return deny('INVALID_TRANSITION', 'the request is already overdue');
  }
  // A hook's approval waits for the duplicate review like a person's (PROTOCOL 10).
  if (type === 'APPROVE' && BLOCKED_BY_SUSPICION.has(pending.type) && blockedByDuplicates(record)) {
    return deny('INVALID_TRANSITION', `${pending.type} waits for the duplicate review`);
  }
  return ok;
}

function checkTransition(
  record: RecordState,
  intent: Intent,
  recordType: RecordTypeConfig,
): Verdict {
  if (record.pending.length > 0) {
    return deny(
      'INVALID_TRANSITION',
      `the record waits for a decision on ${record.pending[0]?.type}`,
    );
  }
  if (!ALLOWED_BY_STATUS[record.status].includes(intent.type)) {
    return deny(
      'INVALID_TRANSITION',
      `${label(intent)} is not allowed on a ${record.status} record`,
    );
  }
  if (BLOCKED_BY_REJECTED.has(intent.type) && record.flags.includes(FLAGS.rejected)) {
    return deny('INVALID_TRANSITION', `${intent.type} is not allowed while the record is rejected`);
  }
  if (BLOCKED_BY_SUSPICION.has(intent.type) && record.flags.includes(FLAGS.duplicateSuspected)) {
    return deny(
      'INVALID_TRANSITION',
      `${intent.type} is not allowed while the record is a suspected duplicate: a reviewer decides first`,
    );
  }
  if (record.flags.includes(FLAGS.duplicate) && intent.type !== 'ARCHIVE') {
    return deny('INVALID_TRANSITION', 'the record is marked a duplicate: it can only be archived');
  }
  if (intent.type === 'CUSTOM') {
    const custom = customActionOf(recordType, intent.customType);
    if (custom?.allowedIn && !custom.allowedIn.includes(record.status)) {
      return deny('INVALID_TRANSITION', `${custom.id} is not allowed on a ${record.status} record`);
    }
  }
  const config = actionConfigOf(recordType, intent.type, intent.customType);
  const missing = config?.requiresFlags.find((flag) => !record.flags.includes(flag));
  if (missing) return deny('INVALID_TRANSITION', `${label(intent)} needs the flag ${missing}`);
  const present = config?.forbiddenFlags.find((flag) => record.flags.includes(flag));
  if (present)
    return deny('INVALID_TRANSITION', `${label(intent)} is not allowed with the flag ${present}`);
  return ok;
}

function blockedByDuplicates(record: RecordState): boolean {
  return record.flags.includes(FLAGS.duplicateSuspected) || record.flags.includes(FLAGS.duplicate);
}

/** MARK_DUPLICATE and MARK_NOT_DUPLICATE: a reviewer's decision on a suspected duplicate. */
function checkReview(
  record: RecordState,
  intent: Intent,
  context: RuleContext,
  can: (permission: string) => boolean,
): Verdict {
  const dedup = context.recordType.deduplication;
  if (!dedup) {
    return deny('INVALID_TRANSITION', `${context.recordType.id} records are not deduplicated`);
  }
  if (!can(dedup.reviewPermission)) {
    return deny('FORBIDDEN', 'you may not review suspected duplicates here');
  }
  if (record.pending.length > 0) {
    return deny(
      'INVALID_TRANSITION',
      `the record waits for a decision on ${record.pending[0]?.type}`,
    );
  }
  if (!record.flags.includes(FLAGS.duplicateSuspected)) {
    return deny('INVALID_TRANSITION', 'the record is not a suspected duplicate');
  }
  return checkAssigned(record, context);
}

function checkAssigned(record: RecordState, { recordType, principal }: RuleContext): Verdict {
  if (recordType.concurrency === 'assignment' && record.assignedTo !== principal.id) {
    return deny('NOT_ASSIGNED', 'the record must be assigned to you first');
  }
  return ok;
}

function checkAssignment(
  record: RecordState,
  intent: Intent,
  { recordType, principal }: RuleContext,
  can: (permission: string) => boolean,
): Verdict {
  const config = assignConfigOf(recordType);
  if (!config) return deny('INVALID_TRANSITION', `${recordType.id} records are not assigned`);
  const mayAssign = can(config.permission);
  const mayReassign = can(config.reassignPermission);
  if (!mayAssign && !mayReassign) return deny('FORBIDDEN', 'you may not assign records here');

  if (intent.type === 'ASSIGN') {
    const assignee = intent.assignee ?? principal.id;
    if (assignee !== principal.id && !mayReassign) {
      return deny('FORBIDDEN', 'you may not assign records to someone else');
    }
    if (record.assignedTo !== null && record.assignedTo !== principal.id && !mayReassign) {
      return deny('ALREADY_ASSIGNED', 'the record is assigned to someone else');
    }
    if (assignee === principal.id && !mayAssign && !mayReassign) {
      return deny('FORBIDDEN', 'you may not assign records to yourself');
    }
    return ok;
  }
  if (record.assignedTo === null) return deny('INVALID_TRANSITION', 'the record is not assigned');
  if (record.assignedTo !== principal.id && !mayReassign) {
    return deny('ALREADY_ASSIGNED', 'the record is assigned to someone else');
  }
  return ok;
}

function label(intent: Intent): string {
  return intent.type === 'CUSTOM' ? (intent.customType ?? 'CUSTOM') : intent.type;
}

export interface AllowedAction {
  type: ActionType;
  customType?: string;
  requestId?: string;
  verdict: Verdict;
}

/**
 * Every action the record type offers on this record, each with whether the principal may perform
 * it now and, if not, why. The web app shows the allowed ones; the server runs the same checks.
 */
export function allowedActions(
  record: RecordState | null,
  recordType: RecordTypeConfig,
  principal: Principal,
  locations: LocationIndex,
): AllowedAction[] {
  const context: RuleContext = { recordType, principal, locations };
  const intents: Intent[] = [];
  if (record === null) {
    intents.push({ type: 'CREATE' });
  } else {
    const { CUSTOM, ASSIGN, CREATE: _create, ...plain } = recordType.actions;
    for (const type of Object.keys(plain) as ActionType[]) {
      if (plain[type as keyof typeof plain]) intents.push({ type });
    }
    for (const custom of CUSTOM) intents.push({ type: 'CUSTOM', customType: custom.id });
    if (ASSIGN) intents.push({ type: 'ASSIGN' }, { type: 'UNASSIGN' });
    if (recordType.deduplication) {
      intents.push({ type: 'MARK_DUPLICATE' }, { type: 'MARK_NOT_DUPLICATE' });
    }
    for (const pending of record.pending) {
      intents.push(
        { type: 'APPROVE', requestId: pending.id },
        { type: 'DECLINE', requestId: pending.id },
      );
    }
  }
  return intents.map((intent) => {
    const allowed: AllowedAction = {
      type: intent.type,
      verdict: checkAction(record, intent, context),
    };
    if (intent.customType) allowed.customType = intent.customType;
    if (intent.requestId) allowed.requestId = intent.requestId;
    return allowed;
  });
}
