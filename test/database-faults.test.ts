import type { Action, ActionResult, SyncResponse } from '@registra/core';
import type { FastifyInstance } from 'fastify';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type DB } from '../packages/server/src/db/database.js';
import {
  startEmbeddedPostgres,
  type EmbeddedDatabase,
} from '../packages/server/src/db/embedded.js';
import { migrate } from '../packages/server/src/db/migrations.js';
import { buildApp } from '../packages/server/src/http/app.js';
import { Metrics } from '../packages/server/src/http/metrics.js';
import { AuthService } from '../packages/server/src/services/auth.js';
import type { Registry } from '../packages/server/src/services/context.js';
import { verifyReadModel } from '../packages/server/src/services/read-model.js';
import { loadConfigFile, resolveConfigDir, seed } from '../packages/server/src/services/seed.js';
import { loadSigner } from '../packages/server/src/services/tokens.js';
import { action, BIRTH, newId, PASSWORD } from '../packages/server/test/harness.js';
import { fixedPort } from '../packages/server/test/ports.js';
import { FileKeyProvider, Vault } from '../packages/server/src/services/vault/index.js';

/**
 * PostgreSQL goes away under traffic (issue: reliability suite). The API keeps running; while the
 * database is gone every sync answers 503 SERVICE_UNAVAILABLE (never 500, never a hang), and no
 * batch is committed in part. When PostgreSQL is back the same API instance resumes by itself,
 * every device's batches end up accepted exactly once, and the read model matches the log.
 *
 * This file runs its own PostgreSQL cluster (the shared test cluster must stay up for the others).
 * Two faults: a clean shutdown (pg_ctl-like fast stop) and a crash (SIGKILL of the postmaster and
 * every backend), each followed by a restart on the same data directory and port.
 */
const DEVICES = 4;
const RECORDS_PER_BATCH = 3;
const REQUEST_TIMEOUT_MS = 15_000;
const OUTAGE_MS = 3_000;

let dataDir: string;
let port: number;
let cluster: EmbeddedDatabase;
let db: DB;
let registry: Registry;
let app: FastifyInstance;
let url: string;

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'registra-dbfaults-'));
  // Restarted on this port while the API keeps its URL: a port no one else is handed meanwhile.
  port = await fixedPort();
  cluster = await startEmbeddedPostgres({ dataDir, port });
  // Built as the harness builds it (startTestServer), on this file's own cluster.
  const connection = connect(cluster.url, 20);
  ({ db } = connection);
  await migrate(connection);
  const { configFile, usersFile } = resolveConfigDir('civil-registry');
  const config = loadConfigFile(configFile);
  const keys = FileKeyProvider.inDataDir(mkdtempSync(path.join(tmpdir(), 'registra-keys-')));
  registry = { db, config, now: () => new Date(), vault: await Vault.open(keys) };
  await seed(db, config, usersFile, PASSWORD);
  const auth = new AuthService(registry, await loadSigner(db));
  app = await buildApp({ registry, auth, metrics: new Metrics() });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}, 180_000);

afterAll(async () => {
  await app?.close();
  await db?.destroy();
  await cluster?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The PostgreSQL processes of the cluster: the postmaster and its children. */
function postgresProcesses(): { postmaster: number; children: number[] } {
  const pidFile = readFileSync(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8');
  const postmaster = Number(pidFile.split('\n')[0]);
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === postmaster) children.push(Number(entry));
    } catch {
      // the process ended meanwhile
    }
  }
  return { postmaster, children };
}

/** PostgreSQL on the same data directory and port; after a crash it may take a moment. */
async function restartPostgres(): Promise<number> {
  const started = performance.now();
  for (let attempt = 1; ; attempt++) {
    try {
      cluster = await startEmbeddedPostgres({ dataDir, port });
      return performance.now() - started;
    } catch (error) {
      // A backend of the killed postmaster may still hold the shared memory for a moment.
      if (attempt >= 20) throw error;
      await sleep(500);
    }
  }
}

interface Attempt {
  batch: number;
  status: number | 'timeout' | 'network';
  ms: number;
  problem?: { code?: string; status?: number };
  retryAfter?: string | null;
  at: number;
}

/** A field device: batches of CREATE + DECLARE, resent with the same deviceSeq until accepted. */
class FieldDevice {
  readonly id = newId();
  nextSeq = 1;
  token = '';
  /** Every batch made, with the action ids it carries. */
  readonly batches: { actions: Action[]; attempts: Attempt[]; accepted?: SyncResponse }[] = [];
  current: number | null = null;

  constructor(readonly username: string) {}

