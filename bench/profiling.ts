/**
 * What the profiling benches (import-profile, ingest-profile) share: every SQL statement this
 * process sends, timed from its side of the wire, and a V8 CPU profile with its top functions.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import pg from 'pg';
import type { Row } from './fixtures.js';
import { table } from './support.js';

export interface StatementStat {
  calls: number;
  ms: number;
}

type Query = (this: pg.Client, ...args: unknown[]) => unknown;

/**
 * Times SQL statements by their first `width` characters (parameters folded): calls, and the time
 * until each answer was parsed. pg.Client#query is wrapped in this process only, once installed;
 * statements count only inside `time`.
 */
export class StatementTimer {
  readonly statements = new Map<string, StatementStat>();
  #on = false;
  #original: Query | null = null;

  constructor(private readonly width: number) {}

  install(): void {
    const query = pg.Client.prototype.query as unknown as Query;
    this.#original = query;
    // The wrapper is a `function` (pg calls it with the client as `this`); the timer is reached
    // through these.
    const on = () => this.#on;
    const count = (text: string, ms: number) => this.#count(text, ms);
    const timed: Query = function (...args) {
      const result = query.apply(this, args);
      const first = args[0];
      const text = typeof first === 'string' ? first : (first as { text?: unknown } | null)?.text;
      if (on() && typeof text === 'string' && result instanceof Promise) {
        const started = performance.now();
        result.then(
          () => count(text, performance.now() - started),
          () => undefined,
        );
      }
      return result;
    };
    pg.Client.prototype.query = timed as unknown as typeof pg.Client.prototype.query;
  }

  /** Puts pg.Client#query back as it was. */
  uninstall(): void {
    if (this.#original)
      pg.Client.prototype.query = this.#original as unknown as typeof pg.Client.prototype.query;
    this.#original = null;
  }

  /** Runs `during` with statements timed; answers its wall time in ms. */
  async time(during: () => Promise<unknown>): Promise<number> {
    this.#on = true;
    const started = performance.now();
    try {
      await during();
    } finally {
      this.#on = false;
    }
    return performance.now() - started;
  }

  /** The statements, the most time first. */
  byTime(): [string, StatementStat][] {
    return [...this.statements].sort((a, b) => b[1].ms - a[1].ms);
  }

  /** All statements together. */
  total(): StatementStat {
    let calls = 0;
    let ms = 0;
    for (const s of this.statements.values()) {
      calls += s.calls;
      ms += s.ms;
    }
    return { calls, ms };
  }

  #count(text: string, ms: number): void {
    const label = text
      .replace(/\s+/g, ' ')
      .trim()
      .replace(/\(\$\d+(, \$\d+)*\)/g, '($…)')
      .slice(0, this.width);
    const stat = this.statements.get(label) ?? { calls: 0, ms: 0 };
    stat.calls += 1;
    stat.ms += ms;
    this.statements.set(label, stat);
  }
}

/**
 * Runs `during` under V8's CPU profiler when `file` is given: the profile is written there and the
 * `limit` functions with the most self time are printed (with their line when `lines`).
 */
export async function cpuProfiled<T>(
  file: string | undefined,
  during: () => Promise<T>,
  { limit, lines }: { limit: number; lines: boolean },
): Promise<T> {
  if (!file) return during();
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  const result = await during();
  const { profile } = await session.post('Profiler.stop');
  writeFileSync(file, JSON.stringify(profile));
  session.disconnect();
  console.log(`CPU profile written to ${file}; most self time:`);
  table(topFunctions(profile, limit, lines));
  return result;
}

function topFunctions(
  profile: {
    nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
    samples?: number[];
    timeDeltas?: number[];
  },
  limit: number,
  lines: boolean,
): Row[] {
  const byNode = new Map<number, number>();
  (profile.samples ?? []).forEach((id, i) =>
    byNode.set(id, (byNode.get(id) ?? 0) + (profile.timeDeltas?.[i] ?? 0) / 1000),
  );
  const byFunction = new Map<string, number>();
  let total = 0;
  for (const node of profile.nodes) {
    const ms = byNode.get(node.id) ?? 0;
    total += ms;
    const where = node.callFrame.url.replace(/^.*\/(node_modules|packages)\//, '$1/');
    const line = lines ? `:${node.callFrame.lineNumber}` : '';
    const key = `${node.callFrame.functionName || '(anonymous)'} ${where}${line}`.trim();
    byFunction.set(key, (byFunction.get(key) ?? 0) + ms);
  }
  return [...byFunction]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([fn, ms]) => ({
      function: fn,
      'self ms': Math.round(ms),
      share: `${((100 * ms) / total).toFixed(1)}%`,
    }));
}
