export * from './host.js';
export * from './policy.js';
export * from './providers.js';
export * from './consents.js';
export * from './query.js';
export * from './graphql.js';
