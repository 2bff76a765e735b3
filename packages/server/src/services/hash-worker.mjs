// One scrypt, run by a thread of the password hashing pool (passwords.ts). Synchronous on purpose:
// the asynchronous scrypt would queue on libuv's thread pool, which gzip and the file system
// share; the synchronous one runs on this worker thread and on nothing else.
import { scryptSync } from 'node:crypto';

/**
 * @param {{ password: string, salt: Uint8Array, keyLength: number,
 *           N: number, r: number, p: number, maxmem: number }} task
 * @returns {Uint8Array}
 */
export default function derive({ password, salt, keyLength, N, r, p, maxmem }) {
  return scryptSync(password, salt, keyLength, { N, r, p, maxmem });
}
