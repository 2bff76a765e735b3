import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.js';

// bigint columns (positions, counters) come back as strings; timestamps as Date.
export type DB = Kysely<Database>;

/** What metrics and load shedding read of the connection pool. */
export type PoolStats = Pick<pg.Pool, 'totalCount' | 'idleCount' | 'waitingCount'>;

export function connect(url: string, max = 20): { db: DB; pool: pg.Pool } {
  const pool = new pg.Pool({ connectionString: url, max, application_name: 'registra' });
  // An idle client losing its connection (PostgreSQL restarted) must not crash the process.
  pool.on('error', () => undefined);
  // Nor must a checked-out client whose connection drops between two queries (PostgreSQL shut
  // down or killed mid-transaction): unhandled, its 'error' event would crash the process. Its
  // next query fails (answered 503) and the pool discards it on release.
  pool.on('connect', (client) => client.on('error', () => undefined));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { db, pool };
}
