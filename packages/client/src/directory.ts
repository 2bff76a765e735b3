import type { Person } from './api.js';
import type { UserDatabase } from './db.js';
import type { Transport } from './transport.js';

interface StoredDirectory {
  fetchedAt: string;
  people: Person[];
}

/** How long the cached directory is trusted before it is asked for again, online. */
const FRESH_MS = 10 * 60_000;

/**
 * The people the person may see by name, kept on the device for offline use. Asked again from
 * the server when older than ten minutes (or when `refresh`), and kept as it is when that fails.
 */
export async function directory(
  db: UserDatabase,
  transport: Transport,
  now: () => Date,
  refresh = false,
): Promise<Person[]> {
  const stored = await db.getMeta<StoredDirectory>('directory');
  const stale = !stored || now().getTime() - Date.parse(stored.fetchedAt) > FRESH_MS;
  if (!refresh && !stale) return stored.people;
  try {
    const answer = await transport.request<{ users: Person[] }>('GET', '/api/v1/users/directory');
    await db.setMeta('directory', { fetchedAt: now().toISOString(), people: answer.body.users });
    return answer.body.users;
  } catch (error) {
    if (stored) return stored.people;
    throw error;
  }
}
