import { v7 as uuidv7 } from 'uuid';
import { callbacksOfTransaction, type CallbackKind } from '../../store/dci-callbacks.js';
import type { Registry } from '../context.js';
import type { TxnStatusRequest } from './messages.js';
import type { Partner } from './partners.js';

/**
 * What became of one of the partner's own transactions (issue 16): the TxnStatusResponse that
 * `/registry/sync/txn/status` answers and `/registry/txn/on-status` sends, from the answers kept in
 * the callbacks' outbox. `succ` once answered, `pdng` while its callback is not yet made, `rjct`
 * when the partner has no such transaction.
 */
export async function txnStatusOf(
  registry: Registry,
  partner: Partner,
  request: TxnStatusRequest,
  correlationId?: string,
): Promise<{ message: Record<string, unknown>; status: 'succ' | 'pdng' | 'rjct' }> {
  const { txnstatus_request: asked } = request;
  const kind: CallbackKind = (
    { search: 'on-search', subscribe: 'on-subscribe', unsubscribe: 'on-unsubscribe' } as const
  )[asked.txn_type];
  const transactionId =
    asked.attribute_type === 'transaction_id' && typeof asked.attribute_value === 'string'
      ? asked.attribute_value
      : request.transaction_id;
  const rows = (await callbacksOfTransaction(registry.db, partner.config.id, transactionId)).filter(
    (r) => r.kind === kind,
  );
  const found = rows.find((r) => r.response !== null);
  const message = {
    transaction_id: request.transaction_id,
    correlation_id: correlationId ?? found?.correlationId ?? rows[0]?.correlationId ?? uuidv7(),
    txnstatus_response: {
      txn_type: asked.txn_type,
      txn_status: found
        ? { ...(found.response as object), correlation_id: found.correlationId }
        : {
            transaction_id: transactionId,
            correlation_id: rows[0]?.correlationId ?? '',
            search_response: [],
          },
    },
  };
  return { message, status: found ? 'succ' : rows.length > 0 ? 'pdng' : 'rjct' };
}
