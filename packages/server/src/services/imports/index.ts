import {
  actionConfigOf,
  dateIn,
  holds,
  validateDeclaration,
  type Action,
  type ActionResult,
  type Declaration,
  type FieldError,
  type RecordTypeConfig,
} from '@registra/core';
import canonicalize from 'canonicalize';
import { Transform, type Readable } from 'node:stream';
import { v5 as uuidv5 } from 'uuid';
import { writeAll } from '../../store/append.js';
import { findUserWithHash } from '../../store/users.js';
import {
  finishImport,
  findImport,
  findImportMapping,
  importErrorsPage,
  importProgressStatements,
  openImport,
  pendingImportRequests,
  type ImportCounts,
  type ImportError,
  type ImportRow,
} from '../../store/imports.js';
import { afterCommit, appendActions, type IncomingAction } from '../append/index.js';
import { jobStatement } from '../../jobs/index.js';
import { deduplicationTask } from '../deduplication/job.js';
import type { Caller, Registry } from '../context.js';
import { forbidden, invalidInput, notFound } from '../problem.js';
import { appendTransaction } from '../transaction.js';
import { MappingSchema, RowMapper, type Mapping } from './mapping.js';
import { readRows, type ImportFormat, type ReadRow } from './source.js';

export { MappingSchema, type Mapping } from './mapping.js';
export type { ImportFormat } from './source.js';
export type { ImportRow } from '../../store/imports.js';

/** Ids of imports, their records and their actions are made from these names (uuid v5). */
const NAMESPACE = '0b9f5c2e-6a4d-4f1e-9d3b-7c2a1e8f6d40';

/**
 * Rows appended per transaction: two actions each, within a sync request's 1,000 (PROTOCOL 7),
 * few enough that a batch's locks are short and a killed import loses little work.
 */
export const BATCH_ROWS = 250;

/**
 * Batches appended at once (each its own transaction): two keep both this process and PostgreSQL
 * busy, the one mapping and deciding a batch while the other writes the previous one.
 */
export const IN_FLIGHT = 2;

export interface ImportSpec {
  recordType: string;
  /** Names the source (a file name, a system's export): the same source again is a re-run. */
  source: string;
  format: ImportFormat;
  /** The mapping file's content, checked here. */
  mapping: unknown;
  /** The source's size in bytes, when known, for the ETA. */
  bytesTotal?: number | null;
}

/** An import checked and opened: what running it needs. */
export interface PreparedImport {
  row: ImportRow;
  recordType: RecordTypeConfig;
  mapper: RowMapper;
}

/** An import's state with its rate and, while it runs, when it should end. */
export interface ImportStatus extends ImportRow {
  rowsPerSecond: number;
  /** Seconds left, from the bytes read so far; null when the size is unknown or it has ended. */
  etaSeconds: number | null;
}

/** The import of `source` into `recordType`: the same id whenever the same source is imported. */
export function importIdOf(recordType: string, source: string): string {
  return uuidv5(`import:${recordType}:${source}`, NAMESPACE);
}

/** The record a row of an import becomes, by the row's key. */
export function importRecordId(importId: string, key: string): string {
  return uuidv5(`${importId}:${key}:record`, NAMESPACE);
}

/**
 * Checks an import's record type, mapping and the caller's permission, and opens it (or opens it
 * again: a re-run of the same source). Bad input is a 400 whose errors point into the mapping.
 */
export async function prepareImport(
  registry: Registry,
  caller: Caller,
  spec: ImportSpec,
  state: 'waiting' | 'running' = 'running',
): Promise<PreparedImport> {
  const recordType = registry.config.recordTypes.get(spec.recordType);
  if (!recordType) {
    throw invalidInput(`"${spec.recordType}" is not a record type of this registry`, [
      { path: 'recordType', message: 'is not a record type' },
    ]);
  }
  const parsed = MappingSchema.safeParse(spec.mapping);
  if (!parsed.success) {
    throw invalidInput(
      'the mapping is not valid',
      parsed.error.issues.map((issue) => ({
        path: ['mapping', ...issue.path.map(String)].join('.'),
        message: issue.message,
      })),
    );
  }
  const mapping: Mapping = parsed.data;
  if (mapping.recordType !== undefined && mapping.recordType !== spec.recordType) {
    throw invalidInput(`the mapping is for ${mapping.recordType}, not ${spec.recordType}`, [
      { path: 'mapping.recordType', message: `is not ${spec.recordType}` },
    ]);
  }
  const compiled = RowMapper.compile(mapping, recordType);
  if ('errors' in compiled) {
    throw invalidInput(
      'the mapping does not fit the record type',
      compiled.errors.map((e) => ({ path: `mapping.${e.path}`, message: e.message })),
    );
  }
  const { principal } = caller;
  const create = actionConfigOf(recordType, 'CREATE')?.permission;
  if (!create || !holds(principal, create, principal.officeId, registry.config.locations)) {
    throw forbidden(`importing ${recordType.id} needs the permission to create it`);
  }
  const id = importIdOf(recordType.id, spec.source);
  const existing = await findImport(registry.db, id);
  const row = await openImport(registry.db, {
    id,
    recordType: recordType.id,
    source: spec.source,
    format: spec.format,
    mapping,
    createdBy: caller.user.id,
    occurredAt: existing?.occurredAt ?? registry.now().toISOString(),
    bytesTotal: spec.bytesTotal ?? null,
    state,
  });
  return { row, recordType, mapper: compiled.mapper };
}

