import type pg from 'pg';
import { expect } from 'vitest';

/**
 * Switches the WAL segment and waits until PostgreSQL has archived everything written so far.
 * Answers the name of the last segment that holds it.
 *
 * pg_switch_wal() answers the end of its switch record, inside the segment it closes; when
 * nothing was written since the last switch it does nothing and answers the boundary, which
 * PostgreSQL 18's pg_walfile_name names as the next segment (still open, never archived until
 * more is written). One byte before is the closed segment in both cases.
 */
export async function archiveWrittenWal(client: pg.Client, timeout = 150_000): Promise<string> {
  const { rows } = await client.query<{ segment: string }>(
    'SELECT pg_walfile_name(pg_switch_wal() - 1) AS segment',
  );
  const segment = rows[0]!.segment;
  await expect
    .poll(
      async () =>
        (
          await client.query<{ last: string | null }>(
            'SELECT last_archived_wal AS last FROM pg_stat_archiver',
          )
        ).rows[0]?.last ?? '',
      { timeout, interval: 200 },
    )
    .toSatisfy((last: string) => last >= segment);
  return segment;
}