  async login(): Promise<void> {
    const response = await fetch(`${url}/api/v1/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'password', username: this.username, password: PASSWORD }),
    });
    expect(response.status).toBe(200);
    this.token = ((await response.json()) as { accessToken: string }).accessToken;
  }

  #makeBatch(): number {
    const actions: Action[] = [];
    for (let i = 0; i < RECORDS_PER_BATCH; i++) {
      const recordId = newId();
      actions.push(
        {
          ...action({ type: 'CREATE', recordId, recordType: 'birth' }),
          deviceSeq: this.nextSeq++,
        } as Action,
        {
          ...action({
            type: 'DECLARE',
            recordId,
            declaration: { ...BIRTH, 'child.firstName': `Device ${this.batches.length}.${i}` },
          }),
          deviceSeq: this.nextSeq++,
        } as Action,
      );
    }
    this.batches.push({ actions, attempts: [] });
    return this.batches.length - 1;
  }

  /** One exchange: the pending batch, or a new one. Answers whether the batch was accepted. */
  async step(): Promise<boolean> {
    if (this.current === null) this.current = this.#makeBatch();
    const batch = this.batches[this.current] as (typeof this.batches)[number];
    const started = performance.now();
    const attempt: Attempt = { batch: this.current, status: 'network', ms: 0, at: Date.now() };
    batch.attempts.push(attempt);
    try {
      const response = await fetch(`${url}/api/v1/sync`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${this.token}` },
        body: JSON.stringify({ deviceId: this.id, cursor: null, actions: batch.actions, limit: 1 }),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      attempt.status = response.status;
      attempt.retryAfter = response.headers.get('retry-after');
      const text = await response.text();
      if (response.status === 200) {
        batch.accepted = JSON.parse(text) as SyncResponse;
        this.current = null;
      } else {
        attempt.problem = response.headers
          .get('content-type')
          ?.startsWith('application/problem+json')
          ? (JSON.parse(text) as Attempt['problem'])
          : { code: `not problem+json: ${text.slice(0, 100)}` };
      }
    } catch (error) {
      attempt.status = (error as Error).name === 'TimeoutError' ? 'timeout' : 'network';
    }
    attempt.ms = performance.now() - started;
    return attempt.status === 200;
  }

  successes(since: number): number {
    return this.batches.filter((b) => b.accepted && (b.attempts.at(-1)?.at ?? 0) >= since).length;
  }

  attempts(): Attempt[] {
    return this.batches.flatMap((b) => b.attempts);
  }
}

