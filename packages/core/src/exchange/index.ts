export * from './schema.js';
export * from './consent.js';
