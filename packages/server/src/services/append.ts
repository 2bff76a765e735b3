import {
  ACTION_BODY_KEYS,
  ActionSchema,
  actionConfigOf,
  checkAction,
  dateIn,
  foldRecord,
  mergeDeclaration,
  recordOf,
  referencesIn,
  toFieldErrors,
  validateDeclaration,
  type Action,
  type ActionResult,
  type Declaration,
  type Entry,
  type EntryStatus,
  type FieldError,
  type RecordState,
  type RecordTypeConfig,
  type RejectionCode,
} from '@registra/core';
import canonicalize from 'canonicalize';
import type { Kysely, RawBuilder } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import type { Database } from '../db/schema.js';
import type { StoredRejection } from '../store/devices.js';
import { readAppendContext, type AppendContext } from '../store/append.js';
import { appendEntriesStatement, type NewEntry } from '../store/entries.js';
import { findRecordHeads, upsertRecordsStatement, type RecordHead } from '../store/records.js';
import { existingUserIds } from '../store/users.js';
import type { Caller, Registry } from './context.js';
import { inReach } from './reach.js';
import { readModelRow } from './read-model.js';
import { makeRegistrationNumber } from './registration.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** One action of a request, before validation. */
export interface IncomingAction {
  raw: Record<string, unknown>;
  id: string;
  deviceSeq?: number;
}

export interface DeviceState {
  id: string;
  ackThrough: number;
  /** Outcomes of earlier actions of this device that were rejected without being stored. */
  rejections: ReadonlyMap<number, StoredRejection>;
}

export interface AppendResult {
  results: ActionResult[];
  /** Rejections of this request that were not stored, for the device to be answered alike later. */
  unstored: StoredRejection[];
  /** What to write for it (the entries, the read model), for the caller's writeAll. */
  writes: RawBuilder<unknown>[];
}

/** A resend must match the stored action exactly on these keys. */
function fingerprint(action: Partial<Record<(typeof ACTION_BODY_KEYS)[number], unknown>>): string {
  const body: Record<string, unknown> = {};
  for (const key of ACTION_BODY_KEYS) if (action[key] !== undefined) body[key] = action[key];
  return canonicalize(body) ?? '';
}

/**
 * Decides a request's actions inside the caller's transaction (PROTOCOL 4, rules 1, 3 and 4):
 * duplicates answer their original outcome, each record's actions apply in order, a rejection is
 * stored when the record is in reach, and the read model is updated alongside. The records touched
 * stay locked; the caller writes `writes` (with its own) in the same transaction.
 */
export async function appendActions(
  trx: Kysely<Database>,
  registry: Registry,
  caller: Caller,
  incoming: IncomingAction[],
  device: DeviceState | null,
): Promise<AppendResult> {
  const batch = new Batch(trx, registry, caller, device);
  await batch.run(incoming);
  return { results: batch.results(), unstored: batch.unstored, writes: batch.writes() };
}

type Outcome =
  | { kind: 'stored'; entry: Entry; errors?: FieldError[] }
  | { kind: 'unstored'; code: RejectionCode; message: string; errors?: FieldError[] };

class Batch {
  readonly unstored: StoredRejection[] = [];
  readonly #answers = new Map<number, ActionResult>();
  readonly #appended: NewEntry[] = [];
  /** Action ids handled in this request: the stored entry, or null when rejected unstored. */
  readonly #seen = new Map<string, Entry | null>();
  readonly #touched = new Map<string, { state: RecordState; recordType: RecordTypeConfig }>();
  #incoming: IncomingAction[] = [];
  /** What reference fields may point to: records CREATEd in this request, and stored ones. */
  #createdHere = new Map<string, string>();
  #referenced = new Map<string, RecordHead>();

  constructor(
    private readonly trx: Kysely<Database>,
    private readonly registry: Registry,
    private readonly caller: Caller,
    private readonly device: DeviceState | null,
  ) {}

