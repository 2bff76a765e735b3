import { runCli } from './cli-process.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BIRTH,
  declareBirth,
  Device,
  expectProblem,
  startTestServer,
  type TestServer,
} from './harness.js';

/** User management: the admin API (`user.manage`) and the `registra users ...` CLI. */

let server: TestServer;
let adminToken: string;
beforeAll(async () => {
  server = await startTestServer();
  adminToken = (await server.login('admin')).token;
});
afterAll(() => server.close());

interface User {
  id: string;
  username: string;
  name: string;
  role: string;
  officeId: string;
  kind: 'user' | 'client';
  active: boolean;
}

const createUser = (body: Record<string, unknown>, token = adminToken) =>
  server.request('POST', '/api/v1/users', { token, body });

const tokenRequest = (body: Record<string, string>) =>
  server.request('POST', '/api/v1/auth/token', { body });

const passwordLogin = (username: string, password: string) =>
  tokenRequest({ grant_type: 'password', username, password });

/** Asserts that the password grant refuses these credentials: 401 INVALID_CREDENTIALS. */
const expectLoginRefused = async (username: string, password: string) =>
  expectProblem(await passwordLogin(username, password), 401, 'INVALID_CREDENTIALS');

const VALID = {
  name: 'Chanda Mulenga',
  role: 'registrar',
  officeId: 'ibombo-office',
  password: 'a-long-password-1',
};

describe('the users API', () => {
  it('lists users for an admin, without secrets', async () => {
    const response = await server.request('GET', '/api/v1/users', { token: adminToken });
    expect(response.status).toBe(200);
    const { users } = (await response.json()) as { users: User[] };
    expect(users.map((u) => u.username)).toEqual(
      expect.arrayContaining([
        'admin',
        'agent',
        'agent.far',
        'registrar',
        'registrar2',
        'supervisor',
      ]),
    );
    expect(users.find((u) => u.username === 'agent')).toEqual({
      id: expect.any(String),
      username: 'agent',
      name: 'Kalusha Bwalya',
      role: 'field-agent',
      officeId: 'ibombo-office',
      kind: 'user',
      active: true,
    });
    for (const user of users) {
      expect(Object.keys(user).sort()).toEqual([
        'active',
        'id',
        'kind',
        'name',
        'officeId',
        'role',
        'username',
      ]);
    }
  });

  it('creates a user (201) who can then log in', async () => {
    const response = await createUser({ ...VALID, username: 'chanda' });
    expect(response.status).toBe(201);
    const created = (await response.json()) as User;
    expect(created).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      username: 'chanda',
      name: 'Chanda Mulenga',
      role: 'registrar',
      officeId: 'ibombo-office',
      kind: 'user',
      active: true,
    });

    const login = await passwordLogin('chanda', VALID.password);
    expect(login.status).toBe(200);
    const { user, accessToken } = (await login.json()) as {
      user: { id: string; username: string; role: string };
      accessToken: string;
    };
    expect(user).toMatchObject({ id: created.id, username: 'chanda', role: 'registrar' });
    const me = await server.request('GET', '/api/v1/me', { token: accessToken });
    expect(me.status).toBe(200);

    const list = await server.request('GET', '/api/v1/users', { token: adminToken });
    const { users } = (await list.json()) as { users: User[] };
    expect(users).toContainEqual(created);
  });

  it('creates a machine client that authenticates with client_credentials only', async () => {
    const response = await createUser({ ...VALID, username: 'crvs-hook', kind: 'client' });
    expect(response.status).toBe(201);
    expect(await response.json()).toMatchObject({ username: 'crvs-hook', kind: 'client' });
    const client = await tokenRequest({
      grant_type: 'client_credentials',
      client_id: 'crvs-hook',
      client_secret: VALID.password,
    });
    expect(client.status).toBe(200);
    await expectLoginRefused('crvs-hook', VALID.password);
  });

  it('answers a taken username 409 USERNAME_TAKEN and keeps the first user', async () => {
    const first = await createUser({ ...VALID, username: 'twice' });
    expect(first.status).toBe(201);
    await expectProblem(
      await createUser({ ...VALID, username: 'twice', password: 'another-password-2' }),
      409,
      'USERNAME_TAKEN',
    );
    await expectProblem(await createUser({ ...VALID, username: 'agent' }), 409, 'USERNAME_TAKEN');
    expect((await passwordLogin('twice', VALID.password)).status).toBe(200);
    await expectLoginRefused('twice', 'another-password-2');
  });

  it('answers an unknown role 400 at the role', async () => {
    const problem = await expectProblem(
      await createUser({ ...VALID, username: 'norole', role: 'emperor' }),
      400,
      'INVALID_INPUT',
    );
    expect(problem.errors).toEqual([{ path: 'role', message: expect.any(String) }]);
  });

  it('answers an unknown office, or a location that is not an office, 400 at the office', async () => {
    for (const officeId of ['atlantis-office', 'ibombo', 'farajaland']) {
      const problem = await expectProblem(
        await createUser({ ...VALID, username: 'nooffice', officeId }),
        400,
        'INVALID_INPUT',
      );
      expect(problem.errors).toEqual([{ path: 'officeId', message: expect.any(String) }]);
    }
  });

  it('answers a short password 400 at body.password', async () => {
    const problem = await expectProblem(
      await createUser({ ...VALID, username: 'shorty', password: 'short' }),
      400,
      'INVALID_INPUT',
    );
    expect(problem.errors).toEqual([
      { path: 'body.password', message: 'must have at least 10 characters' },
    ]);
    await expectLoginRefused('shorty', 'short');
  });

  it('answers malformed users 400 with the paths of the faults', async () => {
    const cases: [Record<string, unknown>, string[]][] = [
      [{ ...VALID, username: 'Has Spaces' }, ['body.username']],
      [{ ...VALID, username: 'x' }, ['body.username']],
      [{ ...VALID, username: 'ok-name', name: '   ' }, ['body.name']],
      [{ ...VALID, username: 'ok-name', kind: 'robot' }, ['body.kind']],
      [{ ...VALID, username: 'ok-name', admin: true }, ['body']],
      [{ username: 'ok-name' }, ['body.name', 'body.officeId', 'body.password', 'body.role']],
    ];
    for (const [body, paths] of cases) {
      const problem = await expectProblem(await createUser(body), 400, 'INVALID_INPUT');
      expect(problem.errors?.map((e) => e.path).sort()).toEqual(paths);
    }
    await expectLoginRefused('ok-name', VALID.password);
  });

  it('needs user.manage: 403 for others, 401 without a token', async () => {
    const registrar = await server.login('registrar');
    await expectProblem(
      await createUser({ ...VALID, username: 'sneaky' }, registrar.token),
      403,
      'FORBIDDEN',
    );
    await expectProblem(
      await server.request('POST', '/api/v1/users', { body: { ...VALID, username: 'sneaky' } }),
      401,
      'UNAUTHENTICATED',
    );
    await expectLoginRefused('sneaky', VALID.password);
  });

  it('deactivates a user (their login fails) and answers 404 for an unknown one', async () => {
    expect((await createUser({ ...VALID, username: 'departing' })).status).toBe(201);
    const response = await server.request('POST', '/api/v1/users/departing/deactivate', {
      token: adminToken,
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ username: 'departing', active: false });
    await expectLoginRefused('departing', VALID.password);
    await expectProblem(
      await server.request('POST', '/api/v1/users/nobody-here/deactivate', { token: adminToken }),
      404,
      'NOT_FOUND',
    );
  });
});

