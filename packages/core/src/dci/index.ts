export * from './schema.js';
export * from './check.js';
export * from './query.js';
