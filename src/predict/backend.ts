/**
 * The tfjs backend, chosen once per process: tfjs-node when its native binding loads (optional
 * dependency, often absent), else WASM from node_modules' dist folder, else the pure-JS cpu backend.
 */
import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

let chosen: Promise<BackendName> | null = null;

/** Where the .wasm binaries live (setWasmPaths needs a directory prefix ending in '/'). */
export function wasmDir(): string {
  const req = createRequire(import.meta.url);
  return `${dirname(req.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'))}/`;
}

async function pick(prefer: BackendName | undefined, log: (msg: string) => void): Promise<BackendName> {
  if (prefer === undefined || prefer === 'tensorflow') {
    try {
      // A variable specifier: the optional package has no types installed and may be missing.
      const name = '@tensorflow/tfjs-node';
      await import(name);
      if (await tf.setBackend('tensorflow')) {
        log('tfjs backend: tensorflow (tfjs-node)');
        return 'tensorflow';
      }
    } catch {
      // Not installed or the native library failed to load: fall through to WASM.
    }
  }
  if (prefer !== 'cpu') {
    try {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      wasm.setWasmPaths(wasmDir());
      if (await tf.setBackend('wasm')) {
        await tf.ready();
        log('tfjs backend: wasm');
        return 'wasm';
      }
    } catch (err) {
      log(`tfjs backend: wasm failed (${(err as Error).message}); using cpu`);
    }
  }
  await tf.setBackend('cpu');
  await tf.ready();
  log('tfjs backend: cpu');
  return 'cpu';
}

/**
 * Initialises the backend once (later calls return the first choice). `prefer` forces a backend:
 * the CLI and the pipeline thread pass TRAITLENS_TF_BACKEND from the config when it is not auto.
 */
export function initBackend(opts: { prefer?: BackendName; log?: (msg: string) => void; force?: boolean } = {}): Promise<BackendName> {
  if (!chosen || opts.force) chosen = pick(opts.prefer, opts.log ?? ((m) => process.stderr.write(`${m}\n`)));
  return chosen;
}

export function currentBackend(): string {
  return tf.getBackend();
}
