import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, expect, inject, it } from 'vitest';
import { connect } from '../src/db/database.js';
import { MIGRATION_LOCK, migrate } from '../src/db/migrations.js';

/** Several API nodes starting at once against one new database, each with its own pool. */
const NODES = 6;
const admin = inject('postgresUrl');
const name = `t_${randomUUID().replace(/-/g, '')}`;
const waiting = `t_${randomUUID().replace(/-/g, '')}`;

afterAll(async () => {
  const c = new pg.Client({ connectionString: admin });
  await c.connect();
  for (const db of [name, waiting]) await c.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
  await c.end();
});

it('runs every migration exactly once when several nodes migrate at the same time', async () => {
  const c = new pg.Client({ connectionString: admin });
  await c.connect();
  await c.query(`CREATE DATABASE ${name}`);
  await c.end();
  const url = admin.replace(/\/postgres$/, `/${name}`);

  const nodes = Array.from({ length: NODES }, () => connect(url, 4));
  try {
    const outcomes = await Promise.allSettled(nodes.map((node) => migrate(node)));
    const failures = outcomes.filter((o) => o.status === 'rejected');
    expect(failures).toEqual([]);
    const applied = outcomes.flatMap((o) => (o.status === 'fulfilled' ? o.value : []));
    // One node ran them all; the others found nothing left to do.
    const ran = outcomes.filter((o) => o.status === 'fulfilled' && o.value.length > 0);
    expect(ran).toHaveLength(1);
    expect(new Set(applied).size).toBe(applied.length);

    const { rows } = await nodes[0]!.pool.query<{ name: string }>(
      'SELECT name FROM kysely_migration ORDER BY name',
    );
    expect(rows.map((r) => r.name)).toEqual([...applied].sort());
    expect(applied).toContain('0001_log_and_read_model');
    // A later start (an upgrade with nothing new) applies nothing.
    expect(await migrate(nodes[1]!)).toEqual([]);
  } finally {
    await Promise.all(nodes.map((node) => node.db.destroy()));
  }
});

it('waits for the migration lock before touching the schema', async () => {
  const c = new pg.Client({ connectionString: admin });
  await c.connect();
  await c.query(`CREATE DATABASE ${waiting}`);
  await c.end();
  const url = admin.replace(/\/postgres$/, `/${waiting}`);

  // Another node holds the lock (advisory locks belong to one database).
  const other = new pg.Client({ connectionString: url });
  await other.connect();
  await other.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
  const node = connect(url, 4);
  try {
    const migrating = migrate(node);
    // Its lock request is seen waiting in pg_locks, and nothing is migrated meanwhile.
    await expect
      .poll(
        async () =>
          (
            await other.query<{ n: string }>(
              `SELECT count(*) AS n FROM pg_locks
               WHERE locktype = 'advisory' AND NOT granted AND database =
                 (SELECT oid FROM pg_database WHERE datname = current_database())`,
            )
          ).rows[0]?.n,
        { timeout: 30_000 },
      )
      .toBe('1');
    const before = await other.query(`SELECT to_regclass('kysely_migration') AS t`);
    expect(before.rows[0]?.t).toBeNull();
    await other.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    expect(await migrating).toContain('0001_log_and_read_model');
  } finally {
    await other.end();
    await node.db.destroy();
  }
});
