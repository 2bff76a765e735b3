import type { FileValue } from '@registra/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { v7 as uuidv7 } from 'uuid';
import { Unreachable } from '../src/index.js';
import { BIRTH, startTestServer, type TestServer } from '../../server/test/harness.js';
import { jpeg, png, sha256 } from '../../server/test/files-support.js';
import { PASSWORD, testDevice } from './support.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

const CHUNK = 64 * 1024;

const blob = (bytes: Uint8Array, type?: string) =>
  new Blob([new Uint8Array(bytes)], type ? { type } : {});

/** A network the test can take down, and that counts the upload bytes it carries. */
class Network {
  up = true;
  /** Cut the connection of this many more PATCH requests, then carry them again. */
  cutPatches = 0;
  patchBytes = 0;
  readonly fetch: typeof fetch = async (input, init) => {
    if (!this.up) throw new TypeError('fetch failed: network is down');
    if (init?.method === 'PATCH') {
      const size = init.body instanceof Blob ? init.body.size : 0;
      if (this.cutPatches > 0) {
        this.cutPatches -= 1;
        throw new TypeError('fetch failed: connection reset');
      }
      this.patchBytes += size;
    }
    return fetch(input, init);
  };
}

const serverEntries = (recordId: string) =>
  server.db
    .selectFrom('entries')
    .select(['type', 'status', 'code'])
    .where('record_id', '=', recordId)
    .orderBy('seq')
    .execute();

