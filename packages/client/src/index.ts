export type * from './api.js';
export { createClient } from './client.js';
export {
  ActionRefused,
  InvalidCredentials,
  LoginRequired,
  ServerProblem,
  Unreachable,
} from './errors.js';
