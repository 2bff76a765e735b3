import {
  ACTION_TYPES,
  ENTRY_STATUSES,
  foldLog,
  foldOnto,
  foldRecord,
  mergeDeclaration,
  RecordStateSchema,
  type Entry,
  type RecordFold,
  type RecordState,
  type RecordTypeConfig,
} from '@registra/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AGENT,
  birth,
  DEVICE_A,
  DEVICE_B,
  household,
  idOf,
  RECORD,
  REGISTRAR,
} from './fixtures.js';

/** A rejected UPDATE by AGENT: the base of entries made by hand below. */
const template: Entry = {
  id: idOf(0),
  recordId: RECORD,
  type: 'UPDATE',
  occurredAt: '2026-11-01T10:00:00.000Z',
  seq: 1,
  status: 'rejected',
  createdBy: AGENT,
  createdByRole: 'x',
  createdAtLocation: 'ibombo-office',
  deviceId: DEVICE_A,
  recordedAt: '2026-11-02T10:00:00.000Z',
  code: 'FORBIDDEN',
  message: null,
  registrationNumber: null,
  configVersion: '1',
};

const RUNS = { numRuns: 200 };
// Merge mode twice as often: it is where conflicts are tracked.
const recordTypes: (RecordTypeConfig | undefined)[] = [birth, household, household, undefined];
const recordTypeArb = fc.constantFrom(...recordTypes);

const valueArb = fc.oneof(
  fc.string({ maxLength: 6 }),
  fc.integer({ min: -5, max: 5 }),
  fc.constant(null),
  fc.array(fc.nat(3), { maxLength: 3 }),
  fc.dictionary(
    fc.constantFrom('province', 'district', 'village'),
    fc.oneof(fc.string({ maxLength: 4 }), fc.constant(null)),
    { maxKeys: 3 },
  ),
);

/**
 * Any log, sensible or not: any action type (CREATE in the middle included) with any status,
 * declarations of a few shared fields, APPROVE/DECLINE naming an earlier entry (or any entry, or
 * none), assignees, known and unknown custom types, baseSeqs from nowhere. Updates and decisions
 * are weighted up so that merge conflicts and confirmed requests are common. Seqs are 2, 4, 6, ...
 * so that an entry can be slipped in between with a seq of its own; the first entry is a CREATE,
 * accepted most of the time.
 */
const logArb = fc
  .tuple(
    fc.constantFrom<Entry['status']>(
      ...Array<Entry['status']>(18).fill('accepted'),
      'rejected',
      'requested',
    ),
    fc.array(
      fc.record({
        type: fc.oneof(
          { arbitrary: fc.constantFrom(...ACTION_TYPES), weight: 4 },
          { arbitrary: fc.constant('UPDATE' as const), weight: 4 },
          { arbitrary: fc.constantFrom('APPROVE' as const, 'DECLINE' as const), weight: 2 },
        ),
        status: fc.oneof(
          { arbitrary: fc.constant('accepted' as const), weight: 3 },
          { arbitrary: fc.constant('requested' as const), weight: 2 },
          { arbitrary: fc.constantFrom(...ENTRY_STATUSES), weight: 1 },
        ),
        declaration: fc.option(
          fc.dictionary(
            fc.constantFrom(
              'child.firstName',
              'household.size',
              'head.firstName',
              'household.address',
            ),
            valueArb,
            { maxKeys: 3 },
          ),
          { nil: undefined, freq: 5 },
        ),
        // Mostly a few entries behind (an offline device), sometimes any seq at all.
        baseSeq: fc.option(
          fc.oneof(
            { arbitrary: fc.nat(4).map((behind) => ({ behind })), weight: 3 },
            { arbitrary: fc.nat(70).map((seq) => ({ seq })), weight: 1 },
          ),
          { nil: undefined, freq: 5 },
        ),
        by: fc.constantFrom(AGENT, REGISTRAR),
        device: fc.constantFrom(DEVICE_A, DEVICE_B, null),
        requestOf: fc.option(
          // Three times in four an entry shortly before; else any entry of the log.
          fc.tuple(
            fc.nat(3).map((n) => n > 0),
            fc.nat(40),
          ),
          { nil: undefined, freq: 8 },
        ),
        customType: fc.constantFrom('RESOLVE_CONFLICT', 'VERIFY', 'UNVERIFY', 'NOTE', 'UNKNOWN'),
        registrationNumber: fc.option(fc.constantFrom('B1', 'B2'), { nil: null }),
      }),
      { minLength: 1, maxLength: 30 },
    ),
  )
  .map(([createStatus, items]) =>
    items.map((item, i): Entry => {
      const seq = 2 * (i + 1);
      const type = i === 0 ? 'CREATE' : item.type;
      const status = i === 0 ? createStatus : item.status;
      let requestId: string | undefined;
      if (item.requestOf) {
        const [earlier, n] = item.requestOf;
        requestId = idOf(
          2 * (earlier && i > 0 ? Math.max(0, i - 1 - (n % 3)) + 1 : (n % items.length) + 1),
        );
      }
      const baseSeq =
        item.baseSeq === undefined
          ? undefined
          : 'behind' in item.baseSeq
            ? Math.max(0, seq - 2 * (item.baseSeq.behind + 1))
            : item.baseSeq.seq;
      return {
        id: idOf(seq),
        recordId: RECORD,
        type,
        ...(type === 'CREATE' ? { recordType: 'birth' } : {}),
        occurredAt: '2026-11-01T10:00:00.000Z',
        seq,
        status,
        createdBy: item.by,
        createdByRole: 'x',
        createdAtLocation: 'ibombo-office',
        deviceId: item.device,
        recordedAt: `2026-11-02T10:00:${String(i % 60).padStart(2, '0')}.000Z`,
        code: status === 'rejected' ? 'INVALID_TRANSITION' : null,
        message: null,
        registrationNumber: item.registrationNumber,
        configVersion: '1',
        ...(item.declaration === undefined ? {} : { declaration: item.declaration }),
        ...(baseSeq === undefined ? {} : { baseSeq }),
        ...(requestId === undefined ? {} : { requestId }),
        ...(type === 'ASSIGN' ? { assignee: item.by } : {}),
        ...(type === 'CUSTOM' ? { customType: item.customType } : {}),
      };
    }),
  );

