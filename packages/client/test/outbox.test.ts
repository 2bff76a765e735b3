import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { v7 as uuidv7 } from 'uuid';
import { ActionRefused, LoginRequired, Unreachable } from '../src/index.js';
import { BIRTH, startTestServer, type TestServer } from '../../server/test/harness.js';
import { FlakyNetwork, PASSWORD, testDevice } from './support.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

async function serverEntries(recordId: string) {
  return server.db
    .selectFrom('entries')
    .select(['type', 'status', 'code'])
    .where('record_id', '=', recordId)
    .orderBy('seq')
    .execute();
}

describe('outbox and sync engine', () => {
  it('does not call itself online after a sync when the browser went offline during it', async () => {
    const device = testDevice(server);
    await device.client.login('agent', PASSWORD);
    // The browser's offline event came while the sync's answer was being stored: the sync
    // succeeded, but the device is offline now.
    vi.stubGlobal('navigator', { onLine: false });
    try {
      await device.client.sync.now();
      expect(device.client.sync.status.get().online).toBe(false);
    } finally {
      vi.unstubAllGlobals();
    }
    await device.client.sync.now();
    expect(device.client.sync.status.get().online).toBe(true);
    device.client.close();
  });

  it('keeps actions captured offline across a reload, then syncs them exactly once', async () => {
    const network = new FlakyNetwork();
    const device = testDevice(server, { fetch: network.fetch });
    await device.client.login('agent', PASSWORD);
    network.mode = 'down';
    const recordId = uuidv7();
    await device.client.actions.submit({ type: 'CREATE', recordId, recordType: 'birth' });
    await device.client.actions.submit({ type: 'DECLARE', recordId, declaration: BIRTH });
    await expect(device.client.sync.now()).rejects.toBeInstanceOf(Unreachable);
    expect(device.client.sync.status.get()).toMatchObject({ phase: 'offline', pending: 2 });

    // Optimistic state: the fold of the pending actions, on this device.
    const local = await device.client.records.get(recordId);
    expect(local?.record).toMatchObject({
      status: 'DECLARED',
      assignedTo: null,
      declaration: BIRTH,
    });
    expect(local?.pending.map((p) => p.action.type)).toEqual(['CREATE', 'DECLARE']);

    device.client.close();
    const reopened = device.reopen();
    expect(await reopened.knownUsers()).toEqual(['agent']);
    await reopened.unlock('agent', PASSWORD);
    expect(
      (await reopened.actions.pending()).map((p) => [p.action.type, p.action.deviceSeq]),
    ).toEqual([
      ['CREATE', 1],
      ['DECLARE', 2],
    ]);

    network.mode = 'up';
    const report = await reopened.sync.now();
    expect(report).toMatchObject({ sent: 2, accepted: 2, rejected: 0 });
    expect(await reopened.actions.pending()).toEqual([]);
    expect(await serverEntries(recordId)).toEqual([
      { type: 'CREATE', status: 'accepted', code: null },
      { type: 'DECLARE', status: 'accepted', code: null },
      { type: 'UNASSIGN', status: 'accepted', code: null },
    ]);
    const synced = await reopened.records.get(recordId);
    expect(synced?.record).toMatchObject({ status: 'DECLARED', seq: 3, assignedTo: null });
    expect(synced?.entries.map((e) => e.seq)).toEqual([1, 2, 3]);
    reopened.close();
  });

  it('recovers from answers lost after the server committed: no duplicate, outbox empties', async () => {
    const network = new FlakyNetwork();
    const device = testDevice(server, { fetch: network.fetch });
    await device.client.login('agent', PASSWORD);
    const recordId = uuidv7();
    network.mode = 'lose-answers';
    await device.client.actions.submit({ type: 'CREATE', recordId, recordType: 'birth' });
    await expect(device.client.sync.now()).rejects.toBeInstanceOf(Unreachable);
    expect(network.lost).toBe(1);
    expect(await serverEntries(recordId)).toHaveLength(1);
    network.mode = 'up';
    const report = await device.client.sync.now();
    expect(report).toMatchObject({ accepted: 1 });
    expect(await device.client.actions.pending()).toEqual([]);
    expect(await serverEntries(recordId)).toHaveLength(1);
    device.client.close();
  });

  it('moves a rejected action to needs attention with what was typed, and does not retry it', async () => {
    const device = testDevice(server);
    await device.client.login('agent', PASSWORD);
    const supervisor = testDevice(server);
    await supervisor.client.login('supervisor', PASSWORD);
    const recordId = uuidv7();
    await device.client.actions.submit({ type: 'CREATE', recordId, recordType: 'birth' });
    await device.client.sync.now();
    // The supervisor unassigns the agent while the agent edits offline.
    await supervisor.client.records.fetch(recordId);
    await supervisor.client.actions.submit({ type: 'UNASSIGN', recordId });
    await supervisor.client.sync.now();

    await device.client.actions.submit({
      type: 'UPDATE',
      recordId,
      declaration: { 'child.firstName': 'Chipo' },
    });
    const report = await device.client.sync.now();
    expect(report).toMatchObject({ rejected: 1 });
    const attention = await device.client.attention.list();
    expect(attention).toHaveLength(1);
    expect(attention[0]).toMatchObject({
      code: 'NOT_ASSIGNED',
      action: { type: 'UPDATE', declaration: { 'child.firstName': 'Chipo' } },
    });
    expect(device.client.sync.status.get()).toMatchObject({ pending: 0, needsAttention: 1 });
    const again = await device.client.sync.now();
    expect(again.sent).toBe(0);
    await device.client.attention.dismiss(attention[0]?.action.id as string);
    expect(device.client.sync.status.get().needsAttention).toBe(0);
    device.client.close();
    supervisor.client.close();
  });

  it('refuses locally what the rules refuse, and saves nothing', async () => {
    const device = testDevice(server);
    await device.client.login('agent', PASSWORD);
    const recordId = uuidv7();
    await device.client.actions.submit({ type: 'CREATE', recordId, recordType: 'birth' });
    const invalid = device.client.actions.submit({
      type: 'DECLARE',
      recordId,
      declaration: { ...BIRTH, 'mother.nid': '12' },
    });
    await expect(invalid).rejects.toMatchObject({
      code: 'INVALID_DECLARATION',
      errors: [{ path: 'mother.nid', message: 'is not a valid id number' }],
    });
    await expect(
      device.client.actions.submit({ type: 'REGISTER', recordId }),
    ).rejects.toBeInstanceOf(ActionRefused);
    // The same decision as the server's: a DECLARE without a declaration is still checked.
    const bare = device.client.actions.submit({ type: 'DECLARE', recordId });
    await expect(bare).rejects.toMatchObject({ code: 'INVALID_DECLARATION' });
    expect(
      ((await bare.catch((e: unknown) => e)) as ActionRefused).errors.map((e) => e.path),
    ).toContain('child.firstName');
    expect((await device.client.actions.pending()).map((p) => p.action.type)).toEqual(['CREATE']);
    device.client.close();
  });

  it('marks an action needing approval as requested once synced', async () => {
    const device = testDevice(server);
    await device.client.login('registrar', PASSWORD);
    const agent = testDevice(server);
    await agent.client.login('agent', PASSWORD);
    const recordId = uuidv7();
    await agent.client.actions.submit({ type: 'CREATE', recordId, recordType: 'birth' });
    await agent.client.actions.submit({ type: 'DECLARE', recordId, declaration: BIRTH });
    await agent.client.sync.now();

    await device.client.sync.now();
    await device.client.actions.submit({
      type: 'ASSIGN',
      recordId,
      assignee: device.client.user.get()?.id as string,
    });
    await device.client.actions.submit({ type: 'REGISTER', recordId });
    await device.client.actions.submit({
      type: 'ASSIGN',
      recordId,
      assignee: device.client.user.get()?.id as string,
    });
    await device.client.actions.submit({
      type: 'CORRECT',
      recordId,
      declaration: { 'child.firstName': 'Ama Jr' },
    });
    const report = await device.client.sync.now();
    expect(report).toMatchObject({ accepted: 3, requested: 1 });
    const local = await device.client.records.get(recordId);
    expect(local?.record.flags).toEqual(['correct:requested']);
    expect(local?.record.registrationNumber).toMatch(/^B\d{4}IBO\d{6}$/);
    device.client.close();
    agent.client.close();
  });

  it('recovers from SEQ_GAP by renumbering the outbox from where the server expects', async () => {
    const device = testDevice(server);
    await device.client.login('agent', PASSWORD);
    await device.client.sync.now();
    // A device restored from an old backup: its counter is ahead of what the server has seen.
    const raw = device.raw(`registra-user-${device.client.user.get()?.id}`);
    await raw.open();
    await raw.table('meta').put({ key: 'nextDeviceSeq', value: 40 });
    raw.close();
    const recordId = uuidv7();
    await device.client.actions.submit({ type: 'CREATE', recordId, recordType: 'birth' });
    expect((await device.client.actions.pending())[0]?.action.deviceSeq).toBe(40);
    const report = await device.client.sync.now();
    expect(report).toMatchObject({ accepted: 1 });
    expect(await serverEntries(recordId)).toHaveLength(1);
    device.client.close();
  });

  it('refreshes an expired access token and goes on; asks to log in again when the session is gone', async () => {
    const device = testDevice(server);
    await device.client.login('agent', PASSWORD);
    const sessions = device.raw('registra-sessions');
    await sessions.open();
    await sessions.table('sessions').update('agent', { accessToken: 'expired.or.forged' });
    sessions.close();
    device.client.lock();
    await device.client.unlock('agent', PASSWORD);
    const recordId = uuidv7();
    await device.client.actions.submit({ type: 'CREATE', recordId, recordType: 'birth' });
    expect((await device.client.sync.now()).accepted).toBe(1);

    await server.db.updateTable('refresh_tokens').set({ revoked_at: new Date() }).execute();
    const sessions2 = device.raw('registra-sessions');
    await sessions2.open();
    await sessions2.table('sessions').update('agent', { accessToken: 'expired.or.forged' });
    sessions2.close();
    device.client.lock();
    await device.client.unlock('agent', PASSWORD);
    await device.client.actions.submit({
      type: 'UPDATE',
      recordId,
      declaration: { 'child.firstName': 'Kept' },
    });
    await expect(device.client.sync.now()).rejects.toBeInstanceOf(LoginRequired);
    expect(device.client.sync.status.get()).toMatchObject({ phase: 'login-required', pending: 1 });
    expect((await device.client.actions.pending())[0]?.action.declaration).toEqual({
      'child.firstName': 'Kept',
    });
    device.client.close();
  });

  it('keeps a configuration it can read when the server sends one it cannot (a newer release)', async () => {
    let newer = false;
    const fromNewerServer: typeof fetch = async (input, init) => {
      if (!newer || !String(input).endsWith('/api/v1/config')) return fetch(input, init);
      const headers = new Headers(init?.headers);
      headers.delete('if-none-match');
      const document = (await (await fetch(input, { ...init, headers })).json()) as object;
      return new Response(JSON.stringify({ ...document, version: '9.0.0', futureSetting: true }), {
        status: 200,
        headers: { 'content-type': 'application/json', etag: '"9.0.0"' },
      });
    };
    const device = testDevice(server, { fetch: fromNewerServer });
    await device.client.login('agent', PASSWORD);
    expect((await device.client.config()).version).toBe(server.registry.config.version);

    newer = true;
    expect((await device.client.config()).version).toBe(server.registry.config.version);
    const recordId = uuidv7();
    await device.client.actions.submit({ type: 'CREATE', recordId, recordType: 'birth' });
    expect(await device.client.sync.now()).toMatchObject({ sent: 1, accepted: 1 });
    device.client.close();

    // A device that never had a configuration cannot work, and says why.
    const fresh = testDevice(server, { fetch: fromNewerServer });
    await fresh.client.login('agent', PASSWORD).catch(() => undefined);
    await expect(fresh.client.config()).rejects.toMatchObject({
      code: 'UNREADABLE_CONFIGURATION',
    });
    fresh.client.close();
  });

  it('refuses an offline unlock with a wrong password', async () => {
    const device = testDevice(server);
    await device.client.login('agent', PASSWORD);
    device.client.lock();
    await expect(device.client.unlock('agent', 'not-the-password')).rejects.toThrow(
      'wrong username or password',
    );
    await expect(device.client.unlock('registrar', PASSWORD)).rejects.toThrow(
      'wrong username or password',
    );
    device.client.close();
  });
});