  async run(incoming: IncomingAction[]): Promise<void> {
    this.#incoming = incoming;
    const actions = incoming.map((item) => ActionSchema.safeParse(item.raw));
    const recordIds = new Set(actions.flatMap((a) => (a.success ? [a.data.recordId] : [])));
    const context = await readAppendContext(
      this.trx,
      incoming.map((a) => a.id),
      [...recordIds],
    );
    await this.#findReferenced(
      actions.flatMap((a) => (a.success ? [a.data] : [])),
      context,
    );
    const fresh: { index: number; action: Action }[] = [];

    incoming.forEach((item, index) => {
      const known = context.known.get(item.id);
      const parsed = actions[index] as (typeof actions)[number];
      if (this.device && item.deviceSeq !== undefined && item.deviceSeq <= this.device.ackThrough) {
        this.#answerReplay(index, parsed, known);
        return;
      }
      if (!parsed.success) {
        this.#reject(
          index,
          'INVALID_INPUT',
          'the action is malformed',
          toFieldErrors(parsed.error),
        );
      } else if (!this.device && parsed.data.deviceSeq !== undefined) {
        this.#reject(index, 'INVALID_INPUT', 'deviceSeq is only sent to /sync', [
          { path: 'deviceSeq', message: 'is only sent to /sync' },
        ]);
      } else if (known) {
        this.#answerKnown(index, parsed.data, known);
      } else {
        fresh.push({ index, action: parsed.data });
      }
    });
    await this.#applyFresh(fresh, context);
  }

  /** The stored records that the request's reference fields name, in one query (none if none). */
  async #findReferenced(actions: Action[], context: AppendContext): Promise<void> {
    for (const action of actions) {
      if (action.type === 'CREATE' && action.recordType)
        this.#createdHere.set(action.recordId, action.recordType);
    }
    const ids = new Set<string>();
    for (const action of actions) {
      const type =
        context.records.get(action.recordId)?.head.type ?? this.#createdHere.get(action.recordId);
      const recordType =
        type === undefined ? undefined : this.registry.config.recordTypes.get(type);
      if (!recordType || !action.declaration) continue;
      // Not validated yet: only well-formed ids are looked up (the others fail validation).
      for (const { id } of referencesIn(recordType, action.declaration))
        if (UUID.test(id) && !this.#createdHere.has(id)) ids.add(id);
    }
    this.#referenced = await findRecordHeads(this.trx, [...ids]);
  }

  /** References to records that do not exist, are out of reach, or are of another type. */
  #referenceErrors(recordType: RecordTypeConfig, patch: Declaration): FieldError[] {
    const { principal } = this.caller;
    return referencesIn(recordType, patch).flatMap(({ path, id, recordType: wanted }) => {
      const head = this.#referenced.get(id);
      const found =
        this.#createdHere.get(id) ??
        (head && inReach(principal, this.registry.config, head) ? head.type : undefined);
      return found === wanted
        ? []
        : [{ path, message: `must be the id of ${recordOf(wanted)} you can see` }];
    });
  }

  writes(): RawBuilder<unknown>[] {
    const writes: RawBuilder<unknown>[] = [];
    if (this.#appended.length > 0) writes.push(appendEntriesStatement(this.#appended));
    if (this.#touched.size > 0) {
      const rows = [...this.#touched.values()].map(({ state, recordType }) =>
        readModelRow(state, recordType),
      );
      writes.push(upsertRecordsStatement(rows));
    }
    return writes;
  }

  results(): ActionResult[] {
    return this.#incoming.map((_, index) => this.#answers.get(index) as ActionResult);
  }

  /** A resend of something this device already sent: the same answer again. */
  #answerReplay(
    index: number,
    parsed: ReturnType<typeof ActionSchema.safeParse>,
    known: Entry | undefined,
  ): void {
    const item = this.#incoming[index] as IncomingAction;
    if (known) {
      if (parsed.success) this.#answerKnown(index, parsed.data, known);
      else
        this.#reject(
          index,
          'ID_CONFLICT',
          'an action with this id was stored with a different body',
        );
      return;
    }
    const earlier = this.device?.rejections.get(item.deviceSeq as number);
    if (earlier && earlier.actionId === item.id) {
      this.#answers.set(index, {
        ...this.#base(index),
        outcome: 'rejected',
        seq: null,
        recordedAt: null,
        code: earlier.code,
        message: earlier.message,
        ...(earlier.errors ? { errors: earlier.errors } : {}),
        duplicate: true,
      });
      return;
    }
    this.#answers.set(index, {
      ...this.#base(index),
      outcome: 'rejected',
      seq: null,
      recordedAt: null,
      code: 'INVALID_INPUT',
      message: `deviceSeq ${item.deviceSeq} was already used by another action`,
    });
  }

  #answerKnown(index: number, action: Action, known: Entry): void {
    if (fingerprint(action) !== fingerprint(known)) {
      this.#reject(index, 'ID_CONFLICT', 'an action with this id was stored with a different body');
      return;
    }
    this.#answers.set(index, { ...entryResult(this.#base(index), known), duplicate: true });
  }

  #base(index: number): Pick<ActionResult, 'id' | 'deviceSeq'> {
    const item = this.#incoming[index] as IncomingAction;
    return item.deviceSeq === undefined
      ? { id: item.id }
      : { id: item.id, deviceSeq: item.deviceSeq };
  }

  #reject(index: number, code: RejectionCode, message: string, errors?: FieldError[]): void {
    const item = this.#incoming[index] as IncomingAction;
    this.#answers.set(index, {
      ...this.#base(index),
      outcome: 'rejected',
      seq: null,
      recordedAt: null,
      code,
      message,
      ...(errors ? { errors } : {}),
    });
    if (this.device && item.deviceSeq !== undefined) {
      this.unstored.push({
        deviceSeq: item.deviceSeq,
        actionId: item.id,
        code,
        message,
        errors: errors ?? null,
      });
    }
  }

  async #applyFresh(
    fresh: { index: number; action: Action }[],
    context: AppendContext,
  ): Promise<void> {
    const groups = new Map<string, { index: number; action: Action }[]>();
    for (const item of fresh) {
      const group = groups.get(item.action.recordId) ?? [];
      group.push(item);
      groups.set(item.action.recordId, group);
    }
    const assignees = await existingUserIds(
      this.trx,
      fresh.flatMap(({ action }) => (action.assignee ? [action.assignee] : [])),
    );
    for (const [recordId, group] of groups) {
      const stored = context.records.get(recordId);
      const recordType = stored && this.registry.config.recordTypes.get(stored.head.type);
      const record = new RecordInProgress(recordId, stored?.log ?? [], recordType);
      let failed = false;
      for (const { index, action } of group) {
        const earlier = this.#seen.get(action.id);
        if (earlier !== undefined) {
          if (earlier) this.#answerKnown(index, action, earlier);
          else this.#reject(index, 'ID_CONFLICT', 'this action id appears twice in the request');
          continue;
        }
        const outcome = failed
          ? this.#dependencyRejected(record, action)
          : await this.#decide(record, action, assignees);
        this.#answer(index, outcome);
        this.#seen.set(action.id, outcome.kind === 'stored' ? outcome.entry : null);
        if (outcome.kind === 'unstored' || outcome.entry.status === 'rejected') failed = true;
      }
      if (record.state && record.recordType && record.appended) {
        this.#touched.set(recordId, { state: record.state, recordType: record.recordType });
      }
    }
  }

  #answer(index: number, outcome: Outcome): void {
    if (outcome.kind === 'unstored') {
      this.#reject(index, outcome.code, outcome.message, outcome.errors);
      return;
    }
    const result = entryResult(this.#base(index), outcome.entry);
    this.#answers.set(index, outcome.errors ? { ...result, errors: outcome.errors } : result);
  }

  #dependencyRejected(record: RecordInProgress, action: Action): Outcome {
    const message = 'an earlier action of this record in the same request was rejected';
    if (record.state && inReach(this.caller.principal, this.registry.config, record.state)) {
      return this.#store(record, action, 'rejected', { code: 'DEPENDENCY_REJECTED', message });
    }
    return { kind: 'unstored', code: 'DEPENDENCY_REJECTED', message };
  }

  async #decide(
    record: RecordInProgress,
    action: Action,
    assignees: Set<string>,
  ): Promise<Outcome> {
    const { config } = this.registry;
    const { principal } = this.caller;

    if (action.type === 'CREATE') {
      if (record.state)
        return { kind: 'unstored', code: 'RECORD_EXISTS', message: 'the record already exists' };
      const recordType = config.recordTypes.get(action.recordType as string);
      if (!recordType) {
        return unstoredInput(
          'recordType',
          `"${action.recordType}" is not a record type of this registry`,
        );
      }
      record.recordType = recordType;
      const verdict = checkAction(null, { type: 'CREATE' }, this.#rules(recordType));
      if (!verdict.allowed)
        return { kind: 'unstored', code: verdict.code, message: verdict.message };
      if (action.declaration) {
        const invalid = this.#declarationErrors(record, action, 'CREATE');
        if (invalid) return { kind: 'unstored', ...invalid };
      }
      return this.#store(record, action, 'accepted', {});
    }

    const state = record.state;
    const recordType = record.recordType;
    if (!state || !recordType || !inReach(principal, config, state)) {
      return { kind: 'unstored', code: 'NOT_FOUND', message: 'no such record in your reach' };
    }
    if (action.recordType !== undefined && action.recordType !== state.type) {
      return unstoredInput(
        'recordType',
        `the record is a ${state.type}, not a ${action.recordType}`,
      );
    }
    if (action.assignee !== undefined && !assignees.has(action.assignee)) {
      return unstoredInput('assignee', 'is not an active user');
    }
    const verdict = checkAction(state, action, this.#rules(recordType));
    if (!verdict.allowed) {
      return this.#store(record, action, 'rejected', {
        code: verdict.code,
        message: verdict.message,
      });
    }

    const request = action.requestId
      ? record.log.find((e) => e.id === action.requestId)
      : undefined;
    const effective = action.type === 'APPROVE' && request ? request : action;
    if (action.declaration && action.type !== 'DECLINE') {
      const invalid = this.#declarationErrors(
        record,
        action,
        effective.type,
        effective.customType,
        request,
      );
      if (invalid) return this.#store(record, action, 'rejected', invalid);
    } else if (action.declaration) {
      return this.#store(record, action, 'rejected', {
        code: 'INVALID_DECLARATION',
        message: 'DECLINE carries no declaration',
        errors: [{ path: 'declaration', message: 'DECLINE carries no declaration' }],
      });
    }

    const actionConfig = actionConfigOf(recordType, action.type, action.customType);
    const status: EntryStatus = actionConfig?.confirmation ? 'requested' : 'accepted';
    let registrationNumber: string | null = null;
    if (status === 'accepted' && effective.type === 'REGISTER') {
      registrationNumber = await makeRegistrationNumber(
        this.trx,
        config,
        recordType,
        state,
        this.registry.now(),
      );
    }
    const outcome = this.#store(record, action, status, { registrationNumber });
    if (actionConfig?.unassign && record.state?.assignedTo === principal.id) {
      this.#store(
        record,
        {
          id: uuidv7(),
          recordId: record.id,
          type: 'UNASSIGN',
          occurredAt: this.registry.now().toISOString(),
        },
        'accepted',
        { server: true },
      );
    }
    return outcome;
  }

  #rules(recordType: RecordTypeConfig) {
    return {
      recordType,
      principal: this.caller.principal,
      locations: this.registry.config.locations,
    };
  }

  #declarationErrors(
    record: RecordInProgress,
    action: Action,
    type: Action['type'],
    customType?: string,
    request?: Entry,
  ): { code: 'INVALID_DECLARATION'; message: string; errors: FieldError[] } | null {
    const { config } = this.registry;
    // An APPROVE's declaration lands on top of its request's.
    const declared = record.state?.declaration ?? {};
    const current = request?.declaration
      ? mergeDeclaration(declared, request.declaration)
      : declared;
    const verdict = validateDeclaration({
      recordType: record.recordType as RecordTypeConfig,
      locations: config.locations,
      action: type,
      ...(customType ? { customType } : {}),
      current,
      patch: action.declaration ?? {},
      today: dateIn(config.document.timeZone, this.registry.now()),
      actedOn: dateIn(config.document.timeZone, new Date(action.occurredAt)),
    });
    const errors = verdict.ok
      ? this.#referenceErrors(record.recordType as RecordTypeConfig, action.declaration ?? {})
      : verdict.errors;
    if (errors.length === 0) return null;
    return {
      code: 'INVALID_DECLARATION',
      message: errors.map((e) => `${e.path}: ${e.message}`).join('; '),
      errors,
    };
  }

  #store(
    record: RecordInProgress,
    action: Action,
    status: EntryStatus,
    decided: {
      code?: string;
      message?: string;
      errors?: FieldError[];
      registrationNumber?: string | null;
      server?: boolean;
    },
  ): Outcome {
    const { user, principal } = this.caller;
    const { deviceSeq, ...body } = action;
    const fromDevice = this.device !== null && !decided.server;
    const newEntry: NewEntry = {
      id: action.id,
      recordId: action.recordId,
      seq: (record.state?.seq ?? 0) + 1,
      recordType: record.recordType?.id ?? action.recordType ?? '',
      type: action.type,
      body,
      deviceId: fromDevice ? (this.device?.id ?? null) : null,
      deviceSeq: fromDevice ? (deviceSeq ?? null) : null,
      status,
      code: decided.code ?? null,
      message: decided.message ?? null,
      registrationNumber: decided.registrationNumber ?? null,
      createdBy: user.id,
      createdByRole: user.role,
      createdAtLocation: principal.officeId,
      recordedAt: this.registry.now().toISOString(),
      configVersion: this.registry.config.version,
    };
    this.#appended.push(newEntry);
    const entry = toLogEntry(newEntry);
    record.append(entry);
    return { kind: 'stored', entry, ...(decided.errors ? { errors: decided.errors } : {}) };
  }
}

