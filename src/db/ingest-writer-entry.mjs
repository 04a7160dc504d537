// Entry of the ingestion writer thread: a worker thread does not inherit a tsx loader registered
// programmatically (bin/traitlens.mjs), so register it here, then load the TypeScript.
import { register } from 'tsx/esm/api';

register();
await import('./ingest-writer-thread.ts');
