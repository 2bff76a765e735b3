import {
  foldRecord,
  trackingIdOf,
  type Entry,
  type FoldEntry,
  type RecordState,
} from '@registra/core';
import { describe, expect, it } from 'vitest';
import {
  AGENT,
  BIRTH,
  birth,
  create,
  DEVICE_B,
  entry,
  household,
  RECORD,
  recordedAt,
  REGISTRAR,
  REGISTRAR2,
} from './fixtures.js';

/** A birth record right after CREATE by AGENT at seq 1, in assignment mode. */
const created: RecordState = {
  id: RECORD,
  type: 'birth',
  status: 'CREATED',
  flags: [],
  declaration: {},
  trackingId: trackingIdOf(RECORD),
  registrationNumber: null,
  assignedTo: AGENT,
  printCount: 0,
  createdAt: recordedAt(1),
  createdBy: AGENT,
  createdAtLocation: 'ibombo-office',
  updatedAt: recordedAt(1),
  updatedBy: AGENT,
  seq: 1,
  declared: null,
  registered: null,
  pending: [],
  conflicts: [],
};

const fold = (log: readonly FoldEntry[]) => foldRecord(log, birth);

/** CREATE, then a registered birth declaration (REGISTER straight away, as a registrar may). */
const registered = () => [
  create(),
  entry(2, { type: 'REGISTER', declaration: BIRTH, registrationNumber: 'B2026IBO000001' }),
];

