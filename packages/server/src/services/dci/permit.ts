import { dciPermit, type DciPermit, type RecordState } from '@registra/core';
import { latestConsent } from '../../store/exchange.js';
import type { Registry } from '../context.js';
import type { Partner } from './partners.js';

/**
 * Whether `partner` may be given this record now (issue 16), for a search and for a
 * notification alike: the consent that applies is its exchange consumer's latest about the
 * record's registration number (the subject), decided by core's `dciPermit`. An aggregate
 * partner needs none; a record without a registration number has no consent to find.
 */
export async function subjectPermit(
  registry: Registry,
  partner: Partner,
  record: Pick<RecordState, 'registrationNumber'>,
  now: Date,
): Promise<DciPermit> {
  const { aggregate, consumer } = partner.config;
  const consent =
    aggregate || !consumer || !record.registrationNumber
      ? null
      : await latestConsent(registry.db, consumer, record.registrationNumber);
  return dciPermit(partner.config, consent, now);
}