/** One row of a batch: the actions it became, or the errors that kept it out. */
interface PendingRow {
  row: number;
  key: string;
  actions: Action[];
  errors: FieldError[];
}

/**
 * Reads the source as a stream and appends each row as CREATE + DECLARE (NOTIFY when the row is
 * incomplete and the record type offers NOTIFY) through the append path a device's sync takes
 * (services/append: core's `decideAction`, the read model, the effects such as deduplication), as
 * the caller, in batches of BATCH_ROWS rows per transaction. Record and action ids are made from
 * the import and the row's key, so a re-run (after a crash, or after fixing rows) lands nothing
 * twice. Each batch writes its counts and errors in its own transaction.
 */
export async function runImport(
  registry: Registry,
  caller: Caller,
  prepared: PreparedImport,
  input: Readable,
  onProgress?: (status: ImportStatus) => void,
  { inFlight = IN_FLIGHT, batchRows = BATCH_ROWS }: { inFlight?: number; batchRows?: number } = {},
): Promise<ImportStatus> {
  const { row: opened, mapper } = prepared;
  let bytes = 0;
  let counted = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  input.on('error', (error) => counter.destroy(error));
  const rows = readRows(input.pipe(counter), opened.format, mapper.mapping.delimiter);
  const started = Date.now();
  let batch: PendingRow[] = [];
  // Up to `inFlight` batches append at once, each in its own transaction on its own connection:
  // while PostgreSQL writes one, this process maps and decides the next. Batches hold different
  // rows (a key repeated across batches is a race the append path retries), and each commits its
  // own counts, so the order in which they commit changes nothing.
  const running: Promise<void>[] = [];
  let failure: unknown = null;
  const flush = () => {
    const rows = batch;
    const bytesDone = bytes - counted;
    counted = bytes;
    batch = [];
    const done = appendBatch(registry, caller, opened.id, rows, bytesDone).then(async () => {
      if (onProgress) onProgress(await importStatus(registry, opened.id, started));
    });
    running.push(
      done.catch((error: unknown) => {
        failure ??= error;
      }),
    );
  };
  const settle = async (upTo: number) => {
    while (running.length > upTo) await running.shift();
    if (failure !== null) throw failure;
  };
  try {
    try {
      for await (const read of rows) {
        batch.push(toPendingRow(registry, prepared, read));
        if (batch.length >= batchRows) {
          flush();
          await settle(Math.max(inFlight, 1) - 1);
        }
      }
      if (batch.length > 0 || counted < bytes) flush();
    } finally {
      await Promise.all(running);
    }
    await settle(0);
    await finishImport(registry.db, opened.id, 'done', null);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    await finishImport(registry.db, opened.id, 'failed', message.slice(0, 500));
    throw invalidInput(`the import stopped: ${message}`);
  }
  return importStatus(registry, opened.id, started);
}

