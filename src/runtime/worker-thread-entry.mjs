// Entry of the server's pipeline thread: a worker thread does not inherit a tsx loader registered
// programmatically (bin/traitlens.mjs), so register it here, then load the TypeScript.
import { register } from 'tsx/esm/api';

register();
await import('./worker-thread-main.ts');
