import {
  blindFor,
  dciPage,
  dciRecord,
  dciScopeOf,
  dciSearches,
  DciCriteriaError,
  formFields,
  identifierKey,
  IDENTIFIER_TYPES,
  type DciConfig,
  type DciPermit,
  type DciSearch,
  type RecordState,
} from '@registra/core';
import { v7 as uuidv7 } from 'uuid';
import { findDciRecords, type DciRecordQuery } from '../../store/dci.js';
import { insertExchangeAudit } from '../../store/exchange.js';
import type { Registry } from '../context.js';
import { openStates } from '../vault/open.js';
import type { SearchRequest } from './messages.js';
import type { Partner } from './partners.js';
import { subjectPermit } from './permit.js';

/** The purpose a DCI access is audited under (PROTOCOL 12's audit). */
export const DCI_SEARCH_PURPOSE = 'dci.search';

type SearchItem = SearchRequest['search_request'][number];

/** One `search_response` item (the standard's SearchResponse). */
export interface SearchResponseItem {
  reference_id: string;
  timestamp: string;
  status: 'succ' | 'rjct';
  status_reason_code?: string;
  status_reason_message?: string;
  data?: {
    version: string;
    reg_type: string;
    reg_record_type: string;
    reg_records: Record<string, unknown>[];
  };
  pagination?: { page_size: number; page_number: number; total_count: number };
}

/** The SearchResponse message. */
export interface SearchResponse {
  transaction_id: string;
  correlation_id: string;
  search_response: SearchResponseItem[];
}

interface Found {
  item: SearchItem;
  search: DciSearch;
  records: RecordState[];
  page: { size: number; number: number };
  total: number;
}

/**
 * A partner's search (the sync endpoint and the async one's callback answer the same): each item's
 * criteria read over the allow-list, its records found, and then every record found checked for
 * the partner's consent. Any record not permitted rejects the whole request: no item carries data
 * (never a partial leak). What is given is clamped to the partner's scopes, and every subject
 * given or withheld is in the exchange's audit.
 */
export async function searchRegistry(
  registry: Registry,
  dci: DciConfig,
  partner: Partner,
  request: SearchRequest,
  correlationId: string = uuidv7(),
): Promise<SearchResponse> {
  const started = performance.now();
  const now = registry.now();
  const outcomes: (Found | SearchResponseItem)[] = [];
  for (const item of request.search_request) {
    try {
      outcomes.push(await findItem(registry, dci, partner, item));
    } catch (error) {
      if (!(error instanceof DciCriteriaError)) throw error;
      outcomes.push({
        reference_id: item.reference_id,
        timestamp: now.toISOString(),
        status: 'rjct',
        status_reason_code: error.reasonCode,
        status_reason_message: error.message,
      });
    }
  }
  const found = outcomes.filter((o): o is Found => 'records' in o);
  const subjects = found.flatMap((f) => f.records.map((record) => ({ record, search: f.search })));
  const permits = await Promise.all(
    subjects.map(({ record }) => subjectPermit(registry, partner, record, now)),
  );
  const denied = permits.some((p) => !p.permit);
  const latency = Math.round(performance.now() - started);
  await audit(registry, partner, subjects, permits, denied, latency, request.search_request.length);

  const search_response = outcomes.map((outcome): SearchResponseItem => {
    if (!('records' in outcome)) return outcome;
    const base = { reference_id: outcome.item.reference_id, timestamp: now.toISOString() };
    if (denied) {
      return {
        ...base,
        status: 'rjct',
        status_reason_message:
          'CONSENT_REQUIRED: a record found has no approved consent of this partner; nothing of the request is answered',
      };
    }
    return {
      ...base,
      status: 'succ',
      data: {
        version: '1.0.0',
        reg_type: dci.registryType,
        reg_record_type: outcome.search.recordType.name,
        reg_records: outcome.records.map((r) =>
          dciRecord(r, outcome.search.recordType, partner.config),
        ),
      },
      pagination: {
        page_size: outcome.page.size,
        page_number: outcome.page.number,
        total_count: outcome.total,
      },
    };
  });
  return { transaction_id: request.transaction_id, correlation_id: correlationId, search_response };
}

