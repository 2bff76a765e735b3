import type { Entry, RecordState } from '@registra/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIRTH, declareBirth, Device, startTestServer, type TestServer } from './harness.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer('civil-registry', { jobs: true });
});
afterAll(() => server.close());

async function get(id: string, token: string) {
  const response = await server.request('GET', `/api/v1/records/${id}`, { token });
  return (await response.json()) as { record: RecordState; entries: Entry[] };
}

describe('deduplication as a job after the action commits (PROTOCOL 10)', () => {
  it('the sync answers first; the job then flags the second of two similar births', async () => {
    const agent = new Device(server, await server.login('agent'));
    const first = await declareBirth(agent, { ...BIRTH, 'child.firstName': 'Chileshe' });
    const second = await declareBirth(agent, { ...BIRTH, 'child.firstName': 'Chilesh' });
    const { token } = agent.session;
    let record: RecordState | undefined;
    for (let i = 0; i < 100; i++) {
      ({ record } = await get(second, token));
      if (record.flags.includes('duplicate:suspected')) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(record?.flags).toContain('duplicate:suspected');
    expect(record?.duplicates?.map((c) => c.recordId)).toEqual([first]);
    const { entries } = await get(second, token);
    expect(entries.filter((e) => e.type === 'DUPLICATES_FOUND')).toHaveLength(1);
  });
});
