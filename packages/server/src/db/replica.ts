import { sql } from 'kysely';
import type { DB } from './database.js';

/** A WAL position as PostgreSQL prints it (pg_lsn): two hexadecimal halves, `16/B374D848`. */
export const LSN = /^[0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8}$/;

/** Orders two LSNs: negative, zero or positive as `a` is before, at or after `b`. */
export function compareLsn(a: string, b: string): number {
  const value = (lsn: string) => {
    const [high = '0', low = '0'] = lsn.split('/');
    return (BigInt(`0x${high}`) << 32n) + BigInt(`0x${low}`);
  };
  const d = value(a) - value(b);
  return d < 0n ? -1 : d > 0n ? 1 : 0;
}

/** Where a read went, and why: counted in the metrics (registra_db_reads_total). */
export type ReadTarget = 'replica' | 'primary-lagging' | 'primary-unreachable';

/**
 * A streaming replica of the primary (DATABASE_REPLICA_URL) that takes reads: pulls, searches,
 * records, work queues. Read-your-writes holds through the write's LSN: a write's answer carries
 * the primary's WAL position after its commit (`Registra-LSN`), the caller's next read names it
 * (`Registra-Read-After`), and that read goes to the replica only once it has replayed that far,
 * waiting `waitMs` at most; otherwise it goes to the primary. A read that names no write (a
 * caller that wrote nothing) may see the replica's lag, as any reader of a replica does.
 */
export class ReadReplica {
  readonly counts: Record<ReadTarget, number> = {
    replica: 0,
    'primary-lagging': 0,
    'primary-unreachable': 0,
  };

  constructor(
    readonly db: DB,
    private readonly primary: DB,
    private readonly waitMs: number,
    private readonly pollMs = 5,
  ) {}

  /** The primary's WAL position now: past every commit that has returned. */
  async writePosition(): Promise<string> {
    const { rows } = await sql<{ lsn: string }>`SELECT pg_current_wal_lsn()::text AS lsn`.execute(
      this.primary,
    );
    return rows[0]!.lsn;
  }

  /** The database a read goes to: the replica once it has replayed `after` (if given). */
  async forRead(after: string | null): Promise<DB> {
    const target = await this.#target(after);
    this.counts[target] += 1;
    return target === 'replica' ? this.db : this.primary;
  }

  async #target(after: string | null): Promise<ReadTarget> {
    const deadline = performance.now() + this.waitMs;
    for (;;) {
      let replayed: string | null;
      try {
        const { rows } = await sql<{
          lsn: string | null;
        }>`SELECT pg_last_wal_replay_lsn()::text AS lsn`.execute(this.db);
        replayed = rows[0]?.lsn ?? null;
      } catch {
        return 'primary-unreachable';
      }
      // null: not a standby (a promoted replica, or the primary itself): it has every write.
      if (after === null || replayed === null || compareLsn(replayed, after) >= 0) return 'replica';
      if (performance.now() >= deadline) return 'primary-lagging';
      await new Promise((resolve) => setTimeout(resolve, this.pollMs));
    }
  }
}
