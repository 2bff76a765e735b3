import type { ActionResult, Entry, RecordState } from '@registra/core';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import jsqrModule from 'jsqr';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

const run = promisify(execFile);
// jsqr is CommonJS: its module object is the function its types call the default export.
const jsQR = jsqrModule as unknown as typeof jsqrModule.default;
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

let server: TestServer;
let clinic: TestServer;
let agent: Session;
let registrar: Session;
let registrar2: Session;
let work: string;
beforeAll(async () => {
  [server, clinic] = await Promise.all([startTestServer(), startTestServer('clinic')]);
  agent = await server.login('agent');
  registrar = await server.login('registrar');
  registrar2 = await server.login('registrar2');
  work = await mkdtemp(path.join(tmpdir(), 'registra-certificates-'));
});
afterAll(async () => {
  await Promise.all([server?.close(), clinic?.close()]);
  await rm(work, { recursive: true, force: true });
});

const COLLECTOR = {
  relationship: 'mother',
  name: 'Chanda Mwila',
  idType: 'NID',
  idNumber: '123456/78/9',
};

async function registered(recordType: 'birth' | 'death' = 'birth'): Promise<RecordState> {
  const device = new Device(server, registrar);
  let recordId: string;
  if (recordType === 'birth') {
    recordId = await declareBirth(new Device(server, agent));
  } else {
    recordId = newId();
    const results = await new Device(server, agent).push(
      action({ type: 'CREATE', recordId, recordType: 'death' }),
      action({ type: 'DECLARE', recordId, declaration: DEATH }),
    );
    expect(results.map((r) => r.outcome)).toEqual(['accepted', 'accepted']);
  }
  const results = await device.push(
    action({ type: 'ASSIGN', recordId, assignee: registrar.user.id }),
    action({ type: 'REGISTER', recordId }),
  );
  expect(results.map((r) => r.outcome)).toEqual(['accepted', 'accepted']);
  return (await getRecord(recordId)).record;
}

const DEATH = {
  'deceased.firstName': 'Mwansa',
  'deceased.surname': 'Phiri',
  'deceased.sex': 'male',
  'death.date': '2026-11-01',
  'death.manner': 'natural',
  'informant.name': { firstName: 'Bupe', surname: 'Phiri' },
};

async function getRecord(id: string): Promise<{ record: RecordState; entries: Entry[] }> {
  const response = await server.request('GET', `/api/v1/records/${id}`, { token: registrar.token });
  expect(response.status).toBe(200);
  return (await response.json()) as { record: RecordState; entries: Entry[] };
}

async function certificate(
  recordId: string,
  options: { template?: string; lang?: string; session?: Session; on?: TestServer } = {},
): Promise<Response> {
  const query = options.lang ? `?lang=${options.lang}` : '';
  return (options.on ?? server).request(
    'GET',
    `/api/v1/records/${recordId}/certificates/${options.template ?? 'birth-certificate'}${query}`,
    { token: (options.session ?? registrar).token },
  );
}

async function pdfOf(response: Response): Promise<string> {
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe('application/pdf');
  const file = path.join(work, `${newId()}.pdf`);
  await writeFile(file, Buffer.from(await response.arrayBuffer()));
  return file;
}

/** The PDF's text, read back with poppler's pdftotext. */
async function textOf(pdf: string): Promise<string> {
  return (await run('pdftotext', ['-layout', pdf, '-'])).stdout;
}

/** The QR code on the PDF's first page: rendered at 300 dpi with pdftoppm, decoded with jsQR. */
async function qrOf(pdf: string): Promise<string> {
  const prefix = path.join(work, newId());
  await run('pdftoppm', ['-png', '-r', '300', '-singlefile', '-gray', pdf, prefix]);
  const png = PNG.sync.read(await readFile(`${prefix}.png`));
  const code = jsQR(new Uint8ClampedArray(png.data), png.width, png.height);
  if (!code) throw new Error('no QR code found on the page');
  return code.data;
}

interface Verification {
  valid: boolean;
  status: 'active' | 'revoked' | 'superseded' | null;
  claims: Record<string, unknown> | null;
  errors: { code: string; message: string }[];
}

async function verify(credential: unknown, on = server): Promise<Verification> {
  const response = await on.request('POST', '/api/v1/credentials/verify', {
    body: { credential },
  });
  expect(response.status).toBe(200);
  return (await response.json()) as Verification;
}

