import type { RegistryConfig } from '../config/load.js';
import { actionConfigOf, formFields } from '../config/lookup.js';
import { holds, isSystem, type Principal } from '../config/principal.js';
import type { RecordTypeConfig } from '../config/schema.js';
import type { Action } from '../contracts/action.js';
import type { FieldError, RejectionCode } from '../contracts/problem.js';
import { filesIn } from '../declaration/files.js';
import { recordOf } from '../declaration/fields.js';
import { mergeDeclaration } from '../declaration/merge.js';
import { dateIn, referencesIn, validateDeclaration } from '../declaration/validate.js';
import type { RecordFold } from '../fold/fold.js';
import { checkAction } from './allowed.js';
import { inReach, mayBeAssigned, type RecordHead } from './reach.js';

/** How far ahead of the deciding clock an action's `occurredAt` may be (PROTOCOL 7). */
export const MAX_CLOCK_SKEW_MS = 5 * 60 * 1000;

/**
 * What the decision may ask of the world around it. The server answers every question; a device
 * answers `undefined` where it cannot know (a record it does not hold, a user it has never seen),
 * and that part is then left to the server.
 */
export interface DecisionContext {
  config: RegistryConfig;
  principal: Principal;
  /** The deciding side's clock: the server's, or the device's before it syncs. */
  now: Date;
  /** A record a reference field names: null when it does not exist, undefined when unknown here. */
  record(id: string): RecordHead | null | undefined;
  /** The active user an ASSIGN names: null when there is none, undefined when unknown here. */
  assignee(userId: string): Principal | null | undefined;
  /**
   * A file a file field names, by its SHA-256: what the holder knows of its bytes (sniffed type
   * and size), null when they are not held (PROTOCOL 9), undefined when unknown here.
   */
  file(sha256: string): HeldFile | null | undefined;
}

/** What the server (or the device's file queue) knows of a file's bytes. */
export interface HeldFile {
  type: string;
  size: number;
}

/** A refusal: `stored` says whether the action is kept in the log as a `rejected` entry. */
export interface Refusal {
  outcome: 'rejected';
  stored: boolean;
  code: RejectionCode;
  message: string;
  errors?: FieldError[];
}

/** A taken action, with what must follow it. */
export interface Taken {
  outcome: 'accepted' | 'requested';
  recordType: RecordTypeConfig;
  /** The entry needs a registration number (an accepted REGISTER, or the APPROVE of one). */
  register: boolean;
  /** The performer is unassigned right after, by a separate UNASSIGN entry. */
  unassign: boolean;
}

export type Decision = Refusal | Taken;

/**
 * The decision on one well-formed action against its record's fold (null: no such record), written
 * once for the server, the SDK and the web app (PROTOCOL 3, 4 and 7). Checked in order: the clock
 * bounds, existence and reach, the record type, the workflow rules (`checkAction`), the assignee,
 * the declaration (always, with an empty patch when none is sent, so that a bare DECLARE still
 * needs every required field), its references and its files' type and size, then whether its
 * files are held (FILE_MISSING). Pure: the context answers every question.
 */
