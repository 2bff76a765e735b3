import type { RecordQuery, RegistraClient } from '@registra/client';
import type { RecordState, RecordTypeActions, RegistryConfig } from '@registra/core';

/** A work queue: a local query over the records on this device. */
export interface Queue {
  name: string;
  label: string;
  empty: string;
  load(client: RegistraClient): Promise<RecordState[]>;
  /** The label under a configuration that names the queue differently. */
  labelIn?(config: RegistryConfig): string;
  /** Whether the configuration has records that can be in this queue (no empty tabs to nowhere). */
  relevant(config: RegistryConfig): boolean;
}

const offers =
  (...types: (keyof RecordTypeActions)[]) =>
  (config: RegistryConfig) =>
    [...config.recordTypes.values()].some((recordType) =>
      types.some((type) => recordType.actions[type] !== undefined),
    );
const always = () => true;

const records =
  (query: RecordQuery, keep: (record: RecordState) => boolean = () => true) =>
  async (client: RegistraClient) =>
    (await client.records.query(query))
      .filter(keep)
      .sort((a, b) => b.updatedAt.localeCompare(a.updatedAt));

/** The record queues, in tab order (Drafts and Needs attention are not record queries). */
export const RECORD_QUEUES: Queue[] = [
  {
    name: 'waiting-to-send',
    label: 'Waiting to send',
    empty: 'No records waiting to send: the server has everything done on this device.',
    load: records({ pending: true }),
    relevant: always,
  },
  {
    name: 'requires-updates',
    label: 'Requires updates',
    empty: 'No record was sent back for updates.',
    load: records({ flag: 'rejected' }),
    relevant: offers('REJECT'),
  },
  {
    name: 'ready-for-review',
    label: 'Ready for review',
    empty: 'No declaration waits for review.',
    load: records(
      {},
      (r) => (r.status === 'DECLARED' || r.status === 'NOTIFIED') && !r.flags.includes('rejected'),
    ),
    relevant: always,
  },
  {
    name: 'ready-to-print',
    label: 'Ready to print',
    empty: 'No registered record waits for its certificate.',
    // A printed record has left the queue (printCount counts the device's own pending prints).
    load: records({ status: 'REGISTERED' }, (r) => r.printCount === 0),
    relevant: offers('REGISTER'),
    // Registers that issue no certificates: the queue is simply what has been registered.
    labelIn: (config) => (offers('PRINT_CERTIFICATE')(config) ? 'Ready to print' : 'Registered'),
  },
  {
    name: 'assigned-to-me',
    label: 'Assigned to me',
    empty:
      'No record is assigned to you. Open a record and choose “Assign to me” to take it offline.',
    load: records({ assignedToMe: true }),
    relevant: offers('ASSIGN'),
  },
];
