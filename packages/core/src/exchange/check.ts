import type { Configuration } from '../config/schema.js';
import { CONSENT_RECORD_TYPE } from './consent.js';
import type { ExchangeConfig } from './schema.js';

/** What the exchange's parts say of each other and of the rest of the configuration. */
export function checkExchange(
  config: Configuration,
  exchange: ExchangeConfig,
  report: (path: (string | number)[], message: string) => void,
): void {
  const at = (...path: (string | number)[]) => ['exchange', ...path];
  if (config.recordTypes.some((t) => t.id === CONSENT_RECORD_TYPE)) {
    report(['recordTypes'], `"${CONSENT_RECORD_TYPE}" is the exchange's own record type`);
  }
  const subjectType = config.recordTypes.find((t) => t.id === exchange.subject.recordType);
  if (!subjectType) {
    report(at('subject', 'recordType'), `unknown record type "${exchange.subject.recordType}"`);
  } else if (
    !subjectType.form.pages.some((p) =>
      p.fields.some((f) => f.id === exchange.subject.contactField),
    )
  ) {
    report(at('subject', 'contactField'), `unknown field "${exchange.subject.contactField}"`);
  }
  const unique = (ids: string[], path: string, key = 'id') => {
    const seen = new Set<string>();
    ids.forEach((id, i) => {
      if (seen.has(id)) report(at(path, i, key), `duplicate ${key} "${id}"`);
      seen.add(id);
    });
    return seen;
  };
  const purposes = unique(
    exchange.purposes.map((p) => p.id),
    'purposes',
  );
  unique(
    exchange.consumers.map((c) => c.id),
    'consumers',
  );
  exchange.consumers.forEach((consumer, c) =>
    consumer.purposes.forEach((purpose, p) => {
      if (!purposes.has(purpose))
        report(at('consumers', c, 'purposes', p), `unknown purpose "${purpose}"`);
    }),
  );
  const providers = unique(
    exchange.providers.map((p) => p.id),
    'providers',
  );
  exchange.providers.forEach((provider, p) => {
    if (provider.kind !== 'registry' && !provider.url && !provider.urlEnv) {
      report(at('providers', p), 'give a url or a urlEnv');
    }
  });
  unique(
    exchange.fields.map((f) => f.name),
    'fields',
    'name',
  );
  exchange.fields.forEach((field, f) => {
    if (!providers.has(field.provider))
      report(at('fields', f, 'provider'), `unknown provider "${field.provider}"`);
  });
}
