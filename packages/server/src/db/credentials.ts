import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

/**
 * The embedded PostgreSQL's superuser, kept in `<REGISTRA_DATA_DIR>/postgres.json` (mode 0600) for
 * the Registra processes that share the cluster and for operators' tools (PROTOCOL 13, Operators).
 */
const CredentialsSchema = z.object({
  user: z.string().min(1),
  password: z.string().min(1),
  port: z.number().int().min(1).max(65535),
});
export type PostgresCredentials = z.infer<typeof CredentialsSchema>;

const FILE = 'postgres.json';
const MODE = 0o600;

export const credentialsFile = (dataDir: string) => path.resolve(dataDir, FILE);

/** 32 random bytes, URL-safe so that it fits in a connection URL as it is. */
export const newPassword = () => randomBytes(32).toString('base64url');

/** The stored credentials, or null when the data directory has none yet. */
export function readCredentials(dataDir: string): PostgresCredentials | null {
  const file = credentialsFile(dataDir);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  const parsed = CredentialsSchema.safeParse(safeJson(text));
  if (!parsed.success) throw new Error(`${file} is not {user, password, port}: fix or remove it`);
  // A copy restored from a backup may have lost its mode: the password is for this user only.
  if ((statSync(file).mode & 0o777) !== MODE) chmodSync(file, MODE);
  return parsed.data;
}

/** Writes the file whole (a crash leaves the old one or the new one, never half of either). */
export function writeCredentials(dataDir: string, credentials: PostgresCredentials): void {
  const file = credentialsFile(dataDir);
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(credentials, null, 2)}\n`, { mode: MODE });
  chmodSync(temporary, MODE); // the mode above applies only if the file was new
  renameSync(temporary, file);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
