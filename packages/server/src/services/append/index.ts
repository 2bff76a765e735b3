import {
  ActionSchema,
  decideAction,
  foldLog,
  foldOnto,
  inReach,
  toFieldErrors,
  type Action,
  type ActionResult,
  type DecisionContext,
  type Entry,
  type FieldError,
  type HeldFile,
  type Principal,
  type RecordFold,
  type RecordHead,
  type RecordTypeConfig,
  type RejectionCode,
} from '@registra/core';
import type { Kysely, RawBuilder } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import type { Database } from '../../db/schema.js';
import { readAppendContext, type AppendContext } from '../../store/append.js';
import type { StoredRejection } from '../../store/devices.js';
import { appendEntriesStatement, loadChains, type NewEntry } from '../../store/entries.js';
import { walkChain } from '../chain.js';
import { upsertRecordsStatement } from '../../store/records.js';
import { insertRecordKeysStatement, type StoredRecordKey } from '../../store/record-keys.js';
import { findActiveUsers } from '../../store/users.js';
import type { Caller, Registry } from '../context.js';
import { readModelRow } from '../read-model-row.js';
import { Keyring } from '../vault/index.js';
import { effectWrites, type Appended } from './effects.js';
import {
  entryResult,
  ID_CONFLICT_MESSAGE,
  knownResult,
  rejectedResult,
  replayedRejection,
  type ResultBase,
} from './idempotency.js';
import { newEntry, toLogEntry, type Appender, type EntryDecision } from './log-entry.js';
import { fileReferenceWrites, findHeldFiles } from './files.js';
import { makeRegistrationNumber } from './numbering.js';
import { findReferencedRecords } from './references.js';

export type { AppendEffect, Appended } from './effects.js';
export { afterCommit } from './effects.js';

/** One action of a request, before validation. */
export interface IncomingAction {
  raw: Record<string, unknown>;
  id: string;
  deviceSeq?: number;
  /** The number a confirming hook gave its APPROVE of a REGISTER (PROTOCOL 8); never from a body. */
  registrationNumber?: string;
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
  /** What to write for it (the entries, the read model, the effects'), for the caller's writeAll. */
  writes: RawBuilder<unknown>[];
  /** The entries appended, for the effects once the transaction commits. */
  appended: Appended[];
}

/**
 * Decides a request's actions inside the caller's transaction (PROTOCOL 4, rules 1, 3 and 4):
 * duplicates answer their original outcome (idempotency.ts), each action is decided by core's
 * `decideAction` in request order against its record's fold, a rejection is stored when the record
 * is in reach, and the read model is updated alongside. The records touched stay locked; the caller
 * writes `writes` (with its own) in the same transaction, then calls `afterCommit`.
 */
export async function appendActions(
  trx: Kysely<Database>,
  registry: Registry,
  caller: Caller,
  incoming: IncomingAction[],
  device: DeviceState | null,
): Promise<AppendResult> {
  const batch = new Batch(trx, registry, caller, device, incoming);
  await batch.run();
  return batch.result();
}

/** A record as the request appends to it. */
interface RecordInProgress {
  fold: RecordFold | null;
  recordType: RecordTypeConfig | undefined;
  /** The hash of the last entry of its log, that the next one chains to. */
  head: string | null;
  appended: boolean;
}

class Batch {
  readonly #answers: ActionResult[] = [];
  readonly #unstored: StoredRejection[] = [];
  readonly #entries: NewEntry[] = [];
  readonly #appended: Appended[] = [];
  /** Action ids handled in this request: the stored entry, or null when rejected unstored. */
  readonly #seen = new Map<string, Entry | null>();
  readonly #records = new Map<string, RecordInProgress>();
  /** Records whose action in this request was rejected: their later ones are DEPENDENCY_REJECTED. */
  readonly #failed = new Set<string>();
  #referenced = new Map<string, RecordHead>();
  #assignees = new Map<string, Principal>();
  #files = new Map<string, HeldFile>();
  readonly #appender: Appender;
  /** The records' data keys (PROTOCOL 13), and those made for records new in this request. */
  #keyring: Keyring;
  readonly #newKeys = new Map<string, StoredRecordKey>();

