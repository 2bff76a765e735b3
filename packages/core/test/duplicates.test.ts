import {
  ActionSchema,
  allowedActions,
  decideAction,
  foldLog,
  scoreCandidate,
  systemPrincipal,
  type Action,
  type DecisionContext,
  type Declaration,
  type Entry,
  type Principal,
  type RecordFold,
} from '@registra/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AGENT, BIRTH, birth, civil, create, entry, RECORD, REGISTRAR } from './fixtures.js';

const OTHER = '0193a000-0000-7000-8000-0000000000ee';
const NOW = new Date('2026-11-02T12:00:00.000Z');
const registrar = civil.principal({ id: REGISTRAR, role: 'registrar', officeId: 'ibombo-office' });
const agent = civil.principal({ id: AGENT, role: 'field-agent', officeId: 'ibombo-office' });
const system = systemPrincipal('ibombo-office');

const candidate = {
  recordId: OTHER,
  score: 0.93,
  evidence: { 'child.firstName': { this: 'Ama', that: 'Amma', match: 'fuzzy' as const } },
};

function context(principal: Principal): DecisionContext {
  return {
    config: civil,
    principal,
    now: NOW,
    record: () => null,
    assignee: () => null,
    file: () => undefined,
  };
}

let next = 500;
function action(fields: Partial<Action> & Pick<Action, 'type'>): Action {
  next += 1;
  return ActionSchema.parse({
    id: `0193a000-0000-7000-8000-${String(next).padStart(12, '0')}`,
    recordId: RECORD,
    occurredAt: '2026-11-02T11:00:00.000Z',
    ...fields,
  });
}

const FOUND: Parameters<typeof entry>[1] = {
  type: 'DUPLICATES_FOUND',
  annotation: { candidates: [candidate] },
  createdBy: 'system',
  deviceId: null,
};

/** A declared birth, assigned to the registrar, with the given entries after. */
function declared(...later: Parameters<typeof entry>[1][]): RecordFold {
  const log: Entry[] = [
    create(),
    entry(2, { type: 'DECLARE', declaration: BIRTH }),
    entry(3, { type: 'ASSIGN', assignee: REGISTRAR, createdBy: REGISTRAR }),
    ...later.map((fields, i) => entry(i + 4, fields)),
  ];
  return foldLog(log, birth) as RecordFold;
}

describe('the fold of duplicate findings and decisions (PROTOCOL 10)', () => {
  it('DUPLICATES_FOUND flags the record and lists the candidates', () => {
    const { record } = declared(FOUND);
    expect(record.flags).toContain('duplicate:suspected');
    expect(record.duplicates).toEqual([candidate]);
    expect(record.updatedBy).toBe('system');
  });

  it('MARK_NOT_DUPLICATE clears the suspicion and the candidates', () => {
    const { record } = declared(FOUND, {
      type: 'MARK_NOT_DUPLICATE',
      annotation: { reason: 'twins' },
      createdBy: REGISTRAR,
    });
    expect(record.flags).not.toContain('duplicate:suspected');
    expect(record.duplicates).toEqual([]);
  });

  it('MARK_DUPLICATE replaces the suspicion with the flag duplicate, keeping the candidates', () => {
    const { record } = declared(FOUND, {
      type: 'MARK_DUPLICATE',
      annotation: { reason: 'same child', duplicateOf: OTHER },
      createdBy: REGISTRAR,
    });
    expect(record.flags).toEqual(['duplicate']);
    expect(record.duplicates).toEqual([candidate]);
  });
});

describe('decisions while a record is a suspected duplicate', () => {
  const suspected = declared(FOUND);

  it('refuses REGISTER and VALIDATE: INVALID_TRANSITION, stored', () => {
    for (const type of ['REGISTER', 'VALIDATE'] as const) {
      expect(decideAction(suspected, action({ type }), context(registrar))).toMatchObject({
        outcome: 'rejected',
        stored: true,
        code: 'INVALID_TRANSITION',
      });
    }
    expect(
      decideAction(declared(), action({ type: 'REGISTER' }), context(registrar)),
    ).toMatchObject({ outcome: 'accepted' });
  });

  it('lets the reviewer decide, and refuses the decision to others', () => {
    const mark = action({ type: 'MARK_NOT_DUPLICATE', annotation: { reason: 'twins' } });
    expect(decideAction(suspected, mark, context(registrar))).toMatchObject({
      outcome: 'accepted',
    });
    const byAgent = decideAction(suspected, mark, context(agent));
    expect(byAgent).toMatchObject({ outcome: 'rejected', code: 'FORBIDDEN' });
    const notSuspected = decideAction(declared(), mark, context(registrar));
    expect(notSuspected).toMatchObject({ outcome: 'rejected', code: 'INVALID_TRANSITION' });
  });

  it('MARK_DUPLICATE must name one of the candidates and give a reason', () => {
    const wrong = action({
      type: 'MARK_DUPLICATE',
      annotation: { reason: 'same', duplicateOf: RECORD },
    });
    expect(decideAction(suspected, wrong, context(registrar))).toMatchObject({
      outcome: 'rejected',
      stored: false,
      code: 'INVALID_INPUT',
    });
    const noReason = ActionSchema.safeParse({
      id: RECORD,
      recordId: RECORD,
      type: 'MARK_DUPLICATE',
      occurredAt: NOW.toISOString(),
      annotation: { duplicateOf: OTHER },
    });
    expect(noReason.success).toBe(false);
  });

  it('a record marked a duplicate can only be archived', () => {
    const duplicate = declared(FOUND, {
      type: 'MARK_DUPLICATE',
      annotation: { reason: 'same', duplicateOf: OTHER },
      createdBy: REGISTRAR,
    });
    const allowed = allowedActions(duplicate.record, birth, registrar, civil.locations)
      .filter((a) => a.verdict.allowed)
      .map((a) => a.type);
    expect(allowed).toEqual(['ARCHIVE', 'ASSIGN', 'UNASSIGN']);
  });

  it('only the server appends DUPLICATES_FOUND, in any status but ARCHIVED, unassigned or not', () => {
    const finding = action({ type: 'DUPLICATES_FOUND', annotation: { candidates: [candidate] } });
    expect(decideAction(declared(), finding, context(system))).toMatchObject({
      outcome: 'accepted',
    });
    expect(decideAction(declared(), finding, context(registrar))).toMatchObject({
      outcome: 'rejected',
      stored: false,
      code: 'INVALID_INPUT',
    });
    const update = action({ type: 'UPDATE', declaration: { 'child.firstName': 'X' } });
    expect(decideAction(declared(), update, context(system))).toMatchObject({
      outcome: 'rejected',
      code: 'FORBIDDEN',
    });
  });
});

