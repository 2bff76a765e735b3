import {
  ConfigurationError,
  jsonEqual,
  loadConfiguration,
  loadConfigurationOrThrow,
  type RegistryConfig,
} from '@registra/core';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { v7 as uuidv7 } from 'uuid';
import { z } from 'zod';
import type { DB } from '../db/database.js';
import { findConfiguration, saveConfiguration } from '../store/configurations.js';
import { insertUser } from '../store/users.js';
import { hashPassword } from './passwords.js';

export const EXAMPLES_DIR = fileURLToPath(new URL('../../../../examples/', import.meta.url));

/** `civil-registry` → the example's directory; anything else is a path to a file or directory. */
export function resolveConfigDir(nameOrPath: string): {
  configFile: string;
  usersFile: string | null;
} {
  const example = path.join(EXAMPLES_DIR, nameOrPath);
  const base =
    /^[a-z][a-z0-9-]*$/.test(nameOrPath) && existsSync(example)
      ? example
      : path.resolve(nameOrPath);
  if (!existsSync(base)) throw new Error(`REGISTRA_CONFIG: no example or file "${nameOrPath}"`);
  const dir = statSync(base).isDirectory() ? base : path.dirname(base);
  const configFile = statSync(base).isDirectory() ? path.join(base, 'config.json') : base;
  const usersFile = path.join(dir, 'users.json');
  return { configFile, usersFile: existsSync(usersFile) ? usersFile : null };
}

/** The configuration file, its hooks' addresses read from `env` (PROTOCOL 8: `urlEnv`). */
export function loadConfigFile(
  configFile: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): RegistryConfig {
  let document: unknown;
  try {
    document = JSON.parse(readFileSync(configFile, 'utf8'));
  } catch (error) {
    throw new Error(`${configFile}: ${(error as Error).message}`, { cause: error });
  }
  return loadConfigurationOrThrow(document, { env });
}

const DemoUsersSchema = z.array(
  z.strictObject({
    username: z.string(),
    name: z.string(),
    role: z.string(),
    officeId: z.string(),
  }),
);

/**
 * Stores the configuration version, and creates the demo users on first start (no users yet). A
 * version is stored once and means one document for good: every entry names the version it was
 * decided under. A different document under a stored version is refused, so that it gets a new
 * version instead. (Both are compared as loaded today, so defaults added by a newer Registra do
 * not count as a change.)
 */
export async function seed(
  db: DB,
  config: RegistryConfig,
  usersFile: string | null,
  demoPassword: string,
): Promise<string[]> {
  const stored = await findConfiguration(db, config.version);
  if (stored === undefined) {
    await saveConfiguration(db, config.version, config.document);
  } else {
    const before = loadConfiguration(stored);
    if (!before.ok || !jsonEqual(before.config.document, config.document)) {
      throw new ConfigurationError([
        {
          path: 'version',
          message: `version ${config.version} is already stored with another document: give the changed configuration a new version`,
        },
      ]);
    }
  }
  const anyone = await db.selectFrom('users').select('id').limit(1).executeTakeFirst();
  if (anyone || !usersFile) return [];
  const demo = DemoUsersSchema.parse(JSON.parse(readFileSync(usersFile, 'utf8')));
  const passwordHash = await hashPassword(demoPassword);
  for (const user of demo) {
    if (!config.roles.has(user.role))
      throw new Error(`${usersFile}: unknown role "${user.role}" for ${user.username}`);
    await insertUser(db, { ...user, id: uuidv7(), kind: 'user', passwordHash });
  }
  return demo.map((u) => u.username);
}