async function credentialOf(recordId: string, on = server, session = registrar): Promise<string> {
  const response = await on.request('GET', `/api/v1/records/${recordId}/credential`, {
    token: session.token,
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { credential: string }).credential;
}

async function jwks(on = server): Promise<JSONWebKeySet> {
  const response = await on.request('GET', '/.well-known/jwks.json');
  expect(response.status).toBe(200);
  return (await response.json()) as JSONWebKeySet;
}

describe('the certificate PDF', () => {
  it('holds the registration number and the names, in English and in French', async () => {
    const record = await registered();
    const english = await textOf(await pdfOf(await certificate(record.id)));
    expect(record.registrationNumber).toMatch(/^B2026/);
    for (const text of [
      record.registrationNumber as string,
      'Birth certificate',
      BIRTH['child.firstName'],
      BIRTH['child.surname'],
      BIRTH['mother.firstName'],
    ]) {
      expect(english).toContain(text);
    }
    const french = await textOf(await pdfOf(await certificate(record.id, { lang: 'fr' })));
    expect(french).toContain('Acte de naissance');
    expect(french).toContain(record.registrationNumber);
  });

  it("carries a QR code whose credential verifies against the registry's JWKS", async () => {
    const record = await registered();
    const pdf = await pdfOf(await certificate(record.id));
    const credential = await qrOf(pdf);
    expect(credential).toBe(await credentialOf(record.id));

    const keys = await jwks();
    const credentialKeys = keys.keys.filter(
      (k) => (k as { purpose?: string }).purpose === 'credential',
    );
    expect(credentialKeys.length).toBeGreaterThan(0);
    expect(keys.keys.some((k) => (k as { purpose?: string }).purpose === 'access-token')).toBe(
      true,
    );
    const { payload, protectedHeader } = await jwtVerify(
      credential,
      createLocalJWKSet({ keys: credentialKeys }),
      { typ: 'vc+jwt', algorithms: ['ES256'] },
    );
    expect(protectedHeader.typ).toBe('vc+jwt');
    expect(payload['type']).toContain('VerifiableCredential');
    expect(payload['credentialSubject']).toMatchObject({
      registrationNumber: record.registrationNumber,
      firstName: BIRTH['child.firstName'],
      surname: BIRTH['child.surname'],
    });
    // An access-token key does not verify credentials, nor does a credential key tokens.
    const tokenKeys = keys.keys.filter(
      (k) => (k as { purpose?: string }).purpose === 'access-token',
    );
    await expect(jwtVerify(credential, createLocalJWKSet({ keys: tokenKeys }))).rejects.toThrow();

    expect(await verify(credential)).toMatchObject({
      valid: true,
      status: 'active',
      errors: [],
      claims: {
        registrationNumber: record.registrationNumber,
        firstName: BIRTH['child.firstName'],
      },
    });
  });

  it('is answered 404 out of reach, 403 without the print permission, 409 before registration', async () => {
    const record = await registered();
    const far = await server.login('agent.far');
    await expectProblem(await certificate(record.id, { session: far }), 404, 'NOT_FOUND');
    await expectProblem(await certificate(record.id, { session: agent }), 403, 'FORBIDDEN');
    await expectProblem(
      await certificate(record.id, { template: 'death-certificate' }),
      404,
      'NOT_FOUND',
    );
    await expectProblem(await certificate(record.id, { lang: 'sw' }), 400, 'INVALID_INPUT');
    const declared = await declareBirth(new Device(server, agent));
    await expectProblem(await certificate(declared), 409, 'INVALID_TRANSITION');
  });
});

describe('verification', () => {
  it('fails a credential with one changed byte', async () => {
    const credential = await credentialOf((await registered()).id);
    const [header, payload, signature] = credential.split('.') as [string, string, string];
    const at = Math.floor(payload.length / 2);
    const changed = payload[at] === 'A' ? 'B' : 'A';
    const tampered = `${header}.${payload.slice(0, at)}${changed}${payload.slice(at + 1)}.${signature}`;
    expect(await verify(tampered)).toMatchObject({
      valid: false,
      errors: [{ code: 'SIGNATURE_INVALID' }],
    });
  });

  it('answers 200 valid:false to anything unreadable', async () => {
    for (const credential of ['not a credential', '', 42, null, 'a.b.c', 'x'.repeat(20_000)]) {
      const result = await verify(credential);
      expect(result).toMatchObject({ valid: false, status: null, claims: null });
      expect(result.errors[0]?.code).toBe('UNREADABLE');
    }
  });

  it('says a credential from another deployment is not from this registry', async () => {
    const manager = await clinic.login('manager');
    const booking = await bookAppointment(manager);
    const foreign = await credentialOf(booking, clinic, manager);
    expect(await verify(foreign, clinic)).toMatchObject({ valid: true, status: 'active' });
    const result = await verify(foreign);
    expect(result).toMatchObject({ valid: false, errors: [{ code: 'NOT_FROM_THIS_REGISTRY' }] });
    expect(result.errors[0]?.message).toContain('not from this registry');
  });
});

async function bookAppointment(session: Session): Promise<string> {
  const recordId = newId();
  const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
  const results = await new Device(clinic, session).push(
    action({
      type: 'CREATE',
      recordId,
      recordType: 'appointment',
      occurredAt: new Date().toISOString(),
    }),
    action({
      type: 'DECLARE',
      recordId,
      baseSeq: 1,
      occurredAt: new Date().toISOString(),
      declaration: {
        'patient.firstName': 'Mutale',
        'patient.surname': 'Banda',
        'appointment.date': tomorrow,
        'appointment.time': '09:30',
        'appointment.facility': 'ibombo-clinic',
        'appointment.service': 'antenatal',
      },
    }),
  );
  expect(results.map((r) => r.outcome)).toEqual(['accepted', 'accepted']);
  return recordId;
}

/** The bit of a credential in one of the registry's status lists, read as a verifier would. */
async function statusBit(credential: string, purpose: 'revocation' | 'message'): Promise<boolean> {
  const { decodeJwt } = await import('jose');
  const { decodeStatusList } = await import('@registra/core');
  const entries = decodeJwt(credential)['credentialStatus'] as {
    statusPurpose: string;
    statusListIndex: string;
    statusListCredential: string;
  }[];
  const entry = entries.find((e) => e.statusPurpose === purpose);
  if (!entry) throw new Error(`no ${purpose} entry`);
  const listId = entry.statusListCredential.split('/').pop() as string;
  const response = await fetch(`${server.url}/api/v1/credentials/status/${listId}`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^application\/vc\+jwt/);
  const list = decodeJwt(await response.text()) as {
    credentialSubject: { encodedList: string; statusPurpose: string };
  };
  expect(list.credentialSubject.statusPurpose).toBe(purpose);
  return (await decodeStatusList(list.credentialSubject.encodedList))(
    Number(entry.statusListIndex),
  );
}

describe('status', () => {
  it('an approved correction supersedes earlier credentials; the next certificate carries a new one', async () => {
    const record = await registered();
    const before = await credentialOf(record.id);
    const maker = new Device(server, registrar);
    const [, requested] = await maker.push(
      action({ type: 'ASSIGN', recordId: record.id, assignee: registrar.user.id }),
      action({
        type: 'CORRECT',
        recordId: record.id,
        declaration: { 'child.firstName': 'Chileshe' },
      }),
    );
    expect(requested?.outcome).toBe('requested');
    // Requested, not yet approved: still active.
    expect((await verify(before)).status).toBe('active');
    const checker = new Device(server, registrar2);
    const decided = await checker.push(
      action({ type: 'ASSIGN', recordId: record.id, assignee: registrar2.user.id }),
      action({ type: 'APPROVE', recordId: record.id, requestId: (requested as ActionResult).id }),
    );
    expect(decided.map((r) => r.outcome)).toEqual(['accepted', 'accepted']);

    expect(await verify(before)).toMatchObject({ valid: true, status: 'superseded' });
    expect(await statusBit(before, 'message')).toBe(true);
    expect(await statusBit(before, 'revocation')).toBe(false);
    const after = await credentialOf(record.id);
    expect(after).not.toBe(before);
    expect(await verify(after)).toMatchObject({
      status: 'active',
      claims: { firstName: 'Chileshe' },
    });
    const text = await textOf(await pdfOf(await certificate(record.id)));
    expect(text).toContain('Chileshe');
  });

  it('a configured revocation action revokes, and no certificate is issued after it', async () => {
    const record = await registered('death');
    const credential = await credentialOf(record.id);
    expect(await statusBit(credential, 'revocation')).toBe(false);
    const results = await new Device(server, registrar).push(
      action({ type: 'ASSIGN', recordId: record.id, assignee: registrar.user.id }),
      action({ type: 'CUSTOM', customType: 'REVOKE', recordId: record.id }),
    );
    expect(results.map((r) => r.outcome)).toEqual(['accepted', 'accepted']);
    expect(await verify(credential)).toMatchObject({ valid: true, status: 'revoked' });
    expect(await statusBit(credential, 'revocation')).toBe(true);
    await expectProblem(
      await certificate(record.id, { template: 'death-certificate' }),
      409,
      'REVOKED',
    );
  });

  it('ARCHIVE revokes (a booking slip, printable once booked, then archived)', async () => {
    const manager = await clinic.login('manager');
    const booking = await bookAppointment(manager);
    const slip = await clinic.request(
      'GET',
      `/api/v1/records/${booking}/certificates/appointment-slip`,
      { token: manager.token },
    );
    const text = await textOf(await pdfOf(slip));
    expect(text).toContain('Mutale Banda');
    const credential = await credentialOf(booking, clinic, manager);
    const [archived] = await new Device(clinic, manager).push(
      action({
        type: 'ARCHIVE',
        recordId: booking,
        occurredAt: new Date().toISOString(),
        annotation: { reason: 'booked twice' },
      }),
    );
    expect(archived?.outcome).toBe('accepted');
    expect(await verify(credential, clinic)).toMatchObject({ valid: true, status: 'revoked' });
  });
});

describe('issuer keys', () => {
  it('`registra keys rotate`: old credentials still verify, new ones use the new key, both published', async () => {
    const old = await credentialOf((await registered()).id);
    const before = (await jwks()).keys.filter(
      (k) => (k as { purpose?: string }).purpose === 'credential',
    );
    await run(
      process.execPath,
      ['--import', 'tsx', 'packages/server/src/cli.ts', 'keys', 'rotate'],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          DATABASE_URL: server.databaseUrl,
          REGISTRA_KEY_FILE: server.keyFile,
          REGISTRA_SEED_DEMO_USERS: 'false',
          LOG_LEVEL: 'warn',
        },
      },
    );
    const after = (await jwks()).keys.filter(
      (k) => (k as { purpose?: string }).purpose === 'credential',
    );
    expect(after.length).toBe(before.length + 1);
    expect(after.filter((k) => (k as { status?: string }).status === 'current')).toHaveLength(1);
    for (const key of before) {
      expect(after.find((k) => k.kid === key.kid)).toMatchObject({ status: 'retired' });
    }

    expect(await verify(old)).toMatchObject({ valid: true, status: 'active' });
    const fresh = await credentialOf((await registered()).id);
    const kidOf = async (jwt: string) => (await import('jose')).decodeProtectedHeader(jwt).kid;
    expect(await kidOf(fresh)).toBe(
      after.find((k) => (k as { status?: string }).status === 'current')?.kid,
    );
    expect(await kidOf(fresh)).not.toBe(await kidOf(old));
    expect(await verify(fresh)).toMatchObject({ valid: true, status: 'active' });
  });
});

describe('PRINT_CERTIFICATE', () => {
  it('needs the template and the collector; each print counts', async () => {
    const record = await registered();
    const device = new Device(server, registrar);
    const results = await device.push(
      action({ type: 'ASSIGN', recordId: record.id, assignee: registrar.user.id }),
      action({ type: 'PRINT_CERTIFICATE', recordId: record.id }),
      action({
        type: 'PRINT_CERTIFICATE',
        recordId: record.id,
        annotation: { templateId: 'birth-certificate', collector: COLLECTOR },
      }),
      action({
        type: 'PRINT_CERTIFICATE',
        recordId: record.id,
        annotation: { templateId: 'birth-certificate', collector: COLLECTOR },
      }),
    );
    expect(results.map((r) => [r.outcome, r.code])).toEqual([
      ['accepted', null],
      ['rejected', 'INVALID_INPUT'],
      ['accepted', null],
      ['accepted', null],
    ]);
    expect((await getRecord(record.id)).record.printCount).toBe(2);
  });
});