describe('foldRecord (PROTOCOL 5)', () => {
  it('is null until the log holds an accepted CREATE', () => {
    expect(foldRecord([], birth)).toBeNull();
    expect(fold([entry(1, { type: 'CREATE', recordType: 'birth' }, 'rejected')])).toBeNull();
    expect(fold([entry(2, { type: 'DECLARE', declaration: BIRTH })])).toBeNull();
  });

  it('starts at CREATE with the creator assigned in assignment mode', () => {
    expect(fold([create()])).toEqual(created);
  });

  it('assigns nobody on CREATE in merge mode, or without the record type', () => {
    expect(foldRecord([create('household')], household)).toEqual({
      ...created,
      type: 'household',
      assignedTo: null,
    });
    expect(foldRecord([create()])).toEqual({ ...created, assignedTo: null });
  });

  it('folds CREATE → DECLARE → REGISTER', () => {
    const state = fold([
      create(),
      entry(2, { type: 'DECLARE', declaration: BIRTH }),
      entry(3, { type: 'UNASSIGN', deviceId: null }),
      entry(4, { type: 'ASSIGN', assignee: REGISTRAR, createdBy: REGISTRAR }),
      entry(5, {
        type: 'REGISTER',
        createdBy: REGISTRAR,
        createdAtLocation: 'ibombo-office',
        registrationNumber: 'B2026IBO000001',
      }),
    ]);
    expect(state).toEqual({
      ...created,
      status: 'REGISTERED',
      flags: [],
      declaration: BIRTH,
      registrationNumber: 'B2026IBO000001',
      assignedTo: REGISTRAR,
      updatedAt: recordedAt(5),
      updatedBy: REGISTRAR,
      seq: 5,
      declared: { at: recordedAt(2), by: AGENT, location: 'ibombo-office' },
      registered: { at: recordedAt(5), by: REGISTRAR, location: 'ibombo-office' },
    });
  });

  it('stops at each step with the exact intermediate state', () => {
    const log = [
      create(),
      entry(2, { type: 'DECLARE', declaration: BIRTH }),
      entry(3, { type: 'UNASSIGN', deviceId: null }),
    ];
    expect(fold(log.slice(0, 2))).toEqual({
      ...created,
      status: 'DECLARED',
      declaration: BIRTH,
      updatedAt: recordedAt(2),
      seq: 2,
      declared: { at: recordedAt(2), by: AGENT, location: 'ibombo-office' },
    });
    expect(fold(log)).toMatchObject({ status: 'DECLARED', assignedTo: null, seq: 3 });
  });

  it('uses the device time of entries the server has not recorded yet', () => {
    const local = [create(), entry(2, { type: 'DECLARE', declaration: BIRTH })].map((e) => ({
      ...e,
      recordedAt: null,
    }));
    expect(fold(local)).toMatchObject({
      createdAt: '2026-11-01T10:00:01.000Z',
      updatedAt: '2026-11-01T10:00:02.000Z',
      declared: { at: '2026-11-01T10:00:02.000Z', by: AGENT, location: 'ibombo-office' },
    });
  });

  it('gives a requested entry no effect, flags <type>:requested and lists it pending', () => {
    const before = fold(registered()) as RecordState;
    const correction = entry(
      3,
      { type: 'CORRECT', declaration: { 'child.firstName': 'Amma' }, createdBy: REGISTRAR },
      'requested',
    );
    expect(fold([...registered(), correction])).toEqual({
      ...before,
      flags: ['correct:requested'],
      pending: [{ id: correction.id, type: 'CORRECT', requestedBy: REGISTRAR, seq: 3 }],
      seq: 3,
    });
  });

  it('names a requested CUSTOM action by its custom type', () => {
    const request = entry(2, { type: 'CUSTOM', customType: 'VERIFY' }, 'requested');
    const state = foldRecord([create('household'), request], household);
    expect(state?.flags).toEqual(['verify:requested']);
    expect(state?.pending).toEqual([
      { id: request.id, type: 'CUSTOM', customType: 'VERIFY', requestedBy: AGENT, seq: 2 },
    ]);
  });

  it('applies an approved request at the APPROVE, with the approval’s declaration on top', () => {
    const before = fold(registered()) as RecordState;
    const correction = entry(
      3,
      {
        type: 'CORRECT',
        declaration: { 'child.firstName': 'Amma', 'child.surname': 'Phiri' },
        createdBy: REGISTRAR,
      },
      'requested',
    );
    const approve = entry(4, {
      type: 'APPROVE',
      requestId: correction.id,
      declaration: { 'child.surname': 'Mwale', 'mother.nid': '1234567890' },
      createdBy: REGISTRAR2,
    });
    expect(fold([...registered(), correction, approve])).toEqual({
      ...before,
      declaration: {
        ...BIRTH,
        'child.firstName': 'Amma',
        'child.surname': 'Mwale',
        'mother.nid': '1234567890',
      },
      flags: [],
      pending: [],
      updatedAt: recordedAt(4),
      updatedBy: REGISTRAR2,
      seq: 4,
    });
  });

  it('registers at the APPROVE of a requested REGISTER, with the number the approval carries', () => {
    const request = entry(3, { type: 'REGISTER', createdBy: REGISTRAR }, 'requested');
    const log = [create(), entry(2, { type: 'DECLARE', declaration: BIRTH }), request];
    expect(fold(log)).toMatchObject({
      status: 'DECLARED',
      flags: ['register:requested'],
      registrationNumber: null,
      registered: null,
    });
    const approve = entry(5, {
      type: 'APPROVE',
      requestId: request.id,
      createdBy: 'business-rules-hook',
      deviceId: null,
      registrationNumber: 'B2026IBO000007',
    });
    const state = fold([...log, entry(4, { type: 'ASSIGN', assignee: REGISTRAR2 }), approve]);
    expect(state).toMatchObject({
      status: 'REGISTERED',
      flags: [],
      pending: [],
      registrationNumber: 'B2026IBO000007',
      registered: { at: recordedAt(5), by: REGISTRAR, location: 'ibombo-office' },
      updatedBy: 'business-rules-hook',
      assignedTo: REGISTRAR2,
      seq: 5,
    });
  });

  it('ends a declined request without effect; <type>:declined until a later accepted action of that type', () => {
    const before = fold(registered()) as RecordState;
    const request = entry(
      3,
      { type: 'CORRECT', declaration: { 'child.firstName': 'X' } },
      'requested',
    );
    const decline = entry(4, { type: 'DECLINE', requestId: request.id, createdBy: REGISTRAR2 });
    const log = [...registered(), request, decline];
    expect(fold(log)).toEqual({
      ...before,
      flags: ['correct:declined'],
      updatedAt: recordedAt(4),
      updatedBy: REGISTRAR2,
      seq: 4,
    });

    // Another action type leaves it; a new request of that type shows beside it.
    const printed = [...log, entry(5, { type: 'PRINT_CERTIFICATE' })];
    expect(fold(printed)).toMatchObject({ flags: ['correct:declined'], printCount: 1 });
    const again = entry(
      6,
      { type: 'CORRECT', declaration: { 'child.firstName': 'Y' } },
      'requested',
    );
    expect(fold([...printed, again])?.flags).toEqual(['correct:declined', 'correct:requested']);

    // The accepted CORRECT (here by approval) ends it.
    const approved = fold([
      ...printed,
      again,
      entry(7, { type: 'APPROVE', requestId: again.id, createdBy: REGISTRAR2 }),
    ]);
    expect(approved).toMatchObject({ flags: [], pending: [] });
    expect(approved?.declaration).toEqual({ ...BIRTH, 'child.firstName': 'Y' });
    expect(
      fold([...log, entry(5, { type: 'CORRECT', declaration: { 'child.firstName': 'Z' } })])?.flags,
    ).toEqual([]);
  });

  it('ignores an APPROVE or DECLINE naming no pending request, and a second decision', () => {
    const request = entry(
      3,
      { type: 'CORRECT', declaration: { 'child.sex': 'male' } },
      'requested',
    );
    const base = [...registered(), request];
    const pending = fold(base) as RecordState;
    expect(
      fold([...base, entry(4, { type: 'APPROVE', requestId: RECORD, createdBy: REGISTRAR2 })]),
    ).toEqual({ ...pending, seq: 4 });
    const declined = fold([
      ...base,
      entry(4, { type: 'DECLINE', requestId: request.id, createdBy: REGISTRAR2 }),
    ]) as RecordState;
    expect(
      fold([
        ...base,
        entry(4, { type: 'DECLINE', requestId: request.id, createdBy: REGISTRAR2 }),
        entry(5, { type: 'APPROVE', requestId: request.id, createdBy: REGISTRAR2 }),
      ]),
    ).toEqual({ ...declined, seq: 5 });
  });

  it('gives a rejected entry no effect but its seq', () => {
    const log = [create(), entry(2, { type: 'NOTIFY', declaration: { 'child.firstName': 'A' } })];
    const before = fold(log) as RecordState;
    const rejected = [
      entry(3, { type: 'DECLARE', declaration: BIRTH }, 'rejected'),
      entry(4, { type: 'ASSIGN', assignee: REGISTRAR }, 'rejected'),
      entry(5, { type: 'REJECT', annotation: { reason: 'x' } }, 'rejected'),
      entry(6, { type: 'ARCHIVE', annotation: { reason: 'x' } }, 'rejected'),
    ];
    expect(fold([...log, ...rejected])).toEqual({ ...before, seq: 6 });
    const approveRejected = entry(
      4,
      { type: 'APPROVE', requestId: entry(3, { type: 'CORRECT' }).id },
      'rejected',
    );
    const withRequest = [
      ...registered(),
      entry(3, { type: 'CORRECT', declaration: { 'child.sex': 'male' } }, 'requested'),
    ];
    expect(fold([...withRequest, approveRejected])).toEqual({
      ...(fold(withRequest) as RecordState),
      seq: 4,
    });
  });

  it('folds in seq order, not in occurredAt order nor in array order', () => {
    const first = entry(2, {
      type: 'UPDATE',
      declaration: { 'child.firstName': 'First', 'child.surname': 'One' },
      occurredAt: '2026-12-31T00:00:00.000Z',
    });
    const second = entry(3, {
      type: 'UPDATE',
      declaration: { 'child.firstName': 'Second' },
      occurredAt: '2020-01-01T00:00:00.000Z',
    });
    const third = entry(4, {
      type: 'UPDATE',
      declaration: { 'child.surname': 'Three' },
      occurredAt: '2023-06-01T00:00:00.000Z',
    });
    const expected = {
      ...created,
      declaration: { 'child.firstName': 'Second', 'child.surname': 'Three' },
      updatedAt: recordedAt(4),
      seq: 4,
    };
    expect(fold([create(), first, second, third])).toEqual(expected);
    expect(fold([third, second, create(), first])).toEqual(expected);
    expect(fold([second, third, first, create()])).toEqual(expected);
    // Before the server has recorded them: updatedAt follows seq, not the earliest or latest clock.
    const local = [create(), first, second, third].map((e) => ({ ...e, recordedAt: null }));
    expect(fold([...local].reverse())?.updatedAt).toBe('2023-06-01T00:00:00.000Z');
  });

  it('deep-merges: keeps nested keys not sent, null removes, arrays are replaced', () => {
    const state = foldRecord(
      [
        create('household'),
        entry(2, {
          type: 'UPDATE',
          declaration: {
            'household.address': { province: 'north', district: 'hills', village: 'Chongwe' },
            'household.members': ['a', 'b'],
            'head.phone': '+260971234567',
            'head.firstName': 'Mwila',
          },
        }),
        entry(3, {
          type: 'UPDATE',
          declaration: {
            'household.address': { village: null, street: 'Great North Rd' },
            'household.members': ['c'],
            'head.phone': null,
          },
        }),
      ],
      household,
    );
    expect(state?.declaration).toEqual({
      'household.address': { province: 'north', district: 'hills', street: 'Great North Rd' },
      'household.members': ['c'],
      'head.firstName': 'Mwila',
    });
    expect(Object.keys(state?.declaration ?? {})).not.toContain('head.phone');
  });

  it('NOTIFY sets incomplete, DECLARE clears it', () => {
    const notified = [
      create(),
      entry(2, { type: 'NOTIFY', declaration: { 'child.firstName': 'A' } }),
    ];
    expect(fold(notified)).toEqual({
      ...created,
      status: 'NOTIFIED',
      flags: ['incomplete'],
      declaration: { 'child.firstName': 'A' },
      updatedAt: recordedAt(2),
      seq: 2,
    });
    expect(
      fold([...notified, entry(3, { type: 'UPDATE', declaration: { 'child.surname': 'B' } })])
        ?.flags,
    ).toEqual(['incomplete']);
    expect(fold([...notified, entry(3, { type: 'DECLARE', declaration: BIRTH })])).toMatchObject({
      status: 'DECLARED',
      flags: [],
    });
  });

  it('REJECT of a notified record, then DECLARE: rejected set, then cleared', () => {
    // The path PROTOCOL 5.4 allows: NOTIFIED → REJECT → DECLARE.
    const rejected = [
      create(),
      entry(2, { type: 'NOTIFY', declaration: { 'child.firstName': 'Ama' } }),
      entry(3, { type: 'REJECT', annotation: { reason: 'blurry' }, createdBy: REGISTRAR }),
    ];
    expect(fold(rejected)).toEqual({
      ...created,
      status: 'NOTIFIED',
      flags: ['incomplete', 'rejected'],
      declaration: { 'child.firstName': 'Ama' },
      updatedAt: recordedAt(3),
      updatedBy: REGISTRAR,
      seq: 3,
    });
    expect(fold([...rejected, entry(4, { type: 'DECLARE', declaration: BIRTH })])).toEqual({
      ...created,
      status: 'DECLARED',
      flags: [],
      declaration: BIRTH,
      updatedAt: recordedAt(4),
      seq: 4,
      declared: { at: recordedAt(4), by: AGENT, location: 'ibombo-office' },
    });
  });

  it('REJECT of a declared record clears validated; an UPDATE clears rejected', () => {
    const declared = [
      create(),
      entry(2, { type: 'DECLARE', declaration: BIRTH }),
      entry(3, { type: 'VALIDATE', createdBy: REGISTRAR }),
    ];
    expect(fold(declared)?.flags).toEqual(['validated']);
    const rejected = [
      ...declared,
      entry(4, { type: 'REJECT', annotation: { reason: 'blurry' }, createdBy: REGISTRAR }),
    ];
    expect(fold(rejected)).toEqual({
      ...created,
      status: 'DECLARED',
      flags: ['rejected'],
      declaration: BIRTH,
      updatedAt: recordedAt(4),
      updatedBy: REGISTRAR,
      seq: 4,
      declared: { at: recordedAt(2), by: AGENT, location: 'ibombo-office' },
    });
    expect(
      fold([...rejected, entry(5, { type: 'UPDATE', declaration: { 'child.sex': 'male' } })]),
    ).toEqual({
      ...created,
      status: 'DECLARED',
      flags: [],
      declaration: { ...BIRTH, 'child.sex': 'male' },
      updatedAt: recordedAt(5),
      seq: 5,
      declared: { at: recordedAt(2), by: AGENT, location: 'ibombo-office' },
    });
    // Only the actions PROTOCOL 5.3 names clear it: an ASSIGN does not.
    expect(fold([...rejected, entry(5, { type: 'ASSIGN', assignee: REGISTRAR2 })])?.flags).toEqual([
      'rejected',
    ]);
  });

  it('VALIDATE sets validated, UPDATE clears it', () => {
    const log = [
      create(),
      entry(2, { type: 'DECLARE', declaration: BIRTH }),
      entry(3, { type: 'VALIDATE', createdBy: REGISTRAR }),
    ];
    expect(fold(log)).toMatchObject({ status: 'DECLARED', flags: ['validated'] });
    expect(
      fold([...log, entry(4, { type: 'UPDATE', declaration: { 'child.firstName': 'B' } })]),
    ).toMatchObject({
      status: 'DECLARED',
      flags: [],
      declaration: { ...BIRTH, 'child.firstName': 'B' },
    });
    // REGISTER keeps it: it is not one of the actions that clear validated.
    expect(fold([...log, entry(4, { type: 'REGISTER' })])).toMatchObject({
      status: 'REGISTERED',
      flags: ['validated'],
    });
  });

  it('counts prints and archives', () => {
    expect(
      fold([
        ...registered(),
        entry(3, { type: 'PRINT_CERTIFICATE', annotation: { copies: 1 } }),
        entry(4, { type: 'PRINT_CERTIFICATE' }),
      ]),
    ).toMatchObject({ status: 'REGISTERED', printCount: 2, declaration: BIRTH });
    expect(
      fold([
        create(),
        entry(2, { type: 'NOTIFY', declaration: {} }),
        entry(3, { type: 'ARCHIVE', annotation: { reason: 'duplicate' } }),
      ]),
    ).toMatchObject({ status: 'ARCHIVED', flags: [] });
  });

  it('changes nothing with a CORRECT on a REGISTERED record requested but not yet approved', () => {
    const log = registered();
    const before = fold(log) as RecordState;
    const request = entry(
      3,
      { type: 'CORRECT', declaration: { 'child.sex': 'male' }, createdBy: REGISTRAR },
      'requested',
    );
    const after = fold([...log, request]) as RecordState;
    expect(after.declaration).toEqual(BIRTH);
    expect(after).toEqual({
      ...before,
      flags: ['correct:requested'],
      pending: [{ id: request.id, type: 'CORRECT', requestedBy: REGISTRAR, seq: 3 }],
      seq: 3,
    });
  });

  it('adds and removes CUSTOM flags as the configuration says, and only with it', () => {
    const log = [
      create('household'),
      entry(2, { type: 'DECLARE', declaration: { 'head.firstName': 'Mwila' } }),
      entry(3, { type: 'CUSTOM', customType: 'VERIFY' }),
    ];
    expect(foldRecord(log, household)?.flags).toEqual(['verified']);
    expect(foldRecord(log)?.flags).toEqual([]);
    expect(
      foldRecord([...log, entry(4, { type: 'CUSTOM', customType: 'UNVERIFY' })], household)?.flags,
    ).toEqual([]);
    expect(
      foldRecord([...log, entry(4, { type: 'CUSTOM', customType: 'NOT_CONFIGURED' })], household)
        ?.flags,
    ).toEqual(['verified']);
  });
});

