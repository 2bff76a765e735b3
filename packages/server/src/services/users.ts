import { v7 as uuidv7 } from 'uuid';
import { z } from 'zod';
import { revokeUserTokens } from '../store/tokens.js';
import { insertUser, listUsers, setUserActive, type UserRow } from '../store/users.js';
import type { Registry } from './context.js';
import { hashPassword } from './passwords.js';
import { invalidInput, notFound, ProblemError } from './problem.js';

/** The permission that lets a principal manage users through the API. */
export const MANAGE_USERS = 'user.manage';

export const NewUserSchema = z.strictObject({
  username: z
    .string()
    .regex(/^[a-z0-9][a-z0-9._-]{1,63}$/, 'must be 2–64 lowercase letters, digits, dots, dashes'),
  name: z.string().trim().min(1).max(200),
  role: z.string().min(1),
  officeId: z.string().min(1),
  password: z.string().min(10, 'must have at least 10 characters').max(200),
  kind: z.enum(['user', 'client']).default('user'),
});
export type NewUserInput = z.input<typeof NewUserSchema>;

export async function addUser(registry: Registry, input: NewUserInput): Promise<UserRow> {
  const parsed = NewUserSchema.safeParse(input);
  if (!parsed.success) {
    throw invalidInput(
      'the user is not valid',
      parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    );
  }
  const user = parsed.data;
  if (!registry.config.roles.has(user.role)) {
    throw invalidInput(`unknown role "${user.role}"`, [
      { path: 'role', message: 'is not a role of the configuration' },
    ]);
  }
  const office = registry.config.locations.get(user.officeId);
  if (!office || (office.type !== 'office' && office.type !== 'facility')) {
    throw invalidInput(`"${user.officeId}" is not an office`, [
      { path: 'officeId', message: 'is not an office or facility' },
    ]);
  }
  const row: UserRow = {
    id: uuidv7(),
    username: user.username,
    name: user.name,
    role: user.role,
    officeId: user.officeId,
    kind: user.kind,
    active: true,
  };
  const inserted = await insertUser(registry.db, {
    ...row,
    passwordHash: await hashPassword(user.password),
  });
  if (!inserted)
    throw new ProblemError(409, 'USERNAME_TAKEN', `the username "${user.username}" is taken`);
  return row;
}

export function users(registry: Registry): Promise<UserRow[]> {
  return listUsers(registry.db);
}

/** Deactivates a user: their access tokens are refused and their refresh tokens revoked at once. */
export async function deactivateUser(registry: Registry, username: string): Promise<UserRow> {
  const user = await setUserActive(registry.db, username, false);
  if (!user) throw notFound(`no user "${username}"`);
  await revokeUserTokens(registry.db, user.id);
  return user;
}