export function decideAction(
  fold: RecordFold | null,
  action: Action,
  context: DecisionContext,
): Decision {
  const { config, principal } = context;
  const clock = clockError(action, context);
  if (clock) return refuse(false, 'INVALID_INPUT', `occurredAt ${clock}`, 'occurredAt', clock);
  if (action.type === 'DUPLICATES_FOUND' && !isSystem(principal)) {
    const message = 'DUPLICATES_FOUND is appended by the server only';
    return refuse(false, 'INVALID_INPUT', message, 'type', message);
  }

  if (action.type === 'CREATE') {
    if (fold) return refuse(false, 'RECORD_EXISTS', 'the record already exists');
    const recordType = config.recordTypes.get(action.recordType ?? '');
    if (!recordType) {
      const message = `"${action.recordType}" is not a record type of this registry`;
      return refuse(false, 'INVALID_INPUT', `recordType ${message}`, 'recordType', message);
    }
    const verdict = checkAction(null, { type: 'CREATE' }, rules(recordType, context));
    if (!verdict.allowed) return refuse(false, verdict.code, verdict.message);
    const invalid = declarationErrors(fold, action, recordType, context);
    if (invalid) return { ...invalid, stored: false };
    const missing = missingFiles(action, recordType, context);
    if (missing) return { ...missing, stored: false };
    const assignedAfter = recordType.concurrency === 'assignment' ? principal.id : null;
    return taken(recordType, action, 'accepted', assignedAfter === principal.id);
  }

  const record = fold?.record;
  const recordType = record && config.recordTypes.get(record.type);
  const reached = record && (isSystem(principal) || inReach(principal, config, record));
  if (!fold || !record || !recordType || !reached) {
    return refuse(false, 'NOT_FOUND', 'no such record in your reach');
  }
  if (action.recordType !== undefined && action.recordType !== record.type) {
    const message = `the record is a ${record.type}, not a ${action.recordType}`;
    return refuse(false, 'INVALID_INPUT', `recordType ${message}`, 'recordType', message);
  }
  let assignee: Principal | null | undefined;
  if (action.assignee !== undefined) {
    assignee = context.assignee(action.assignee);
    if (assignee === null) {
      return refuse(
        false,
        'INVALID_INPUT',
        'assignee is not an active user',
        'assignee',
        'is not an active user',
      );
    }
  }
  const verdict = checkAction(record, action, rules(recordType, context));
  if (!verdict.allowed) return refuse(true, verdict.code, verdict.message);
  if (assignee && !mayBeAssigned(assignee, config, recordType, record.createdAtLocation)) {
    return refuse(
      true,
      'INVALID_ASSIGNEE',
      `the assignee may not act on ${recordOf(recordType.id)} of this office`,
      'assignee',
      'may not act on this record',
    );
  }
  if (action.type === 'MARK_DUPLICATE') {
    const duplicateOf = action.annotation?.['duplicateOf'];
    if (!(record.duplicates ?? []).some((c) => c.recordId === duplicateOf)) {
      const message = 'must be one of the suspected duplicates';
      return refuse(
        false,
        'INVALID_INPUT',
        `annotation.duplicateOf ${message}`,
        'annotation.duplicateOf',
        message,
      );
    }
  }
  if (action.type === 'HOOK_OVERDUE') {
    const early = overdueError(fold, action, context);
    if (early) return refuse(true, 'INVALID_TRANSITION', early);
  }
  if (action.type === 'DECLINE' && action.declaration) {
    const message = 'DECLINE carries no declaration';
    return refuse(true, 'INVALID_DECLARATION', message, 'declaration', message);
  }
  const invalid = declarationErrors(fold, action, recordType, context);
  if (invalid) return invalid;
  const missing = missingFiles(action, recordType, context);
  if (missing) return missing;

  const request = action.requestId
    ? fold.carry.requests.find((entry) => entry.id === action.requestId)
    : undefined;
  const effective = action.type === 'APPROVE' && request ? request : action;
  const confirmation = actionConfigOf(recordType, action.type, action.customType)?.confirmation;
  const confirmed =
    confirmation && (!confirmation.roles || confirmation.roles.includes(principal.role));
  const outcome = confirmed ? 'requested' : 'accepted';
  const decision = taken(recordType, action, outcome, record.assignedTo === principal.id);
  decision.register = outcome === 'accepted' && effective.type === 'REGISTER';
  return decision;
}

/** Why a HOOK_OVERDUE comes too soon: its request is younger than its hook's `overdueAfter`. */
function overdueError(fold: RecordFold, action: Action, context: DecisionContext): string | null {
  const request = fold.carry.requests.find((entry) => entry.id === action.requestId);
  const hook = context.principal.hook && context.config.hooks.get(context.principal.hook.id);
  if (!request || !hook) return 'there is no such request of this hook';
  const since = Date.parse(request.recordedAt ?? request.occurredAt);
  if (context.now.getTime() - since < hook.overdueAfter * 1000) {
    return `the request is not overdue before ${hook.overdueAfter} s have passed`;
  }
  return null;
}

function taken(
  recordType: RecordTypeConfig,
  action: Action,
  outcome: Taken['outcome'],
  assignedToPerformer: boolean,
): Taken {
  const config = actionConfigOf(recordType, action.type, action.customType);
  return {
    outcome,
    recordType,
    register: false,
    unassign: (config?.unassign ?? false) && assignedToPerformer,
  };
}

/** Why `occurredAt` is out of bounds, or null: not in the future, not older than the offline limit. */
function clockError(action: Action, { config, now }: DecisionContext): string | null {
  const at = Date.parse(action.occurredAt);
  if (at > now.getTime() + MAX_CLOCK_SKEW_MS) {
    return 'is more than 5 minutes ahead of the clock: check the device’s date and time';
  }
  const days = config.document.maxOfflineDays;
  if (at < now.getTime() - days * 24 * 60 * 60 * 1000) {
    return `is more than ${days} days ago, the longest a device may stay offline`;
  }
  return null;
}

function rules(recordType: RecordTypeConfig, { principal, config }: DecisionContext) {
  return { recordType, principal, locations: config.locations };
}

