import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { v7 as uuidv7 } from 'uuid';
import { InvalidCredentials } from '../src/index.js';
import { unwrapKey, type WrappedKey } from '../src/vault.js';
import { BIRTH, startTestServer, type TestServer } from '../../server/test/harness.js';
import { FlakyNetwork, PASSWORD, testDevice, type TestDevice } from './support.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

/** Everything the device's IndexedDB holds for `database`, every object store, as text. */
async function rawContents(device: TestDevice, database: string): Promise<string> {
  const raw = device.raw(database);
  await raw.open();
  const stores: Record<string, unknown[]> = {};
  for (const table of raw.tables) stores[table.name] = await table.toArray();
  raw.close();
  expect(Object.keys(stores).length).toBeGreaterThan(0);
  return JSON.stringify(stores);
}

describe('sensitive values on the device', () => {
  it('keeps them sealed in IndexedDB and opens them only with the password', async () => {
    const network = new FlakyNetwork();
    const device = testDevice(server, { fetch: network.fetch });
    const user = await device.client.login('agent', PASSWORD);
    const database = `registra-user-${user.id}`;
    const synced = '4718293056';
    const queued = '9081726354';
    const drafted = '5550001112';

    // A record declared, synced, and fetched back from the server (which sends it in the clear).
    const recordId = uuidv7();
    await device.client.actions.submit({ type: 'CREATE', recordId, recordType: 'birth' });
    await device.client.actions.submit({
      type: 'DECLARE',
      recordId,
      declaration: { ...BIRTH, 'mother.nid': synced },
    });
    expect(await device.client.sync.now()).toMatchObject({ accepted: 2, rejected: 0 });
    await device.client.records.fetch(recordId);

    // Another one captured offline: it waits in the outbox.
    network.mode = 'down';
    const offlineId = uuidv7();
    await device.client.actions.submit({
      type: 'CREATE',
      recordId: offlineId,
      recordType: 'birth',
    });
    await device.client.actions.submit({
      type: 'DECLARE',
      recordId: offlineId,
      declaration: { ...BIRTH, 'mother.firstName': 'Efua', 'mother.nid': queued },
    });
    const draft = await device.client.drafts.save({
      recordType: 'birth',
      actionType: 'DECLARE',
      declaration: { 'mother.firstName': 'Adjoa', 'mother.nid': drafted },
    });

    // What the SDK shows is in the clear...
    expect((await device.client.records.get(recordId))?.record.declaration['mother.nid']).toBe(
      synced,
    );
    expect((await device.client.records.get(offlineId))?.record.declaration['mother.nid']).toBe(
      queued,
    );
    // ...and local search on the ID number still finds the record.
    expect((await device.client.records.query({ text: synced })).map((r) => r.id)).toEqual([
      recordId,
    ]);

    // What IndexedDB holds is not.
    const contents = await rawContents(device, database);
    expect(contents).toContain('Grace');
    expect(contents).toContain('Efua');
    expect(contents).toContain('Adjoa');
    expect(contents).toContain('dev:v1:');
    for (const value of [synced, queued, drafted]) expect(contents).not.toContain(value);
    // The record from the server, its entries, the outbox and the draft all hold sealed values.
    const raw = device.raw(database);
    await raw.open();
    const stored = await raw.table('records').get(recordId);
    expect(stored.declaration['mother.nid']).toMatch(/^dev:v1:/);
    expect(stored.declaration['mother.firstName']).toBe('Grace');
    const entries = await raw.table('entries').where('recordId').equals(recordId).toArray();
    const declared = entries.find((e: { type: string }) => e.type === 'DECLARE');
    expect(declared.declaration['mother.nid']).toMatch(/^dev:v1:/);
    const outbox = await raw.table('outbox').toArray();
    expect(outbox.map((item: { action: { type: string } }) => item.action.type)).toEqual([
      'CREATE',
      'DECLARE',
    ]);
    expect(outbox[1].action.declaration['mother.nid']).toMatch(/^dev:v1:/);
    expect((await raw.table('drafts').get(draft.id)).declaration['mother.nid']).toMatch(/^dev:v1:/);
    const wrapped = (await raw.table('meta').get('deviceKey')).value as WrappedKey;
    raw.close();
    // Nor in the sessions database, where a reload's resume material lives.
    const sessions = await rawContents(device, 'registra-sessions');
    for (const value of [synced, queued, drafted]) expect(sessions).not.toContain(value);

    // A wrong password opens neither the session nor the key.
    device.client.close();
    const reopened = device.reopen();
    await expect(reopened.unlock('agent', 'not the password')).rejects.toBeInstanceOf(
      InvalidCredentials,
    );
    expect(await unwrapKey(wrapped, 'not the password')).toBeNull();
    expect(await unwrapKey(wrapped, PASSWORD)).not.toBeNull();

    // The right one, offline, opens everything.
    await reopened.unlock('agent', PASSWORD);
    expect((await reopened.records.get(recordId))?.record.declaration['mother.nid']).toBe(synced);
    expect(
      (await reopened.actions.pending()).map((p) => p.action.declaration?.['mother.nid']),
    ).toEqual([undefined, queued]);
    expect((await reopened.drafts.get(draft.id))?.declaration['mother.nid']).toBe(drafted);
    expect((await reopened.records.query({ text: queued })).map((r) => r.id)).toEqual([offlineId]);

    // Back online, the server receives the value in the clear, and the device keeps it sealed.
    network.mode = 'up';
    expect(await reopened.sync.now()).toMatchObject({ accepted: 2, rejected: 0 });
    const onServer = await server.request('GET', `/api/v1/records/${offlineId}`, {
      token: (await server.login('agent')).token,
    });
    expect(onServer.status).toBe(200);
    const body = (await onServer.json()) as { record: { declaration: Record<string, unknown> } };
    expect(body.record.declaration['mother.nid']).toBe(queued);
    const after = await rawContents(device, database);
    for (const value of [synced, queued, drafted]) expect(after).not.toContain(value);
    expect((await reopened.records.get(offlineId))?.record.declaration['mother.nid']).toBe(queued);
    reopened.close();
  });

  it('resumes after a reload within the lock delay, and not once locked', async () => {
    const device = testDevice(server);
    const user = await device.client.login('agent', PASSWORD);
    const recordId = uuidv7();
    const nid = '3141592653';
    await device.client.actions.submit({ type: 'CREATE', recordId, recordType: 'birth' });
    await device.client.actions.submit({
      type: 'DECLARE',
      recordId,
      declaration: { ...BIRTH, 'mother.nid': nid },
    });
    // A reload: the session resumes and opens the sealed values without the password.
    const reloaded = device.reopen();
    expect((await reloaded.resume())?.id).toBe(user.id);
    expect((await reloaded.records.get(recordId))?.record.declaration['mother.nid']).toBe(nid);
    // Locked: the resume material is gone, and only the password opens the key again.
    reloaded.lock();
    await expect
      .poll(async () => (await rawContents(device, 'registra-sessions')).includes('"resume"'))
      .toBe(false);
    const later = device.reopen();
    expect(await later.resume()).toBeNull();
    await later.unlock('agent', PASSWORD);
    expect((await later.records.get(recordId))?.record.declaration['mother.nid']).toBe(nid);
    later.close();
  });
});
