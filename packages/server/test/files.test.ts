import type { FileValue } from '@registra/core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFileStorage } from '../src/services/files/open.js';
import { loadConfigFile, resolveConfigDir } from '../src/services/seed.js';
import { addJob } from '../src/jobs/index.js';
import { jobQueueFor } from '../src/server.js';
import { HookMetrics } from '../src/services/hooks/index.js';
import { loadSigner } from '../src/services/tokens.js';
import { cleanUpFiles, fileCleanupTask } from '../src/services/files/cleanup.js';
import {
  action,
  BIRTH,
  declareBirth,
  Device,
  expectProblem,
  newId,
  startTestServer,
  type Session,
  type TestServer,
} from './harness.js';
import { jpeg, pdf, png, sha256, startS3, TusClient, type S3Server } from './files-support.js';

const DAY = 24 * 60 * 60 * 1000;
const CHUNK = 256 * 1024;

/** Every rule of PROTOCOL 9, on the local directory and on an S3-compatible bucket alike. */
describe.each(['local', 's3'] as const)('files (PROTOCOL 9) on %s storage', (storage) => {
  let s3: S3Server | null = null;
  let server: TestServer;
  let agent: Session;
  let registrar: Session;
  let far: Session;

  beforeAll(async () => {
    if (storage === 's3') s3 = await startS3();
    server = await startTestServer('civil-registry', s3 ? { s3: s3.settings } : {});
    [agent, registrar, far] = await Promise.all([
      server.login('agent'),
      server.login('registrar'),
      server.login('agent.far'),
    ]);
  });
  afterAll(async () => {
    await server?.close();
    await s3?.stop();
  });

  const tus = (session: Session) => new TusClient(server.url, session.token);
  const meta = (bytes: Buffer, type = 'image/jpeg', more: Record<string, string> = {}) => ({
    sha256: sha256(bytes),
    name: 'proof.jpg',
    type,
    recordType: 'birth',
    field: 'documents.proofOfBirth',
    ...more,
  });
  const value = (bytes: Buffer, type = 'image/jpeg'): FileValue => ({
    sha256: sha256(bytes),
    name: 'proof.jpg',
    type,
    size: bytes.length,
  });
  const head = (session: Session, hash: string) =>
    server.request('HEAD', `/api/v1/files/${hash}`, { token: session.token });
  const heldRows = async (hash: string) =>
    server.db.selectFrom('files').selectAll().where('sha256', '=', hash).execute();

  async function uploaded(session: Session, bytes: Buffer, type = 'image/jpeg'): Promise<void> {
    const response = await tus(session).upload(bytes, meta(bytes, type));
    expect(response.status).toBe(204);
  }

  it('takes an upload in chunks, checks it, and serves it to its uploader by hash', async () => {
    const bytes = jpeg(600_000);
    const hash = sha256(bytes);
    expect((await head(agent, hash)).status).toBe(404);
    await uploaded(agent, bytes);

    const headed = await head(agent, hash);
    expect(headed.status).toBe(200);
    expect(headed.headers.get('content-type')).toBe('image/jpeg');
    expect(headed.headers.get('content-length')).toBe(String(bytes.length));
    expect(headed.headers.get('etag')).toBe(`"${hash}"`);

    const got = await server.request('GET', `/api/v1/files/${hash}`, { token: agent.token });
    expect(got.status).toBe(200);
    expect(got.headers.get('etag')).toBe(`"${hash}"`);
    expect(sha256(Buffer.from(await got.arrayBuffer()))).toBe(hash);

    const part = await server.request('GET', `/api/v1/files/${hash}`, {
      token: agent.token,
      headers: { range: 'bytes=100-199' },
    });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 100-199/${bytes.length}`);
    expect(Buffer.from(await part.arrayBuffer())).toEqual(bytes.subarray(100, 200));

    const cached = await server.request('GET', `/api/v1/files/${hash}`, {
      token: agent.token,
      headers: { 'if-none-match': `"${hash}"` },
    });
    expect(cached.status).toBe(304);
    expect(await heldRows(hash)).toHaveLength(1);
  });

  it('resumes an upload cut mid-chunk, re-sending at most one chunk', async () => {
    const bytes = jpeg(4 * CHUNK + 1000, 2);
    const client = tus(agent);
    const url = await client.start(bytes.length, meta(bytes));
    expect((await client.send(url, bytes.subarray(0, 2 * CHUNK), CHUNK)).status).toBe(204);
    // The third chunk: the connection is lost after 100 KB of it.
    await client.cutPatch(url, 2 * CHUNK, bytes.subarray(2 * CHUNK, 3 * CHUNK), 100_000);
    const offset = await client.offset(url);
    expect(offset).toBeGreaterThanOrEqual(2 * CHUNK);
    expect(offset).toBeLessThanOrEqual(2 * CHUNK + 100_000);
    expect((await client.send(url, bytes, CHUNK, offset)).status).toBe(204);
    expect(client.sent - bytes.length).toBeLessThanOrEqual(CHUNK);
    const got = await server.request('GET', `/api/v1/files/${sha256(bytes)}`, {
      token: agent.token,
    });
    expect(sha256(Buffer.from(await got.arrayBuffer()))).toBe(sha256(bytes));
  });

  it('refuses bytes that do not hash to the declared sha256 (400 HASH_MISMATCH), keeping none', async () => {
    const bytes = jpeg(50_000, 3);
    const claimed = jpeg(50_000, 4);
    const client = tus(agent);
    const url = await client.start(bytes.length, meta(claimed));
    const response = await client.send(url, bytes, CHUNK);
    await expectProblem(response, 400, 'HASH_MISMATCH');
    expect((await head(agent, sha256(bytes))).status).toBe(404);
    expect((await head(agent, sha256(claimed))).status).toBe(404);
    expect(await heldRows(sha256(bytes))).toEqual([]);
    // The refused upload is gone too.
    expect((await fetch(url, { method: 'HEAD', headers: client.headers() })).status).toBe(404);
  });

  it('sniffs the type from the bytes: another type than declared, or one outside accept, is 415', async () => {
    const photo = png(20_000);
    const mislabelled = await tus(agent).upload(photo, meta(photo, 'image/jpeg'));
    const problem = await expectProblem(mislabelled, 415, 'UNSUPPORTED_MEDIA_TYPE');
    expect(problem.detail).toMatch(/image\/png/);
    expect(await heldRows(sha256(photo))).toEqual([]);

    // The dwelling photo of the social registry takes images only; a birth document takes PDFs.
    const document = pdf(20_000);
    expect((await tus(agent).upload(document, meta(document, 'application/pdf'))).status).toBe(204);
    const gif = Buffer.from('GIF89a' + 'x'.repeat(100));
    await expectProblem(
      await tus(agent).create(gif.length, meta(gif, 'image/gif')),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    );
    // Bytes no one can recognise are refused too.
    const noise = Buffer.alloc(5000, 7);
    await expectProblem(await tus(agent).upload(noise, meta(noise)), 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it("answers 413 at creation for a length over the field's maxBytes, or over every field's", async () => {
    const bytes = jpeg(100);
    await expectProblem(
      await tus(agent).create(5 * 1024 * 1024 + 1, meta(bytes)),
      413,
      'PAYLOAD_TOO_LARGE',
    );
    const { recordType: _r, field: _f, ...anyField } = meta(bytes);
    await expectProblem(
      await tus(agent).create(5 * 1024 * 1024 + 1, anyField),
      413,
      'PAYLOAD_TOO_LARGE',
    );
    expect((await tus(agent).create(5 * 1024 * 1024, anyField)).status).toBe(201);
  });

  it('refuses malformed metadata with the field at fault, and requests without a token', async () => {
    const bytes = jpeg(100);
    const bad = await expectProblem(
      await tus(agent).create(100, { ...meta(bytes), sha256: 'ABC', field: 'child.firstName' }),
      400,
      'INVALID_INPUT',
    );
    expect(bad.errors?.map((e) => e.path)).toEqual(['metadata.sha256']);
    const notFile = await expectProblem(
      await tus(agent).create(100, { ...meta(bytes), field: 'child.firstName' }),
      400,
      'INVALID_INPUT',
    );
    expect(notFile.errors?.map((e) => e.path)).toEqual(['metadata.field']);
    await expectProblem(
      await new TusClient(server.url, 'nope').create(100, meta(bytes)),
      401,
      'INVALID_TOKEN',
    );
    await expectProblem(
      await server.request('GET', `/api/v1/files/${sha256(bytes)}`),
      401,
      'UNAUTHENTICATED',
    );
    await expectProblem(
      await server.request('GET', '/api/v1/files/not-a-hash', { token: agent.token }),
      400,
      'INVALID_INPUT',
    );
  });

  it('lets no one but its creator touch an upload in progress', async () => {
    const bytes = jpeg(2 * CHUNK, 5);
    const mine = tus(agent);
    const url = await mine.start(bytes.length, meta(bytes));
    const theirs = new TusClient(server.url, registrar.token);
    expect((await fetch(url, { method: 'HEAD', headers: theirs.headers() })).status).toBe(404);
    await expectProblem(await theirs.patch(url, 0, bytes.subarray(0, 10)), 404, 'NOT_FOUND');
    expect(await mine.offset(url)).toBe(0);
  });

  it('reads a file to its uploaders and to those who see a record naming it; 404 to anyone else', async () => {
    const bytes = jpeg(30_000, 6);
    const hash = sha256(bytes);
    await uploaded(agent, bytes);
    expect((await head(registrar, hash)).status).toBe(404);
    expect((await head(far, hash)).status).toBe(404);

    const device = new Device(server, agent);
    const recordId = await declareBirth(device, {
      ...BIRTH,
      'documents.proofOfBirth': value(bytes),
    });
    expect((await head(registrar, hash)).status).toBe(200);
    expect((await head(far, hash)).status).toBe(404);
    // Reading the bytes is reading the record: it is in the record's read audit (PROTOCOL 13).
    const read = await server.request('GET', `/api/v1/files/${hash}`, { token: registrar.token });
    expect(read.status).toBe(200);
    await expect
      .poll(
        async () => {
          const audit = await server.request('GET', `/api/v1/records/${recordId}/audit`, {
            token: registrar.token,
          });
          const { results } = (await audit.json()) as {
            results: { route: string; kind: string; userId: string }[];
          };
          return results.filter((r) => r.route === '/api/v1/files/:sha256');
        },
        { timeout: 20_000 },
      )
      .toEqual([expect.objectContaining({ kind: 'read', userId: registrar.user.id })]);

    // Identical bytes uploaded by someone else are stored once; they may read them from then on.
    await uploaded(far, bytes);
    expect((await head(far, hash)).status).toBe(200);
    expect(await heldRows(hash)).toHaveLength(1);
  });

  it('rejects an action naming bytes the server does not hold: FILE_MISSING, stored, with the path', async () => {
    const bytes = jpeg(1000, 7);
    const device = new Device(server, agent);
    const recordId = newId();
    const results = await device.push(
      action({ type: 'CREATE', recordId, recordType: 'birth' }),
      action({
        type: 'DECLARE',
        recordId,
        baseSeq: 1,
        declaration: { ...BIRTH, 'documents.motherId': value(bytes) },
      }),
    );
    expect(results.map((r) => r.outcome)).toEqual(['accepted', 'rejected']);
    expect(results[1]).toMatchObject({ code: 'FILE_MISSING', seq: 2 });
    expect(results[1]?.errors).toEqual([
      { path: 'documents.motherId', message: expect.any(String) },
    ]);
    const stored = await server.db
      .selectFrom('entries')
      .select(['status', 'code'])
      .where('record_id', '=', recordId)
      .where('seq', '=', 2)
      .executeTakeFirst();
    expect(stored).toEqual({ status: 'rejected', code: 'FILE_MISSING' });

    // Uploaded first, the same action goes through; a value that says other than the bytes does not.
    await uploaded(agent, bytes);
    const wrongSize = { ...value(bytes), size: 999 };
    const [retried, lying] = await device.push(
      action({
        type: 'UPDATE',
        recordId,
        baseSeq: 2,
        declaration: { 'documents.motherId': value(bytes) },
      }),
      action({
        type: 'UPDATE',
        recordId,
        baseSeq: 3,
        declaration: { 'documents.proofOfBirth': wrongSize },
      }),
    );
    expect(retried).toMatchObject({ outcome: 'accepted' });
    expect(lying).toMatchObject({ outcome: 'rejected', code: 'INVALID_DECLARATION' });
  });

  describe('the cleanup', () => {
    const cleanup = () => cleanUpFiles(server.registry, server.files);
    const at = (days: number) => (server.clock.offsetMs = days * DAY);

    it('keeps a file uploaded offline and named days later, then as long as the log', async () => {
      at(0);
      const bytes = jpeg(40_000, 8);
      const hash = sha256(bytes);
      await uploaded(agent, bytes);
      at(6.9);
      await cleanup();
      expect((await head(agent, hash)).status).toBe(200);
      const device = new Device(server, agent);
      // The action was taken offline on day 1 and reaches the server on day 6.9.
      await declareBirth(device, { ...BIRTH, 'documents.proofOfBirth': value(bytes) });
      at(400);
      await cleanup();
      expect((await head(agent, hash)).status).toBe(200);
      expect(await server.files.has(hash)).toBe(true);
      at(0);
    });

    it('deletes a file no entry names once the grace period has passed, never sooner', async () => {
      at(0);
      const bytes = jpeg(40_000, 9);
      const hash = sha256(bytes);
      await uploaded(agent, bytes);
      at(7 - 1 / 24);
      expect((await cleanup()).deleted).toBe(0);
      expect(await server.files.has(hash)).toBe(true);
      at(7 + 1 / 24);
      expect((await cleanup()).deleted).toBeGreaterThanOrEqual(1);
      expect(await server.files.has(hash)).toBe(false);
      expect(await heldRows(hash)).toEqual([]);
      expect((await head(agent, hash)).status).toBe(404);
      at(0);
    });

    it('counts the grace period from the last upload of the same bytes', async () => {
      at(0);
      const bytes = jpeg(40_000, 10);
      await uploaded(agent, bytes);
      at(5);
      await uploaded(registrar, bytes);
      at(10);
      await cleanup();
      expect(await server.files.has(sha256(bytes))).toBe(true);
      at(12.1);
      await cleanup();
      expect(await server.files.has(sha256(bytes))).toBe(false);
      at(0);
    });

    it('deletes a file named only by a rejected entry after the grace period', async () => {
      at(0);
      const bytes = jpeg(40_000, 11);
      const hash = sha256(bytes);
      await uploaded(agent, bytes);
      const recordId = await declareBirth(new Device(server, agent));
      // The record was unassigned after DECLARE: an UPDATE now is NOT_ASSIGNED, stored rejected.
      const [rejected] = await new Device(server, agent).push(
        action({
          type: 'UPDATE',
          recordId,
          baseSeq: 3,
          declaration: { 'documents.motherId': value(bytes) },
        }),
      );
      expect(rejected).toMatchObject({ outcome: 'rejected', code: 'NOT_ASSIGNED' });
      // Named by the log, it reads to those who see the record until the cleanup takes it.
      expect((await head(registrar, hash)).status).toBe(200);
      at(6);
      await cleanup();
      expect(await server.files.has(hash)).toBe(true);
      at(7.1);
      await cleanup();
      expect(await server.files.has(hash)).toBe(false);
      expect((await head(registrar, hash)).status).toBe(404);
      at(0);
    });

    it('keeps a file named by a requested entry (a correction waiting for approval)', async () => {
      at(0);
      const bytes = jpeg(40_000, 12);
      const hash = sha256(bytes);
      const recordId = await declareBirth(new Device(server, agent));
      const desk = new Device(server, registrar);
      const registered = await desk.push(
        action({ type: 'ASSIGN', recordId, assignee: registrar.user.id, baseSeq: 3 }),
        action({ type: 'REGISTER', recordId, baseSeq: 4 }),
      );
      expect(registered.map((r) => r.outcome)).toEqual(['accepted', 'accepted']);
      await uploaded(registrar, bytes);
      const [, correction] = await desk.push(
        action({ type: 'ASSIGN', recordId, assignee: registrar.user.id, baseSeq: 6 }),
        action({
          type: 'CORRECT',
          recordId,
          baseSeq: 7,
          declaration: { 'documents.proofOfBirth': value(bytes) },
          annotation: { reason: 'the hospital record was found' },
        }),
      );
      expect(correction?.outcome).toBe('requested');
      at(30);
      await cleanup();
      expect(await server.files.has(hash)).toBe(true);
      at(0);
    });

    it('lets an upload of condemned bytes take them back', async () => {
      at(0);
      const bytes = jpeg(20_000, 13);
      const hash = sha256(bytes);
      await uploaded(agent, bytes);
      at(8);
      // Condemned but not yet deleted (a cleanup that stopped half-way): not held any more.
      await server.db
        .updateTable('files')
        .set({ condemned_at: server.registry.now() })
        .where('sha256', '=', hash)
        .execute();
      expect((await head(agent, hash)).status).toBe(404);
      await uploaded(agent, bytes);
      expect((await head(agent, hash)).status).toBe(200);
      await cleanup();
      expect(await server.files.has(hash)).toBe(true);
      at(0);
    });
  });
});

describe('the cleanup on the job queue', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('civil-registry', { jobs: true });
  });
  afterAll(() => server?.close());

  it('is scheduled daily, and a run of its job deletes what is past the grace period', async () => {
    const services = {
      signer: await loadSigner(server.db),
      hookMetrics: new HookMetrics(server.registry),
      files: server.files,
    };
    expect(jobQueueFor(server.registry, services).taskNames).toContain('files.cleanup');
    const agent = await server.login('agent');
    const bytes = jpeg(10_000, 31);
    const response = await new TusClient(server.url, agent.token).upload(bytes, {
      sha256: sha256(bytes),
      name: 'a.jpg',
      type: 'image/jpeg',
    });
    expect(response.status).toBe(204);
    server.clock.offsetMs = 8 * DAY;
    await addJob(server.db, fileCleanupTask(server.registry, server.files), { payload: {} });
    await expect.poll(() => server.files.has(sha256(bytes)), { timeout: 20_000 }).toBe(false);
  });
});

describe('an upload the server failed to finish', () => {
  let server: TestServer;
  let failAdopt = false;
  const dataDir = mkdtempSync(path.join(tmpdir(), 'registra-refinish-'));
  beforeAll(async () => {
    const config = loadConfigFile(resolveConfigDir('civil-registry').configFile);
    const storage = openFileStorage(config, { dataDir });
    // The storage fails once while keeping the bytes, as a full disk or a dropped bucket would.
    const failing = new Proxy(storage, {
      get(target, key) {
        const member = Reflect.get(target, key, target) as unknown;
        if (key === 'adopt' && failAdopt) {
          failAdopt = false;
          return async () => {
            throw new Error('the disk is full');
          };
        }
        return typeof member === 'function' ? member.bind(target) : member;
      },
    });
    server = await startTestServer('civil-registry', { app: { files: failing } });
  });
  afterAll(async () => {
    await server?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps the bytes, and finishes on an empty PATCH at the end without them being sent again', async () => {
    const agent = await server.login('agent');
    const client = new TusClient(server.url, agent.token);
    const bytes = jpeg(100_000, 41);
    const url = await client.start(bytes.length, {
      sha256: sha256(bytes),
      name: 'a.jpg',
      type: 'image/jpeg',
    });
    failAdopt = true;
    await expectProblem(await client.send(url, bytes, CHUNK), 500, 'INTERNAL');
    const head = () =>
      server.request('HEAD', `/api/v1/files/${sha256(bytes)}`, { token: agent.token });
    expect((await head()).status).toBe(404);
    expect(await client.offset(url)).toBe(bytes.length);
    const sent = client.sent;
    expect((await client.patch(url, bytes.length, new Uint8Array(0))).status).toBe(204);
    expect(client.sent).toBe(sent);
    expect((await head()).status).toBe(200);
  });
});

describe('hostile upload requests', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('civil-registry');
  });
  afterAll(() => server?.close());

  it('answers every malformed tus request with a 4xx problem, never a 5xx', async () => {
    const agent = await server.login('agent');
    const good = new TusClient(server.url, agent.token);
    const bytes = jpeg(20_000, 51);
    const url = await good.start(bytes.length, {
      sha256: sha256(bytes),
      name: 'a',
      type: 'image/jpeg',
    });
    const id = url.split('/').pop() as string;
    let x = 7;
    const random = () => (x = (x * 1103515245 + 12345) >>> 0) / 2 ** 32;
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
    const lengths = [
      '',
      '-1',
      'NaN',
      '1e3',
      '99999999999999999999',
      '0',
      ' 12',
      '12abc',
      '5242881',
    ];
    const metadata = [
      '',
      'sha256',
      'sha256 !!!',
      `sha256 ${Buffer.from('x').toString('base64')},name ,type`,
      `name ${Buffer.from('a').toString('base64')},name ${Buffer.from('b').toString('base64')}`,
      `sha256 ${Buffer.from(sha256(bytes)).toString('base64')},name ${Buffer.from('\u0000').toString('base64')},type ${Buffer.from('image/jpeg').toString('base64')}`,
      'a'.repeat(10_000),
      `recordType ${Buffer.from('birth').toString('base64')}`,
    ];
    const paths = [
      '/api/v1/files/uploads',
      `/api/v1/files/uploads/${id}`,
      '/api/v1/files/uploads/..%2F..%2Fetc',
      '/api/v1/files/uploads/%00',
      `/api/v1/files/uploads/${'z'.repeat(180)}`,
      '/api/v1/files/uploads/nope',
    ];
    for (let i = 0; i < 300; i++) {
      const method = pick(['POST', 'PATCH', 'HEAD', 'DELETE', 'OPTIONS', 'GET', 'PUT']);
      const headers: Record<string, string> = {};
      if (random() < 0.9) headers['authorization'] = `Bearer ${pick([agent.token, 'garbage'])}`;
      if (random() < 0.8) headers['tus-resumable'] = pick(['1.0.0', '0.2.2', 'x']);
      if (random() < 0.7) headers['upload-length'] = pick(lengths);
      if (random() < 0.7) headers['upload-metadata'] = pick(metadata);
      if (random() < 0.6) headers['upload-offset'] = pick(['0', '-5', '1', 'x', '20000', '1e9']);
      if (random() < 0.6)
        headers['content-type'] = pick(['application/offset+octet-stream', 'text/plain', '']);
      if (random() < 0.2) headers['upload-defer-length'] = '1';
      const body =
        method === 'PATCH' || method === 'POST' || method === 'PUT'
          ? new Uint8Array(Math.floor(random() * 3000))
          : undefined;
      const response = await fetch(server.url + pick(paths), {
        method,
        headers,
        ...(body ? { body } : {}),
      });
      const text = method === 'HEAD' ? '' : await response.text();
      expect(response.status, `${method} ${JSON.stringify(headers)}: ${text}`).toBeLessThan(500);
      if (response.status >= 400 && method !== 'HEAD') {
        expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      }
    }
    // The upload in progress was not harmed: it finishes as if nothing happened.
    const offset = await good.offset(url);
    expect(offset).toBeLessThanOrEqual(bytes.length);
  });
});
