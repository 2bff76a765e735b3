import type { Entry, RecordState } from '@registra/core';
import { sql } from 'kysely';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importIdOf, importRecordId } from '../src/services/imports/index.js';
import { runCli, spawnCli } from './cli-process.js';
import { PASSWORD, startTestServer, type TestServer } from './harness.js';

const SAMPLE = 'examples/social-registry/import/individuals.csv';
const MAPPING = 'examples/social-registry/import/individuals.mapping.json';
const SOCIAL = { REGISTRA_CONFIG: 'social-registry' };
/** An import's CLI may take minutes on a shared, loaded machine: no timing is asserted. */
const CLI_TIMEOUT = 280_000;

let server: TestServer;
let dir: string;
beforeAll(async () => {
  server = await startTestServer('social-registry', { jobs: true });
  dir = mkdtempSync(path.join(tmpdir(), 'registra-import-test-'));
});
afterAll(() => server.close());

/** A machine client's token (PROTOCOL 2, client_credentials). */
async function clientToken(username: string): Promise<string> {
  const response = await server.request('POST', '/api/v1/auth/token', {
    body: { grant_type: 'client_credentials', client_id: username, client_secret: PASSWORD },
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { accessToken: string }).accessToken;
}

async function getRecord(id: string, token: string) {
  const response = await server.request('GET', `/api/v1/records/${id}`, { token });
  expect(response.status).toBe(200);
  return (await response.json()) as { record: RecordState; entries: Entry[] };
}

async function countOf(query: string, ...values: unknown[]): Promise<number> {
  const parts = query.split('?');
  const raw = sql.join(
    parts.map((part, i) => (i < values.length ? sql`${sql.raw(part)}${values[i]}` : sql.raw(part))),
    sql``,
  );
  const { rows } = await sql<{ n: number }>`${raw}`.execute(server.db);
  return Number(rows[0]?.n ?? 0);
}

interface Status {
  id: string;
  state: string;
  rowsDone: number;
  rowsImported: number;
  rowsRequested: number;
  rowsAlready: number;
  rowsFailed: number;
  rowsPerSecond: number;
  bytesDone: number;
  bytesTotal: number | null;
}

async function waitForImport(id: string, token: string): Promise<Status> {
  for (;;) {
    const response = await server.request('GET', `/api/v1/imports/${id}`, { token });
    expect(response.status).toBe(200);
    const status = (await response.json()) as Status;
    if (status.state === 'done' || status.state === 'failed') return status;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** `n` generated individuals as CSV lines, keyed GEN-<i>, each a different person. */
function generatedCsv(n: number, prefix: string): string {
  const lines = ['survey_id,first_name,last_name,birth_date,sex,national_id,relation,disabled'];
  for (let i = 1; i <= n; i++) {
    const day = String((i % 28) + 1).padStart(2, '0');
    const month = String((i % 12) + 1).padStart(2, '0');
    lines.push(
      `${prefix}-${i},Given${i.toString(36)},Family${(i * 7919).toString(36)},${day}/${month}/${1950 + (i % 60)},${i % 2 ? 'F' : 'M'},${String(1_000_000_000 + i)},other,no`,
    );
  }
  return lines.join('\n') + '\n';
}

describe('registra import (issue 16, point 2)', () => {
  it('imports the example CSV: rows land, rows with errors are reported by row and field, a re-run lands nothing twice, dedup flags the repeated person', async () => {
    const errorsFile = path.join(dir, 'errors.csv');
    const args = ['import', SAMPLE, '--type', 'individual', '--mapping', MAPPING];
    const first = await runCli(
      server,
      [...args, '--as', 'importer.trusted', '--errors', errorsFile],
      SOCIAL,
      CLI_TIMEOUT,
    );
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(
      /305 rows .*: 301 imported, 0 waiting for approval, 0 already imported, 4 with errors/,
    );

    const report = readFileSync(errorsFile, 'utf8').trim().split('\n');
    expect(report[0]).toBe('row,key,field,message');
    const byRow = report.slice(1).map((line) => line.split(','));
    expect(byRow.map(([row, key, field]) => [row, key, field])).toEqual([
      ['302', 'SR-00302', 'person.dob'],
      ['303', 'SR-00303', 'person.firstName'],
      ['304', 'SR-00304', 'person.sex'],
      ['305', 'SR-00305', 'person.nid'],
    ]);
    // The message is a CSV cell: its quotes are doubled.
    expect(report[1]).toContain('""31/02/1990"" is not a date');

    const importId = importIdOf('individual', 'individuals.csv');
    expect(
      await countOf(
        `SELECT count(*) AS n FROM records WHERE type = 'individual' AND status = 'DECLARED'`,
      ),
    ).toBe(301);
    // Rows with errors leave nothing behind.
    expect(
      await countOf(
        `SELECT count(*) AS n FROM records WHERE id = ?::uuid`,
        importRecordId(importId, 'SR-00302'),
      ),
    ).toBe(0);

    const token = (await server.login('supervisor')).token;
    const record = await getRecord(importRecordId(importId, 'SR-00011'), token);
    expect(record.record.declaration).toMatchObject({
      'person.firstName': 'Peter',
      'person.surname': 'Sakala',
      'person.dob': '2003-12-25',
      'person.sex': 'male',
      'person.nid': '0858215646',
      'person.disability': false,
    });
    // (The deduplication job may append DUPLICATES_FOUND after them.)
    expect(record.entries.slice(0, 2).map((e) => [e.type, e.status, e.createdByRole])).toEqual([
      ['CREATE', 'accepted', 'trusted-importer'],
      ['DECLARE', 'accepted', 'trusted-importer'],
    ]);

    // The same person entered twice (SR-00301, a typo in the first name) is flagged by the job.
    let repeated = await getRecord(importRecordId(importId, 'SR-00301'), token);
    for (let i = 0; i < 200 && !repeated.record.flags.includes('duplicate:suspected'); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      repeated = await getRecord(importRecordId(importId, 'SR-00301'), token);
    }
    expect(repeated.record.flags).toContain('duplicate:suspected');
    expect(repeated.record.duplicates?.map((c) => c.recordId)).toContain(
      importRecordId(importId, 'SR-00011'),
    );

    const again = await runCli(server, [...args, '--as', 'importer.trusted'], SOCIAL, CLI_TIMEOUT);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(
      /305 rows .*: 0 imported, 0 waiting for approval, 301 already imported, 4 with errors/,
    );
    expect(
      await countOf(
        `SELECT count(*) AS n FROM records WHERE type = 'individual' AND status = 'DECLARED'`,
      ),
    ).toBe(301);
    expect(
      await countOf(
        `SELECT count(*) AS n FROM entries WHERE type = 'DECLARE' AND body -> 'annotation' ->> 'importId' = ?`,
        importId,
      ),
    ).toBe(301);
  }, 300_000);

  it('an import killed halfway and run again lands each row exactly once', async () => {
    const rows = 1500;
    const file = path.join(dir, 'killed.csv');
    writeFileSync(file, generatedCsv(rows, 'KILL'));
    const args = [
      'import',
      file,
      '--type',
      'individual',
      '--mapping',
      MAPPING,
      '--as',
      'importer.trusted',
    ];
    const importId = importIdOf('individual', 'killed.csv');
    const child = spawnCli(server, args, SOCIAL);
    const exited = new Promise<number | null>((resolve) =>
      child.on('exit', (code) => resolve(code)),
    );
    let done = 0;
    while (done < 250) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      done = await countOf(
        `SELECT coalesce(max(rows_done), 0) AS n FROM imports WHERE id = ?::uuid`,
        importId,
      );
    }
    child.kill('SIGKILL');
    expect(await exited).toBeNull();
    const landed = await countOf(
      `SELECT count(*) AS n FROM entries WHERE type = 'DECLARE' AND body -> 'annotation' ->> 'importId' = ?`,
      importId,
    );
    expect(landed).toBeGreaterThan(0);
    expect(landed).toBeLessThan(rows);

    const rerun = await runCli(server, args, SOCIAL, CLI_TIMEOUT);
    expect(rerun.code).toBe(0);
    const match =
      /(\d+) rows .*: (\d+) imported, 0 waiting for approval, (\d+) already imported, 0 with errors/.exec(
        rerun.stdout,
      );
    expect(match).not.toBeNull();
    const [, total, imported, already] = (match ?? []).map(Number);
    expect(total).toBe(rows);
    expect(already).toBeGreaterThanOrEqual(landed);
    expect((imported ?? 0) + (already ?? 0)).toBe(rows);
    expect(
      await countOf(
        `SELECT count(*) AS n FROM entries WHERE type = 'DECLARE' AND body -> 'annotation' ->> 'importId' = ?`,
        importId,
      ),
    ).toBe(rows);
    expect(
      await countOf(
        `SELECT count(*) AS n FROM (SELECT record_id FROM entries WHERE body -> 'annotation' ->> 'importId' = ? GROUP BY record_id HAVING count(*) > 1) t`,
        importId,
      ),
    ).toBe(0);
  }, 600_000);

  it('imports JSON lines over the API with progress and an error report to download; a bad mapping is a 400 saying where', async () => {
    const token = await clientToken('importer.trusted');
    const mapping = {
      key: 'ref',
      fields: {
        'person.firstName': 'name.given',
        'person.surname': 'name.family',
        'person.dob': 'born',
        'person.sex': 'sex',
      },
    };
    const bad = await server.request('POST', '/api/v1/imports', {
      token,
      body: {
        recordType: 'individual',
        source: 'api.jsonl',
        format: 'jsonl',
        mapping: { ...mapping, fields: { 'person.nope': 'x' } },
      },
    });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toContain('application/problem+json');
    const problem = (await bad.json()) as { code: string; errors: { path: string }[] };
    expect(problem.code).toBe('INVALID_INPUT');
    expect(problem.errors.map((e) => e.path)).toEqual(['mapping.fields.person.nope']);

    const created = await server.request('POST', '/api/v1/imports', {
      token,
      body: { recordType: 'individual', source: 'api.jsonl', format: 'jsonl', mapping },
    });
    expect(created.status).toBe(201);
    const { id, state } = (await created.json()) as Status;
    expect(state).toBe('waiting');
    const lines = [];
    for (let i = 1; i <= 600; i++) {
      lines.push(
        JSON.stringify({
          ref: `J${i}`,
          name: { given: `Jay${i.toString(36)}`, family: `Lines${(i * 31).toString(36)}` },
          born: '1990-01-02',
          sex: 'female',
        }),
      );
    }
    lines.push(
      JSON.stringify({ ref: 'J601', name: { given: 'Late' }, born: '1990-01-02', sex: 'female' }),
    );
    lines.push('{not json');
    const put = await fetch(`${server.url}/api/v1/imports/${id}/rows`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson' },
      body: lines.join('\n') + '\n',
    });
    expect(put.status).toBe(202);
    const status = await waitForImport(id, token);
    expect(status).toMatchObject({
      state: 'done',
      rowsDone: 602,
      rowsImported: 600,
      rowsFailed: 2,
    });
    expect(status.bytesDone).toBe(status.bytesTotal);
    expect(status.rowsPerSecond).toBeGreaterThan(0);

    const errors = await server.request('GET', `/api/v1/imports/${id}/errors`, { token });
    expect(errors.status).toBe(200);
    expect(errors.headers.get('content-type')).toContain('text/csv');
    expect(errors.headers.get('content-disposition')).toContain('attachment');
    expect((await errors.text()).trim().split('\n')).toEqual([
      'row,key,field,message',
      '601,J601,person.surname,is required',
      '602,602,,the line is not valid JSON',
    ]);
  }, 120_000);

  it('an import that needs approval counts only once a supervisor approves it (maker-checker)', async () => {
    const file = path.join(dir, 'checked.csv');
    writeFileSync(file, generatedCsv(40, 'CHK'));
    const args = ['import', file, '--type', 'individual', '--mapping', MAPPING, '--as', 'importer'];
    const run = await runCli(server, args, SOCIAL, CLI_TIMEOUT);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/40 rows .*: 0 imported, 40 waiting for approval/);
    const importId = importIdOf('individual', 'checked.csv');
    const token = (await server.login('supervisor')).token;
    const one = importRecordId(importId, 'CHK-1');
    const waiting = await getRecord(one, token);
    expect(waiting.record.status).toBe('CREATED');
    expect(waiting.record.flags).toContain('declare:requested');
    expect(waiting.record.declaration).toEqual({});

    const approved = await server.request('POST', `/api/v1/imports/${importId}/approve`, { token });
    expect(approved.status).toBe(200);
    expect(await approved.json()).toEqual({ approved: 40, notApproved: [] });
    const counted = await getRecord(one, token);
    expect(counted.record.status).toBe('DECLARED');
    expect(counted.record.declaration['person.nid']).toBe('1000000001');
    const again = await server.request('POST', `/api/v1/imports/${importId}/approve`, { token });
    expect(await again.json()).toEqual({ approved: 0, notApproved: [] });
  }, 300_000);
});