describe('merge mode (PROTOCOL 5.5)', () => {
  const base = [
    create('household'),
    entry(2, { type: 'UPDATE', declaration: { 'household.size': 3, 'head.firstName': 'Mwila' } }),
  ];
  const fromB = { deviceId: DEVICE_B, createdBy: REGISTRAR };
  const merged = (log: Entry[]) => foldRecord(log, household) as RecordState;
  const atFour = {
    ...created,
    type: 'household',
    assignedTo: null,
    updatedAt: recordedAt(4),
    updatedBy: REGISTRAR,
    seq: 4,
  };

  it('applies edits of different fields made from the same baseSeq on different devices', () => {
    expect(
      merged([
        ...base,
        entry(3, { type: 'UPDATE', baseSeq: 2, declaration: { 'household.size': 5 } }),
        entry(4, {
          type: 'UPDATE',
          baseSeq: 2,
          declaration: { 'head.firstName': 'Naledi' },
          ...fromB,
        }),
      ]),
    ).toEqual({
      ...atFour,
      declaration: { 'household.size': 5, 'head.firstName': 'Naledi' },
    });
  });

  it('lets the later edit of the same field win and records the conflict with both seqs', () => {
    expect(
      merged([
        ...base,
        entry(3, { type: 'UPDATE', baseSeq: 2, declaration: { 'household.size': 5 } }),
        entry(4, { type: 'UPDATE', baseSeq: 2, declaration: { 'household.size': 7 }, ...fromB }),
      ]),
    ).toEqual({
      ...atFour,
      flags: ['conflict'],
      declaration: { 'household.size': 7, 'head.firstName': 'Mwila' },
      conflicts: [{ field: 'household.size', entries: [3, 4] }],
    });
  });

  it('does not call an edit that had seen the other one a conflict', () => {
    const state = merged([
      ...base,
      entry(3, { type: 'UPDATE', baseSeq: 2, declaration: { 'household.size': 5 } }),
      entry(4, { type: 'UPDATE', baseSeq: 3, declaration: { 'household.size': 7 }, ...fromB }),
    ]);
    expect(state.conflicts).toEqual([]);
    expect(state.flags).toEqual([]);
  });

  const conflicted = [
    ...base,
    entry(3, { type: 'UPDATE', baseSeq: 2, declaration: { 'household.size': 5 } }),
    entry(4, { type: 'UPDATE', baseSeq: 2, declaration: { 'household.size': 7 }, ...fromB }),
  ];

  it('clears the conflict with a later edit of that field made at or after it', () => {
    for (const baseSeq of [4, 5]) {
      const state = merged([
        ...conflicted,
        entry(5, { type: 'UPDATE', baseSeq: 4, declaration: { 'head.firstName': 'N' } }),
        entry(6, { type: 'UPDATE', baseSeq, declaration: { 'household.size': 6 } }),
      ]);
      expect(state.conflicts).toEqual([]);
      expect(state.flags).toEqual([]);
      expect(state.declaration['household.size']).toBe(6);
    }
  });

  it('keeps the conflict after an edit of another field, or one made before the conflict', () => {
    expect(
      merged([
        ...conflicted,
        entry(5, { type: 'UPDATE', baseSeq: 4, declaration: { 'head.firstName': 'N' } }),
      ]).conflicts,
    ).toEqual([{ field: 'household.size', entries: [3, 4] }]);
    // Made from seq 3, it had not seen seq 4: it overwrites 4 and joins the conflict.
    const state = merged([
      ...conflicted,
      entry(5, { type: 'UPDATE', baseSeq: 3, declaration: { 'household.size': 6 } }),
    ]);
    expect(state.conflicts).toEqual([{ field: 'household.size', entries: [3, 4, 5] }]);
    expect(state.flags).toEqual(['conflict']);
  });

  it('clears conflicts with a CUSTOM action configured to', () => {
    expect(
      merged([...conflicted, entry(5, { type: 'CUSTOM', customType: 'RESOLVE_CONFLICT' })]),
    ).toMatchObject({ conflicts: [], flags: [] });
    expect(merged([...conflicted, entry(5, { type: 'CUSTOM', customType: 'NOTE' })])).toMatchObject(
      { flags: ['conflict'] },
    );
  });

  it('does not count one device editing a field twice from an old baseSeq as a conflict', () => {
    const state = merged([
      ...base,
      entry(3, { type: 'UPDATE', baseSeq: 2, declaration: { 'household.size': 5 } }),
      entry(4, { type: 'UPDATE', baseSeq: 2, declaration: { 'household.size': 6 } }),
    ]);
    expect(state.declaration['household.size']).toBe(6);
    expect(state.conflicts).toEqual([]);
    expect(state.flags).toEqual([]);
  });

  it('does not count an edit that leaves the value as it was as a conflict', () => {
    expect(
      merged([
        ...base,
        entry(3, { type: 'UPDATE', baseSeq: 2, declaration: { 'household.size': 5 } }),
        entry(4, { type: 'UPDATE', baseSeq: 2, declaration: { 'household.size': 5 }, ...fromB }),
      ]).conflicts,
    ).toEqual([]);
  });

  it('never records conflicts in assignment mode', () => {
    const state = fold([
      create(),
      entry(2, { type: 'UPDATE', baseSeq: 1, declaration: { 'child.firstName': 'A' } }),
      entry(3, {
        type: 'UPDATE',
        baseSeq: 1,
        declaration: { 'child.firstName': 'B' },
        deviceId: DEVICE_B,
      }),
    ]);
    expect(state).toMatchObject({ conflicts: [], flags: [] });
  });
});