describe('scoring a candidate', () => {
  const same = { ...BIRTH, 'child.firstName': 'Amina' };

  it('scores identical records 1 and cites every rule field', () => {
    const scored = scoreCandidate(birth, same, same);
    expect(scored?.score).toBe(1);
    expect(Object.keys(scored?.evidence ?? {}).sort()).toEqual(
      (birth.deduplication?.rules ?? []).map((r) => r.field).sort(),
    );
  });

  it('does not take a first name that equals the other’s surname for a swap', () => {
    const hassan = { ...same, 'child.firstName': 'Hassan', 'child.surname': 'Hassan' };
    const khadija = { ...same, 'child.firstName': 'Khadija', 'child.surname': 'Hassan' };
    expect(scoreCandidate(birth, hassan, khadija)?.evidence['child.firstName']).toMatchObject({
      match: 'none',
    });
  });

  it('counts day and month written the other way round as close dates', () => {
    const swapped = scoreCandidate(birth, same, { ...same, 'child.dob': '2026-01-10' });
    expect(swapped?.evidence['child.dob']).toMatchObject({ match: 'dateRange', score: 0.75 });
  });

  it('tolerates typos, sound-alikes, swapped names and nearby dates', () => {
    const other: Declaration = {
      ...same,
      'child.firstName': 'Banda', // swapped with the surname
      'child.surname': 'Amena',
      'child.dob': '2026-10-03',
      'mother.firstName': 'Grcae',
    };
    const scored = scoreCandidate(birth, same, other);
    expect(scored?.evidence['child.firstName']).toMatchObject({
      this: 'Amina',
      that: 'Banda',
      match: 'phonetic',
      with: 'child.surname',
    });
    expect(scored?.evidence['child.dob']?.match).toBe('dateRange');
    expect(scored?.evidence['mother.firstName']?.match).toBe('fuzzy');
    expect(scored?.score).toBeGreaterThan(0.8);
  });

  it('counts a field filled on one side half, and says which side is empty', () => {
    const scored = scoreCandidate(birth, { ...same, 'mother.surname': '' }, same);
    expect(scored?.evidence['mother.surname']).toEqual({ that: 'Banda', match: 'none' });
    // Weights 3, 2, 3, 2 match fully; mother.surname (weight 1) counts half: 10.5 / 11.
    expect(scored?.score).toBe(0.955);
    const neither = scoreCandidate(
      birth,
      { ...same, 'mother.surname': '' },
      { ...same, 'mother.surname': '' },
    );
    expect(neither?.score).toBe(1); // empty on both sides: no evidence at all
  });

  it('evidence only ever cites fields the rules name (property)', () => {
    const fields = [
      ...(birth.deduplication?.rules ?? []).map((r) => r.field),
      'child.sex',
      'informant.phone',
      'child.weightAtBirth',
    ];
    const value = fc.oneof(
      fc.constantFrom('Amina', 'Amena', 'Banda', 'Bnada', 'Chanda', '', 'Mohamed Ali'),
      fc.constantFrom('2026-10-01', '2026-10-20', '2025-01-01'),
      fc.string({ maxLength: 8 }),
      fc.constant(null),
    );
    const declaration = fc.dictionary(
      fc.constantFrom(...fields),
      value,
    ) as fc.Arbitrary<Declaration>;
    fc.assert(
      fc.property(declaration, declaration, (a, b) => {
        const scored = scoreCandidate(birth, a, b);
        if (!scored) return;
        const named = new Set((birth.deduplication?.rules ?? []).map((r) => r.field));
        for (const [field, evidence] of Object.entries(scored.evidence)) {
          expect(named.has(field)).toBe(true);
          if (evidence.with !== undefined) expect(named.has(evidence.with)).toBe(true);
        }
        expect(scored.score).toBeGreaterThanOrEqual(0);
        expect(scored.score).toBeLessThanOrEqual(1);
      }),
      { numRuns: 300 },
    );
  });
});
