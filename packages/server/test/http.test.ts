import type { ActionResult, RecordState } from '@registra/core';
import { sql } from 'kysely';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  action,
  BIRTH,
  Device,
  expectWellFormedProblem,
  newId,
  startTestServer,
  type Session,
  type TestServer,
} from './harness.js';

/** PROTOCOL section 1 (conventions) and section 6 (the other endpoints). */

let server: TestServer;
let agent: Session;
beforeAll(async () => {
  server = await startTestServer();
  agent = await server.login('agent');
});
afterAll(() => server.close());

/** A POST of these bytes as they are, with the agent's token and these headers. */
function post(path: string, body: Uint8Array, headers: Record<string, string>): Promise<Response> {
  return fetch(server.url + path, {
    method: 'POST',
    body: new Uint8Array(body),
    headers: { authorization: `Bearer ${agent.token}`, ...headers },
  });
}

/** A GET over node:http, so that the compressed bytes arrive as they were sent. */
function rawGet(
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(server.url + path, { method: 'GET', headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({
          status: response.statusCode ?? 0,
          headers: response.headers,
          body: Buffer.concat(chunks),
        }),
      );
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end();
  });
}

const syncBody = (actions: unknown[] = [], deviceId = newId()) => ({
  deviceId,
  cursor: null,
  actions,
});

async function entriesTableCount(): Promise<number> {
  const result = await sql<{ n: string }>`SELECT count(*) AS n FROM entries`.execute(server.db);
  return Number(result.rows[0]?.n);
}

describe('authentication comes before the body (PROTOCOL 1)', () => {
  it('answers 401 without a token and 403 without the permission, whatever the body holds', async () => {
    const bad = { body: { cursor: 12, actions: 'none' } };
    await expectWellFormedProblem(
      await server.request('POST', '/api/v1/sync', bad),
      401,
      'UNAUTHENTICATED',
    );
    await expectWellFormedProblem(
      await server.request('POST', '/api/v1/actions', bad),
      401,
      'UNAUTHENTICATED',
    );
    await expectWellFormedProblem(
      await server.request('POST', '/api/v1/users', bad),
      401,
      'UNAUTHENTICATED',
    );
    await expectWellFormedProblem(
      await server.request('POST', '/api/v1/users', { ...bad, token: agent.token }),
      403,
      'FORBIDDEN',
    );
    const oversized = await server.request('POST', '/api/v1/sync', {
      body: { deviceId: newId(), cursor: null, actions: [], padding: 'x'.repeat(9 * 1024 * 1024) },
    });
    expect(oversized.status).toBe(401);
  });
});

describe('errors are problem+json (PROTOCOL 1)', () => {
  it('answers every kind of error as {type, title, status, detail, code}', async () => {
    await expectWellFormedProblem(await server.request('GET', '/api/v1/nowhere'), 404, 'NOT_FOUND');
    await expectWellFormedProblem(
      await server.request('GET', '/api/v1/me'),
      401,
      'UNAUTHENTICATED',
    );
    await expectWellFormedProblem(
      await server.request('GET', '/api/v1/users', { token: agent.token }),
      403,
      'FORBIDDEN',
    );
    await expectWellFormedProblem(
      await server.request('GET', `/api/v1/records/${newId()}`, { token: agent.token }),
      404,
      'NOT_FOUND',
    );
    const invalid = await expectWellFormedProblem(
      await server.request('POST', '/api/v1/sync', { token: agent.token, body: { cursor: null } }),
      400,
      'INVALID_INPUT',
    );
    expect(invalid.errors).toEqual([{ path: 'body.deviceId', message: expect.any(String) }]);
  });

  it('answers an unknown route 404 NOT_FOUND, whatever the method', async () => {
    const problem = await expectWellFormedProblem(
      await server.request('GET', '/api/v1/recordz', { token: agent.token }),
      404,
      'NOT_FOUND',
    );
    expect(problem.detail).toContain('/api/v1/recordz');
    await expectWellFormedProblem(
      await server.request('DELETE', '/api/v1/records', { token: agent.token }),
      404,
      'NOT_FOUND',
    );
    await expectWellFormedProblem(
      await server.request('POST', '/api/v2/sync', { token: agent.token, body: {} }),
      404,
      'NOT_FOUND',
    );
  });
});

