import type { RecordTypeConfig } from '@registra/core';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { workerData } from 'node:worker_threads';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { connect } from '../db/database.js';
import { COPY_INTO_REBUILD, recordLogs, type RecordRange } from '../store/rebuild.js';
import { recordCopyLine } from '../store/records.js';
import { foldRecordLog } from './read-model-row.js';

/** What every thread of a rebuild is given once: where the database is and the record types. */
export interface RebuildWorkerData {
  databaseUrl: string;
  recordTypes: ReadonlyMap<string, RecordTypeConfig>;
}

/** One task of a rebuild's thread: a range of records, read `batchSize` records at a time. */
export interface RangeTask extends RecordRange {
  batchSize: number;
}

export interface RangeDone {
  records: number;
  entries: number;
}

/**
 * Run on a rebuild's worker thread (rebuild-worker.mjs): reads the log of one range of records,
 * folds each record with core's fold and search keys (read-model-row.ts), and COPYs the rows into
 * `records_rebuild`, the next batch read and folded while PostgreSQL takes in the last. Ranges do
 * not overlap, so the COPY never meets a row it would conflict with.
 */
export async function rebuildRange(task: RangeTask): Promise<RangeDone> {
  const { databaseUrl, recordTypes } = workerData as RebuildWorkerData;
  const done: RangeDone = { records: 0, entries: 0 };
  const reader = connect(databaseUrl, 1);
  const writer = new pg.Client({ connectionString: databaseUrl, application_name: 'registra' });
  try {
    await writer.connect();
    async function* lines(): AsyncGenerator<string> {
      for await (const logs of recordLogs(reader.db, task.batchSize, task)) {
        let chunk = '';
        for (const log of logs) {
          done.entries += log.length;
          const row = foldRecordLog(recordTypes, log);
          if (!row) continue;
          chunk += recordCopyLine(row);
          done.records += 1;
        }
        if (chunk) yield chunk;
      }
    }
    await pipeline(Readable.from(lines()), writer.query(copyFrom(COPY_INTO_REBUILD)));
    return done;
  } finally {
    await writer.end();
    await reader.db.destroy();
  }
}
