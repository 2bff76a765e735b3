import { z } from 'zod';

/**
 * The standard's messages (SPDCI registry core API 1.0.0, spdci/standards
 * release/yaml/registry_core_api_v1.0.0.yaml and social_api_v1.0.0.yaml), as far as this registry
 * reads them. Loose objects: the standard lets implementations add properties. The tests validate
 * what the server sends against the standard's own schemas (test/fixtures/dci).
 */

const DateTime = z.string().min(1).max(64);
const Id = z.string().min(1).max(99);

/** MsgHeader_V1.0.0 of a request. */
export const RequestHeaderSchema = z.looseObject({
  version: z.string().max(20).optional(),
  message_id: Id,
  message_ts: DateTime,
  action: z.string().min(1).max(40),
  sender_id: Id,
  sender_uri: z.string().max(2000).optional(),
  receiver_id: z.string().max(99).optional(),
  total_count: z.union([z.int(), z.string().regex(/^[0-9]{1,6}$/)]),
  is_msg_encrypted: z.boolean().optional(),
});
export type RequestHeader = z.infer<typeof RequestHeaderSchema>;

/** `{signature, header, message}`, before the signature is checked. */
export const EnvelopeSchema = z.looseObject({
  signature: z.string().max(20_000).optional(),
  header: RequestHeaderSchema,
  message: z.record(z.string(), z.unknown()),
});
export type Envelope = z.infer<typeof EnvelopeSchema>;

/** SearchRequest. */
export const SearchRequestSchema = z.looseObject({
  transaction_id: Id,
  search_request: z
    .array(
      z.looseObject({
        reference_id: Id,
        timestamp: DateTime,
        search_criteria: z.looseObject({
          version: z.string().optional(),
          reg_type: z.string().optional(),
          reg_event_type: z.string().optional(),
          query_type: z.string().min(1).max(40),
          query: z.unknown(),
          sort: z
            .array(
              z.looseObject({
                attribute_name: z.string().optional(),
                sort_order: z.enum(['asc', 'desc']),
              }),
            )
            .optional(),
          pagination: z
            .looseObject({ page_size: z.number(), page_number: z.number().optional() })
            .optional(),
          consent: z.unknown().optional(),
          authorize: z.unknown().optional(),
        }),
        locale: z.string().optional(),
      }),
    )
    .min(1)
    .max(100),
});
export type SearchRequest = z.infer<typeof SearchRequestSchema>;

/** SubscribeRequest. */
export const SubscribeRequestSchema = z.looseObject({
  transaction_id: Id,
  subscribe_request: z
    .array(
      z.looseObject({
        reference_id: Id,
        timestamp: DateTime,
        subscribe_criteria: z.looseObject({
          version: z.string().optional(),
          reg_type: z.string().optional(),
          reg_event_type: z.string().min(1).max(99),
          frequency: z.unknown().optional(),
          filter_type: z.string().optional(),
          filter: z.unknown(),
          notify_record_type: z.string().min(1).max(99),
        }),
        locale: z.string().optional(),
      }),
    )
    .min(1)
    .max(100),
});
export type SubscribeRequest = z.infer<typeof SubscribeRequestSchema>;

/** UnSubscribeRequest (the standard's property names, typos and all, plus the obvious ones). */
export const UnsubscribeRequestSchema = z.looseObject({
  transaction_id: Id,
  timestamp: DateTime.optional(),
  timesstamp: DateTime.optional(),
  subscription_codes: z.array(Id).min(1).max(100),
});

/** TxnStatusRequest. */
export const TxnStatusRequestSchema = z.looseObject({
  transaction_id: Id,
  txnstatus_request: z.looseObject({
    reference_id: Id,
    txn_type: z.enum(['search', 'subscribe', 'unsubscribe']),
    attribute_type: z.enum([
      'transaction_id',
      'reference_id_list',
      'correlation_id',
      'subscription_code_list',
    ]),
    attribute_value: z.union([Id, z.array(Id).max(100)]),
    locale: z.string().optional(),
  }),
});
export type TxnStatusRequest = z.infer<typeof TxnStatusRequestSchema>;
