/**
 * `npm run bench`: every benchmark in bench/, one after the other, each printing its table; all
 * figures go to bench/results/latest.json with the date, the machine and the Node version.
 *
 *   npm run bench                    full sizes (several minutes per benchmark on 2 cores)
 *   BENCH_QUICK=1 npm run bench      sizes shrunk about ten times, for a quick check
 *   BENCH_ONLY=pull,search npm run bench
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import type { Row } from './fixtures.js';
import { table } from './support.js';

/** In order; fold and offline-capture are written by others and run when present. */
const BENCHMARKS = [
  'ingest',
  'pull',
  'rebuild',
  'latency',
  'search',
  'bandwidth',
  'append',
  'read-audit',
  'fold',
  'offline-capture',
  'files',
  'certificates',
  'checkpoint',
  'replica',
  'backup',
  'hooks',
  'encryption',
  'device-vault',
];

const QUICK = process.env['BENCH_QUICK'] === '1';
if (QUICK) {
  // The benchmarks that read their sizes directly (ours shrink by themselves with BENCH_QUICK).
  process.env['BENCH_N'] ??= '2000';
  process.env['BENCH_DEVICES'] ??= '1,8';
  process.env['BENCH_ITERATIONS'] ??= '2000';
  process.env['BENCH_RECORDS'] ??= '100';
}
const ONLY = process.env['BENCH_ONLY']?.split(',').map((name) => name.trim());

interface Result {
  seconds: number;
  rows?: Row[];
  error?: string;
}

const results: Record<string, Result> = {};
const loadBefore = os.loadavg();
const started = new Date();
for (const name of BENCHMARKS) {
  if (ONLY && !ONLY.includes(name)) continue;
  const file = new URL(`./${name}.ts`, import.meta.url);
  if (!existsSync(file)) continue;
  console.log(`\n## ${name}${QUICK ? ' (quick)' : ''}`);
  const begun = performance.now();
  try {
    const module = (await import(file.href)) as { run?: () => Promise<Row[]> };
    if (!module.run) throw new Error(`bench/${name}.ts exports no run()`);
    const rows = await module.run();
    table(rows);
    results[name] = { seconds: (performance.now() - begun) / 1000, rows };
  } catch (error) {
    console.error(`${name} failed: ${(error as Error).stack ?? String(error)}`);
    results[name] = { seconds: (performance.now() - begun) / 1000, error: String(error) };
  }
}

const out = new URL('./results/', import.meta.url);
mkdirSync(out, { recursive: true });
writeFileSync(
  new URL('latest.json', out),
  `${JSON.stringify(
    {
      date: started.toISOString(),
      quick: QUICK,
      machine: {
        cpus: os.cpus().length,
        cpuModel: os.cpus()[0]?.model ?? 'unknown',
        memoryGiB: Math.round(os.totalmem() / 2 ** 30),
        platform: `${os.platform()} ${os.release()}`,
        loadAverageBefore: loadBefore,
        loadAverageAfter: os.loadavg(),
      },
      node: process.version,
      benchmarks: results,
    },
    null,
    2,
  )}\n`,
);
console.log(`\nfigures written to bench/results/latest.json`);
if (Object.values(results).some((r) => r.error)) process.exitCode = 1;
