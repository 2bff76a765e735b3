import type { ExchangeConfig } from '@registra/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  GraphQLError,
  Kind,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLResolveInfo,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';
import { Ajv } from 'ajv';
import mercurius, { type MercuriusContext } from 'mercurius';
import type { Consents } from './consents.js';
import type { Authenticated, ExchangeHost } from './host.js';
import type { FederatedQuery, QueryMemo } from './query.js';

/**
 * `/api/v1/exchange/graphql` (PROTOCOL 12) on mercurius, the Fastify team's GraphQL server: it
 * runs inside the same Fastify app (its hooks, limits, logging and error handling), has a
 * query-depth limit of its own and takes validation rules (the cost limit below). The schema is
 * made from the configuration: `person(subjectId)` and one nullable String per exchanged field,
 * described with its provider and path.
 */

export const EXCHANGE_GRAPHQL_PATH = '/api/v1/exchange/graphql';

const quote = (text: string) => JSON.stringify(text);

/** The SDL of the exchange's schema, from the configuration. */
export function exchangeSchema(exchange: ExchangeConfig): string {
  const fields = exchange.fields
    .map(
      (f) =>
        `  ${quote(`${f.label}${f.description ? `: ${f.description}` : ''} (provider ${f.provider}, path ${f.path})`)}\n  ${f.name}: String`,
    )
    .join('\n');
  return `
"A person as the registries know them: each field from its provider, each withheld one with its own error."
type Person {
  "The subject's identifier: the registration number the question named."
  subjectId: String!
${fields}
}

type Query {
  "The subject's fields, as far as their consent and the policy allow. consentId: default, the consumer's latest consent about the subject."
  person(subjectId: String!, consentId: ID): Person
}
`;
}

/** The names of Person's fields a `person` selection asks for, through fragments too. */
function selectedNames(info: GraphQLResolveInfo): string[] {
  const names: string[] = [];
  const walk = (set: SelectionSetNode | undefined) => {
    for (const selection of set?.selections ?? []) {
      if (selection.kind === Kind.FIELD) names.push(selection.name.value);
      else if (selection.kind === Kind.INLINE_FRAGMENT) walk(selection.selectionSet);
      else walk(info.fragments[selection.name.value]?.selectionSet);
    }
  };
  for (const node of info.fieldNodes) walk(node.selectionSet);
  return names;
}

/**
 * The cost limit: each exchanged field costs its configured `cost`, every other field 1; a query
 * over `maxCost` is refused before anything runs (extensions.code QUERY_TOO_COSTLY).
 */
export function costLimit(exchange: ExchangeConfig): ValidationRule {
  const costs = new Map(exchange.fields.map((f) => [f.name, f.cost]));
  const max = exchange.limits.maxCost;
  return (context: ValidationContext) => {
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const definition of context.getDocument().definitions) {
      if (definition.kind === Kind.FRAGMENT_DEFINITION)
        fragments.set(definition.name.value, definition);
    }
    const costOf = (set: SelectionSetNode | undefined, seen: Set<string>): number => {
      let total = 0;
      for (const selection of set?.selections ?? []) {
        if (selection.kind === Kind.FIELD) {
          total += (costs.get(selection.name.value) ?? 1) + costOf(selection.selectionSet, seen);
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          total += costOf(selection.selectionSet, seen);
        } else if (!seen.has(selection.name.value)) {
          total += costOf(
            fragments.get(selection.name.value)?.selectionSet,
            new Set([...seen, selection.name.value]),
          );
        }
      }
      return total;
    };
    return {
      OperationDefinition(node) {
        const cost = costOf(node.selectionSet, new Set());
        if (cost > max) {
          context.reportError(
            new GraphQLError(`the query costs ${cost}, more than the limit of ${max}`, {
              nodes: [node],
              extensions: { code: 'QUERY_TOO_COSTLY', cost, maxCost: max },
            }),
          );
        }
      },
    };
  };
}

declare module 'fastify' {
  interface FastifyRequest {
    exchangeConsumer?: string;
  }
}

declare module 'mercurius' {
  interface MercuriusContext {
    /** The consumer asking (graphql.ts). */
    consumer: string;
    /** The consents this request has read (query.ts). */
    exchangeMemo: QueryMemo;
  }
}

/** Registers the endpoint: consumers only (machine clients configured as such). */
export async function registerExchangeGraphql(
  app: FastifyInstance,
  host: ExchangeHost,
  consents: Consents,
  query: FederatedQuery,
): Promise<void> {
  const exchange = host.config.document.exchange as ExchangeConfig;
  const fieldNames = new Set(exchange.fields.map((f) => f.name));
  await app.register(async (scope) => {
    // Mercurius's routes carry JSON Schemas; the app around may compile Zod schemas instead.
    const ajv = new Ajv({ coerceTypes: 'array', useDefaults: true, removeAdditional: true });
    scope.setValidatorCompiler(({ schema }) => ajv.compile(schema));
    scope.addHook('onRequest', async (request: FastifyRequest) => {
      const caller: Authenticated = await host.authenticate(request.headers.authorization);
      request.exchangeConsumer = consents.consumerOf(caller).id;
    });
    await scope.register(mercurius, {
      schema: exchangeSchema(exchange),
      path: EXCHANGE_GRAPHQL_PATH,
      graphiql: false,
      // A refusal of the caller (401, 403) is the app's problem+json like everywhere; anything
      // else (a malformed request, a validation error) is answered as GraphQL does.
      errorHandler: (error, _request, reply) => {
        if (host.isProblem(error)) throw error;
        const graphqlError =
          error instanceof GraphQLError
            ? error
            : new GraphQLError(error.message, { originalError: error });
        const { statusCode, response } = mercurius.defaultErrorFormatter(
          { errors: [graphqlError] },
          { reply, app: scope } as unknown as MercuriusContext,
        );
        void reply.code(statusCode).send(response);
      },
      queryDepth: exchange.limits.maxDepth,
      validationRules: [costLimit(exchange)],
      context: (request: FastifyRequest) => ({
        consumer: request.exchangeConsumer ?? '',
        exchangeMemo: new Map(),
      }),
      resolvers: {
        Query: {
          person: async (
            _root: unknown,
            args: { subjectId: string; consentId?: string | null },
            context: MercuriusContext,
            info: GraphQLResolveInfo,
          ) => {
            const names = selectedNames(info).filter((n) => fieldNames.has(n));
            const answer = await query.person(
              context.consumer,
              args.subjectId,
              names,
              args.consentId ?? undefined,
              context.exchangeMemo,
            );
            const person: Record<string, unknown> = { subjectId: args.subjectId, ...answer.values };
            for (const [name, withheld] of Object.entries(answer.withheld)) {
              // graphql-js puts a returned Error at the field's own path, its value null.
              person[name] = new GraphQLError(withheld.message, {
                extensions: {
                  code: withheld.code,
                  ...(withheld.consentUrl ? { consentUrl: withheld.consentUrl } : {}),
                },
              });
            }
            return person;
          },
        },
      },
    });
  });
}

export type { FieldNode };
