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
  it('accepts references to records stored, or created in the same request in any order', async () => {
    const household = newId();
    await enumerator.push(create(household, 'household'));
    const person = newId();
    const results = await enumerator.push(
      create(person, 'individual'),
      update(person, { 'person.household': household }),
    );
    expect(outcomes(results)).toEqual(['accepted', 'accepted']);

    // The household names members that the same request creates after it.
    const other = newId();
    const [a, b] = [newId(), newId()];
    const together = await enumerator.push(
      create(other, 'household'),
      update(other, { 'household.members': [a, b] }),
      create(a, 'individual'),
      create(b, 'individual'),
    );
    expect(outcomes(together)).toEqual(['accepted', 'accepted', 'accepted', 'accepted']);
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
