import type { ActionResult } from '@registra/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { action, Device, newId, startTestServer, type TestServer } from './harness.js';

let server: TestServer;
let enumerator: Device;
let far: Device;
beforeAll(async () => {
  server = await startTestServer('social-registry');
  enumerator = new Device(server, await server.login('enumerator'));
  far = new Device(server, await server.login('enumerator.far'));
});
afterAll(() => server.close());

const create = (recordId: string, recordType: string) =>
  action({ type: 'CREATE', recordId, recordType });
const update = (recordId: string, declaration: Record<string, unknown>) =>
  action({ type: 'UPDATE', recordId, declaration } as Parameters<typeof action>[0]);

function outcomes(results: ActionResult[]) {
  return results.map((r) => (r.outcome === 'accepted' ? 'accepted' : r.errors));
}

describe('reference fields point to a record of their type, in reach', () => {
  it('accepts references to records stored, or accepted earlier in the same request', async () => {
    const household = newId();
    await enumerator.push(create(household, 'household'));
    const person = newId();
    const results = await enumerator.push(
      create(person, 'individual'),
      update(person, { 'person.household': household }),
    );
    expect(outcomes(results)).toEqual(['accepted', 'accepted']);

    const other = newId();
    const [a, b] = [newId(), newId()];
    const together = await enumerator.push(
      create(a, 'individual'),
      create(b, 'individual'),
      create(other, 'household'),
      update(other, { 'household.members': [a, b] }),
    );
    expect(outcomes(together)).toEqual(['accepted', 'accepted', 'accepted', 'accepted']);
  });

  it('counts a record of the same request only once it is created, and never a refused CREATE', async () => {
    // A household naming members that the request creates only after it.
    const early = newId();
    const later = newId();
    const before = await enumerator.push(
      create(early, 'household'),
      update(early, { 'household.members': [later] }),
      create(later, 'individual'),
    );
    expect(outcomes(before)).toEqual([
      'accepted',
      [
        {
          path: 'household.members.0',
          message: 'must be the id of an individual record you can see',
        },
      ],
      'accepted',
    ]);

    // Decoys: CREATEs refused in the same request must not count as records created here, or
    // a reference could name a record out of reach (RECORD_EXISTS) or one that never was.
    const elsewhere = newId();
    await far.push(create(elsewhere, 'individual'));
    const never = newId();
    const household = newId();
    const results = await enumerator.push(
      create(household, 'household'),
      create(elsewhere, 'individual'),
      action({
        type: 'CREATE',
        recordId: never,
        recordType: 'individual',
        declaration: { 'person.dob': 'not a date' },
      } as Parameters<typeof action>[0]),
      update(household, { 'household.members': [elsewhere, never] }),
    );
    expect(results.map((r) => r.code)).toEqual([
      null,
      'RECORD_EXISTS',
      'INVALID_DECLARATION',
      'INVALID_DECLARATION',
    ]);
    expect(results[3]?.errors).toEqual([
      {
        path: 'household.members.0',
        message: 'must be the id of an individual record you can see',
      },
      {
        path: 'household.members.1',
        message: 'must be the id of an individual record you can see',
      },
    ]);
  });

  it('refuses an id of nothing, of a record of another type, or of a record out of reach', async () => {
    const person = newId();
    const household = newId();
    await enumerator.push(create(person, 'individual'), create(household, 'household'));
    const elsewhere = newId();
    await far.push(create(elsewhere, 'household'));

    const results = await enumerator.push(
      update(person, { 'person.household': newId() }),
      update(household, { 'household.members': [person, household] }),
    );
    const reach = await enumerator.push(update(person, { 'person.household': elsewhere }));
    expect(outcomes([...results, ...reach])).toEqual([
      [{ path: 'person.household', message: 'must be the id of a household record you can see' }],
      [
        {
          path: 'household.members.1',
          message: 'must be the id of an individual record you can see',
        },
      ],
      [{ path: 'person.household', message: 'must be the id of a household record you can see' }],
    ]);
    expect(results[0]).toMatchObject({ outcome: 'rejected', code: 'INVALID_DECLARATION' });
  });
});
