import { loadConfigurationOrThrow, type ExchangeConfig } from '@registra/core';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PolicyDecisionPoint, PolicyError } from '../src/policy.js';

const EXAMPLE = JSON.parse(
  readFileSync(new URL('../../../examples/civil-registry/config.json', import.meta.url), 'utf8'),
) as { exchange: ExchangeConfig };
const exchange = loadConfigurationOrThrow(EXAMPLE).document.exchange as ExchangeConfig;

const approved = {
  purpose: 'passport',
  consent: {
    id: 'c1',
    status: 'approved',
    fields: ['births.fullName'],
    expiresAt: '2099-01-01T00:00:00.000Z',
  },
  now: new Date('2026-12-01T00:00:00.000Z'),
};

const withPolicies = (policies: string) => new PolicyDecisionPoint({ ...exchange, policies });

describe('the policy decision point', () => {
  it('allows what the example policy permits, field by field', () => {
    const pdp = new PolicyDecisionPoint(exchange);
    expect(pdp.decide('passport-office', 'births.fullName', approved)).toEqual({ allowed: true });
    expect(pdp.decide('passport-office', 'births.sex', approved)).toEqual({
      allowed: false,
      reason: 'no policy permits it',
    });
    expect(
      pdp.decide('passport-office', 'births.fullName', { ...approved, purpose: 'tax' }),
    ).toMatchObject({ allowed: false });
    const expired = { ...approved, now: new Date('2099-01-02T00:00:00.000Z') };
    expect(pdp.decide('passport-office', 'births.fullName', expired)).toMatchObject({
      allowed: false,
    });
  });

  it('denies an unknown consumer or field, with its reason', () => {
    const pdp = new PolicyDecisionPoint(exchange);
    expect(pdp.decide('tax-office', 'births.fullName', approved)).toEqual({
      allowed: false,
      reason: 'unknown consumer "tax-office"',
    });
    expect(pdp.decide('passport-office', 'births.motherName', approved)).toEqual({
      allowed: false,
      reason: 'unknown field "births.motherName"',
    });
  });

  it('fails closed: a policy that errors denies, even when another policy permits', () => {
    // Cedar itself skips an erroring policy, so this forbid would let the permit through.
    const pdp = withPolicies(`
      permit (principal, action, resource);
      @id("overflow") forbid (principal, action, resource) when { context.now * 9223372036854775807 > 0 };
    `);
    const decision = pdp.decide('passport-office', 'births.fullName', approved);
    expect(decision.allowed).toBe(false);
    expect(decision).toMatchObject({ reason: expect.stringMatching(/^policy error: overflow: /) });
  });

  it('names the forbidding policy', () => {
    const pdp = withPolicies(`
      permit (principal, action, resource);
      @id("no-sex") forbid (principal, action, resource) when { resource.name == "sex" };
    `);
    expect(pdp.decide('passport-office', 'births.sex', approved)).toEqual({
      allowed: false,
      reason: 'forbidden by policy no-sex',
    });
  });

  it('refuses at start policies that do not hold against the schema, and entities that do not', () => {
    expect(() =>
      withPolicies('permit (principal, action, resource) when { context.purpose > 1 };'),
    ).toThrow(PolicyError);
    expect(() =>
      withPolicies('permit (principal, action, resource) when { resource.colour == "red" };'),
    ).toThrow(PolicyError);
    expect(() => withPolicies('permit (principal, action')).toThrow(PolicyError);
    expect(
      () =>
        new PolicyDecisionPoint({
          ...exchange,
          entities: [
            { uid: { type: 'Registra::Consumer', id: 'x' }, attrs: { purposes: 7 }, parents: [] },
          ],
        }),
    ).toThrow(PolicyError);
  });
});