describe('request bodies (PROTOCOL 1)', () => {
  it('answers invalid JSON 400 INVALID_INPUT', async () => {
    for (const text of ['{"deviceId":', '{deviceId: 1}', "{'a':1}", '[1,]', 'nul', '{"a":1}x']) {
      await expectWellFormedProblem(
        await server.request('POST', '/api/v1/sync', { token: agent.token, body: text }),
        400,
        'INVALID_INPUT',
      );
    }
  });

  it('answers an empty body declared as JSON 400 INVALID_INPUT', async () => {
    await expectWellFormedProblem(
      await server.request('POST', '/api/v1/sync', {
        token: agent.token,
        headers: { 'content-type': 'application/json' },
      }),
      400,
      'INVALID_INPUT',
    );
    await expectWellFormedProblem(
      await server.request('POST', '/api/v1/sync', { token: agent.token, body: '   ' }),
      400,
      'INVALID_INPUT',
    );
  });

  it('answers a body nested 10,000 levels deep 400, not 500', async () => {
    const depth = 10_000;
    await expectWellFormedProblem(
      await server.request('POST', '/api/v1/sync', {
        token: agent.token,
        body: '['.repeat(depth) + ']'.repeat(depth),
      }),
      400,
      'INVALID_INPUT',
    );
    await expectWellFormedProblem(
      await server.request('POST', '/api/v1/actions', {
        token: agent.token,
        body: '{"a":'.repeat(depth) + '1' + '}'.repeat(depth),
      }),
      400,
      'INVALID_INPUT',
    );
    // Before authentication, too: the token endpoint takes any caller.
    await expectWellFormedProblem(
      await server.request('POST', '/api/v1/auth/token', {
        body: '{"grant_type":' + '['.repeat(depth) + ']'.repeat(depth) + '}',
      }),
      400,
      'INVALID_INPUT',
    );
  });

  it('refuses prototype poisoning with 400', async () => {
    await expectWellFormedProblem(
      await server.request('POST', '/api/v1/sync', {
        token: agent.token,
        body: `{"deviceId":"${newId()}","cursor":null,"__proto__":{"admin":true}}`,
      }),
      400,
      'INVALID_INPUT',
    );
  });

  it('answers a body over the limit (8 MiB) 413 PAYLOAD_TOO_LARGE', async () => {
    const body = JSON.stringify(syncBody([{ padding: 'x'.repeat(9 * 1024 * 1024) }]));
    await expectWellFormedProblem(
      await server.request('POST', '/api/v1/sync', { token: agent.token, body }),
      413,
      'PAYLOAD_TOO_LARGE',
    );
  });

  it('answers a text/plain body to /api/v1/sync 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    await expectWellFormedProblem(
      await server.request('POST', '/api/v1/sync', {
        token: agent.token,
        body: JSON.stringify(syncBody()),
        headers: { 'content-type': 'text/plain' },
      }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    );
    await expectWellFormedProblem(
      await server.request('POST', '/api/v1/auth/token', {
        body: 'grant_type=password&username=agent',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    );
  });

  it('accepts a gzip-compressed sync body and applies it', async () => {
    const recordId = newId();
    const create = action({ type: 'CREATE', recordId, recordType: 'birth' });
    const body = gzipSync(Buffer.from(JSON.stringify(syncBody([{ ...create, deviceSeq: 1 }]))));
    const response = await post('/api/v1/sync', body, {
      'content-type': 'application/json',
      'content-encoding': 'gzip',
    });
    expect(response.status).toBe(200);
    const result = (await response.json()) as { ackThrough: number; results: ActionResult[] };
    expect(result.ackThrough).toBe(1);
    expect(result.results).toEqual([
      expect.objectContaining({ id: create.id, outcome: 'accepted', seq: 1 }),
    ]);
    const record = await server.request('GET', `/api/v1/records/${recordId}`, {
      token: agent.token,
    });
    expect(record.status).toBe(200);
    expect(((await record.json()) as { record: RecordState }).record.status).toBe('CREATED');
  });

  it('answers a gzip bomb (50 MiB of zeros) 413 and stays up', async () => {
    const bomb = gzipSync(Buffer.alloc(50 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(1024 * 1024);
    await expectWellFormedProblem(
      await post('/api/v1/sync', bomb, {
        'content-type': 'application/json',
        'content-encoding': 'gzip',
      }),
      413,
      'PAYLOAD_TOO_LARGE',
    );
    const health = await server.request('GET', '/api/v1/health');
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok' });
  });

  it('answers a corrupted gzip body 400 INVALID_INPUT', async () => {
    const headers = { 'content-type': 'application/json', 'content-encoding': 'gzip' };
    await expectWellFormedProblem(
      await post('/api/v1/sync', Buffer.from('this was never gzip'), headers),
      400,
      'INVALID_INPUT',
    );
    const good = gzipSync(Buffer.from(JSON.stringify(syncBody())));
    await expectWellFormedProblem(
      await post('/api/v1/sync', good.subarray(0, good.length - 8), headers),
      400,
      'INVALID_INPUT',
    );
    const flipped = Buffer.from(good);
    flipped[flipped.length - 5] = (flipped[flipped.length - 5] ?? 0) ^ 0xff; // a byte of the CRC-32
    await expectWellFormedProblem(
      await post('/api/v1/sync', flipped, headers),
      400,
      'INVALID_INPUT',
    );
  });
});

describe('response compression (PROTOCOL 1)', () => {
  let plain: string;
  beforeAll(async () => {
    const response = await rawGet('/api/v1/config', { authorization: `Bearer ${agent.token}` });
    expect(response.status).toBe(200);
    expect(response.headers['content-encoding']).toBeUndefined();
    plain = response.body.toString('utf8');
    expect(plain.length).toBeGreaterThan(2048);
  });

  it('compresses with br when asked', async () => {
    const response = await rawGet('/api/v1/config', {
      authorization: `Bearer ${agent.token}`,
      'accept-encoding': 'br',
    });
    expect(response.status).toBe(200);
    expect(response.headers['content-encoding']).toBe('br');
    expect(response.headers['vary']).toMatch(/accept-encoding/i);
    expect(response.body.length).toBeLessThan(plain.length);
    expect(brotliDecompressSync(response.body).toString('utf8')).toBe(plain);
  });

  it('compresses with gzip when asked', async () => {
    const response = await rawGet('/api/v1/config', {
      authorization: `Bearer ${agent.token}`,
      'accept-encoding': 'gzip',
    });
    expect(response.status).toBe(200);
    expect(response.headers['content-encoding']).toBe('gzip');
    expect(response.body.length).toBeLessThan(plain.length);
    expect(gunzipSync(response.body).toString('utf8')).toBe(plain);
  });

  it('prefers br when both are accepted', async () => {
    const response = await rawGet('/api/v1/config', {
      authorization: `Bearer ${agent.token}`,
      'accept-encoding': 'gzip, deflate, br',
    });
    expect(['br', 'gzip']).toContain(response.headers['content-encoding']);
    expect(response.headers['content-encoding']).toBe('br');
  });
});

describe('GET /api/v1/config', () => {
  it('answers the configuration with version, record types, roles, locations and an ETag', async () => {
    const response = await server.request('GET', '/api/v1/config', { token: agent.token });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const etag = response.headers.get('etag');
    expect(etag).toMatch(/^"[^"]+"$/);
    const config = (await response.json()) as {
      version: string;
      recordTypes: { id: string }[];
      roles: { id: string }[];
      locations: { id: string; name: string; type: string; parentId: string | null }[];
    };
    expect(config.version).toBe(server.registry.config.version);
    expect(config.recordTypes.map((t) => t.id)).toContain('birth');
    expect(config.roles.map((r) => r.id)).toEqual(
      expect.arrayContaining(['field-agent', 'registrar', 'supervisor', 'national-admin']),
    );
    expect(config.locations.length).toBeGreaterThan(0);
    for (const location of config.locations) {
      expect(location).toMatchObject({
        id: expect.any(String),
        name: expect.any(String),
        type: expect.stringMatching(/^(country|province|district|office|facility)$/),
      });
      expect(location).toHaveProperty('parentId');
    }
    expect(config.locations).toContainEqual(
      expect.objectContaining({
        id: 'ibombo-office',
        name: 'Ibombo District Office',
        type: 'office',
        parentId: 'ibombo',
      }),
    );
    expect(config.locations.filter((l) => l.parentId === null)).toEqual([
      expect.objectContaining({ type: 'country' }),
    ]);

    const again = await server.request('GET', '/api/v1/config', {
      token: agent.token,
      headers: { 'if-none-match': etag ?? '' },
    });
    expect(again.status).toBe(304);
    expect(again.headers.get('etag')).toBe(etag);
    expect(await again.text()).toBe('');

    const stale = await server.request('GET', '/api/v1/config', {
      token: agent.token,
      headers: { 'if-none-match': '"something-else"' },
    });
    expect(stale.status).toBe(200);
  });

  it('needs a token', async () => {
    await expectWellFormedProblem(
      await server.request('GET', '/api/v1/config'),
      401,
      'UNAUTHENTICATED',
    );
  });
});

describe('GET /api/v1/health, /metrics, /api/v1/openapi.json', () => {
  it('answers health 200 {status: "ok"} without a token', async () => {
    const response = await server.request('GET', '/api/v1/health');
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'ok' });
  });

  it('serves Prometheus metrics of requests, appends, sync batches and pull lag', async () => {
    const device = new Device(server, agent);
    const recordId = newId();
    await device.push(
      action({ type: 'CREATE', recordId, recordType: 'birth' }),
      action({ type: 'DECLARE', recordId, baseSeq: 1, declaration: BIRTH }),
    );
    // Another device pulls those entries: a pull lag is observed.
    const puller = new Device(server, await server.login('registrar'));
    await puller.drain();
    expect(puller.received.some((e) => e.recordId === recordId)).toBe(true);

    expect((await server.request('GET', '/metrics')).status).toBe(401);
    const response = await server.request('GET', '/metrics', { token: agent.token });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await response.text();
    expect(text).toContain('# TYPE registra_http_request_duration_seconds histogram');
    expect(text).toMatch(
      /registra_http_request_duration_seconds_count\{[^}]*route="\/api\/v1\/sync"/,
    );
    expect(text).toContain('# TYPE registra_entries_appended_total counter');
    const appended = /registra_entries_appended_total\{status="accepted"\} (\d+)/.exec(text);
    expect(Number(appended?.[1])).toBeGreaterThanOrEqual(2);
    expect(text).toContain('# TYPE registra_sync_batch_actions histogram');
    expect(Number(/registra_sync_batch_actions_count (\d+)/.exec(text)?.[1])).toBeGreaterThan(0);
    expect(text).toContain('# TYPE registra_pull_lag_seconds histogram');
    expect(Number(/registra_pull_lag_seconds_count (\d+)/.exec(text)?.[1])).toBeGreaterThan(0);
  });

  it('serves an OpenAPI 3 document of the API, to authenticated callers', async () => {
    expect((await server.request('GET', '/api/v1/openapi.json')).status).toBe(401);
    const response = await server.request('GET', '/api/v1/openapi.json', { token: agent.token });
    expect(response.status).toBe(200);
    const document = (await response.json()) as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
    };
    expect(document.openapi).toMatch(/^3\./);
    const paths = Object.keys(document.paths);
    expect(paths).toEqual(
      expect.arrayContaining([
        '/api/v1/auth/token',
        '/api/v1/me',
        '/api/v1/sync',
        '/api/v1/actions',
        '/api/v1/records',
        '/api/v1/records/{id}',
        '/api/v1/config',
        '/api/v1/health',
        '/api/v1/users',
        // mercurius's route, documented by its own JSON Schema (it broke the document once).
        '/api/v1/exchange/graphql',
      ]),
    );
    expect(Object.keys(document.paths['/api/v1/auth/token'] ?? {})).toContain('post');
    expect(Object.keys(document.paths['/api/v1/records/{id}'] ?? {})).toContain('get');
    expect(Object.keys(document.paths['/api/v1/users'] ?? {})).toEqual(
      expect.arrayContaining(['get', 'post']),
    );
  });
});