/** Runs `registra <args>` as a process against the test server's database. */
const cli = (...args: string[]) => runCli(server, args);
const cliWith = (env: Record<string, string>, ...args: string[]) => runCli(server, args, env);

/** `registra users add` of a user of Ibombo's office, with `options` such as --client after. */
const cliAddUser = (
  user: { username: string; name: string; role: string; password: string },
  ...options: string[]
) =>
  cli(
    'users',
    'add',
    '--username',
    user.username,
    '--name',
    user.name,
    '--role',
    user.role,
    '--office',
    'ibombo-office',
    '--password',
    user.password,
    ...options,
  );

describe('the CLI', () => {
  it('adds a user who can log in through the HTTP server, and lists them', async () => {
    const added = await cliAddUser({
      username: 'cli.user',
      name: 'Mutale Zulu',
      role: 'field-agent',
      password: 'cli-password-1',
    });
    expect(added.stderr).toBe('');
    expect(added.code).toBe(0);
    expect(added.stdout).toMatch(/^created user cli\.user \([0-9a-f-]{36}\)\n$/);

    const login = await passwordLogin('cli.user', 'cli-password-1');
    expect(login.status).toBe(200);
    expect(((await login.json()) as { user: { name: string; role: string } }).user).toMatchObject({
      name: 'Mutale Zulu',
      role: 'field-agent',
    });

    const listed = await cli('users', 'list');
    expect(listed.code).toBe(0);
    const lines = listed.stdout.trim().split('\n');
    expect(lines).toContain(
      ['cli.user', 'Mutale Zulu', 'field-agent', 'ibombo-office', 'user', 'active'].join('\t'),
    );
    expect(lines).toContain(
      ['agent', 'Kalusha Bwalya', 'field-agent', 'ibombo-office', 'user', 'active'].join('\t'),
    );
  });

  it('adds a machine client with --client', async () => {
    const added = await cliAddUser(
      {
        username: 'cli.client',
        name: 'Registry hook',
        role: 'registrar',
        password: 'cli-client-secret',
      },
      '--client',
    );
    expect(added.code).toBe(0);
    expect(added.stdout).toMatch(/^created client cli\.client /);
    const response = await tokenRequest({
      grant_type: 'client_credentials',
      client_id: 'cli.client',
      client_secret: 'cli-client-secret',
    });
    expect(response.status).toBe(200);
  });

  it('refuses an invalid user with exit code 1 and says what is wrong', async () => {
    const result = await cliAddUser({
      username: 'cli.bad',
      name: 'Bad Role',
      role: 'emperor',
      password: 'cli-password-1',
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('unknown role "emperor"');
    const taken = await cliAddUser({
      username: 'agent',
      name: 'Someone Else',
      role: 'field-agent',
      password: 'cli-password-1',
    });
    expect(taken.code).toBe(1);
    expect(taken.stderr).toContain('the username "agent" is taken');
    await expectLoginRefused('cli.bad', 'cli-password-1');
  });

  it('deactivates a user: their login fails and their tokens stop working', async () => {
    expect((await createUser({ ...VALID, username: 'cli.leaver' })).status).toBe(201);
    const login = await passwordLogin('cli.leaver', VALID.password);
    expect(login.status).toBe(200);
    const { accessToken } = (await login.json()) as { accessToken: string };

    const result = await cli('users', 'deactivate', 'cli.leaver');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('deactivated cli.leaver\n');

    await expectLoginRefused('cli.leaver', VALID.password);
    await expectProblem(
      await server.request('GET', '/api/v1/me', { token: accessToken }),
      401,
      'INVALID_TOKEN',
    );
    const listed = await cli('users', 'list');
    expect(listed.stdout).toMatch(/^cli\.leaver\t.*\tinactive$/m);

    const unknown = await cli('users', 'deactivate', 'nobody-here');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no user "nobody-here"');
  });

  it('verifies a consistent database: exit 0, 0 differences', async () => {
    await declareBirth(new Device(server, await server.login('agent')));

    const result = await cli('verify');
    expect(result.code).toBe(0);
    // The read model and chains, then the latest signed checkpoint (none made in this test).
    expect(result.stdout).toMatch(/^\d+ records, \d+ entries, 0 differences\nno checkpoint yet\n$/);
    const [, records] = /^(\d+) records/.exec(result.stdout) ?? [];
    expect(Number(records)).toBeGreaterThanOrEqual(1);
  });

  it('dedup --all checks every record with progress and flags a pair once', async () => {
    const device = new Device(server, await server.login('agent'));
    const names = { 'child.surname': 'Quarshie', 'mother.surname': 'Quarshie' };
    await declareBirth(device, { ...BIRTH, ...names, 'child.firstName': 'Obadiah' });
    await declareBirth(device, { ...BIRTH, ...names, 'child.firstName': 'Obadaih' });
    const result = await cli('dedup', '--all');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/checked \d+ of \d+ records, \d+ flagged…\n/);
    expect(result.stdout).toMatch(/checked \d+ records in [\d.]+ s \(\d+ records\/s\); 1 flagged/);
    expect((await cli('dedup')).code).toBe(1); // --all is the only way it runs
  });

  it('prints help and exits 1 on an unknown command', async () => {
    const result = await cli('frobnicate');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Usage: registra <command> [options]');
    expect(result.stderr).toContain('users add');

    const incomplete = await cli('users');
    expect(incomplete.code).toBe(1);
    expect(incomplete.stderr).toContain('Usage: registra');

    // No database is needed to say that a command does not exist.
    const nowhere = await cliWith({ DATABASE_URL: 'postgres://127.0.0.1:1/none' }, 'frobnicate');
    expect(nowhere.code).toBe(1);
    expect(nowhere.stderr).toContain('Usage: registra <command> [options]');
  });

  it('prints help and exits 0 with --help', async () => {
    const result = await cli('--help');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage: registra <command> [options]');
  });
});
