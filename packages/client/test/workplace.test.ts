import { trackingIdOf } from '@registra/core';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIRTH, startTestServer, type TestServer } from '../../server/test/harness.js';
import { FlakyNetwork, PASSWORD, testDevice } from './support.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

describe('a session survives a reload', () => {
  it('resumes without the password online; not after a lock, and not offline', async () => {
    const network = new FlakyNetwork();
    const device = testDevice(server, { fetch: network.fetch });
    await device.client.login('agent', PASSWORD);
    await new Promise((resolve) => setTimeout(resolve, 50)); // the activity mark is written

    const reloaded = device.reopen();
    expect((await reloaded.resume())?.username).toBe('agent');
    expect(reloaded.user.get()?.username).toBe('agent');

    network.mode = 'down';
    const offline = device.reopen();
    expect(await offline.resume()).toBeNull();
    network.mode = 'up';

    reloaded.lock();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await device.reopen().resume()).toBeNull();
  });
});

describe('what the web app asks of the SDK', () => {
  it('names people, offline too, from the cached directory', async () => {
    const network = new FlakyNetwork();
    const device = testDevice(server, { fetch: network.fetch });
    await device.client.login('agent', PASSWORD);
    const people = await device.client.directory({ refresh: true });
    expect(people.map((p) => p.name)).toContain('Felix Katongo');
    network.mode = 'down';
    expect((await device.client.directory({ refresh: true })).map((p) => p.name)).toContain(
      'Felix Katongo',
    );
  });

  it('answers a work queue from the server online and from the device offline, alike', async () => {
    const network = new FlakyNetwork();
    const device = testDevice(server, { fetch: network.fetch });
    await device.client.login('agent', PASSWORD);
    for (const first of ['Queue One', 'Queue Two']) {
      const recordId = uuidv7();
      await device.client.actions.submit({ type: 'CREATE', recordId, recordType: 'birth' });
      await device.client.actions.submit({
        type: 'DECLARE',
        recordId,
        declaration: { ...BIRTH, 'child.firstName': first },
      });
    }
    await device.client.sync.now();
    const online = await device.client.queues.page('my-drafts-sent', { limit: 1 });
    expect(online.source).toBe('server');
    const rest = await device.client.queues.page('my-drafts-sent', { after: online.next! });
    const serverIds = [...online.results, ...rest.results].map((r) => r.id);

    network.mode = 'down';
    const first = await device.client.queues.page('my-drafts-sent', { limit: 1 });
    expect(first.source).toBe('device');
    const second = await device.client.queues.page('my-drafts-sent', { after: first.next! });
    expect([...first.results, ...second.results].map((r) => r.id)).toEqual(serverIds);
    const counts = await device.client.queues.counts();
    expect(counts.source).toBe('device');
    expect(counts.queues.find((q) => q.id === 'my-drafts-sent')?.count).toBe(serverIds.length);
  });

  it('finds records by a partial tracking id and by an ID number, and counts records waiting', async () => {
    const network = new FlakyNetwork();
    const device = testDevice(server, { fetch: network.fetch });
    await device.client.login('agent', PASSWORD);
    network.mode = 'down';
    const recordId = uuidv7();
    await device.client.actions.submit({ type: 'CREATE', recordId, recordType: 'birth' });
    await device.client.actions.submit({
      type: 'DECLARE',
      recordId,
      declaration: { ...BIRTH, 'mother.nid': '9876543210' },
    });
    expect(device.client.sync.status.get()).toMatchObject({ pending: 2, pendingRecords: 1 });
    const tracking = trackingIdOf(recordId);
    const partial = `${tracking.slice(2, 6)}-${tracking.slice(6, 8)}`.toLowerCase();
    const found = await device.client.records.search(partial);
    expect(found.online).toBe(false);
    expect(found.results.map((r) => r.id)).toEqual([recordId]);
    expect((await device.client.records.search('9876543210')).results.map((r) => r.id)).toEqual([
      recordId,
    ]);
  });
});
