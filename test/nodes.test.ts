import { jsonEqual, loadConfigurationOrThrow, type Entry } from '@registra/core';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { sql } from 'kysely';
import { mkdtempSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type RegistraClient } from '../packages/client/src/index.js';
import { verifyReadModel } from '../packages/server/src/services/read-model.js';
import { resolveConfigDir } from '../packages/server/src/services/seed.js';
import { FileKeyProvider, Vault } from '../packages/server/src/services/vault/index.js';
import { freshDatabase, otherDatabasesSettled, PASSWORD } from '../packages/server/test/harness.js';
import { civilRegistryWithHooks, Receiver } from '../packages/server/test/receiver.js';
import { prng } from './support/prng.js';
import { RoundRobinProxy } from './support/round-robin-proxy.js';
import { ServerProcess } from './support/server-process.js';

/**
 * Several API nodes on one PostgreSQL (issue 17, point 2): three `registra start` processes on
 * their own ports, each with its job runner, behind a round-robin proxy. Many devices running the
 * real SDK capture births and sync through the proxy while one node is killed with SIGKILL in the
 * middle of the syncs and started again, and then every node in turn is restarted the way an
 * upgrade does it (SIGTERM: the node drains, then exits). In the end nothing is lost or doubled,
 * no device's cursor skipped an entry, every hook delivery happened (exactly once for the entries
 * appended without a SIGKILL in the way), login throttling counted attempts made on different
 * nodes together, and each node reports its own metrics. A second test proves the drain itself.
 */
const DEVICES = 8;
const ROUNDS = 6;
const RECORDS_PER_ROUND = 2;
const KILL_ROUND = 1;
const ROLLING_ROUND = 3;

const EVENTS_SECRET = `whsec_${Buffer.from('events secret').toString('base64')}`;
const RULES_SECRET = 'rules secret';
const ISSUER = 'http://registra.nodes.test';

const NAMES = ['Ama', 'Kofi', 'Chipo', 'Thandiwe', 'Mutale', 'Bwalya', 'Zanele', 'Nguyễn'];