  constructor(
    private readonly trx: Kysely<Database>,
    private readonly registry: Registry,
    private readonly caller: Caller,
    private readonly device: DeviceState | null,
    private readonly incoming: IncomingAction[],
  ) {
    const { user, principal } = caller;
    this.#appender = {
      userId: user.id,
      role: user.role,
      officeId: principal.officeId,
      deviceId: device?.id ?? null,
    };
    this.#keyring = new Keyring(registry.config.recordTypes);
  }

  async run(): Promise<void> {
    const parsed = this.incoming.map((item) => ActionSchema.safeParse(item.raw));
    const actions = parsed.flatMap((p) => (p.success ? [p.data] : []));
    const context = await readAppendContext(
      this.trx,
      this.incoming.map((a) => a.id),
      [...new Set(actions.map((a) => a.recordId))],
    );
    await this.#loadKeys(context, actions);
    await this.#loadRecords(context);
    await this.#loadAround(actions);

    for (const [index, item] of this.incoming.entries()) {
      const base = baseOf(item);
      const action = parsed[index]?.success ? parsed[index].data : null;
      const stored = context.known.get(item.id);
      const known = stored && this.#keyring.openBody(stored);
      if (this.device && item.deviceSeq !== undefined && item.deviceSeq <= this.device.ackThrough) {
        this.#answers[index] = replayResult(
          { ...base, deviceSeq: item.deviceSeq },
          action,
          known,
          this.device,
        );
      } else if (!action) {
        const errors = parsed[index]?.error ? toFieldErrors(parsed[index].error) : [];
        this.#refuse(index, item, 'INVALID_INPUT', 'the action is malformed', errors);
      } else if (!this.device && action.deviceSeq !== undefined) {
        this.#refuse(index, item, 'INVALID_INPUT', 'deviceSeq is only sent to /sync', [
          { path: 'deviceSeq', message: 'is only sent to /sync' },
        ]);
      } else if (known) {
        this.#answers[index] = knownResult(base, action, known);
      } else {
        await this.#apply(index, item, action);
      }
    }
  }

  result(): AppendResult {
    const writes: RawBuilder<unknown>[] = [];
    if (this.#entries.length > 0) writes.push(appendEntriesStatement(this.#entries));
    const { blind } = this.registry.vault;
    const rows = [...this.#records.values()].flatMap(({ fold, recordType, head, appended }) =>
      fold && recordType && appended
        ? [readModelRow(fold, recordType, head, this.#keyring, blind)]
        : [],
    );
    const keys = rows.flatMap((row) => {
      const key = this.#newKeys.get(row.state.id);
      return key ? [key] : [];
    });
    if (keys.length > 0) writes.push(insertRecordKeysStatement(keys));
    if (rows.length > 0) writes.push(upsertRecordsStatement(rows));
    writes.push(...fileReferenceWrites(this.registry.config, this.#entries));
    writes.push(...effectWrites(this.registry.effects ?? [], this.#appended));
    return {
      results: this.#answers,
      unstored: this.#unstored,
      writes,
      appended: this.#appended,
    };
  }

  /**
   * The data keys of the records the request touches; a record without one (new, or stored before
   * keys were kept) gets one, stored with its read-model row if the request appends to it.
   */
  async #loadKeys(context: AppendContext, actions: Action[]): Promise<void> {
    const { vault, config } = this.registry;
    this.#keyring = await vault.keyringOf(config, context.keys);
    for (const action of actions) {
      if (this.#keyring.has(action.recordId)) continue;
      const type = context.records.get(action.recordId)?.record.type ?? action.recordType ?? '';
      const { stored, key } = await vault.newKey(action.recordId, type);
      this.#keyring.set(action.recordId, type, key);
      this.#newKeys.set(action.recordId, stored);
    }
    for (const [id, entry] of context.records) {
      entry.record = this.#keyring.openState(entry.record);
      if (entry.carry) entry.carry = this.#keyring.openCarry(id, entry.record.type, entry.carry);
    }
  }

  /**
   * Each existing record's fold and chain head, as stored with its state. A row from before the
   * fold's carry or the chain were kept (migrations 0003 and 0011) is folded and chained from its
   * log once; its next write stores both.
   */
  async #loadRecords(context: AppendContext): Promise<void> {
    const { recordTypes } = this.registry.config;
    const unfolded: string[] = [];
    for (const [id, { record, carry, head }] of context.records) {
      const recordType = recordTypes.get(record.type);
      this.#records.set(id, {
        fold: carry === null ? null : { record, carry },
        recordType,
        head,
        appended: false,
      });
      if (carry === null || head === null) unfolded.push(id);
    }
    for (const [id, log] of await loadChains(this.trx, unfolded)) {
      const record = this.#records.get(id);
      if (!record) continue;
      record.fold = foldLog(
        log.map((link) => this.#keyring.openBody(link.entry)),
        record.recordType,
      );
      record.head = walkChain(log).head;
    }
  }

  /** The stored records the request references, the files it names, the users its ASSIGNs name. */
  async #loadAround(actions: Action[]): Promise<void> {
    const { config } = this.registry;
    const typeOf = (id: string) => this.#records.get(id)?.fold?.record.type;
    this.#referenced = await findReferencedRecords(this.trx, config, actions, typeOf);
    this.#files = await findHeldFiles(this.trx, config, actions, typeOf);
    const assignees = actions.flatMap((a) => (a.assignee ? [a.assignee] : []));
    for (const user of await findActiveUsers(this.trx, assignees)) {
      this.#assignees.set(user.id, config.principal(user));
    }
  }

  #decisionContext(): DecisionContext {
    return {
      config: this.registry.config,
      principal: this.caller.principal,
      now: this.registry.now(),
      // Records of this request count once stored or accepted earlier in it; others as stored.
      record: (id) => this.#records.get(id)?.fold?.record ?? this.#referenced.get(id) ?? null,
      assignee: (id) => this.#assignees.get(id) ?? null,
      file: (sha256) => this.#files.get(sha256) ?? null,
    };
  }

  async #apply(index: number, item: IncomingAction, action: Action): Promise<void> {
    const earlier = this.#seen.get(action.id);
    if (earlier !== undefined) {
      this.#answers[index] = earlier
        ? knownResult(baseOf(item), action, earlier)
        : rejectedResult(
            baseOf(item),
            'ID_CONFLICT',
            'this action id appears twice in the request',
          );
      return;
    }
    let record = this.#records.get(action.recordId);
    if (!record) {
      record = { fold: null, recordType: undefined, head: null, appended: false };
      this.#records.set(action.recordId, record);
    }
    const entry = this.#failed.has(action.recordId)
      ? this.#dependencyRejected(index, item, record, action)
      : await this.#decide(index, item, record, action);
    this.#seen.set(action.id, entry);
  }

  async #decide(
    index: number,
    item: IncomingAction,
    record: RecordInProgress,
    action: Action,
  ): Promise<Entry | null> {
    const decision = decideAction(record.fold, action, this.#decisionContext());
    if (decision.outcome === 'rejected') {
      this.#failed.add(action.recordId);
      if (!decision.stored) {
        this.#refuse(index, item, decision.code, decision.message, decision.errors);
        return null;
      }
      const { code, message, errors } = decision;
      return this.#store(
        index,
        item,
        record,
        action,
        { status: 'rejected', code, message },
        errors,
      );
    }
    record.recordType = decision.recordType;
    let registrationNumber: string | null = null;
    if (decision.register && record.fold) {
      registrationNumber ??= item.registrationNumber ?? null;
      registrationNumber ??= await makeRegistrationNumber(
        this.trx,
        this.registry.config,
        decision.recordType,
        record.fold.record,
        this.registry.now(),
      );
    }
    const entry = this.#store(index, item, record, action, {
      status: decision.outcome,
      registrationNumber,
    });
    if (decision.unassign) {
      const unassign: Action = {
        id: uuidv7(),
        recordId: action.recordId,
        type: 'UNASSIGN',
        occurredAt: this.registry.now().toISOString(),
      };
      this.#append(record, unassign, { status: 'accepted' }, { ...this.#appender, deviceId: null });
    }
    return entry;
  }

  #dependencyRejected(
    index: number,
    item: IncomingAction,
    record: RecordInProgress,
    action: Action,
  ): Entry | null {
    const message = 'an earlier action of this record in the same request was rejected';
    const state = record.fold?.record;
    if (state && inReach(this.caller.principal, this.registry.config, state)) {
      const decision = { status: 'rejected' as const, code: 'DEPENDENCY_REJECTED', message };
      return this.#store(index, item, record, action, decision);
    }
    this.#refuse(index, item, 'DEPENDENCY_REJECTED', message);
    return null;
  }

  /** Answers a rejection that is not stored, and keeps it for the device's resends. */
  #refuse(
    index: number,
    item: IncomingAction,
    code: RejectionCode,
    message: string,
    errors?: FieldError[],
  ): void {
    this.#answers[index] = rejectedResult(baseOf(item), code, message, errors);
    if (this.device && item.deviceSeq !== undefined) {
      this.#unstored.push({
        deviceSeq: item.deviceSeq,
        actionId: item.id,
        code,
        message,
        errors: errors ?? null,
      });
    }
  }

  #store(
    index: number,
    item: IncomingAction,
    record: RecordInProgress,
    action: Action,
    decision: EntryDecision,
    errors?: FieldError[],
  ): Entry {
    const entry = this.#append(record, action, decision, this.#appender);
    const result = entryResult(baseOf(item), entry);
    this.#answers[index] = errors ? { ...result, errors } : result;
    return entry;
  }

  /** Appends an entry to the record: to the rows to write, and to its fold. */
  #append(
    record: RecordInProgress,
    action: Action,
    decision: EntryDecision,
    appender: Appender,
  ): Entry {
    const recordType = record.recordType?.id ?? action.recordType ?? '';
    const row = newEntry(
      this.#keyring.sealBody(action.recordId, recordType, action),
      (record.fold?.record.seq ?? 0) + 1,
      recordType,
      decision,
      appender,
      this.registry.now().toISOString(),
      this.registry.config.version,
      record.head,
    );
    // The fold and the answer see the action as sent; the log keeps it sealed.
    const { deviceSeq: _deviceSeq, ...body } = action;
    const entry = toLogEntry({ ...row, body });
    this.#entries.push(row);
    record.head = row.hash;
    record.fold = foldOnto(record.fold, [entry], record.recordType);
    record.appended = true;
    if (record.fold) this.#appended.push({ entry, record: record.fold.record });
    return entry;
  }
}

/** An action at or below the device's ackThrough: sent before, so answered as it was then. */
function replayResult(
  base: ResultBase & { deviceSeq: number },
  action: Action | null,
  known: Entry | undefined,
  device: DeviceState,
): ActionResult {
  if (!known) return replayedRejection(base, device.rejections.get(base.deviceSeq));
  return action
    ? knownResult(base, action, known)
    : rejectedResult(base, 'ID_CONFLICT', ID_CONFLICT_MESSAGE);
}

function baseOf(item: IncomingAction): ResultBase {
  return item.deviceSeq === undefined
    ? { id: item.id }
    : { id: item.id, deviceSeq: item.deviceSeq };
}