/** A row as actions, or as the errors of its mapping and of the form's validation. */
function toPendingRow(registry: Registry, prepared: PreparedImport, read: ReadRow): PendingRow {
  if ('error' in read) {
    return {
      row: read.row,
      key: String(read.row),
      actions: [],
      errors: [{ path: '', message: read.error }],
    };
  }
  const { row: opened, recordType, mapper } = prepared;
  const mapped = mapper.map(read.values, read.row);
  if (mapped.errors.length > 0) {
    return {
      row: read.row,
      key: mapped.key || String(read.row),
      actions: [],
      errors: mapped.errors,
    };
  }
  const type = declarationAction(registry, recordType, mapped.declaration, opened.occurredAt);
  if ('errors' in type) return { row: read.row, key: mapped.key, actions: [], errors: type.errors };
  const name = (part: string) => uuidv5(`${opened.id}:${mapped.key}:${part}`, NAMESPACE);
  const recordId = importRecordId(opened.id, mapped.key);
  const declaration: Action = {
    id: name(`${type.action}:${canonicalize(mapped.declaration) ?? ''}`),
    recordId,
    type: type.action,
    occurredAt: opened.occurredAt,
    declaration: mapped.declaration,
    annotation: { importId: opened.id, rowKey: mapped.key },
  };
  const create: Action = {
    id: name('CREATE'),
    recordId,
    type: 'CREATE',
    recordType: recordType.id,
    occurredAt: opened.occurredAt,
  };
  return { row: read.row, key: mapped.key, actions: [create, declaration], errors: [] };
}

/**
 * DECLARE when the row is complete; NOTIFY when it lacks what DECLARE needs and the record type
 * offers NOTIFY; otherwise the form's errors. The form's own check (core), before anything is
 * appended, so that a row that cannot land leaves no empty record behind; the append still
 * decides every action.
 */
function declarationAction(
  registry: Registry,
  recordType: RecordTypeConfig,
  patch: Declaration,
  occurredAt: string,
): { action: 'DECLARE' | 'NOTIFY' } | { errors: FieldError[] } {
  const { config } = registry;
  const check = {
    recordType,
    locations: config.locations,
    current: {},
    patch,
    today: dateIn(config.document.timeZone, registry.now()),
    actedOn: dateIn(config.document.timeZone, new Date(occurredAt)),
  };
  const declared = validateDeclaration({ ...check, action: 'DECLARE' });
  if (declared.ok) return { action: 'DECLARE' };
  if (
    actionConfigOf(recordType, 'NOTIFY') &&
    validateDeclaration({ ...check, action: 'NOTIFY' }).ok
  ) {
    return { action: 'NOTIFY' };
  }
  return { errors: declared.errors };
}

/** Appends a batch's rows in one transaction, with its counts and errors. */
async function appendBatch(
  registry: Registry,
  caller: Caller,
  importId: string,
  batch: PendingRow[],
  bytesDone: number,
): Promise<ImportCounts> {
  const incoming: IncomingAction[] = batch.flatMap((r) =>
    r.actions.map((action) => ({
      raw: action as unknown as Record<string, unknown>,
      id: action.id,
    })),
  );
  const { appended, counts } = await appendTransaction(registry, async (trx) => {
    const done = await appendActions(trx, registry, caller, incoming, null);
    const counts: ImportCounts = {
      bytesDone,
      rowsDone: batch.length,
      rowsImported: 0,
      rowsRequested: 0,
      rowsAlready: 0,
      rowsFailed: 0,
    };
    const errors: ImportError[] = [];
    let at = 0;
    for (const pending of batch) {
      const results = done.results.slice(at, at + pending.actions.length);
      at += pending.actions.length;
      const rowErrors = pending.errors.length > 0 ? pending.errors : rejections(results);
      if (rowErrors.length > 0) {
        counts.rowsFailed += 1;
        for (const e of rowErrors) {
          errors.push({
            row: pending.row,
            rowKey: pending.key,
            field: e.path || null,
            message: e.message,
          });
        }
        continue;
      }
      const last = results[results.length - 1];
      if (last?.duplicate) counts.rowsAlready += 1;
      else if (last?.outcome === 'requested') counts.rowsRequested += 1;
      else counts.rowsImported += 1;
    }
    await writeAll(trx, [...done.writes, ...importProgressStatements(importId, counts, errors)]);
    return { appended: done.appended, counts };
  });
  afterCommit(registry.effects ?? [], appended);
  return counts;
}

/** Why a row's actions were turned down: the first rejection's field errors, or its code. */
function rejections(results: ActionResult[]): FieldError[] {
  const rejected = results.find((r) => r.outcome === 'rejected');
  if (!rejected) return [];
  if (rejected.errors && rejected.errors.length > 0) return rejected.errors;
  return [{ path: '', message: `${rejected.code ?? 'REJECTED'}: ${rejected.message ?? ''}` }];
}