/** The declaration checked against the form, on top of what it lands on, and its references. */
function declarationErrors(
  fold: RecordFold | null,
  action: Action,
  recordType: RecordTypeConfig,
  context: DecisionContext,
): Refusal | null {
  const { config } = context;
  const request = action.requestId
    ? fold?.carry.requests.find((entry) => entry.id === action.requestId)
    : undefined;
  // An APPROVE's declaration lands on top of its request's, and is checked as the request's type.
  const declared = fold?.record.declaration ?? {};
  const current = request?.declaration ? mergeDeclaration(declared, request.declaration) : declared;
  const patch = action.declaration ?? {};
  const verdict = validateDeclaration({
    recordType,
    locations: config.locations,
    action: request?.type ?? action.type,
    ...((request?.customType ?? action.customType)
      ? { customType: request?.customType ?? action.customType }
      : {}),
    current,
    patch,
    today: dateIn(config.document.timeZone, context.now),
    actedOn: dateIn(config.document.timeZone, new Date(action.occurredAt)),
  });
  const errors = verdict.ok
    ? [
        ...referenceErrors(recordType, patch, context),
        ...jurisdictionErrors(recordType, patch, request ?? action, request !== undefined, context),
        ...fileErrors(recordType, patch, context),
      ]
    : verdict.errors;
  if (errors.length === 0) return null;
  return {
    outcome: 'rejected',
    stored: true,
    code: 'INVALID_DECLARATION',
    message: errors.map((e) => `${e.path}: ${e.message}`).join('; '),
    errors,
  };
}

/**
 * References to records that do not exist, are out of reach, or are of another type: one message
 * for all three, so that nothing leaks. A record the context cannot tell about is left alone.
 */
function referenceErrors(
  recordType: RecordTypeConfig,
  patch: Action['declaration'] & object,
  { config, principal, record }: DecisionContext,
): FieldError[] {
  return referencesIn(recordType, patch).flatMap(({ path, id, recordType: wanted }) => {
    const head = record(id);
    if (head === undefined) return [];
    const seen = head !== null && head.type === wanted && inReach(principal, config, head);
    return seen ? [] : [{ path, message: `must be the id of ${recordOf(wanted)} you can see` }];
  });
}

/**
 * Location fields limited to the jurisdiction (`withinJurisdiction`): each place set must lie where
 * the person may take the action, by the grant of the permission the action needs there (an
 * APPROVE: the confirmation's). A national grant reaches everywhere.
 */
function jurisdictionErrors(
  recordType: RecordTypeConfig,
  patch: Action['declaration'] & object,
  taken: Pick<Action, 'type' | 'customType'>,
  confirming: boolean,
  { config, principal }: DecisionContext,
): FieldError[] {
  const limited = Object.keys(patch).filter((id) => {
    const field = formFields(recordType).get(id);
    return field?.type === 'location' && field.withinJurisdiction;
  });
  if (limited.length === 0) return [];
  const action = actionConfigOf(recordType, taken.type, taken.customType);
  const permission = confirming ? action?.confirmation?.permission : action?.permission;
  return limited.flatMap((id) => {
    const place = patch[id];
    if (typeof place !== 'string') return [];
    const mayHere =
      permission !== undefined && holds(principal, permission, place, config.locations);
    return mayHere ? [] : [{ path: id, message: 'must be a place within your jurisdiction' }];
  });
}

/**
 * Files whose value says other than their bytes do: a declared type or size that is not the held
 * file's, so that `accept` and `maxBytes` are checked against the bytes, not a claim about them.
 */
function fileErrors(
  recordType: RecordTypeConfig,
  patch: Action['declaration'] & object,
  { file }: DecisionContext,
): FieldError[] {
  return filesIn(recordType, patch).flatMap(({ path, sha256, type, size }) => {
    const held = file(sha256);
    if (!held) return [];
    const errors: FieldError[] = [];
    if (held.type !== type)
      errors.push({ path: `${path}.type`, message: `the file is ${held.type}` });
    if (held.size !== size)
      errors.push({ path: `${path}.size`, message: `the file has ${held.size} bytes` });
    return errors;
  });
}

/**
 * PROTOCOL 4 rule 3 and 9: a file field naming bytes that are not held is FILE_MISSING, stored
 * like INVALID_DECLARATION with the field's path. Files the context cannot tell about are left
 * to the server.
 */
function missingFiles(
  action: Action,
  recordType: RecordTypeConfig,
  { file }: DecisionContext,
): Refusal | null {
  const missing = filesIn(recordType, action.declaration ?? {}).filter(
    ({ sha256 }) => file(sha256) === null,
  );
  if (missing.length === 0) return null;
  const errors = missing.map(({ path }) => ({
    path,
    message: 'the file is not on the server: upload it before the action that names it',
  }));
  return {
    outcome: 'rejected',
    stored: true,
    code: 'FILE_MISSING',
    message: errors.map((e) => `${e.path}: ${e.message}`).join('; '),
    errors,
  };
}

function refuse(
  stored: boolean,
  code: RejectionCode,
  message: string,
  path?: string,
  pathMessage?: string,
): Refusal {
  const refusal: Refusal = { outcome: 'rejected', stored, code, message };
  if (path !== undefined) refusal.errors = [{ path, message: pathMessage ?? message }];
  return refusal;
}