describe('GET /api/v1/records: input checking', () => {
  it('answers a record id that is not a UUID 400 at params.id', async () => {
    const problem = await expectWellFormedProblem(
      await server.request('GET', '/api/v1/records/not-a-uuid', { token: agent.token }),
      400,
      'INVALID_INPUT',
    );
    expect(problem.errors).toEqual([{ path: 'params.id', message: expect.any(String) }]);
  });

  it('answers limit=0 and an unknown parameter 400', async () => {
    const limit = await expectWellFormedProblem(
      await server.request('GET', '/api/v1/records?limit=0', { token: agent.token }),
      400,
      'INVALID_INPUT',
    );
    expect(limit.errors?.map((e) => e.path)).toEqual(['querystring.limit']);
    const bogus = await expectWellFormedProblem(
      await server.request('GET', '/api/v1/records?bogus=1', { token: agent.token }),
      400,
      'INVALID_INPUT',
    );
    expect(bogus.errors?.map((e) => e.path)).toEqual(['querystring']);
    expect(bogus.errors?.[0]?.message).toContain('bogus');
    for (const query of ['limit=201', 'limit=abc', 'limit=1.5', 'status=NOPE', 'assignedTo=x']) {
      await expectWellFormedProblem(
        await server.request('GET', `/api/v1/records?${query}`, { token: agent.token }),
        400,
        'INVALID_INPUT',
      );
    }
  });

  it('never answers 500 to SQL metacharacters or path traversal, and loses nothing', async () => {
    const device = new Device(server, agent);
    await device.push(action({ type: 'CREATE', recordId: newId(), recordType: 'birth' }));
    const before = await entriesTableCount();
    expect(before).toBeGreaterThan(0);
    const hostile = [
      ['q', "'; DROP TABLE entries;--"],
      ['q', "' OR '1'='1"],
      ['q', '%'],
      ['q', '\\'],
      ['q', '_'],
      ['location', '../../etc/passwd'],
      ['location', "ibombo'; DELETE FROM entries;--"],
      ['trackingId', `"'; DROP TABLE records;--`],
      ['trackingId', `'"`],
      ['registrationNumber', "1' OR 1=1 --"],
      ['flag', "x'] OR true --"],
      ['type', "birth' --"],
      ['after', "'; DROP TABLE entries;--"],
      ['q', 'Robert\u0000'],
    ];
    for (const [key, value] of hostile) {
      const response = await server.request(
        'GET',
        `/api/v1/records?${key}=${encodeURIComponent(value ?? '')}`,
        { token: agent.token },
      );
      expect(response.status, `${key}=${value}`).toBeLessThan(500);
      if (response.status === 200) {
        expect(await response.json()).toMatchObject({ results: expect.any(Array) });
      } else {
        await expectWellFormedProblem(response, response.status, 'INVALID_INPUT');
      }
    }
    await expectWellFormedProblem(
      await server.request(
        'GET',
        `/api/v1/records?location=${encodeURIComponent('../../etc/passwd')}`,
        {
          token: agent.token,
        },
      ),
      400,
      'INVALID_INPUT',
    );
    await expectWellFormedProblem(
      await server.request('GET', '/api/v1/records/..%2F..%2Fetc%2Fpasswd', { token: agent.token }),
      400,
      'INVALID_INPUT',
    );
    expect(await entriesTableCount()).toBe(before);
    const health = await server.request('GET', '/api/v1/health');
    expect(health.status).toBe(200);
  });
});