let database: Awaited<ReturnType<typeof freshDatabase>>;
let receiver: Receiver;
let proxy: RoundRobinProxy;
let configDir: string;
let keyFile: string;
const nodes: ServerProcess[] = [];
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  database = await freshDatabase();
  cleanups.push(() => database.drop());
  receiver = await new Receiver({ '/rules': RULES_SECRET, '/events': EVENTS_SECRET }).start();
  cleanups.push(() => receiver.stop());
  // With deduplication: each DECLARE is a dedup job, and the many same births are flagged.
  configDir = civilRegistryWithHooks(() => undefined);
  keyFile = path.join(mkdtempSync(path.join(tmpdir(), 'registra-keys-')), 'keys.json');
  const env = {
    DATABASE_URL: database.url,
    REGISTRA_CONFIG: configDir,
    REGISTRA_DEMO_PASSWORD: PASSWORD,
    REGISTRA_SEED_DEMO_USERS: 'true',
    // What every node of one deployment shares: the issuer of its tokens, the signing key (kept in
    // the database: made by the first node) and the vault's key file.
    REGISTRA_ISSUER: ISSUER,
    REGISTRA_PUBLIC_URL: ISSUER,
    REGISTRA_KEY_FILE: keyFile,
    REGISTRA_EVENTS_URL: `${receiver.url}/events`,
    REGISTRA_EVENTS_SECRET: EVENTS_SECRET,
    REGISTRA_RULES_URL: `${receiver.url}/rules`,
    REGISTRA_RULES_SECRET: RULES_SECRET,
    // The hourly and daily jobs every minute, so that several of their periods pass in the run.
    REGISTRA_CHECKPOINT_SCHEDULE: '* * * * *',
    REGISTRA_FILE_CLEANUP_SCHEDULE: '* * * * *',
  };
  for (let i = 0; i < 3; i++) nodes.push(new ServerProcess(env));
  cleanups.push(() => Promise.all(nodes.map((node) => node.stop())));
  // The first node migrates, seeds the users and makes the signing key and the key file.
  await nodes[0]?.start();
  await Promise.all(nodes.slice(1).map((node) => node.start()));
  proxy = new RoundRobinProxy(await Promise.all(nodes.map((node) => node.port)));
  await proxy.start();
  cleanups.push(() => proxy.stop());
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const login = (base: string, username: string, password: string) =>
  fetch(`${base}/api/v1/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grant_type: 'password', username, password }),
  });

/** The sum of a metric's samples whose labels contain `labels`, in Prometheus' text format. */
function metricSum(text: string, name: string, labels = ''): number {
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .filter((line) => line.includes(labels))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

describe('three API nodes behind a round-robin proxy', () => {
  it('loses nothing, doubles nothing and skips nothing through a SIGKILL and a rolling restart', async () => {
    const random = prng(17);
    const devices: RegistraClient[] = Array.from({ length: DEVICES }, () =>
      createClient({
        baseUrl: proxy.url,
        indexedDB: new IDBFactory(),
        IDBKeyRange,
        backgroundSync: false,
        lockAfterMs: 0,
        // Several requests per sync, so that a kill or a drain falls in the middle of one.
        maxBatchBytes: 4_096,
      }),
    );
    cleanups.push(async () => devices.forEach((device) => device.close()));
    for (const device of devices) await device.login('agent', PASSWORD);

    const captured: string[] = [];
    const submit = async (
      device: RegistraClient,
      action: Parameters<RegistraClient['actions']['submit']>[0],
    ) => captured.push((await device.actions.submit(action)).id);
    const quietSync = (device: RegistraClient) => device.sync.now().catch(() => undefined);
    const syncAll = () => Promise.all(devices.map(quietSync));

    let droppedInRolling = -1;
    let errorsInRolling = -1;
    let resentInRolling = -1;
    let appendedBeforeRestart = new Set<string>();
    for (let round = 0; round < ROUNDS; round++) {
      for (const [d, device] of devices.entries()) {
        for (let r = 0; r < RECORDS_PER_ROUND; r++) {
          const recordId = crypto.randomUUID();
          const name = NAMES[(round + d + r) % NAMES.length] as string;
          await submit(device, { type: 'CREATE', recordId, recordType: 'birth' });
          await submit(device, {
            type: 'UPDATE',
            recordId,
            declaration: { 'child.firstName': name, 'child.surname': 'Banda' },
          });
          await submit(device, {
            type: 'DECLARE',
            recordId,
            declaration: {
              'child.dob': '2026-10-01',
              'child.sex': 'female',
              'mother.firstName': 'Grace',
              'mother.surname': 'Banda',
            },
          });
        }
      }
      if (round === KILL_ROUND) {
        // SIGKILL one node while every device syncs, then bring it back.
        const inFlight = syncAll();
        await new Promise((resolve) => setTimeout(resolve, 50 + random() * 200));
        await nodes[1]?.kill();
        await inFlight;
        await nodes[1]?.start();
        // Hook deliveries of entries appended until now may have been cut by the kill (at least
        // once); those of later entries must arrive exactly once.
        const rows = await database.db.selectFrom('entries').select('id').execute();
        appendedBeforeRestart = new Set(rows.map((row) => row.id));
      } else if (round === ROLLING_ROUND) {
        // An upgrade: each node in turn drains and exits (SIGTERM) while devices sync, and
        // starts again. No request may be dropped or answered with a server error.
        const dropped = proxy.dropped;
        const resent = proxy.resent;
        const errors = proxy.serverErrors.length;
        for (const node of nodes) {
          const inFlight = syncAll();
          await new Promise((resolve) => setTimeout(resolve, 50 + random() * 200));
          expect(await node.terminate()).toBe(0);
          await node.start();
          await inFlight;
        }
        droppedInRolling = proxy.dropped - dropped;
        resentInRolling = proxy.resent - resent;
        errorsInRolling = proxy.serverErrors.length - errors;
      } else {
        await syncAll();
      }
    }

    // The deduplication jobs are done (DUPLICATES_FOUND appended), and at least two periods of
    // the scheduled jobs passed since the nodes started.
    const queued = async (task: string) =>
      Number(
        // A job locked by the SIGKILLed node stays locked (graphile-worker frees it after 4
        // hours, jobs/index.ts): only those free to run are waited for.
        (
          await sql<{ n: string }>`SELECT count(*) AS n FROM graphile_worker.jobs
            WHERE task_identifier = ${task} AND locked_at IS NULL`.execute(database.db)
        ).rows[0]?.n,
      );
    const cronRuns = async (task: string) =>
      Number(
        (
          await sql<{ n: string }>`SELECT count(DISTINCT scheduled_for) AS n FROM cron_runs
            WHERE task = ${task}`.execute(database.db)
        ).rows[0]?.n,
      );
    for (let i = 0; i < 1_800 && (await queued('dedup.record')) > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(await queued('dedup.record')).toBe(0);
    for (let i = 0; i < 1_800 && (await cronRuns('checkpoint.make')) < 3; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    // A final clean sync, three times round so that every device sees every other's entries.
    for (let round = 0; round < 3; round++) {
      await otherDatabasesSettled(database.db);
      for (const device of devices) await device.sync.now();
    }

    // Sent, stored, duplicated: every captured action is in the log once.
    const stored = await database.db
      .selectFrom('entries')
      .select(['id', 'device_id', 'device_seq', 'status'])
      .execute();
    const storedIds = new Set(stored.map((e) => e.id));
    const missing = captured.filter((id) => !storedIds.has(id));
    const fromDevices = stored.filter((e) => e.device_id);
    const duplicated =
      fromDevices.length - new Set(fromDevices.map((e) => `${e.device_id}:${e.device_seq}`)).size;

    // Skipped: a record the server holds that a device's replica lacks or folds otherwise (a
    // cursor that skipped an entry leaves one behind).
    const serverStates = await database.db.selectFrom('records').select(['id', 'state']).execute();
    let skipped = 0;
    for (const device of devices) {
      expect(await device.actions.pending()).toEqual([]);
      const held = new Map(
        (await device.records.query({ limit: 100_000 })).map((record) => [record.id, record]),
      );
      for (const { id, state } of serverStates) if (!jsonEqual(held.get(id), state)) skipped += 1;
      if (held.size !== serverStates.length) skipped += Math.abs(held.size - serverStates.length);
    }

    // Jobs: every hook delivery done (each node runs a job runner on the one queue).
    const pending = async () =>
      Number(
        (
          await sql<{
            n: string;
          }>`SELECT count(*) AS n FROM hook_deliveries WHERE state = 'pending'`.execute(database.db)
        ).rows[0]?.n,
      );
    for (let i = 0; i < 1_800 && (await pending()) > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(await pending()).toBe(0);
    const events = receiver.of('/events');
    expect(events.every((e) => e.verified)).toBe(true);
    const deliveries = new Map<string, number>();
    for (const e of events) {
      const entry = e.json['entry'] as Entry;
      deliveries.set(entry.id, (deliveries.get(entry.id) ?? 0) + 1);
    }
    const accepted = stored.filter((e) => e.status !== 'rejected');
    const undelivered = accepted.filter((e) => !deliveries.has(e.id));
    const deliveredTwice = [...deliveries].filter(([, n]) => n > 1).map(([id]) => id);
    const twiceAfterRestart = deliveredTwice.filter((id) => !appendedBeforeRestart.has(id));

    // Deduplication: each record's DECLARE was deduplicated once (a second run for the same
    // cause appends nothing; a record declared once has at most one DUPLICATES_FOUND).
    const declared = stored.filter((e) => e.status !== 'rejected').length;
    const findings = await database.db
      .selectFrom('entries')
      .select(['record_id', sql<number>`count(*)`.as('n')])
      .where('type', '=', 'DUPLICATES_FOUND')
      .groupBy('record_id')
      .execute();
    const flaggedTwice = findings.filter((f) => Number(f.n) > 1).length;

    // Scheduled jobs (checkpoints, file cleanup, the hook sweep): every scheduled minute from the
    // first to the last ran once across the three nodes, none twice and none missed; each
    // checkpoint run made one checkpoint.
    const runs = await database.db
      .selectFrom('cron_runs')
      .select(['task', 'scheduled_for', sql<number>`count(*)`.as('n')])
      .groupBy(['task', 'scheduled_for'])
      .orderBy('scheduled_for')
      .execute();
    const scheduled = ['checkpoint.make', 'files.cleanup', 'hooks.sweep'].map((task) => {
      const times = runs.filter((r) => r.task === task);
      const minutes = times.map((r) => new Date(r.scheduled_for).getTime() / 60_000);
      const missed = minutes
        .slice(1)
        .reduce((sum, m, i) => sum + (m - (minutes[i] as number) - 1), 0);
      return {
        task,
        periods: times.length,
        twice: times.filter((r) => Number(r.n) > 1).length,
        missed,
      };
    });
    const checkpointsMade = Number(
      // Those of the runs counted above (a run of the next minute may be under way).
      (
        await sql<{ n: string }>`SELECT count(*) AS n FROM checkpoints WHERE created_at <=
          (SELECT max(finished_at) FROM cron_runs WHERE task = 'checkpoint.make')`.execute(
          database.db,
        )
      ).rows[0]?.n,
    );

    // Login throttling is kept in the database: five failures spread over the three nodes lock
    // the username on all of them, even for the right password.
    const before = [...proxy.answered];
    for (let i = 0; i < 5; i++)
      expect((await login(proxy.url, 'registrar', 'wrong')).status).toBe(401);
    const nodesTried = proxy.answered.filter((n, i) => n > (before[i] ?? 0)).length;
    const locked = await login(proxy.url, 'registrar', PASSWORD);
    expect(locked.status).toBe(429);
    expect(locked.headers.get('retry-after')).toBeTruthy();
    expect(nodesTried).toBe(3);

    // Metrics per node: each node counts the syncs it answered, the restarted ones included.
    const token = (
      (await (await login(proxy.url, 'agent', PASSWORD)).json()) as { accessToken: string }
    ).accessToken;
    const perNode: { syncs: number; appended: number }[] = [];
    for (const node of nodes) {
      const response = await fetch(`http://127.0.0.1:${await node.port}/metrics`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(response.status).toBe(200);
      const text = await response.text();
      perNode.push({
        syncs: metricSum(
          text,
          'registra_http_request_duration_seconds_count',
          'route="/api/v1/sync"',
        ),
        appended: metricSum(text, 'registra_entries_appended_total'),
      });
    }

    const configFile = resolveConfigDir(configDir).configFile;
    const config = loadConfigurationOrThrow(JSON.parse(readFileSync(configFile, 'utf8')));
    const vault = await Vault.open(new FileKeyProvider(keyFile));
    const report = await verifyReadModel({ db: database.db, config, now: () => new Date(), vault });

    console.log(
      `three nodes: actions sent=${captured.length} stored=${captured.length - missing.length} ` +
        `duplicated=${duplicated} skipped=${skipped} | devices=${DEVICES} records=${serverStates.length} ` +
        `SIGKILLs=${nodes.reduce((n, node) => n + node.kills, 0)} rolling restarts=${nodes.length} ` +
        `(dropped=${droppedInRolling} 5xx=${errorsInRolling} resent=${resentInRolling}) | proxy: answered=${proxy.answered.join('/')} ` +
        `refused=${proxy.refused} dropped=${proxy.dropped} resent=${proxy.resent} 5xx=${proxy.serverErrors.length} 503-resent=${proxy.retried503} | hooks: ` +
        `${events.length} deliveries of ${accepted.length} entries, ${deliveredTwice.length} twice ` +
        `(${twiceAfterRestart.length} after the SIGKILL) | dedup: ${declared} entries, ` +
        `${findings.length} records flagged, ${flaggedTwice} twice | scheduled runs (periods/twice/missed): ` +
        scheduled.map((j) => `${j.task} ${j.periods}/${j.twice}/${j.missed}`).join(', ') +
        `, checkpoints made ${checkpointsMade} | login throttle over ${nodesTried} nodes: ` +
        `${locked.status} | metrics per node (syncs/appended): ` +
        perNode.map((m) => `${m.syncs}/${m.appended}`).join(' '),
    );

    expect(proxy.serverErrors).toEqual([]);
    expect(missing).toEqual([]);
    expect(duplicated).toBe(0);
    expect(skipped).toBe(0);
    expect(captured.length).toBe(DEVICES * ROUNDS * RECORDS_PER_ROUND * 3);
    expect(droppedInRolling).toBe(0);
    expect(errorsInRolling).toBe(0);
    expect(undelivered.map((e) => e.id)).toEqual([]);
    expect(twiceAfterRestart).toEqual([]);
    expect(perNode.every((m) => m.syncs > 0)).toBe(true);
    expect(findings.length).toBeGreaterThan(0);
    expect(flaggedTwice).toBe(0);
    for (const job of scheduled) {
      expect(job.periods).toBeGreaterThanOrEqual(2);
      expect(job).toMatchObject({ twice: 0, missed: 0 });
    }
    expect(checkpointsMade).toBe(scheduled[0]?.periods);
    expect(report.differences).toEqual([]);
  });

  it('drains on SIGTERM: requests in flight are answered, new ones are refused, health says draining', async () => {
    const node = nodes[2] as ServerProcess;
    const port = await node.port;
    const open = async () => {
      const socket = net.connect(port, '127.0.0.1');
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('error', reject);
      });
      let text = '';
      socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
      const ended = new Promise<string>((resolve) => socket.once('close', () => resolve(text)));
      return { socket, read: () => text, ended };
    };
    const until = async (ok: () => boolean | Promise<boolean>) => {
      for (let i = 0; i < 1_200 && !(await ok()); i++)
        await new Promise((resolve) => setTimeout(resolve, 50));
      expect(await ok()).toBe(true);
    };

    // B: a health check whose headers have begun to arrive (so its connection is not idle).
    const b = await open();
    b.socket.write('GET /api/v1/health HTTP/1.1\r\nHost: node\r\n');
    // A: a login whose body is half sent: a request in flight when SIGTERM arrives. The 100
    // Continue says the node has read its headers (and B's, which came first).
    const a = await open();
    const body = JSON.stringify({ grant_type: 'password', username: 'agent', password: PASSWORD });
    a.socket.write(
      'POST /api/v1/auth/token HTTP/1.1\r\nHost: node\r\nContent-Type: application/json\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\nExpect: 100-continue\r\n\r\n`,
    );
    await until(() => a.read().includes('100 Continue'));
    a.socket.write(body.slice(0, 20));

    const exited = node.terminate();
    // The node has stopped listening: a new connection is refused (a balancer tries another).
    await until(
      () =>
        new Promise<boolean>((resolve) => {
          const probe = net.connect(port, '127.0.0.1');
          probe.once('connect', () => {
            probe.destroy();
            resolve(false);
          });
          probe.once('error', () => resolve(true));
        }),
    );

    // A request arriving on a kept-alive connection is answered 503 with Retry-After.
    b.socket.write('\r\n');
    const health = await b.ended;
    expect(health).toMatch(/^HTTP\/1\.1 503/);
    expect(health.toLowerCase()).toContain('retry-after: 1');
    expect(health).toContain('"status":"draining"');

    // The request in flight is finished and answered.
    a.socket.write(body.slice(20));
    const answer = await a.ended;
    expect(answer).toContain('HTTP/1.1 200');
    expect(answer).toContain('"accessToken"');
    expect(await exited).toBe(0);
  });
});
