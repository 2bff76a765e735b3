import type { RecordState } from '../contracts/record.js';
import { consentStandingAt, type Consent } from '../exchange/consent.js';
import {
  DCI_REGISTRATION_NUMBER,
  type DciConfig,
  type DciPartnerConfig,
  type DciRecordTypeConfig,
} from './schema.js';

/**
 * The rules of a DCI search, pure: what a partner's `search_criteria` asks for (over the
 * allow-list of fields of each record type), whether a found record may be given (consent), and
 * what of it is given (the partner's scopes).
 */

export const DCI_OPERATORS = ['eq', 'lt', 'gt', 'le', 'ge', 'in'] as const;
export type DciOperator = (typeof DCI_OPERATORS)[number];

/** One condition a record must meet. */
export type DciPredicate =
  | { kind: 'identifier'; field: string; value: string }
  | { kind: 'registrationNumber'; value: string }
  | {
      kind: 'field';
      field: string;
      op: DciOperator;
      value: string | number | boolean | (string | number)[];
    };

/** A search over one record type: every predicate must hold. */
export interface DciSearch {
  recordType: DciRecordTypeConfig;
  predicates: DciPredicate[];
}

/** Why `search_criteria` is refused: the standard's reason code and a message. */
export class DciCriteriaError extends Error {
  constructor(
    readonly reasonCode:
      'rjct.search_criteria.invalid' | 'rjct.sort.invalid' | 'rjct.pagination.invalid',
    message: string,
  ) {
    super(message);
    this.name = 'DciCriteriaError';
  }
}

const invalid = (message: string) => new DciCriteriaError('rjct.search_criteria.invalid', message);
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isScalar = (v: unknown): v is string | number | boolean =>
  typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';

/** The record types this partner may search: configured, and in its scopes. */
export function partnerRecordTypes(
  dci: DciConfig,
  partner: DciPartnerConfig,
): DciRecordTypeConfig[] {
  return dci.recordTypes.filter((t) => partner.scopes[t.recordType] !== undefined);
}

/**
 * The searches of one `search_criteria` (`query_type` and `query`): `idtype-value` looks an
 * identifier type up in every record type that defines it; `expression` is a NoSQL-style
 * `{type, value: {expression: {collection, query}}}` whose query is a conjunction (`$and`, or
 * several keys) of `{field: {$op: value}}` over the record type's `queryFields`.
 */
export function dciSearches(
  dci: DciConfig,
  partner: DciPartnerConfig,
  queryType: string,
  query: unknown,
): DciSearch[] {
  const types = partnerRecordTypes(dci, partner);
  if (queryType === 'idtype-value') {
    if (!isObject(query) || typeof query.type !== 'string' || !isScalar(query.value))
      throw invalid('an idtype-value query is {"type": <id type>, "value": <value>}');
    const value = String(query.value);
    if (value.trim() === '' || value.length > 200)
      throw invalid('the identifier value is empty or too long');
    const searches = types.flatMap((recordType) =>
      recordType.identifiers
        .filter((id) => id.type === query.type)
        .map((id) => ({
          recordType,
          predicates: [
            id.field === DCI_REGISTRATION_NUMBER
              ? ({ kind: 'registrationNumber', value } as const)
              : ({ kind: 'identifier', field: id.field, value } as const),
          ],
        })),
    );
    if (searches.length === 0) throw invalid(`unknown identifier type "${query.type}"`);
    return searches;
  }
  if (queryType === 'expression') {
    const expression =
      isObject(query) && isObject(query.value) ? query.value.expression : undefined;
    if (!isObject(expression) || !isObject(expression.query))
      throw invalid(
        'an expression query is {"type", "value": {"expression": {"collection", "query"}}}',
      );
    const collection = expression.collection;
    // The collection is a record type's id, or its reg_record_type where only one has it.
    const byId = types.filter((t) => t.recordType === collection);
    const candidates =
      typeof collection !== 'string'
        ? types
        : byId.length > 0
          ? byId
          : types.filter((t) => t.name === collection);
    if (candidates.length !== 1) {
      throw invalid(
        typeof collection === 'string'
          ? `unknown or ambiguous collection "${collection}" (name a record type)`
          : 'name the collection (the record type) to search',
      );
    }
    const recordType = candidates[0] as DciRecordTypeConfig;
    const predicates = conjunction(expression.query, recordType, 0);
    if (predicates.length === 0) throw invalid('the expression has no condition');
    if (predicates.length > 20) throw invalid('at most 20 conditions');
    return [{ recordType, predicates }];
  }
  throw invalid(`query_type "${queryType}" is not supported here (idtype-value, expression)`);
}

const OPERATOR_KEYS: Record<string, DciOperator> = {
  $eq: 'eq',
  $lt: 'lt',
  $gt: 'gt',
  $le: 'le',
  $lte: 'le',
  $ge: 'ge',
  $gte: 'ge',
  $in: 'in',
};

