import type { Action, ActionResult, ActionType } from '@registra/core';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  action,
  BIRTH,
  Device,
  newId,
  PASSWORD,
  startTestServer,
  type Session,
  type TestServer,
} from '../packages/server/test/harness.js';

/**
 * The authorization matrix (issue: reliability suite): every demo role × every action type × a
 * record of the actor's own district or of another × assigned to the actor, to nobody or to
 * someone else. Each cell puts a fresh record where PROTOCOL 5.4 allows the action, sets the
 * assignment, submits the action and compares the outcome with what the configuration says,
 * worked out here from examples/civil-registry/config.json, not by the server's own rules.
 * Then every user's device pulls the whole feed, and nothing outside their scope may arrive.
 */

// ---------------------------------------------------------------------------------------------
// The configuration, read independently of the server.
// ---------------------------------------------------------------------------------------------

interface ConfigDocument {
  roles: {
    id: string;
    jurisdiction: string;
    permissions: (string | { permission: string; national?: boolean })[];
  }[];
  locations: { id: string; type: string; parentId: string | null }[];
  recordTypes: {
    id: string;
    readPermission: string;
    actions: Record<
      string,
      { permission: string; reassignPermission?: string; confirmation?: { permission: string } }
    >;
  }[];
}
const EXAMPLE = new URL('../examples/civil-registry/', import.meta.url);
const config = JSON.parse(readFileSync(new URL('config.json', EXAMPLE), 'utf8')) as ConfigDocument;
// Staff only: machine clients (the exchange's consumers) log in with client credentials and take
// no record actions; the exchange has its own tests.
const demoUsers = (
  JSON.parse(readFileSync(new URL('users.json', EXAMPLE), 'utf8')) as {
    username: string;
    role: string;
    officeId: string;
    kind?: 'client';
  }[]
).filter((user) => user.kind !== 'client');
const birth = config.recordTypes.find((t) => t.id === 'birth') as ConfigDocument['recordTypes'][0];
const parentOf = new Map(config.locations.map((l) => [l.id, l.parentId]));
const typeOf = new Map(config.locations.map((l) => [l.id, l.type]));

interface Person {
  username: string;
  role: string;
  officeId: string;
}

/** The root of a user's jurisdiction: the ancestor of their office at their role's level. */
function jurisdictionOf(person: Person): string {
  const level = config.roles.find((r) => r.id === person.role)?.jurisdiction;
  for (let at: string | null | undefined = person.officeId; at; at = parentOf.get(at)) {
    if (typeOf.get(at) === level) return at;
  }
  throw new Error(`${person.username}: no ${level} above ${person.officeId}`);
}

function within(location: string, root: string): boolean {
  for (let at: string | null | undefined = location; at; at = parentOf.get(at)) {
    if (at === root) return true;
  }
  return false;
}

/** Whether the configuration gives the person `permission` for something at `location`. */
function holds(person: Person, permission: string, location: string): boolean {
  const grant = config.roles
    .find((r) => r.id === person.role)
    ?.permissions.find((p) => (typeof p === 'string' ? p : p.permission) === permission);
  if (grant === undefined) return false;
  if (typeof grant === 'object' && grant.national) return true;
  return within(location, jurisdictionOf(person));
}

const permissionFor = (type: ActionType): string =>
  type === 'APPROVE' || type === 'DECLINE'
    ? (birth.actions['CORRECT']?.confirmation?.permission as string)
    : type === 'UNASSIGN'
      ? (birth.actions['ASSIGN']?.permission as string)
      : (birth.actions[type]?.permission as string);
const REASSIGN = birth.actions['ASSIGN']?.reassignPermission as string;

// ---------------------------------------------------------------------------------------------
// The matrix and the expected outcome of each cell.
// ---------------------------------------------------------------------------------------------

const ACTORS = ['agent', 'registrar', 'registrar2', 'supervisor', 'agent.far', 'admin'] as const;
type Actor = (typeof ACTORS)[number];
const TYPES: ActionType[] = [
  'CREATE',
  'NOTIFY',
  'DECLARE',
  'UPDATE',
  'VALIDATE',
  'REGISTER',
  'REJECT',
  'ARCHIVE',
  'CORRECT',
  'PRINT_CERTIFICATE',
  'ASSIGN',
  'UNASSIGN',
  'APPROVE',
  'DECLINE',
];
type Side = 'ibombo' | 'ilanga';
type Assignment = 'me' | 'none' | 'other';
type Expected =
  | 'accepted'
  | 'requested'
  | 'NOT_FOUND'
  | 'FORBIDDEN'
  | 'NOT_ASSIGNED'
  | 'ALREADY_ASSIGNED'
  | 'INVALID_TRANSITION';

