// A worker thread of `registra rebuild` (read-model.ts): folds and copies one range of records at
// a time (rebuild-range.ts). Registra runs its TypeScript through tsx, whose loader threads
// inherit; a thread started by a process that did not load it (a test runner) registers it here.
import { register } from 'tsx/esm/api';

register();
const { rebuildRange } = await import('./rebuild-range.ts');

export default rebuildRange;