function conjunction(
  query: Record<string, unknown>,
  recordType: DciRecordTypeConfig,
  depth: number,
): DciPredicate[] {
  if (depth > 3) throw invalid('the expression is nested too deep');
  const predicates: DciPredicate[] = [];
  for (const [key, condition] of Object.entries(query)) {
    if (key === '$and') {
      if (!Array.isArray(condition)) throw invalid('$and takes a list');
      for (const part of condition) {
        if (!isObject(part)) throw invalid('each $and part is an object');
        predicates.push(...conjunction(part, recordType, depth + 1));
      }
      continue;
    }
    if (key.startsWith('$')) throw invalid(`"${key}" is not supported (only $and)`);
    if (!recordType.queryFields.includes(key))
      throw invalid(`"${key}" is not a field that may be searched in ${recordType.name}`);
    const operators = isObject(condition)
      ? Object.entries(condition)
      : [['$eq', condition] as const];
    for (const [operator, value] of operators) {
      const op = OPERATOR_KEYS[operator];
      if (!op) throw invalid(`operator "${operator}" is not supported`);
      if (op === 'in') {
        if (
          !Array.isArray(value) ||
          value.length === 0 ||
          value.length > 100 ||
          !value.every((v) => typeof v === 'string' || typeof v === 'number')
        )
          throw invalid('$in takes a list of 1 to 100 strings or numbers');
        predicates.push({ kind: 'field', field: key, op, value: value as (string | number)[] });
      } else {
        if (!isScalar(value))
          throw invalid(`"${key}" is compared with a string, number or boolean`);
        predicates.push({ kind: 'field', field: key, op, value });
      }
    }
  }
  return predicates;
}

/** A page of the standard's `PaginationRequest`, checked against the registry's limit. */
export function dciPage(
  dci: DciConfig,
  pagination: { page_size?: unknown; page_number?: unknown } | undefined,
): { size: number; number: number } {
  const size = pagination?.page_size ?? dci.maxPageSize;
  const number = pagination?.page_number ?? 1;
  if (!Number.isInteger(size) || (size as number) < 1 || (size as number) > dci.maxPageSize)
    throw new DciCriteriaError('rjct.pagination.invalid', `page_size is 1 to ${dci.maxPageSize}`);
  if (!Number.isInteger(number) || (number as number) < 1 || (number as number) > 10_000)
    throw new DciCriteriaError('rjct.pagination.invalid', 'page_number is 1 to 10000');
  return { size: size as number, number: number as number };
}

/** Whether a partner may be given a subject's record: its consent, or an aggregate partner. */
export type DciPermit =
  | { permit: true; consentId: string | null }
  | {
      permit: false;
      code: 'CONSENT_REQUIRED' | 'CONSENT_EXPIRED' | 'CONSENT_REVOKED' | 'CONSENT_REJECTED';
    };

export function dciPermit(
  partner: DciPartnerConfig,
  consent: Consent | null,
  now: Date,
): DciPermit {
  if (partner.aggregate) return { permit: true, consentId: null };
  if (!consent) return { permit: false, code: 'CONSENT_REQUIRED' };
  switch (consentStandingAt(consent, now)) {
    case 'approved':
      return { permit: true, consentId: consent.id };
    case 'expired':
      return { permit: false, code: 'CONSENT_EXPIRED' };
    case 'revoked':
      return { permit: false, code: 'CONSENT_REVOKED' };
    case 'rejected':
      return { permit: false, code: 'CONSENT_REJECTED' };
    default:
      return { permit: false, code: 'CONSENT_REQUIRED' };
  }
}

/** A found record as the partner is given it: only the fields of its scope for that type. */
export function dciRecord(
  record: RecordState,
  recordType: DciRecordTypeConfig,
  partner: DciPartnerConfig,
): Record<string, unknown> {
  const scope = new Set(partner.scopes[recordType.recordType] ?? []);
  const identifier = recordType.identifiers.flatMap(({ type, field }) => {
    const value =
      field === DCI_REGISTRATION_NUMBER
        ? record.registrationNumber
        : scope.has(field)
          ? record.declaration[field]
          : undefined;
    return typeof value === 'string' && value !== ''
      ? [{ identifier_type: type, identifier_value: value }]
      : [];
  });
  const given: Record<string, unknown> = {};
  for (const field of scope) {
    const value = record.declaration[field];
    if (value !== undefined && value !== null) given[field] = value;
  }
  return { '@type': recordType.name, identifier, ...given };
}

/** The fields a partner was given of a record type, for the audit. */
export function dciScopeOf(partner: DciPartnerConfig, recordType: string): string[] {
  return partner.scopes[recordType] ?? [];
}