describe('the file queue', () => {
  it('keeps a photo captured offline across a reload, uploads it first, then pushes its actions', async () => {
    const network = new Network();
    const device = testDevice(server, { fetch: network.fetch, uploadChunkBytes: CHUNK });
    await device.client.login('agent', PASSWORD);
    network.up = false;

    const photo = jpeg(300_000, 21);
    const value = await device.client.files.add(blob(photo, 'image/jpeg'), {
      name: 'proof.jpg',
      recordType: 'birth',
      field: 'documents.proofOfBirth',
    });
    expect(value).toEqual({
      sha256: sha256(photo),
      name: 'proof.jpg',
      type: 'image/jpeg',
      size: photo.length,
    });
    const recordId = uuidv7();
    await device.client.actions.submit({ type: 'CREATE', recordId, recordType: 'birth' });
    await device.client.actions.submit({
      type: 'DECLARE',
      recordId,
      declaration: { ...BIRTH, 'documents.proofOfBirth': value },
    });
    await expect(device.client.sync.now()).rejects.toBeInstanceOf(Unreachable);
    expect(device.client.files.status.get()[value.sha256]).toMatchObject({
      state: 'local',
      held: true,
    });

    device.client.close();
    const reopened = device.reopen();
    await reopened.unlock('agent', PASSWORD);
    expect(reopened.files.status.get()[value.sha256]?.state).toBe('local');
    expect(await (await reopened.files.read(value.sha256))?.arrayBuffer()).toEqual(
      photo.buffer.slice(photo.byteOffset, photo.byteOffset + photo.length),
    );

    network.up = true;
    expect(await reopened.sync.now()).toMatchObject({ accepted: 2, rejected: 0 });
    expect(reopened.files.status.get()[value.sha256]).toMatchObject({
      state: 'uploaded',
      uploaded: photo.length,
    });
    expect(network.patchBytes).toBe(photo.length);
    expect(await serverEntries(recordId)).toEqual([
      { type: 'CREATE', status: 'accepted', code: null },
      { type: 'DECLARE', status: 'accepted', code: null },
      { type: 'UNASSIGN', status: 'accepted', code: null },
    ]);
    const registrar = await server.login('registrar');
    const got = await server.request('GET', `/api/v1/files/${value.sha256}`, {
      token: registrar.token,
    });
    expect(sha256(Buffer.from(await got.arrayBuffer()))).toBe(value.sha256);
    reopened.close();
  });

  it("holds back a record's actions until its files are on the server, and only those", async () => {
    const network = new Network();
    const device = testDevice(server, { fetch: network.fetch, uploadChunkBytes: CHUNK });
    await device.client.login('agent', PASSWORD);
    network.cutPatches = 1000;
    const plain = uuidv7();
    const withPhoto = uuidv7();
    const value = await device.client.files.add(blob(jpeg(100_000, 25), 'image/jpeg'));
    await device.client.actions.submit({ type: 'CREATE', recordId: plain, recordType: 'birth' });
    await device.client.actions.submit({
      type: 'CREATE',
      recordId: withPhoto,
      recordType: 'birth',
    });
    await device.client.actions.submit({
      type: 'DECLARE',
      recordId: withPhoto,
      declaration: { ...BIRTH, 'documents.proofOfBirth': value },
    });
    await expect(device.client.sync.now()).rejects.toBeInstanceOf(Unreachable);
    expect((await serverEntries(plain)).map((e) => e.status)).toEqual(['accepted']);
    expect((await serverEntries(withPhoto)).map((e) => e.type)).toEqual(['CREATE']);
    expect((await device.client.actions.pending()).map((p) => p.action.type)).toEqual(['DECLARE']);

    network.cutPatches = 0;
    expect(await device.client.sync.now()).toMatchObject({ accepted: 1, rejected: 0 });
    expect((await serverEntries(withPhoto)).map((e) => e.type)).toEqual([
      'CREATE',
      'DECLARE',
      'UNASSIGN',
    ]);
    device.client.close();
  });

  it('resumes a broken upload where the server stopped, after a reload too', async () => {
    const network = new Network();
    const device = testDevice(server, { fetch: network.fetch, uploadChunkBytes: CHUNK });
    await device.client.login('agent', PASSWORD);
    const photo = jpeg(5 * CHUNK + 123, 22);
    const value = await device.client.files.add(blob(photo, 'image/jpeg'), {
      name: 'id.jpg',
    });
    // Two chunks go through, then the connection breaks for longer than the quick retries.
    let sent = 0;
    const cutAfterTwo: typeof fetch = async (input, init) => {
      if (init?.method === 'PATCH' && ++sent > 2) throw new TypeError('fetch failed: reset');
      return network.fetch(input, init);
    };
    device.client.close();
    const broken = device.tab({ fetch: cutAfterTwo });
    await broken.unlock('agent', PASSWORD);
    await expect(broken.files.upload()).rejects.toBeInstanceOf(Unreachable);
    expect(broken.files.status.get()[value.sha256]).toMatchObject({
      state: 'uploading',
      uploaded: 2 * CHUNK,
    });
    broken.close();

    const reopened = device.reopen();
    await reopened.unlock('agent', PASSWORD);
    await reopened.files.upload();
    expect(reopened.files.status.get()[value.sha256]?.state).toBe('uploaded');
    // Nothing the server had was sent again.
    expect(network.patchBytes).toBe(photo.length);
    reopened.close();
  });

  it('lets a refused file through to its action, which the server rejects FILE_MISSING', async () => {
    const device = testDevice(server);
    await device.client.login('agent', PASSWORD);
    // PNG bytes said to be a JPEG: the server sniffs them and refuses the upload (415).
    const bytes = png(20_000);
    const value = await device.client.files.add(blob(bytes), {
      name: 'mother-id.jpg',
      type: 'image/jpeg',
    });
    const recordId = uuidv7();
    await device.client.actions.submit({ type: 'CREATE', recordId, recordType: 'birth' });
    await device.client.actions.submit({
      type: 'UPDATE',
      recordId,
      declaration: { 'documents.motherId': value },
    });
    expect(await device.client.sync.now()).toMatchObject({ accepted: 1, rejected: 1 });
    expect(device.client.files.status.get()[value.sha256]).toMatchObject({
      state: 'refused',
      error: expect.stringMatching(/image\/png/),
    });
    const [attention] = await device.client.attention.list();
    expect(attention).toMatchObject({ code: 'FILE_MISSING' });
    // Now the device knows: the same file is refused here at once.
    await expect(
      device.client.actions.submit({
        type: 'UPDATE',
        recordId,
        declaration: { 'documents.motherId': value },
      }),
    ).rejects.toMatchObject({ code: 'FILE_MISSING' });
    device.client.close();
  });

  it("downloads the files of the device's records for offline reading, within the budget", async () => {
    const agent = testDevice(server);
    await agent.client.login('agent', PASSWORD);
    const small = jpeg(50_000, 23);
    const large = jpeg(400_000, 24);
    const values: FileValue[] = [];
    for (const bytes of [small, large]) {
      const value = await agent.client.files.add(blob(bytes, 'image/jpeg'));
      const recordId = uuidv7();
      await agent.client.actions.submit({ type: 'CREATE', recordId, recordType: 'birth' });
      await agent.client.actions.submit({
        type: 'DECLARE',
        recordId,
        declaration: { ...BIRTH, 'documents.proofOfBirth': value },
      });
      values.push(value);
    }
    await agent.client.sync.now();
    agent.client.close();

    const network = new Network();
    const registrar = testDevice(server, { fetch: network.fetch, fileBudgetBytes: 200_000 });
    await registrar.client.login('registrar', PASSWORD);
    await registrar.client.sync.now();
    const report = await registrar.client.files.prefetch();
    expect(report.downloaded).toBeGreaterThanOrEqual(1);
    network.up = false;
    const [smallValue, largeValue] = values as [FileValue, FileValue];
    expect(
      sha256(
        Buffer.from(await (await registrar.client.files.read(smallValue.sha256))!.arrayBuffer()),
      ),
    ).toBe(smallValue.sha256);
    // Over the budget: not on the device, so not readable offline.
    expect(await registrar.client.files.read(largeValue.sha256)).toBeNull();
    network.up = true;
    expect(await registrar.client.files.read(largeValue.sha256)).not.toBeNull();
    registrar.client.close();
  });
});
