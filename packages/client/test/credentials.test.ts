import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  action,
  declareBirth,
  Device,
  startTestServer,
  type Session,
  type TestServer,
} from '../../server/test/harness.js';
import { FlakyNetwork, PASSWORD, testDevice } from './support.js';

let server: TestServer;
let other: TestServer;
let registrar: Session;
beforeAll(async () => {
  [server, other] = await Promise.all([startTestServer(), startTestServer()]);
  registrar = await server.login('registrar');
});
afterAll(async () => {
  await Promise.all([server?.close(), other?.close()]);
});

/** A birth registered on `on`, by its registrar. */
async function registeredBirth(on: TestServer): Promise<string> {
  const recordId = await declareBirth(new Device(on, await on.login('agent')));
  const session = on === server ? registrar : await on.login('registrar');
  const results = await new Device(on, session).push(
    action({ type: 'ASSIGN', recordId, assignee: session.user.id }),
    action({ type: 'REGISTER', recordId }),
  );
  expect(results.map((r) => r.outcome)).toEqual(['accepted', 'accepted']);
  return recordId;
}

describe('offline verification on a device', () => {
  it('verifies from cached keys and status lists, with the network down, before anyone signs in', async () => {
    const recordId = await registeredBirth(server);
    const network = new FlakyNetwork();
    const device = testDevice(server, { fetch: network.fetch });
    await device.client.login('registrar', PASSWORD);
    const credential = await device.client.credentials.forRecord(recordId);
    if (!credential) throw new Error('no credential');
    await device.client.credentials.refresh();

    network.mode = 'down';
    // The credential stays on the device for printing offline.
    expect(await device.client.credentials.forRecord(recordId)).toBe(credential);
    device.client.lock();
    const verifying = device.reopen();
    const result = await verifying.credentials.verify(credential);
    expect(result).toMatchObject({ valid: true, status: 'active', errors: [] });
    expect(result.claims).toMatchObject({ firstName: 'Ama', surname: 'Banda' });
    expect(result.statusCheckedAt).not.toBeNull();

    const [head, payload, signature] = credential.split('.') as [string, string, string];
    const flipped = payload.endsWith('A') ? `${payload.slice(0, -1)}B` : `${payload.slice(0, -1)}A`;
    expect(await verifying.credentials.verify(`${head}.${flipped}.${signature}`)).toMatchObject({
      valid: false,
      errors: [{ code: 'SIGNATURE_INVALID' }],
    });
    expect(await verifying.credentials.verify('hello')).toMatchObject({
      valid: false,
      errors: [{ code: 'UNREADABLE' }],
    });
  });

  it('sees a correction as superseded once its lists are refreshed; knows no other registry', async () => {
    const recordId = await registeredBirth(server);
    const device = testDevice(server);
    await device.client.login('registrar', PASSWORD);
    const credential = (await device.client.credentials.forRecord(recordId)) as string;
    const [, requested] = await new Device(server, registrar).push(
      action({ type: 'ASSIGN', recordId, assignee: registrar.user.id }),
      action({ type: 'CORRECT', recordId, declaration: { 'child.firstName': 'Chileshe' } }),
    );
    const approver = await server.login('registrar2');
    await new Device(server, approver).push(
      action({ type: 'ASSIGN', recordId, assignee: approver.user.id }),
      action({ type: 'APPROVE', recordId, requestId: requested?.id as string }),
    );
    await device.client.credentials.refresh();
    expect(await device.client.credentials.verify(credential)).toMatchObject({
      valid: true,
      status: 'superseded',
    });

    const foreignDevice = testDevice(other);
    await foreignDevice.client.login('registrar', PASSWORD);
    const foreign = await foreignDevice.client.credentials.forRecord(await registeredBirth(other));
    expect(await device.client.credentials.verify(foreign as string)).toMatchObject({
      valid: false,
      errors: [{ code: 'NOT_FROM_THIS_REGISTRY' }],
    });
  });

  it('keeps the credentials of the records a registrar took offline, for printing without a network', async () => {
    const recordId = await registeredBirth(server);
    // REGISTER unassigned the registrar: they take the record again to print it offline.
    await new Device(server, registrar).push(
      action({ type: 'ASSIGN', recordId, assignee: registrar.user.id }),
    );
    const network = new FlakyNetwork();
    const device = testDevice(server, { fetch: network.fetch });
    await device.client.login('registrar', PASSWORD);
    await device.client.config();
    await device.client.sync.now();
    const kept = device.raw(`registra-user-${registrar.user.id}`);
    await kept.open();
    await expect
      .poll(async () => (await kept.table('meta').get(`credential:${recordId}`)) !== undefined)
      .toBe(true);
    kept.close();

    network.mode = 'down';
    const credential = await device.client.credentials.forRecord(recordId);
    expect(credential).toMatch(/^eyJ/);
    network.mode = 'up';
    expect(await device.client.credentials.forRecord(recordId)).toBe(credential);
  });
});
