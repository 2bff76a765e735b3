import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { consentFieldName, consumerUsername, type ExchangeConfig } from '@registra/core';

/**
 * The policy decision point (PROTOCOL 12): every field access is decided by the configuration's
 * Cedar policies. Principal: `Registra::Consumer`; action: `Registra::Action::"read"`; resource:
 * `Registra::Field::"<provider>.<field>"` (in its `Registra::Provider`, its `qualifiedName` that
 * same `<provider>.<field>`, as consents name it); context: the purpose, the
 * consent (its status, fields and expiry) and the time. It fails closed: an error of the engine,
 * an unknown consumer or field, anything not decided `allow`, is a deny with its reason.
 */

/** Registra's Cedar schema: what policies may speak of. Policies are validated against it. */
export const CEDAR_SCHEMA = `
namespace Registra {
  entity Provider;
  entity Consumer = { "purposes": Set<String> };
  entity Field in [Provider] = { "name": String, "provider": String, "qualifiedName": String };
  type Consent = {
    "id": String,
    "status": String,
    "fields": Set<String>,
    "expiresAt": Long,
  };
  action "read" appliesTo {
    principal: Consumer,
    resource: Field,
    context: { "purpose": String, "consent": Consent, "now": Long },
  };
}
`;

export interface PolicyContext {
  purpose: string;
  consent: { id: string; status: string; fields: string[]; expiresAt: string };
  now: Date;
}

export type PolicyDecision = { allowed: true } | { allowed: false; reason: string };