interface Cell {
  actor: Actor;
  type: ActionType;
  /** Whose record: created by `agent` in Ibombo, or by `agent.far` in Ilanga. */
  side: Side;
  assignment: Assignment;
}

/** The people of each side: who creates its records, registers, requests and assigns them. */
const CREW: Record<
  Side,
  { creator: string; registrar: string; registrar2: string; supervisor: string; office: string }
> = {
  ibombo: {
    creator: 'agent',
    registrar: 'registrar',
    registrar2: 'registrar2',
    supervisor: 'supervisor',
    office: 'ibombo-office',
  },
  // Ilanga has only agent.far among the demo users; the admin adds its registrars and supervisor.
  ilanga: {
    creator: 'agent.far',
    registrar: 'ilanga.registrar',
    registrar2: 'ilanga.registrar2',
    supervisor: 'ilanga.supervisor',
    office: 'ilanga-office',
  },
};
const HELPERS: Person[] = [
  { username: 'ilanga.registrar', role: 'registrar', officeId: 'ilanga-office' },
  { username: 'ilanga.registrar2', role: 'registrar', officeId: 'ilanga-office' },
  { username: 'ilanga.supervisor', role: 'supervisor', officeId: 'ilanga-office' },
];
const PEOPLE = new Map<string, Person>([...demoUsers, ...HELPERS].map((p) => [p.username, p]));
const person = (username: string) => PEOPLE.get(username) as Person;

/** Someone the record is assigned to when the cell says "assigned to someone else". */
const otherThan = (actor: Actor, side: Side) =>
  CREW[side].supervisor !== actor ? CREW[side].supervisor : CREW[side].registrar;

/**
 * PROTOCOL 1, 5.4 and 5.5 and the configuration, as a decision table: the first rule that
 * applies decides. `may(p)` is whether the actor holds p where the record was created.
 */
interface Context extends Cell {
  may(permission: string): boolean;
}
const isAssignment = (c: Context) => c.type === 'ASSIGN' || c.type === 'UNASSIGN';
const RULES: { rule: string; applies: (c: Context) => boolean; outcome: Expected }[] = [
  {
    rule: 'CREATE without the create permission',
    applies: (c) => c.type === 'CREATE' && !c.may(permissionFor('CREATE')),
    outcome: 'FORBIDDEN',
  },
  { rule: 'CREATE', applies: (c) => c.type === 'CREATE', outcome: 'accepted' },
  {
    rule: 'out of reach: not assigned to the actor, not readable in their jurisdiction',
    applies: (c) => c.assignment !== 'me' && !c.may(birth.readPermission),
    outcome: 'NOT_FOUND',
  },
  {
    rule: 'ASSIGN or UNASSIGN without the assign or reassign permission',
    applies: (c) => isAssignment(c) && !c.may(permissionFor('ASSIGN')) && !c.may(REASSIGN),
    outcome: 'FORBIDDEN',
  },
  {
    rule: 'UNASSIGN of an unassigned record',
    applies: (c) => c.type === 'UNASSIGN' && c.assignment === 'none',
    outcome: 'INVALID_TRANSITION',
  },
  {
    rule: "taking or releasing someone else's record without reassign",
    applies: (c) => isAssignment(c) && c.assignment === 'other' && !c.may(REASSIGN),
    outcome: 'ALREADY_ASSIGNED',
  },
  { rule: 'ASSIGN or UNASSIGN', applies: isAssignment, outcome: 'accepted' },
  {
    rule: "lacking the action's permission where the record was created",
    applies: (c) => !c.may(permissionFor(c.type)),
    outcome: 'FORBIDDEN',
  },
  {
    rule: 'assignment mode: not assigned to the actor',
    applies: (c) => c.assignment !== 'me',
    outcome: 'NOT_ASSIGNED',
  },
  {
    rule: 'configured to need a confirmation',
    applies: (c) => birth.actions[c.type]?.confirmation !== undefined,
    outcome: 'requested',
  },
  { rule: 'allowed', applies: () => true, outcome: 'accepted' },
];

