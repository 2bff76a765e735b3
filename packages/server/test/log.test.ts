import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { action, Device, newId, startTestServer, type TestServer } from './harness.js';

let server: TestServer;
let recordId: string;
beforeAll(async () => {
  server = await startTestServer();
  recordId = newId();
  await new Device(server, await server.login('agent')).push(
    action({ type: 'CREATE', recordId, recordType: 'birth' }),
  );
});
afterAll(() => server.close());

describe('the log is append-only, enforced by the database', () => {
  it.each([
    ['UPDATE', sql`UPDATE entries SET status = 'rejected'`],
    ['DELETE', sql`DELETE FROM entries`],
    ['TRUNCATE', sql`TRUNCATE entries`],
  ])('refuses %s on entries', async (operation, statement) => {
    await expect(statement.execute(server.db)).rejects.toThrow(
      `the log is append-only: ${operation} on entries is refused`,
    );
    const rows = await server.db
      .selectFrom('entries')
      .select(['status'])
      .where('record_id', '=', recordId)
      .execute();
    expect(rows).toEqual([{ status: 'accepted' }]);
  });

  it('refuses a second entry with the same seq of a record, and a second entry with the same id', async () => {
    const row = await server.db
      .selectFrom('entries')
      .selectAll()
      .where('record_id', '=', recordId)
      .executeTakeFirstOrThrow();
    const copy = { ...row, body: JSON.stringify(row.body) } as Record<string, unknown>;
    delete copy['pos'];
    delete copy['tx'];
    await expect(
      server.db
        .insertInto('entries')
        .values({ ...copy, id: newId() } as never)
        .execute(),
    ).rejects.toThrow(/entries_record_id_seq_key/);
    await expect(
      server.db
        .insertInto('entries')
        .values({ ...copy, seq: 2 } as never)
        .execute(),
    ).rejects.toThrow(/entries_pkey/);
  });
});
