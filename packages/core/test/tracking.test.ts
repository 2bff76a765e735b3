import { foldRecord, normaliseTrackingId, trackingIdOf, TRACKING_ID_LENGTH } from '@registra/core';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { birth, create, RECORD } from './fixtures.js';

const CROCKFORD_12 = /^[0-9A-HJKMNP-TV-Z]{12}$/;

describe('tracking ids', () => {
  it('are 12 Crockford base32 characters (no I, L, O, U)', () => {
    expect(TRACKING_ID_LENGTH).toBe(12);
    for (let i = 0; i < 1000; i++) expect(trackingIdOf(randomUUID())).toMatch(CROCKFORD_12);
  });

  it('are deterministic: the same record id always gives the same tracking id', () => {
    const id = '0193a3b2-7c4e-7d21-9f3a-5c6b7d8e9f01';
    expect(trackingIdOf(id)).toBe(trackingIdOf(id));
    expect(trackingIdOf(id.toUpperCase())).toBe(trackingIdOf(id));
    // Its last 60 bits, most significant first.
    expect(trackingIdOf('00000000-0000-7000-8000-000000000001')).toBe('000000000001');
    expect(trackingIdOf('00000000-0000-7000-8000-00000000001f')).toBe('00000000000Z');
    expect(trackingIdOf('00000000-0000-7000-8000-000000000020')).toBe('000000000010');
    expect(trackingIdOf('00000000-0000-7000-8fff-ffffffffffff')).toBe('ZZZZZZZZZZZZ');
  });

  it('is what the fold reports as the record’s trackingId', () => {
    expect(foldRecord([create()], birth)?.trackingId).toBe(trackingIdOf(RECORD));
  });

  it('differ for different UUIDs', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 10_000; i++) ids.add(trackingIdOf(randomUUID()));
    expect(ids.size).toBe(10_000);
    // UUIDv7s made in the same millisecond differ in their random tail, and so do their ids.
    const sameMillisecond = new Set<string>();
    for (let i = 0; i < 10_000; i++)
      sameMillisecond.add(
        trackingIdOf(`0193a3b2-7c4e-7d21-9f3a-${i.toString(16).padStart(12, '0')}`),
      );
    expect(sameMillisecond.size).toBe(10_000);
    expect(trackingIdOf('0193a3b2-7c4e-7d21-8000-000000000000')).not.toBe(
      trackingIdOf('0193a3b2-7c4e-7d21-8001-000000000000'),
    );
  });

  it('refuse what is not a UUID', () => {
    expect(() => trackingIdOf('not-a-uuid')).toThrow('not a UUID');
    expect(() => trackingIdOf('0193a3b2-7c4e-7d21-9f3a-5c6b7d8e9f0')).toThrow(TypeError);
  });

  it('normalise what people type: case, spaces, dashes, O→0, I/L→1', () => {
    expect(normaliseTrackingId(' b7k2-qx9m-4tol ')).toBe('B7K2QX9M4T01');
    expect(normaliseTrackingId('oIlL 0000 1111')).toBe('011100001111');
    const id = trackingIdOf(RECORD);
    expect(normaliseTrackingId(id.toLowerCase().replace(/(.{4})/g, '$1 '))).toBe(id);
    expect(normaliseTrackingId(id)).toBe(id);
  });
});