function expected(cell: Cell): { outcome: Expected; rule: string } {
  const actor = person(cell.actor);
  const location = cell.type === 'CREATE' ? actor.officeId : CREW[cell.side].office;
  const context: Context = { ...cell, may: (p) => holds(actor, p, location) };
  const { rule, outcome } = RULES.find((r) => r.applies(context)) as (typeof RULES)[number];
  return { outcome, rule };
}

/** The status each action is offered in (PROTOCOL 5.4), and how to get a record there. */
type Stage = 'CREATED' | 'DECLARED' | 'REGISTERED' | 'PENDING_CORRECTION';
// Deduplication's and hooks' actions have their own tests (packages/server/test/deduplication.test.ts,
// hooks tests).
type MatrixType = Exclude<
  ActionType,
  | 'CREATE'
  | 'CUSTOM'
  | 'DUPLICATES_FOUND'
  | 'MARK_DUPLICATE'
  | 'MARK_NOT_DUPLICATE'
  | 'HOOK_OVERDUE'
>;
const STAGE: Record<MatrixType, Stage> = {
  NOTIFY: 'CREATED',
  DECLARE: 'CREATED',
  UPDATE: 'CREATED',
  VALIDATE: 'DECLARED',
  REGISTER: 'DECLARED',
  REJECT: 'DECLARED',
  ARCHIVE: 'DECLARED',
  ASSIGN: 'DECLARED',
  UNASSIGN: 'DECLARED',
  CORRECT: 'REGISTERED',
  PRINT_CERTIFICATE: 'REGISTERED',
  APPROVE: 'PENDING_CORRECTION',
  DECLINE: 'PENDING_CORRECTION',
};

// ---------------------------------------------------------------------------------------------

let server: TestServer;
const sessions = new Map<string, Session>();
const session = (username: string) => sessions.get(username) as Session;
const idOf = (username: string) => session(username).user.id;

beforeAll(async () => {
  server = await startTestServer();
  const admin = await server.login('admin');
  for (const helper of HELPERS) {
    const response = await server.request('POST', '/api/v1/users', {
      token: admin.token,
      body: { ...helper, name: helper.username, password: PASSWORD },
    });
    expect(response.status).toBe(201);
  }
  for (const username of PEOPLE.keys()) sessions.set(username, await server.login(username));
}, 120_000);
afterAll(() => server?.close());