/** An import's status, rate and ETA; `since` is when this process started running it. */
export async function importStatus(
  registry: Registry,
  id: string,
  since?: number,
): Promise<ImportStatus> {
  const row = await findImport(registry.db, id);
  if (!row) throw notFound('no such import');
  const end = row.finishedAt ? Date.parse(row.finishedAt) : Date.now();
  const seconds = Math.max((end - (since ?? Date.parse(row.startedAt))) / 1000, 1e-3);
  const rowsPerSecond = row.rowsDone / seconds;
  let etaSeconds: number | null = null;
  if (row.state === 'running' && row.bytesTotal && row.bytesDone > 0) {
    etaSeconds = Math.max(0, ((row.bytesTotal - row.bytesDone) / row.bytesDone) * seconds);
  }
  return { ...row, rowsPerSecond, etaSeconds };
}

/** The errors of an import as CSV lines (row, key, field, message), the header first. */
export async function* importErrorsCsv(registry: Registry, id: string): AsyncGenerator<string> {
  const row = await findImport(registry.db, id);
  if (!row) throw notFound('no such import');
  yield 'row,key,field,message\n';
  const step = 10_000;
  for (let after = 0; after < row.rowsDone; after += step) {
    const errors = await importErrorsPage(registry.db, id, after, after + step);
    if (errors.length === 0) continue;
    yield errors
      .map((e) => [String(e.row), e.rowKey, e.field ?? '', e.message].map(csvCell).join(',') + '\n')
      .join('');
  }
}

/** A CSV cell (RFC 4180), and never a formula when opened in a spreadsheet. */
function csvCell(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/**
 * Maker-checker for an import (PROTOCOL 3.4): the approver confirms every request the import's
 * rows are waiting on, each by an APPROVE through the same append path (core decides: the
 * approver needs the confirmation's permission and may not be the importer). Idempotent: a
 * request already decided is no longer pending.
 */
export async function approveImport(
  registry: Registry,
  approver: Caller,
  id: string,
): Promise<{ approved: number; rejected: ActionResult[] }> {
  const row = await findImport(registry.db, id);
  if (!row) throw notFound('no such import');
  const dedup = registry.config.recordTypes.get(row.recordType)?.deduplication;
  const dedupAfter = new Set<string>(dedup?.after ?? []);
  let approved = 0;
  const rejected: ActionResult[] = [];
  let after: string | null = null;
  for (;;) {
    const pending = await pendingImportRequests(registry.db, id, after, 400);
    if (pending.length === 0) break;
    after = pending[pending.length - 1]?.id ?? null;
    const occurredAt = registry.now().toISOString();
    const incoming: IncomingAction[] = pending.map((request) => {
      const action = {
        id: uuidv5(`${id}:approve:${request.id}`, NAMESPACE),
        recordId: request.recordId,
        type: 'APPROVE',
        requestId: request.id,
        occurredAt,
      };
      return { raw: action, id: action.id };
    });
    const { results, appended } = await appendTransaction(registry, async (trx) => {
      const done = await appendActions(trx, registry, approver, incoming, null);
      // Deduplication runs after a DECLARE takes effect: here, when its APPROVE does.
      const jobs = pending.flatMap((request, i) => {
        const approve = incoming[i];
        const runs = dedupAfter.has(request.type) && done.results[i]?.outcome === 'accepted';
        return runs && approve
          ? [
              {
                payload: { recordId: request.recordId, entryId: approve.id },
                jobKey: `dedup:${request.recordId}`,
              },
            ]
          : [];
      });
      if (jobs.length > 0) done.writes.push(jobStatement(deduplicationTask(registry), jobs));
      await writeAll(trx, done.writes);
      return done;
    });
    afterCommit(registry.effects ?? [], appended);
    for (const result of results) {
      if (result.outcome === 'accepted') approved += 1;
      else rejected.push(result);
    }
  }
  return { approved, rejected };
}

/**
 * The principal an import from the command line runs as: an active user or machine client of the
 * registry, by username (PROTOCOL 3.2: `createdBy` is always a principal, never the operator).
 */
export async function callerNamed(registry: Registry, username: string): Promise<Caller> {
  const found = await findUserWithHash(registry.db, username);
  if (!found || !found.active) {
    throw invalidInput(`"${username}" is not an active user`, [
      { path: 'as', message: 'is not an active user or machine client' },
    ]);
  }
  const { passwordHash: _hash, ...user } = found;
  return { user, principal: registry.config.principal(user) };
}

/** An import as stored, with the mapping it was created with; null when there is none. */
export async function storedImport(
  registry: Registry,
  id: string,
): Promise<(ImportRow & { mapping: unknown }) | null> {
  const row = await findImport(registry.db, id);
  if (!row) return null;
  return { ...row, mapping: (await findImportMapping(registry.db, id)) ?? {} };
}
