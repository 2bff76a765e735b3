import {
  loadConfigurationOrThrow,
  type ConfigurationInput,
  type Entry,
  type EntryStatus,
  type RecordTypeConfig,
  type RegistryConfig,
} from '@registra/core';
import { readFileSync } from 'node:fs';

/** An example configuration as the JSON document on disk (not yet validated). */
export function example(name: string): unknown {
  return JSON.parse(
    readFileSync(new URL(`../../../examples/${name}/config.json`, import.meta.url), 'utf8'),
  );
}

/** The civil registry example: birth and death, assignment mode. */
export const civil: RegistryConfig = loadConfigurationOrThrow(example('civil-registry'));
export const birth = civil.recordTypes.get('birth') as RecordTypeConfig;

/**
 * A small merge-mode registry, defined here so that these tests do not depend on the other
 * examples: one record type offering every action, and CUSTOM actions that add and remove a flag,
 * clear conflicts, and one (NOTE) with no restriction of its own.
 */
export const MERGE_DOCUMENT: ConfigurationInput = {
  id: 'test-registry',
  name: 'Test registry',
  version: '1',
  permissions: [
    { id: 'household.read', label: 'Read households' },
    { id: 'household.write', label: 'Write households' },
    { id: 'household.approve', label: 'Approve household corrections' },
  ],
  roles: [
    {
      id: 'enumerator',
      label: 'Enumerator',
      permissions: ['household.read', 'household.write'],
    },
    {
      id: 'supervisor',
      label: 'Supervisor',
      permissions: ['household.read', 'household.write', 'household.approve'],
    },
  ],
  locations: [
    { id: 'land', name: 'Land', type: 'country', parentId: null },
    { id: 'north', name: 'North', type: 'province', parentId: 'land' },
    { id: 'hills', name: 'Hills', type: 'district', parentId: 'north' },
    { id: 'hills-office', name: 'Hills office', type: 'office', parentId: 'hills' },
  ],
  recordTypes: [
    {
      id: 'household',
      label: 'Household',
      concurrency: 'merge',
      readPermission: 'household.read',
      title: ['head.firstName'],
      form: {
        pages: [
          {
            id: 'household',
            title: 'Household',
            fields: [
              { id: 'head.firstName', label: 'Head of household', type: 'text' },
              { id: 'head.phone', label: 'Phone', type: 'phone' },
              { id: 'household.size', label: 'Size', type: 'number', integer: true, min: 1 },
              { id: 'household.address', label: 'Address', type: 'address' },
              {
                id: 'household.members',
                label: 'Members',
                type: 'reference',
                recordType: 'household',
                multiple: true,
              },
            ],
          },
        ],
      },
      actions: {
        CREATE: { permission: 'household.write' },
        NOTIFY: { permission: 'household.write' },
        DECLARE: { permission: 'household.write' },
        UPDATE: { permission: 'household.write' },
        VALIDATE: { permission: 'household.write' },
        REGISTER: { permission: 'household.write' },
        REJECT: { permission: 'household.write' },
        ARCHIVE: { permission: 'household.write' },
        CORRECT: {
          permission: 'household.write',
          confirmation: { permission: 'household.approve' },
        },
        PRINT_CERTIFICATE: { permission: 'household.write' },
        CUSTOM: [
          { id: 'NOTE', label: 'Note', permission: 'household.write' },
          {
            id: 'VERIFY',
            label: 'Verify',
            permission: 'household.write',
            addFlags: ['verified'],
            allowedIn: ['DECLARED', 'REGISTERED'],
            forbiddenFlags: ['verified'],
          },
          {
            id: 'UNVERIFY',
            label: 'Withdraw verification',
            permission: 'household.write',
            removeFlags: ['verified'],
            requiresFlags: ['verified'],
          },
          {
            id: 'RESOLVE_CONFLICT',
            label: 'Resolve conflict',
            permission: 'household.write',
            clearsConflicts: true,
            requiresFlags: ['conflict'],
          },
        ],
      },
    },
  ],
};

export const registry: RegistryConfig = loadConfigurationOrThrow(MERGE_DOCUMENT);
export const household = registry.recordTypes.get('household') as RecordTypeConfig;

export const RECORD = '0193a000-0000-7000-8000-00000000abcd';
export const AGENT = '0193a000-0000-7000-8000-0000000000a1';
export const REGISTRAR = '0193a000-0000-7000-8000-0000000000a2';
export const REGISTRAR2 = '0193a000-0000-7000-8000-0000000000a3';
export const SUPERVISOR = '0193a000-0000-7000-8000-0000000000a4';
export const AGENT_FAR = '0193a000-0000-7000-8000-0000000000a5';
export const DEVICE_A = '0193a000-0000-7000-8000-0000000000d1';
export const DEVICE_B = '0193a000-0000-7000-8000-0000000000d2';

/** The server time of the entry at `seq` (what the fold reports as `updatedAt` and friends). */
export const recordedAt = (seq: number) =>
  `2026-11-02T10:${String(Math.floor(seq / 60)).padStart(2, '0')}:${String(seq % 60).padStart(2, '0')}.000Z`;

/** A deterministic entry id from its seq (and a salt, for two entries at one seq). */
export const idOf = (seq: number, salt = 0) =>
  `0193a000-0000-7000-8${String(salt).padStart(3, '0')}-${String(seq).padStart(12, '0')}`;

/** A log entry with sensible defaults: by AGENT on DEVICE_A at ibombo-office; `seq` orders it. */
export function entry(
  seq: number,
  fields: Partial<Entry> & Pick<Entry, 'type'>,
  status: EntryStatus = 'accepted',
): Entry {
  return {
    id: idOf(seq),
    recordId: RECORD,
    occurredAt: `2026-11-01T10:00:${String(seq % 60).padStart(2, '0')}.000Z`,
    seq,
    status,
    createdBy: AGENT,
    createdByRole: 'field-agent',
    createdAtLocation: 'ibombo-office',
    deviceId: DEVICE_A,
    recordedAt: recordedAt(seq),
    code: status === 'rejected' ? 'INVALID_TRANSITION' : null,
    message: null,
    registrationNumber: null,
    configVersion: '1.0.0',
    ...fields,
  };
}

export const create = (type = 'birth') => entry(1, { type: 'CREATE', recordType: type });

/** The fields a birth requires (DECLARE, REGISTER, CORRECT), in the order of the form. */
export const BIRTH_REQUIRED = [
  'child.firstName',
  'child.surname',
  'child.dob',
  'child.sex',
  'mother.firstName',
  'mother.surname',
];

/** Every field DECLARE requires of a birth. */
export const BIRTH = {
  'child.firstName': 'Ama',
  'child.surname': 'Banda',
  'child.dob': '2026-10-01',
  'child.sex': 'female',
  'mother.firstName': 'Grace',
  'mother.surname': 'Banda',
};
