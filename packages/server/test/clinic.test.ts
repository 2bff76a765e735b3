import { dateIn } from '@registra/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Device, newId, startTestServer, type TestServer } from './harness.js';

let server: TestServer;
let receptionist: Device;
beforeAll(async () => {
  server = await startTestServer('clinic');
  receptionist = new Device(server, await server.login('receptionist'));
});
afterAll(() => server.close());

const DAY = 86_400_000;
const day = (at: number) => dateIn('Africa/Lusaka', new Date(at));

/** CREATE and DECLARE (book) of an appointment on `date`, both taken at `occurredAt`. */
async function book(date: string, occurredAt: number) {
  const recordId = newId();
  const at = new Date(occurredAt).toISOString();
  const results = await receptionist.push(
    { id: newId(), recordId, type: 'CREATE', recordType: 'appointment', occurredAt: at },
    {
      id: newId(),
      recordId,
      type: 'DECLARE',
      baseSeq: 1,
      occurredAt: at,
      declaration: {
        'patient.firstName': 'Mutale',
        'patient.surname': 'Banda',
        'appointment.date': date,
        'appointment.time': '09:30',
        'appointment.facility': 'ibombo-clinic',
        'appointment.service': 'antenatal',
      },
    },
  );
  return results[1];
}

describe('clinic: appointments are not booked in the past', () => {
  it('refuses a booking for a day already gone', async () => {
    expect(await book(day(Date.now() - 2 * DAY), Date.now())).toMatchObject({
      outcome: 'rejected',
      code: 'INVALID_DECLARATION',
      errors: [{ path: 'appointment.date', message: 'must not be in the past' }],
    });
  });

  it('accepts a booking made offline for a day that has passed by the time it syncs', async () => {
    const madeOffline = Date.now() - 3 * DAY;
    expect(await book(day(madeOffline + DAY), madeOffline)).toMatchObject({
      outcome: 'accepted',
    });
  });
});