describe('PostgreSQL stopped and killed under traffic', () => {
  it('answers 503 while it is gone, commits no partial batch, and resumes by itself when it is back', async () => {
    const devices = [
      new FieldDevice('agent'),
      new FieldDevice('agent'),
      new FieldDevice('agent.far'),
      new FieldDevice('agent.far'),
    ].slice(0, DEVICES);
    for (const device of devices) await device.login();
    // A pg client's unhandled 'error' event would crash a real server process.
    const uncaught: string[] = [];
    const onUncaught = (error: Error) => uncaught.push(error.message);
    process.on('uncaughtException', onUncaught);

    let finished = false;
    const loops = devices.map(async (device) => {
      // A device stops only with nothing pending, as a real one would before going offline.
      while (!finished || device.current !== null) {
        const ok = await device.step();
        if (!ok) await sleep(100 + Math.random() * 150);
      }
    });

    const waitForSuccesses = async (since: number, count: number, limitMs: number) => {
      const deadline = Date.now() + limitMs;
      while (devices.some((d) => d.successes(since) < count)) {
        if (Date.now() > deadline) throw new Error(`devices did not resume within ${limitMs} ms`);
        await sleep(50);
      }
      return Date.now() - since;
    };
    const health = async () =>
      (await fetch(`${url}/api/v1/health`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) }))
        .status;

    const faults: {
      kind: string;
      outageMs: number;
      restartMs: number;
      resumedMs: number;
      healthDuring: number;
    }[] = [];
    try {
      await waitForSuccesses(0, 3, 60_000);

      for (const kind of ['fast shutdown', 'SIGKILL of postmaster and backends'] as const) {
        const down = Date.now();
        if (kind === 'fast shutdown') {
          await cluster.stop();
        } else {
          // Frozen first, the postmaster forks no backend (the API keeps reconnecting) between
          // the listing of its children and the kill: such a backend would outlive the crash.
          process.kill(postgresProcesses().postmaster, 'SIGSTOP');
          const { postmaster, children } = postgresProcesses();
          for (const pid of [postmaster, ...children]) {
            try {
              process.kill(pid, 'SIGKILL');
            } catch {
              // already gone
            }
          }
        }
        await sleep(OUTAGE_MS / 2);
        const healthDuring = await health();
        await sleep(OUTAGE_MS / 2);
        const restartMs = await restartPostgres();
        const back = Date.now();
        const resumedMs = await waitForSuccesses(back, 3, 60_000);
        faults.push({ kind, outageMs: back - down, restartMs, resumedMs, healthDuring });
        expect(await health()).toBe(200);
      }
    } finally {
      finished = true;
      await Promise.all(loops);
      process.off('uncaughtException', onUncaught);
    }
    expect(uncaught, 'uncaught exceptions in the API process').toEqual([]);

    // Every answer: 200, or 503 problem+json SERVICE_UNAVAILABLE with Retry-After. No hang.
    const attempts = devices.flatMap((d) => d.attempts());
    const byStatus = new Map<string, number>();
    for (const a of attempts)
      byStatus.set(String(a.status), (byStatus.get(String(a.status)) ?? 0) + 1);
    const bad = attempts.filter(
      (a) =>
        !(
          a.status === 200 ||
          (a.status === 503 &&
            a.problem?.code === 'SERVICE_UNAVAILABLE' &&
            a.problem.status === 503 &&
            a.retryAfter !== null)
        ),
    );
    const slowest = Math.max(...attempts.map((a) => a.ms));
    console.log(
      `database-faults: ${attempts.length} sync requests from ${devices.length} devices, ` +
        `by status ${[...byStatus].map(([k, v]) => `${k}×${v}`).join(', ')}, slowest ${slowest.toFixed(0)} ms\n` +
        faults
          .map(
            (f) =>
              `  ${f.kind}: database gone ${f.outageMs} ms (restart took ${f.restartMs.toFixed(0)} ms), ` +
              `health while gone ${f.healthDuring}, every device accepted 3 batches ${f.resumedMs} ms after it was back`,
          )
          .join('\n'),
    );
    expect(
      bad.map((a) => `${a.status} ${JSON.stringify(a.problem)} retry-after ${a.retryAfter}`),
    ).toEqual([]);
    expect(slowest).toBeLessThan(REQUEST_TIMEOUT_MS);
    expect(faults.map((f) => f.healthDuring)).toEqual([503, 503]);
    expect(byStatus.get('503') ?? 0).toBeGreaterThan(0);

    // No partial batch: a batch that was refused and then resent is answered either entirely as
    // duplicates (an earlier attempt had committed it all) or entirely fresh (none had).
    let refusedBatches = 0;
    for (const device of devices) {
      for (const batch of device.batches) {
        expect(batch.accepted, `${device.username}: a batch was never accepted`).toBeDefined();
        const results = batch.accepted?.results as ActionResult[];
        expect(results.map((r) => r.id)).toEqual(batch.actions.map((a) => a.id));
        expect(results.every((r) => r.outcome === 'accepted')).toBe(true);
        const duplicates = results.filter((r) => r.duplicate).length;
        expect([0, results.length]).toContain(duplicates);
        if (batch.attempts.length > 1) refusedBatches += 1;
        expect(batch.accepted?.ackThrough).toBe(batch.actions.at(-1)?.deviceSeq);
      }
    }

    // The log holds every action exactly once, and nothing else but the automatic UNASSIGNs.
    const sent = devices.flatMap((d) => d.batches.flatMap((b) => b.actions));
    const rows = await db
      .selectFrom('entries')
      .select(['id', 'record_id', 'seq', 'type', 'status'])
      .execute();
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const a of sent) expect(byId.get(a.id)?.status, `action ${a.id}`).toBe('accepted');
    const perRecord = new Map<string, string[]>();
    for (const row of [...rows].sort((x, y) => x.seq - y.seq))
      perRecord.set(row.record_id, [...(perRecord.get(row.record_id) ?? []), row.type]);
    const records = new Set(sent.map((a) => a.recordId));
    expect(perRecord.size).toBe(records.size);
    for (const types of perRecord.values())
      expect(types).toEqual(['CREATE', 'DECLARE', 'UNASSIGN']);
    for (const device of devices) {
      const stored = await db
        .selectFrom('devices')
        .select('ack_through')
        .where('id', '=', device.id)
        .executeTakeFirst();
      expect(Number(stored?.ack_through)).toBe(device.nextSeq - 1);
    }

    const verify = await verifyReadModel(registry);
    expect(verify.differences).toEqual([]);
    console.log(
      `database-faults: ${sent.length} actions in ${devices.reduce((n, d) => n + d.batches.length, 0)} batches ` +
        `(${refusedBatches} resent after a refusal), ${rows.length} entries, ${verify.records} records; verify: no difference`,
    );
  });
});