async function findItem(
  registry: Registry,
  dci: DciConfig,
  partner: Partner,
  item: SearchItem,
): Promise<Found> {
  const criteria = item.search_criteria;
  if (
    criteria.reg_type !== undefined &&
    criteria.reg_type !== '' &&
    criteria.reg_type !== dci.registryType
  ) {
    throw new DciCriteriaError(
      'rjct.search_criteria.invalid',
      `this registry is "${dci.registryType}"`,
    );
  }
  const page = dciPage(dci, criteria.pagination);
  const searches = dciSearches(dci, partner.config, criteria.query_type, criteria.query);
  if (searches.length > 1) {
    // An identifier type several record types define: one answer names one reg_record_type.
    throw new DciCriteriaError(
      'rjct.search_criteria.invalid',
      'the identifier type is ambiguous here',
    );
  }
  const search = searches[0] as DciSearch;
  const query = recordQuery(registry, search, criteria.sort, page);
  const { records, total } = await findDciRecords(registry.db, query);
  return { item, search, records: await openStates(registry, records), page, total };
}

/**
 * The SQL search of a DCI search: identifiers (and `eq` on an identifier field) through the
 * index keys, a sensitive identifier by its blind index; a sensitive field is never compared
 * otherwise (its stored value is sealed).
 */
function recordQuery(
  registry: Registry,
  search: DciSearch,
  sort: SearchItem['search_criteria']['sort'],
  page: { size: number; number: number },
): DciRecordQuery {
  const recordType = registry.config.recordTypes.get(search.recordType.recordType);
  if (!recordType)
    throw new DciCriteriaError('rjct.search_criteria.invalid', 'unknown record type');
  const fields = formFields(recordType);
  const query: DciRecordQuery = {
    type: recordType.id,
    statuses: search.recordType.statuses,
    identifierKeys: [],
    comparisons: [],
    limit: page.size,
    offset: (page.number - 1) * page.size,
  };
  for (const p of search.predicates) {
    if (p.kind === 'registrationNumber') {
      query.registrationNumber = p.value;
      continue;
    }
    const field = fields.get(p.field);
    const isIdentifier = field !== undefined && IDENTIFIER_TYPES.has(field.type);
    if (p.kind === 'identifier' || (isIdentifier && p.op === 'eq' && typeof p.value === 'string')) {
      query.identifierKeys.push(
        identifierKey(
          p.field,
          String(p.value),
          blindFor(recordType, p.field, registry.vault.blind),
        ),
      );
      continue;
    }
    if (field?.sensitive) {
      throw new DciCriteriaError(
        'rjct.search_criteria.invalid',
        `"${p.field}" is only found by its exact value`,
      );
    }
    query.comparisons.push({ field: p.field, op: p.op, value: p.value });
  }
  if (sort && sort.length > 0) {
    const [first] = sort;
    if (
      sort.length > 1 ||
      !first?.attribute_name ||
      !search.recordType.queryFields.includes(first.attribute_name) ||
      fields.get(first.attribute_name)?.sensitive
    ) {
      throw new DciCriteriaError(
        'rjct.sort.invalid',
        'sort by one of the fields that may be searched',
      );
    }
    query.sort = { field: first.attribute_name, order: first.sort_order };
  }
  return query;
}

/** Every subject found, given or withheld; a request that found none is audited too. */
async function audit(
  registry: Registry,
  partner: Partner,
  subjects: { record: RecordState; search: DciSearch }[],
  permits: DciPermit[],
  denied: boolean,
  latency: number,
  items: number,
): Promise<void> {
  const at = registry.now().toISOString();
  const base = {
    at,
    consumer: partner.config.id,
    purpose: DCI_SEARCH_PURPOSE,
    latencies: { registry: latency },
  };
  if (subjects.length === 0) {
    await insertExchangeAudit(registry.db, {
      ...base,
      subjectId: '-',
      consentId: null,
      fields: [{ field: `dci.search(${items})`, outcome: 'given', code: null }],
    });
    return;
  }
  await Promise.all(
    subjects.map(({ record, search }, i) => {
      const permit = permits[i] as DciPermit;
      const code = permit.permit ? (denied ? 'REQUEST_DENIED' : null) : permit.code;
      return insertExchangeAudit(registry.db, {
        ...base,
        subjectId: record.registrationNumber ?? record.id,
        consentId: permit.permit ? permit.consentId : null,
        fields: dciScopeOf(partner.config, search.recordType.recordType).map((field) => ({
          field: `${search.recordType.recordType}.${field}`,
          outcome: denied ? 'withheld' : 'given',
          code,
        })),
      });
    }),
  );
}
