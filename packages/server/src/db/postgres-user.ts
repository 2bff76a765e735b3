import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';

/**
 * The ids of the `postgres` system user, which PostgreSQL runs as when Registra runs as root (it
 * refuses to run as root); nothing when Registra is not root, or the user does not exist.
 */
export function postgresIds(): { uid?: number; gid?: number } {
  if (userInfo().uid !== 0) return {};
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith('postgres:'));
  if (!line) return {};
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}
