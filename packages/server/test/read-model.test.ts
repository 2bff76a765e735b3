import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rebuildReadModel, verifyReadModel } from '../src/services/read-model.js';
import { action, BIRTH, Device, newId, startTestServer, type TestServer } from './harness.js';

let server: TestServer;
let device: Device;
beforeAll(async () => {
  server = await startTestServer();
  device = new Device(server, await server.login('agent'));
  // 1,000 records, 2,000 actions, in batches of 100.
  for (let batch = 0; batch < 20; batch++) {
    const actions = [];
    for (let i = 0; i < 50; i++) {
      const recordId = newId();
      actions.push(
        action({ type: 'CREATE', recordId, recordType: 'birth' }),
        action({
          type: 'UPDATE',
          recordId,
          baseSeq: 1,
          declaration: { 'child.firstName': `Child${batch}x${i}` },
        }),
      );
    }
    await device.push(...actions);
  }
});
afterAll(() => server.close());

describe('read model', () => {
  it('is updated in the same transaction as the append: read-your-writes', async () => {
    const recordId = newId();
    await device.push(
      action({ type: 'CREATE', recordId, recordType: 'birth' }),
      action({ type: 'DECLARE', recordId, baseSeq: 1, declaration: BIRTH }),
    );
    const response = await server.request(
      'GET',
      `/api/v1/records?type=birth&status=DECLARED&q=Ama`,
      { token: device.session.token },
    );
    const { results } = (await response.json()) as { results: { id: string }[] };
    expect(results.map((r) => r.id)).toContain(recordId);
  });

  it('verify finds no difference on a consistent database, and finds a tampered row', async () => {
    expect((await verifyReadModel(server.registry)).differences).toEqual([]);
    const victim = await server.db
      .selectFrom('records')
      .select('id')
      .limit(1)
      .executeTakeFirstOrThrow();
    await sql`UPDATE records SET state = jsonb_set(state, '{status}', '"REGISTERED"') WHERE id = ${victim.id}`.execute(
      server.db,
    );
    const report = await verifyReadModel(server.registry);
    expect(report.differences).toEqual([
      { recordId: victim.id, problem: 'state differs from the fold of its log' },
    ]);
    await rebuildReadModel(server.registry, { databaseUrl: server.databaseUrl });
    expect((await verifyReadModel(server.registry)).differences).toEqual([]);
  });

  it('rebuild loses no write that arrives while it runs', async () => {
    const writer = new Device(server, device.session);
    const written: string[] = [];
    // Records folded in the rebuild's first batch, then changed while it goes on: caught up at the swap.
    const old = await server.db
      .selectFrom('records')
      .select('id')
      .orderBy('id')
      .limit(20)
      .execute();
    let started = 0;
    const write = async (device = writer) => {
      const recordId = newId();
      const changed = old[started++ % old.length]?.id as string;
      await device.push(
        action({ type: 'CREATE', recordId, recordType: 'birth' }),
        action({
          type: 'UPDATE',
          recordId,
          baseSeq: 1,
          declaration: { 'child.firstName': 'Late' },
        }),
        action({
          type: 'UPDATE',
          recordId: changed,
          declaration: { 'child.surname': `Late${started}` },
        }),
      );
      written.push(recordId);
    };
    // Writes committed between batches (deterministic), and more that are still in flight when
    // the copy ends, so they either land before the swap's lock or wait for it. Those run
    // concurrently (the last batches come after 1,000 records), each from a device of its own: two
    // batches of one device in flight at once could reach the server in either order, and the
    // later deviceSeqs first is a SEQ_GAP.
    const inFlight: Promise<void>[] = [];
    // onProgress runs as each range is done, and two threads can finish at once: the writer's
    // pushes are chained so that its deviceSeqs reach the server in order.
    let serial = Promise.resolve();
    const report = await rebuildReadModel(server.registry, {
      databaseUrl: server.databaseUrl,
      rangeSize: 100,
      batchSize: 40,
      onProgress: async ({ records }) => {
        if (records <= 500) await (serial = serial.then(() => write()));
        else if (records >= 1000) inFlight.push(write(new Device(server, device.session)));
      },
    });
    await Promise.all(inFlight);
    expect(written.length).toBeGreaterThanOrEqual(6);
    expect(report.records).toBeGreaterThanOrEqual(1000);
    expect(report.caughtUp).toBeGreaterThanOrEqual(5);

    const rows = await server.db
      .selectFrom('records')
      .select(['id', 'name', 'seq'])
      .where('id', 'in', written)
      .execute();
    expect(rows).toHaveLength(written.length);
    for (const row of rows) expect(row).toMatchObject({ name: 'late', seq: 2 }); // the name is kept in search form;
    const changed = await server.db
      .selectFrom('records')
      .select(['state'])
      .where(
        'id',
        'in',
        old.map((r) => r.id),
      )
      .execute();
    const surnames = changed.map(
      (r) => (r.state as { declaration: Record<string, string> }).declaration['child.surname'],
    );
    expect(surnames.filter((name) => name?.startsWith('Late'))).toHaveLength(
      Math.min(written.length, old.length),
    );
    const verify = await verifyReadModel(server.registry);
    expect(verify.differences).toEqual([]);
    expect(verify.records).toBe(1001 + written.length);
  });

  it('rebuilt on worker threads under concurrent appends, yields the rows that appends made', async () => {
    // The read model as appends made it, every column (search keys, name, fold carry, chain head).
    const allRows = async () =>
      new Map(
        (await sql<{ id: string }>`SELECT * FROM records ORDER BY id`.execute(server.db)).rows.map(
          (row) => [row.id, row],
        ),
      );
    const before = await allRows();
    const existing = [...before.keys()];
    const touched = new Set<string>();
    const sent = new Map<string, number>(); // record id -> its seq once its writes are in
    let round = 0;
    const write = async () => {
      const writer = new Device(server, device.session);
      const created = newId();
      // An existing record, spread over the ranges, renamed: its search keys change.
      const renamed = existing[(round * 97) % existing.length] as string;
      round += 1;
      touched.add(created).add(renamed);
      const results = await writer.push(
        action({ type: 'CREATE', recordId: created, recordType: 'birth' }),
        action({
          type: 'UPDATE',
          recordId: created,
          baseSeq: 1,
          declaration: { 'child.firstName': `Nouvelle${round}`, 'child.surname': 'Mbeki' },
        }),
        action({
          type: 'UPDATE',
          recordId: renamed,
          declaration: { 'child.firstName': `Renamed${round}`, 'child.surname': 'Okonkwo' },
        }),
      );
      expect(results.map((r) => r.outcome)).toEqual(['accepted', 'accepted', 'accepted']);
      const [, createdUpdate, renamedUpdate] = results;
      sent.set(created, createdUpdate?.seq ?? -1);
      sent.set(renamed, Math.max(sent.get(renamed) ?? 0, renamedUpdate?.seq ?? -1));
    };
    const inFlight: Promise<void>[] = [];
    const report = await rebuildReadModel(server.registry, {
      databaseUrl: server.databaseUrl,
      threads: 2,
      rangeSize: 150,
      batchSize: 50,
      onProgress: () => {
        inFlight.push(write());
      },
    });
    await Promise.all(inFlight);
    expect(round).toBeGreaterThanOrEqual(5);
    expect(report.records).toBeGreaterThanOrEqual(existing.length);

    const after = await allRows();
    // Nothing lost, nothing added: the records there were and the ones created meanwhile.
    expect([...after.keys()].sort()).toEqual([...new Set([...existing, ...touched])].sort());
    // Records no one wrote to meanwhile: exactly the rows the appends had made.
    for (const [id, row] of before) if (!touched.has(id)) expect(after.get(id)).toEqual(row);
    // Records written meanwhile: every write is in (seq), and each row is its log's fold.
    for (const [id, seq] of sent) expect(after.get(id)).toMatchObject({ seq });
    const verify = await verifyReadModel(server.registry);
    expect(verify.differences).toEqual([]);
    // And search finds them by their new names, from the rebuilt keys.
    const found = await server.request('GET', '/api/v1/records?type=birth&q=Okonkwo&limit=100', {
      token: device.session.token,
    });
    const { results } = (await found.json()) as { results: { id: string }[] };
    const renamed = [...touched].filter((id) => before.has(id));
    expect(results.map((r) => r.id).sort()).toEqual(renamed.sort());
  });
});
