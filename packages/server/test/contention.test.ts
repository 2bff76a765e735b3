import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { action, Device, newId, startTestServer, type TestServer } from './harness.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer('social-registry');
});
afterAll(() => server.close());

describe('many writers on one record', () => {
  it('accepts every update of a household that 8 devices edit at once, in one order', async () => {
    const session = await server.login('enumerator');
    const creator = new Device(server, session);
    const recordId = newId();
    await creator.push(action({ type: 'CREATE', recordId, recordType: 'household' }));
    const devices = Array.from({ length: 8 }, () => new Device(server, session));
    const outcomes = await Promise.all(
      devices.map(async (device, d) => {
        const results = [];
        for (let i = 0; i < 15; i++) {
          const [result] = await device.push(
            action({
              type: 'UPDATE',
              recordId,
              baseSeq: 1,
              declaration: { 'household.size': ((d * 15 + i) % 50) + 1 },
            }),
          );
          results.push(
            result?.outcome === 'accepted' ? 'accepted' : `${result?.code}: ${result?.message}`,
          );
        }
        return results;
      }),
    );
    expect(outcomes.flat().filter((o) => o !== 'accepted')).toEqual([]);
    const rows = await server.db
      .selectFrom('entries')
      .select('seq')
      .where('record_id', '=', recordId)
      .orderBy('seq')
      .execute();
    expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: 121 }, (_, i) => i + 1));
  });
});