describe('POST /api/v1/actions (PROTOCOL 6)', () => {
  const submit = (actions: unknown[], token = agent.token) =>
    server.request('POST', '/api/v1/actions', { token, body: { actions } });

  it('answers the same action twice as a duplicate with the same seq', async () => {
    const create = action({ type: 'CREATE', recordId: newId(), recordType: 'birth' });
    const first = await submit([create]);
    expect(first.status).toBe(200);
    const [original] = ((await first.json()) as { results: ActionResult[] }).results;
    expect(original).toMatchObject({ id: create.id, outcome: 'accepted', seq: 1 });
    expect(original).not.toHaveProperty('duplicate');

    const second = await submit([create]);
    expect(second.status).toBe(200);
    const [repeat] = ((await second.json()) as { results: ActionResult[] }).results;
    expect(repeat).toMatchObject({
      id: create.id,
      outcome: 'accepted',
      seq: original?.seq,
      recordedAt: original?.recordedAt,
      duplicate: true,
    });
  });

  it('rejects an action that carries deviceSeq as INVALID_INPUT, storing nothing', async () => {
    const recordId = newId();
    const response = await submit([
      { ...action({ type: 'CREATE', recordId, recordType: 'birth' }), deviceSeq: 1 },
    ]);
    expect(response.status).toBe(200);
    const [result] = ((await response.json()) as { results: ActionResult[] }).results;
    expect(result).toMatchObject({ outcome: 'rejected', code: 'INVALID_INPUT', seq: null });
    expect(result?.errors?.map((e) => e.path)).toEqual(['deviceSeq']);
    expect(
      (await server.request('GET', `/api/v1/records/${recordId}`, { token: agent.token })).status,
    ).toBe(404);
  });

  it('answers an empty actions list and a missing list 400', async () => {
    const empty = await expectWellFormedProblem(await submit([]), 400, 'INVALID_INPUT');
    expect(empty.errors?.map((e) => e.path)).toEqual(['body.actions']);
    const missing = await expectWellFormedProblem(
      await server.request('POST', '/api/v1/actions', { token: agent.token, body: {} }),
      400,
      'INVALID_INPUT',
    );
    expect(missing.errors?.map((e) => e.path)).toEqual(['body.actions']);
  });
});

