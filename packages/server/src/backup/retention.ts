/**
 * # Backups: what is kept
 *
 * A base backup is kept while it is one of the newest `keep`, or younger than `keepDays` days.
 * The archived WAL is kept from the first segment the oldest kept backup needs on, so that every
 * kept backup restores to any moment after it; older segments and base backups are removed. At
 * least one base backup is always kept, and nothing is removed while the WAL start of the oldest
 * kept backup is unknown.
 */
export interface Retention {
  /** The newest base backups kept, at least 1. */
  keep: number;
  /** Base backups younger than this many days are kept too; 0: none for their age. */
  keepDays: number;
}

export interface Prunable {
  label: string;
  finishedAt: string;
  startWal?: string | undefined;
}

export interface PruningPlan<T> {
  kept: T[];
  removed: T[];
  /** Archived segments before this one are removed; null: none are. */
  walBefore: string | null;
}

/** What to keep and remove of `backups` (any order) at `now`. */
export function planPruning<T extends Prunable>(
  backups: readonly T[],
  retention: Retention,
  now: Date,
): PruningPlan<T> {
  const newestFirst = [...backups].sort((a, b) => b.finishedAt.localeCompare(a.finishedAt));
  const youngest = now.getTime() - retention.keepDays * 86_400_000;
  const keep = Math.max(1, retention.keep);
  const kept = newestFirst.filter(
    (b, i) => i < keep || (retention.keepDays > 0 && new Date(b.finishedAt).getTime() > youngest),
  );
  const oldestKept = kept.at(-1);
  if (!oldestKept?.startWal) return { kept: newestFirst, removed: [], walBefore: null };
  return {
    kept,
    removed: newestFirst.filter((b) => !kept.includes(b)),
    walBefore: oldestKept.startWal,
  };
}

/**
 * Whether an archived file is older than segment `before` and may go: WAL segments (and their
 * `.partial` and `.backup` files) compare by log and segment number, whatever their timeline, as
 * pg_archivecleanup does; timeline history files are always kept (they are tiny, and recovery
 * reads them to follow a timeline).
 */
export function isWalBefore(name: string, before: string): boolean {
  if (!/^[0-9A-F]{24}(\.partial|\.[0-9A-F]{8}\.backup)?$/.test(name)) return false;
  return name.slice(8, 24) < before.slice(8, 24);
}

/** Whether an archived file is needed by a backup whose WAL starts at `start`. */
export const isWalFrom = (name: string, start: string) =>
  /^[0-9A-F]{8}\.history$/.test(name) ||
  (/^[0-9A-F]{24}(\.partial)?$/.test(name) && !isWalBefore(name, start));
