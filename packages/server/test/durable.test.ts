import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  action,
  Device,
  newId,
  startTestServer,
  storedEntryIds,
  type TestServer,
} from './harness.js';

/**
 * PROTOCOL 4 rule 2: nothing is acknowledged before it is committed. A trigger that fails at
 * COMMIT time (deferred, as a full disk would) must leave the device with an error, nothing stored,
 * ackThrough unchanged, and the same actions accepted when resent.
 */
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
  await sql`
    CREATE FUNCTION fail_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF EXISTS (SELECT 1 FROM pg_tables WHERE tablename = 'fail_commits') THEN
        RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = 'disk_full';
      END IF;
      RETURN NULL;
    END $$`.execute(server.db);
  await sql`
    CREATE CONSTRAINT TRIGGER entries_fail_at_commit AFTER INSERT ON entries
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION fail_at_commit()`.execute(
    server.db,
  );
});
afterAll(() => server.close());

describe('durable before acknowledged', () => {
  it('answers 503 and acknowledges nothing when the commit fails; a resend is then accepted', async () => {
    const device = new Device(server, await server.login('agent'));
    await device.push(action({ type: 'CREATE', recordId: newId(), recordType: 'birth' }));
    const recordId = newId();
    const batch = device.stamp([
      action({ type: 'CREATE', recordId, recordType: 'birth' }),
      action({ type: 'UPDATE', recordId, declaration: { 'child.firstName': 'Thandiwe' } }),
    ]);

    await sql`CREATE TABLE fail_commits ()`.execute(server.db);
    const failed = await device.post(batch);
    expect(failed.status).toBe(503);
    expect(failed.headers.get('retry-after')).toBe('5');
    expect(await failed.json()).toMatchObject({ code: 'SERVICE_UNAVAILABLE', status: 503 });
    expect(await storedEntryIds(server, recordId)).toEqual([]);
    const deviceRow = await server.db
      .selectFrom('devices')
      .select('ack_through')
      .where('id', '=', device.id)
      .executeTakeFirstOrThrow();
    expect(Number(deviceRow.ack_through)).toBe(1);

    await sql`DROP TABLE fail_commits`.execute(server.db);
    const resent = await device.sync(batch);
    expect(resent.ackThrough).toBe(3);
    expect(resent.results.map((r) => [r.outcome, r.duplicate ?? false])).toEqual([
      ['accepted', false],
      ['accepted', false],
    ]);
  });
});