/** What must hold of every state the fold returns. */
function checkInvariants(state: RecordState | null, log: readonly Entry[]): void {
  if (state === null) return;
  expect(RecordStateSchema.safeParse(state).error).toBeUndefined();
  expect(state.flags).toEqual([...new Set(state.flags)].sort());
  expect(state.flags.includes('conflict')).toBe(state.conflicts.length > 0);
  expect(state.seq).toBe(Math.max(...log.map((e) => e.seq)));
  for (const pending of state.pending) {
    const request = log.find((e) => e.id === pending.id);
    expect(request?.status).toBe('requested');
  }
}

describe('fold properties', () => {
  it('never throws on any prefix of any log, and always returns a valid state', () => {
    fc.assert(
      fc.property(logArb, recordTypeArb, (log, recordType) => {
        for (let n = 0; n <= log.length; n++) {
          const prefix = log.slice(0, n);
          checkInvariants(foldRecord(prefix, recordType), prefix);
        }
      }),
      RUNS,
    );
  });

  it('is deterministic and does not change its input', () => {
    fc.assert(
      fc.property(logArb, recordTypeArb, (log, recordType) => {
        const copy = structuredClone(log);
        const first = foldRecord(log, recordType);
        expect(log).toEqual(copy);
        expect(foldRecord(copy, recordType)).toEqual(first);
        // The state is plain data, not shared with the input.
        if (first) expect(structuredClone(first)).toEqual(first);
      }),
      RUNS,
    );
  });

  it('folds onto a stored fold as it folds the whole log: an append needs only the last state', () => {
    fc.assert(
      fc.property(logArb, recordTypeArb, fc.nat(), (log, recordType, at) => {
        const split = at % (log.length + 1);
        const sorted = [...log].sort((a, b) => a.seq - b.seq);
        // Through JSON, as the server stores the fold beside the state and reads it back.
        const stored = JSON.parse(JSON.stringify(foldLog(sorted.slice(0, split), recordType)));
        const resumed = foldOnto(stored, sorted.slice(split), recordType);
        expect(resumed).toEqual(foldLog(log, recordType));
        // And one entry at a time, as a request appends them, never changing the fold it is given.
        let stepwise: RecordFold | null = null;
        for (const entry of sorted) {
          const before = structuredClone(stepwise);
          const next = foldOnto(stepwise, [entry], recordType);
          expect(stepwise).toEqual(before);
          stepwise = next;
        }
        expect(stepwise).toEqual(foldLog(log, recordType));
      }),
      RUNS,
    );
  });

  it('is independent of the order the entries are given in', () => {
    const shuffled = logArb.chain((log) =>
      fc.tuple(fc.constant(log), fc.shuffledSubarray(log, { minLength: log.length })),
    );
    fc.assert(
      fc.property(shuffled, recordTypeArb, ([log, reordered], recordType) => {
        expect(foldRecord(reordered, recordType)).toEqual(foldRecord(log, recordType));
      }),
      RUNS,
    );
  });

  it('is not changed by a rejected entry slipped in anywhere with its own seq, except for seq', () => {
    fc.assert(
      fc.property(
        logArb,
        fc.nat(),
        fc.constantFrom(...ACTION_TYPES),
        recordTypeArb,
        (log, at, type, recordType) => {
          // Odd seqs are free: 1 before everything, 2k+1 after the k-th entry.
          const seq = 2 * (at % (log.length + 1)) + 1;
          const rejected: Entry = {
            ...(log[0] ?? template),
            id: idOf(seq, 999),
            type,
            seq,
            status: 'rejected',
            code: 'FORBIDDEN',
            declaration: { 'child.firstName': 'ignored', 'household.size': 99 },
            baseSeq: 0,
            assignee: REGISTRAR,
            requestId: log[0]?.id ?? idOf(2),
            customType: 'RESOLVE_CONFLICT',
            registrationNumber: 'B9',
          };
          const before = foldRecord(log, recordType);
          const after = foldRecord([...log, rejected], recordType);
          if (before === null) {
            // No record yet: a rejected entry (even a CREATE) does not start one.
            expect(after).toBeNull();
            return;
          }
          expect(after).toEqual({ ...before, seq: Math.max(before.seq, seq) });
        },
      ),
      RUNS,
    );
  });

  it('keeps unconfirmed requests out of the declaration, status and assignment', () => {
    fc.assert(
      fc.property(logArb, recordTypeArb, (log, recordType) => {
        const decided = new Set(
          log
            .filter(
              (e) => e.status === 'accepted' && (e.type === 'APPROVE' || e.type === 'DECLINE'),
            )
            .map((e) => e.requestId),
        );
        // Requests nobody decided, turned into rejected entries: the same state but for flags and pending.
        const undecided = log.map((e, i) =>
          i > 0 && e.status === 'requested' && !decided.has(e.id)
            ? { ...e, status: 'rejected' as const }
            : e,
        );
        const state = foldRecord(log, recordType);
        const without = foldRecord(undecided, recordType);
        if (state === null || without === null) return;
        const { flags: _f, pending: _p, ...rest } = state;
        const { flags: _g, pending: _q, ...restWithout } = without;
        expect(rest).toEqual(restWithout);
      }),
      RUNS,
    );
  });

  it('in merge mode, lets the later patch win whatever the conflicts: the declaration is the merge of the patches in seq order', () => {
    const updates = fc.array(
      fc.record({
        declaration: fc.dictionary(
          fc.constantFrom('household.size', 'head.firstName', 'household.address'),
          valueArb,
          { maxKeys: 2 },
        ),
        behind: fc.nat(3),
        device: fc.constantFrom(DEVICE_A, DEVICE_B),
      }),
      { maxLength: 20 },
    );
    fc.assert(
      fc.property(updates, fc.boolean(), (items, reverse) => {
        const log: Entry[] = [
          {
            ...template,
            type: 'CREATE',
            recordType: 'household',
            seq: 1,
            status: 'accepted',
            code: null,
          },
          ...items.map((item, i): Entry => ({
            ...template,
            id: idOf(i + 2),
            seq: i + 2,
            status: 'accepted',
            code: null,
            deviceId: item.device,
            baseSeq: Math.max(1, i + 1 - item.behind),
            declaration: item.declaration,
          })),
        ];
        const state = foldRecord(reverse ? [...log].reverse() : log, household);
        expect(state?.declaration).toEqual(
          items.reduce((declaration, item) => mergeDeclaration(declaration, item.declaration), {}),
        );
        for (const conflict of state?.conflicts ?? []) {
          expect(conflict.entries).toEqual([...conflict.entries].sort((a, b) => a - b));
          expect(new Set(conflict.entries).size).toBe(conflict.entries.length);
        }
      }),
      RUNS,
    );
  });
});