async function submit(username: string, actions: Partial<Action>[]): Promise<ActionResult[]> {
  const response = await server.request('POST', '/api/v1/actions', {
    token: session(username).token,
    body: { actions },
  });
  if (response.status !== 200)
    throw new Error(`${username}: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { results: ActionResult[] }).results;
}

/** Setup steps must work: they are the test's scaffolding, not what it checks. */
async function setup(username: string, ...actions: Partial<Action>[]): Promise<ActionResult[]> {
  const results = await submit(username, actions);
  for (const [i, result] of results.entries()) {
    if (result.outcome === 'rejected')
      throw new Error(`setup by ${username}: ${actions[i]?.type} ${result.code} ${result.message}`);
  }
  return results;
}

/** A fresh record of the cell's side at the stage its action needs, assigned as the cell says. */
async function prepare(cell: Cell): Promise<{ recordId: string; requestId?: string } | null> {
  const crew = CREW[cell.side];
  const recordId = newId();
  const stage = STAGE[cell.type as keyof typeof STAGE];
  let requestId: string | undefined;
  // CREATE assigns the creator; DECLARE, REGISTER and CORRECT unassign their performer.
  let assignedTo: string | null = idOf(crew.creator);
  await setup(
    crew.creator,
    action({ type: 'CREATE', recordId, recordType: 'birth' }),
    ...(stage === 'CREATED' ? [] : [action({ type: 'DECLARE', recordId, declaration: BIRTH })]),
  );
  if (stage !== 'CREATED') assignedTo = null;
  if (stage === 'REGISTERED' || stage === 'PENDING_CORRECTION') {
    await setup(
      crew.registrar,
      action({ type: 'ASSIGN', recordId, assignee: idOf(crew.registrar) }),
      action({ type: 'REGISTER', recordId }),
    );
  }
  if (stage === 'PENDING_CORRECTION') {
    // Requested by a registrar other than the actor, so that deciding it is not self-approval.
    const requester = cell.actor === crew.registrar ? crew.registrar2 : crew.registrar;
    const [, correct] = await setup(
      requester,
      action({ type: 'ASSIGN', recordId, assignee: idOf(requester) }),
      action({ type: 'CORRECT', recordId, declaration: { 'child.firstName': 'Amma' } }),
    );
    if (correct?.outcome !== 'requested') throw new Error('the correction was not requested');
    requestId = correct.id;
  }
  const wanted =
    cell.assignment === 'me'
      ? idOf(cell.actor)
      : cell.assignment === 'other'
        ? idOf(otherThan(cell.actor, cell.side))
        : null;
  if (wanted !== assignedTo) {
    const [assigned] = await submit(crew.supervisor, [
      wanted === null
        ? action({ type: 'UNASSIGN', recordId })
        : action({ type: 'ASSIGN', recordId, assignee: wanted }),
    ]);
    // PROTOCOL 7: a record is never assigned to someone who may not act on it there, so that
    // cell cannot arise.
    if (assigned?.code === 'INVALID_ASSIGNEE') return null;
    if (assigned?.outcome === 'rejected')
      throw new Error(`setup by ${crew.supervisor}: ${assigned.code} ${assigned.message}`);
  }
  return requestId ? { recordId, requestId } : { recordId };
}

function actorAction(cell: Cell, recordId: string, requestId?: string): Partial<Action> {
  const base = { recordId };
  switch (cell.type) {
    case 'CREATE':
      return action({ ...base, type: 'CREATE', recordType: 'birth' });
    case 'NOTIFY':
      return action({ ...base, type: 'NOTIFY', declaration: { 'child.firstName': 'Ama' } });
    case 'DECLARE':
      return action({ ...base, type: 'DECLARE', declaration: BIRTH });
    case 'UPDATE':
      return action({ ...base, type: 'UPDATE', declaration: { 'child.firstName': 'Updated' } });
    case 'CORRECT':
      return action({ ...base, type: 'CORRECT', declaration: { 'child.firstName': 'Corrected' } });
    case 'REJECT':
    case 'ARCHIVE':
      return action({ ...base, type: cell.type, annotation: { reason: 'matrix' } });
    case 'ASSIGN':
      return action({ ...base, type: 'ASSIGN', assignee: idOf(cell.actor) });
    case 'APPROVE':
    case 'DECLINE':
      return action({ ...base, type: cell.type, requestId: requestId as string });
    case 'PRINT_CERTIFICATE':
      return action({ ...base, type: 'PRINT_CERTIFICATE', annotation: PRINTED });
    default:
      return action({ ...base, type: cell.type });
  }
}

/** Who collected the certificate: PRINT_CERTIFICATE carries it (PROTOCOL 11). */
const PRINTED = {
  templateId: 'birth-certificate',
  collector: {
    relationship: 'mother',
    name: 'Matrix Mother',
    idType: 'NID',
    idNumber: '1234567890',
  },
};

async function pool<T>(items: T[], size: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: size }, async () => {
      while (next < items.length) await work(items[next++] as T);
    }),
  );
}

describe('authorization matrix', () => {
  it('allows each action exactly where the configuration and the protocol say, and refuses it with the right code elsewhere', async () => {
    const cells: Cell[] = [];
    for (const actor of ACTORS) {
      for (const type of TYPES) {
        // A CREATE has no existing record: neither side nor assignment applies.
        if (type === 'CREATE') {
          cells.push({ actor, type, side: 'ibombo', assignment: 'none' });
          continue;
        }
        for (const side of ['ibombo', 'ilanga'] as const) {
          for (const assignment of ['me', 'none', 'other'] as const)
            cells.push({ actor, type, side, assignment });
        }
      }
    }
    const started = performance.now();
    const mismatches: string[] = [];
    const outcomes = new Map<string, number>();
    await pool(cells, 8, async (cell) => {
      const prepared =
        cell.type === 'CREATE' ? { recordId: newId(), requestId: undefined } : await prepare(cell);
      if (!prepared) {
        outcomes.set('unassignable', (outcomes.get('unassignable') ?? 0) + 1);
        return;
      }
      const { recordId, requestId } = prepared;
      const [result] = await submit(cell.actor, [actorAction(cell, recordId, requestId)]);
      const want = expected(cell);
      const got = result?.outcome === 'rejected' ? (result.code ?? 'null') : result?.outcome;
      // Rejections are stored in the log, except NOT_FOUND and a refused CREATE (PROTOCOL 4.3).
      const unstored = want.outcome === 'NOT_FOUND' || cell.type === 'CREATE';
      const storedOk =
        want.outcome === 'accepted' || want.outcome === 'requested' || !unstored
          ? result?.seq !== null
          : result?.seq === null;
      outcomes.set(String(got), (outcomes.get(String(got)) ?? 0) + 1);
      if (got !== want.outcome || !storedOk) {
        mismatches.push(
          `${cell.actor} ${cell.type} on a ${cell.side} record assigned to ${cell.assignment}: ` +
            `expected ${want.outcome} (${want.rule}), got ${got} seq ${result?.seq} (${result?.message})`,
        );
      }
    });
    console.log(
      `authorization: ${cells.length} cells (${ACTORS.length} roles × ${TYPES.length} action types × ` +
        `2 jurisdictions × 3 assignments, CREATE once per role) in ${((performance.now() - started) / 1000).toFixed(1)} s; ` +
        `outcomes: ${[...outcomes]
          .sort()
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}`,
    );
    expect(mismatches).toEqual([]);
  });

  it('refuses a registrar deciding their own request: SELF_APPROVAL, stored', async () => {
    for (const side of ['ibombo', 'ilanga'] as const) {
      const crew = CREW[side];
      // The actor is registrar2, so the request is made by the side's registrar, who then decides it.
      const cell: Cell = { actor: 'registrar2', type: 'APPROVE', side, assignment: 'none' };
      const prepared = await prepare(cell);
      if (!prepared) throw new Error('an unassigned record always can be prepared');
      const { recordId, requestId } = prepared;
      const [, decided] = await submit(crew.registrar, [
        action({ type: 'ASSIGN', recordId, assignee: idOf(crew.registrar) }),
        action({ type: 'APPROVE', recordId, requestId: requestId as string }),
      ]);
      expect(decided).toMatchObject({ outcome: 'rejected', code: 'SELF_APPROVAL' });
      expect(decided?.seq).not.toBeNull();
    }
  });

  it("never delivers a record outside the user's scope through /sync, and delivers all of it", async () => {
    const records = await server.db
      .selectFrom('records')
      .select(['id', 'type', 'created_at_location', 'assigned_to'])
      .execute();
    const entries = await server.db.selectFrom('entries').select(['id', 'record_id']).execute();
    const report: string[] = [];
    const duplicates: string[] = [];
    for (const username of PEOPLE.keys()) {
      const me = person(username);
      const device = new Device(server, session(username));
      await device.drain();
      const userId = idOf(username);
      const inScope = (r: (typeof records)[number]) =>
        r.assigned_to === userId ||
        holds(
          me,
          config.recordTypes.find((t) => t.id === r.type)?.readPermission ?? '',
          r.created_at_location,
        );
      const byId = new Map(records.map((r) => [r.id, r]));
      const outside = device.received.filter((e) => {
        const record = byId.get(e.recordId);
        return !record || !inScope(record);
      });
      expect(outside.map((e) => `${username} got ${e.type} of ${e.recordId}`)).toEqual([]);

      const scoped = new Set(records.filter(inScope).map((r) => r.id));
      const due = entries.filter((e) => scoped.has(e.record_id)).map((e) => e.id);
      const got = device.received.map((e) => e.id);
      // An entry may come twice only as the documented re-delivery of the earlier log of a
      // record assigned to the user from outside their jurisdiction (protocol-notes, Sync).
      const seen = new Set<string>();
      const again = device.received.filter((e) => seen.has(e.id) || !seen.add(e.id));
      const redelivered = again.filter((e) => {
        const record = byId.get(e.recordId);
        return (
          record?.assigned_to === userId &&
          !holds(me, birth.readPermission, record.created_at_location)
        );
      });
      expect(again.length, `${username} got entries twice`).toBe(redelivered.length);
      expect(new Set(got), `${username} did not get all of their scope`).toEqual(new Set(due));
      if (again.length > 0) duplicates.push(`${username} ${again.length}`);
      report.push(`${username} ${got.length} entries of ${scoped.size} records`);
    }
    console.log(
      `authorization: sync scope (of ${records.length} records): ${report.join('; ')}; ` +
        `entries delivered twice (earlier log of records assigned from outside the jurisdiction): ${duplicates.join(', ') || 'none'}`,
    );
  });
});
