// Worker entry for `importFile`: a worker thread does not inherit the parent's tsx loader when
// tsx was registered programmatically (bin/traitlens.mjs), so register it here, then load the TS.
import { register } from 'tsx/esm/api';

register();
await import('./import-worker.ts');