/** A record's log and state as the batch appends to it. */
class RecordInProgress {
  state: RecordState | null;
  appended = false;

  constructor(
    readonly id: string,
    readonly log: Entry[],
    public recordType: RecordTypeConfig | undefined,
  ) {
    this.state = foldRecord(log, recordType);
  }

  append(entry: Entry): void {
    this.log.push(entry);
    this.state = foldRecord(this.log, this.recordType);
    this.appended = true;
  }
}

function unstoredInput(path: string, message: string): Outcome {
  return {
    kind: 'unstored',
    code: 'INVALID_INPUT',
    message: `${path} ${message}`,
    errors: [{ path, message }],
  };
}

function toLogEntry(e: NewEntry): Entry {
  // Object.assign, not a spread: see toEntry in store/entries.ts.
  const entry = Object.assign({}, e.body, {
    seq: e.seq,
    status: e.status,
    createdBy: e.createdBy,
    createdByRole: e.createdByRole,
    createdAtLocation: e.createdAtLocation,
    deviceId: e.deviceId,
    recordedAt: e.recordedAt,
    code: e.code,
    message: e.message,
    registrationNumber: e.registrationNumber,
    configVersion: e.configVersion,
  }) as Entry;
  if (e.deviceSeq !== null) entry.deviceSeq = e.deviceSeq;
  return entry;
}

function entryResult(base: Pick<ActionResult, 'id' | 'deviceSeq'>, entry: Entry): ActionResult {
  const result: ActionResult = {
    ...base,
    outcome: entry.status,
    seq: entry.seq,
    recordedAt: entry.recordedAt,
    code: entry.code,
    message: entry.message,
  };
  if (entry.registrationNumber !== null) result.registrationNumber = entry.registrationNumber;
  return result;
}