export class PolicyError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `the exchange's Cedar policies do not hold:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
    this.name = 'PolicyError';
  }
}

let loaded = 0;

export class PolicyDecisionPoint {
  readonly #id: string;
  readonly #schemaId: string;
  readonly #entities: cedar.Entities;
  readonly #builtIn: number;
  /** Per consumer and field, the entities its request needs (fewer to hand over: faster). */
  readonly #slices = new Map<string, cedar.Entities>();
  readonly #fields: ReadonlySet<string>;
  readonly #consumers: ReadonlySet<string>;

  /** Validates the policies and entities against the schema, or throws PolicyError (at start). */
  constructor(exchange: ExchangeConfig) {
    const messages = (errors: cedar.DetailedError[]) => errors.map((e) => e.message);
    const policies = { staticPolicies: namedPolicies(exchange.policies, messages) };
    const problems: string[] = [];
    const schemaParse = cedar.checkParseSchema(CEDAR_SCHEMA);
    if (schemaParse.type === 'failure') throw new PolicyError(messages(schemaParse.errors));
    const validation = cedar.validate({
      schema: CEDAR_SCHEMA,
      policies,
      validationSettings: { mode: 'strict' },
    });
    if (validation.type === 'failure') problems.push(...messages(validation.errors));
    else
      problems.push(
        ...validation.validationErrors.map((e) => `policy ${e.policyId}: ${e.error.message}`),
      );
    const builtIn = entitiesOf(exchange);
    this.#builtIn = builtIn.length;
    this.#entities = [...builtIn, ...(exchange.entities as unknown as cedar.Entities)];
    const entityCheck = cedar.checkParseEntities({
      entities: this.#entities,
      schema: CEDAR_SCHEMA,
    });
    if (entityCheck.type === 'failure') problems.push(...messages(entityCheck.errors));
    if (problems.length > 0) throw new PolicyError(problems);

    loaded += 1;
    this.#id = `registra-${loaded}`;
    this.#schemaId = `registra-schema-${loaded}`;
    const pre = cedar.preparsePolicySet(this.#id, policies);
    const preSchema = cedar.preparseSchema(this.#schemaId, CEDAR_SCHEMA);
    if (pre.type === 'failure') throw new PolicyError(messages(pre.errors));
    if (preSchema.type === 'failure') throw new PolicyError(messages(preSchema.errors));
    this.#fields = new Set(exchange.fields.map(consentFieldName));
    this.#consumers = new Set(exchange.consumers.map((c) => c.id));
    // The requests' shape, checked once against the schema (decide() does not check it again).
    const consumer = exchange.consumers[0]?.id;
    const field = exchange.fields[0];
    if (consumer && field) {
      const sample: PolicyContext = {
        purpose: exchange.purposes[0]?.id ?? '',
        consent: {
          id: 'start',
          status: 'requested',
          fields: [],
          expiresAt: new Date(0).toISOString(),
        },
        now: new Date(0),
      };
      const check = this.#authorize(consumer, consentFieldName(field), sample, true);
      if (!check.allowed && check.reason.startsWith('the policy engine failed'))
        throw new PolicyError([check.reason]);
    }
  }

  /** Whether `consumer` may read `field` (`<provider>.<field>`) now. Never throws. */
  decide(consumer: string, field: string, context: PolicyContext): PolicyDecision {
    if (!this.#consumers.has(consumer)) return deny(`unknown consumer "${consumer}"`);
    if (!this.#fields.has(field)) return deny(`unknown field "${field}"`);
    return this.#authorize(consumer, field, context, false);
  }

  /**
   * One Cedar request. Policies and entities were validated against the schema at start, and the
   * request is made by this code only (`requestOf`), so its types are the same every time: the
   * first request is validated against the schema (a mismatch is a PolicyError at start, see the
   * constructor), later ones are not, which halves the cost of a decision (the schema's check of
   * the entities and request on every call). Any error of the engine or a policy is still a deny.
   */
  #authorize(
    consumer: string,
    field: string,
    context: PolicyContext,
    validate: boolean,
  ): PolicyDecision {
    let answer: cedar.AuthorizationAnswer;
    try {
      answer = cedar.statefulIsAuthorized({
        ...requestOf(consumer, field, context),
        preparsedPolicySetId: this.#id,
        ...(validate ? { preparsedSchemaName: this.#schemaId, validateRequest: true } : {}),
        entities: this.#slice(consumer, field),
      });
    } catch (error) {
      return deny(`the policy engine failed: ${(error as Error).message}`);
    }
    if (answer.type === 'failure') {
      return deny(`the policy engine failed: ${answer.errors.map((e) => e.message).join('; ')}`);
    }
    const { decision, diagnostics } = answer.response;
    if (diagnostics.errors.length > 0) {
      // An error in a policy is never read as its silence: the whole decision is a deny.
      return deny(
        `policy error: ${diagnostics.errors.map((e) => `${e.policyId}: ${e.error.message}`).join('; ')}`,
      );
    }
    if (decision === 'allow') return { allowed: true };
    return deny(
      diagnostics.reason.length > 0
        ? `forbidden by policy ${diagnostics.reason.join(', ')}`
        : 'no policy permits it',
    );
  }

  #slice(consumer: string, field: string): cedar.Entities {
    const key = `${consumer} ${field}`;
    let slice = this.#slices.get(key);
    if (!slice) {
      const provider = field.slice(0, field.indexOf('.'));
      const builtIn = (e: cedar.EntityJson, type: string, id: string) =>
        'type' in e.uid && e.uid.type === type && e.uid.id === id;
      slice = this.#entities.filter(
        (e, i) =>
          i >= this.#builtIn ||
          builtIn(e, 'Registra::Consumer', consumer) ||
          builtIn(e, 'Registra::Field', field) ||
          builtIn(e, 'Registra::Provider', provider),
      );
      this.#slices.set(key, slice);
    }
    return slice;
  }
}

/**
 * The policies by id: a policy's `@id("...")` annotation, else `policy<N>`, so that a denial's
 * reason names the policy as its author did.
 */
function namedPolicies(
  text: string,
  messages: (errors: cedar.DetailedError[]) => string[],
): Record<string, string> {
  const parts = cedar.policySetTextToParts(text);
  if (parts.type === 'failure') throw new PolicyError(messages(parts.errors));
  if (parts.policy_templates.length > 0) throw new PolicyError(['templates are not supported']);
  const named: Record<string, string> = {};
  parts.policies.forEach((policy, i) => {
    const id = /@id\(\s*"([^"]+)"\s*\)/.exec(policy)?.[1] ?? `policy${i}`;
    if (Object.hasOwn(named, id)) throw new PolicyError([`two policies have the id "${id}"`]);
    named[id] = policy;
  });
  return named;
}

const deny = (reason: string): PolicyDecision => ({ allowed: false, reason });

/** The Cedar request of a field access: the only place its shape is made. */
function requestOf(
  consumer: string,
  field: string,
  context: PolicyContext,
): Pick<cedar.StatefulAuthorizationCall, 'principal' | 'action' | 'resource' | 'context'> {
  const expiresAt = Date.parse(context.consent.expiresAt);
  return {
    principal: { type: 'Registra::Consumer', id: consumer },
    action: { type: 'Registra::Action', id: 'read' },
    resource: { type: 'Registra::Field', id: field },
    context: {
      purpose: context.purpose,
      consent: {
        id: context.consent.id,
        status: context.consent.status,
        fields: context.consent.fields,
        expiresAt: Number.isFinite(expiresAt) ? Math.floor(expiresAt / 1000) : 0,
      },
      now: Math.floor(context.now.getTime() / 1000),
    },
  };
}

/** The consumers, providers and fields of the configuration, as Cedar entities. */
function entitiesOf(exchange: ExchangeConfig): cedar.Entities {
  return [
    ...exchange.providers.map((p) => ({
      uid: { type: 'Registra::Provider', id: p.id },
      attrs: {},
      parents: [],
    })),
    ...exchange.consumers.map((c) => ({
      uid: { type: 'Registra::Consumer', id: c.id },
      attrs: { purposes: c.purposes },
      parents: [],
    })),
    ...exchange.fields.map((f) => ({
      uid: { type: 'Registra::Field', id: consentFieldName(f) },
      attrs: { name: f.name, provider: f.provider, qualifiedName: consentFieldName(f) },
      parents: [{ type: 'Registra::Provider', id: f.provider }],
    })),
  ];
}

export { consumerUsername };