describe('names that break naive code are stored byte-exact and found', () => {
  const NAMES = ["O'Brien", 'Nguyễn', '张伟'];
  const records = new Map<string, RecordState>();

  beforeAll(async () => {
    for (const name of NAMES) {
      const recordId = newId();
      const response = await server.request('POST', '/api/v1/actions', {
        token: agent.token,
        body: {
          actions: [
            action({ type: 'CREATE', recordId, recordType: 'birth' }),
            action({
              type: 'DECLARE',
              recordId,
              baseSeq: 1,
              declaration: {
                'child.firstName': name,
                'child.surname': 'Mwale',
                'child.dob': '2026-09-14',
                'child.sex': 'female',
                'mother.firstName': 'Ruth',
                'mother.surname': 'Mwale',
              },
            }),
          ],
        },
      });
      expect(response.status).toBe(200);
      const { results } = (await response.json()) as { results: ActionResult[] };
      expect(results.map((r) => r.outcome)).toEqual(['accepted', 'accepted']);
      const record = await server.request('GET', `/api/v1/records/${recordId}`, {
        token: agent.token,
      });
      expect(record.status).toBe(200);
      records.set(name, ((await record.json()) as { record: RecordState }).record);
    }
  });

  async function search(query: string): Promise<RecordState[]> {
    const response = await server.request('GET', `/api/v1/records?${query}`, {
      token: agent.token,
    });
    expect(response.status).toBe(200);
    return ((await response.json()) as { results: RecordState[] }).results;
  }

  it.each(NAMES)('stores %s byte-exact', (name) => {
    const record = records.get(name);
    expect(record?.status).toBe('DECLARED');
    const stored = record?.declaration['child.firstName'];
    expect(stored).toBe(name);
    expect(Buffer.from(String(stored), 'utf8').equals(Buffer.from(name, 'utf8'))).toBe(true);
  });

  it.each(NAMES)('finds %s by its tracking id', async (name) => {
    const record = records.get(name);
    const found = await search(`trackingId=${encodeURIComponent(record?.trackingId ?? '')}`);
    expect(found.map((r) => r.id)).toEqual([record?.id]);
    expect(found[0]?.declaration['child.firstName']).toBe(name);
  });

  it.each(["O'Brien", 'Nguyễn'])('finds %s by q, the exact name', async (name) => {
    const found = await search(`q=${encodeURIComponent(name)}`);
    expect(found[0]?.id).toBe(records.get(name)?.id);
    expect(found[0]?.declaration['child.firstName']).toBe(name);
  });

  // pg_trgm makes trigrams of CJK only where the database's LC_CTYPE calls them letters (the
  // embedded cluster: C.UTF-8); under LC_CTYPE=C this search would find nothing.
  it('finds 张伟 by q, the exact name, and only that record', async () => {
    const found = await search(`q=${encodeURIComponent('张伟')}`);
    expect(found.map((r) => r.id)).toEqual([records.get('张伟')?.id]);
  });

  it('finds a name whatever its accents and case: nguyen, NGUYÊN and Nguyễn alike', async () => {
    for (const q of ['nguyen', 'NGUYÊN', 'Nguyễn']) {
      const found = await search(`q=${encodeURIComponent(q)}`);
      expect(found[0]?.id).toBe(records.get('Nguyễn')?.id);
      expect(found[0]?.declaration['child.firstName']).toBe('Nguyễn');
    }
  });

  it('finds nothing for a name nobody has', async () => {
    expect(await search(`q=${encodeURIComponent('Zzyzxqwv')}`)).toEqual([]);
  });
});
