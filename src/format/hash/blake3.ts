/**
 * BLAKE3 through hash-wasm (see docs/DECISIONS.md for the measured choice).
 * hash-wasm compiles its WebAssembly asynchronously, so a hasher is created once
 * with `createHasher()` and then used synchronously; the instance is reused for
 * every event (re-initialised, never re-created) because creation is expensive.
 *
 * Per call, hash-wasm's `IHasher` wrapper (init, update, digest) costs about as much
 * as hashing a 300-byte event: a typed-array view per update, three calls into
 * WebAssembly and a fresh output array per digest. So the hasher talks to the module's
 * own exports instead: copy the input into the module's buffer, one
 * `Hash_Calculate`, and read (or compare) the digest where the module left it.
 * hash-wasm does not expose its instance; we take it from `WebAssembly.instantiate`
 * while `createBLAKE3` runs and check it against a known digest before trusting it.
 * If anything about that differs (another hash-wasm version), the wrapper is used.
 * hash-wasm itself is imported on the first `createHasher()`, not with this module.
 */
import { copyBytes } from '../bytes.js';
import { assert } from '../assert.js';
import type { IHasher } from 'hash-wasm';
import { wasmApi, type WasmInstance, type WasmMemory } from './wasm-api.js';

export const HASH_BYTES = 32;

export interface Blake3 {
  /** BLAKE3-256 of buf[start, end), written into out[outOffset, outOffset + 32). */
  hashInto(buf: Uint8Array, start: number, end: number, out: Uint8Array, outOffset: number): void;
  /** Whether BLAKE3-256 of buf[start, end) equals want[wantOffset, wantOffset + 32). */
  matches(buf: Uint8Array, start: number, end: number, want: Uint8Array, wantOffset: number): boolean;
  hash(buf: Uint8Array): Uint8Array;
}

class WasmBlake3 implements Blake3 {
  private readonly out = new Uint8Array(HASH_BYTES);
  constructor(private readonly h: IHasher) {}
  hashInto(buf: Uint8Array, start: number, end: number, out: Uint8Array, outOffset: number): void {
    this.h.init();
    this.h.update(buf.subarray(start, end));
    out.set(this.h.digest('binary'), outOffset);
  }
  matches(buf: Uint8Array, start: number, end: number, want: Uint8Array, wantOffset: number): boolean {
    this.hashInto(buf, start, end, this.out, 0);
    return sameHash(this.out, 0, want, wantOffset);
  }
  hash(buf: Uint8Array): Uint8Array {
    const out = new Uint8Array(HASH_BYTES);
    this.hashInto(buf, 0, buf.length, out, 0);
    return out;
  }
}

/** The exports every hash-wasm module has (hash-wasm 4.x, lib/WASMInterface.ts). */
interface HashWasmExports {
  memory: WasmMemory;
  Hash_GetBuffer(): number;
  Hash_Init(param: number): void;
  Hash_Update(length: number): void;
  Hash_Final(param: number): void;
  Hash_Calculate(length: number, initParam: number, finalParam: number): void;
}

/** Size of hash-wasm's input buffer inside the module (its MAX_HEAP). */
const MODULE_BUFFER_BYTES = 16 * 1024;
/** Hash_Init's parameter: no key. */
const NO_KEY = 0;

class DirectBlake3 implements Blake3 {
  private readonly x: HashWasmExports;
  /** The module's input buffer; after Hash_Calculate its first 32 bytes are the digest. */
  private io: Uint8Array;
  /**
   * A plain Uint8Array over the last input's memory: `subarray` of a Buffer runs
   * Buffer's JS constructor (a measurable share of a 300-byte hash), a plain view's does not.
   */
  private src: Uint8Array | null = null;
  private plain: Uint8Array = new Uint8Array(0);
  constructor(x: HashWasmExports) {
    this.x = x;
    this.io = new Uint8Array(x.memory.buffer, x.Hash_GetBuffer(), MODULE_BUFFER_BYTES);
  }

  /** Leaves the digest in io[0, 32). */
  private run(buf: Uint8Array, start: number, end: number): Uint8Array {
    let io = this.io;
    if (io.byteLength === 0) io = this.io = new Uint8Array(this.x.memory.buffer, this.x.Hash_GetBuffer(), MODULE_BUFFER_BYTES);
    if (buf !== this.src || this.plain.byteLength !== buf.byteLength) {
      this.src = buf;
      this.plain = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    }
    const plain = this.plain;
    const n = end - start;
    // precondition: the range lies in `buf` (a negative length would hash nothing and match nothing)
    assert(start >= 0 && n >= 0 && end <= plain.byteLength, 'a hashed range lies inside its buffer');
    if (n <= MODULE_BUFFER_BYTES) {
      io.set(plain.subarray(start, end));
      this.x.Hash_Calculate(n, NO_KEY, HASH_BYTES);
      return io;
    }
    this.x.Hash_Init(NO_KEY);
    for (let p = start; p < end; p += MODULE_BUFFER_BYTES) {
      const q = Math.min(end, p + MODULE_BUFFER_BYTES);
      io.set(plain.subarray(p, q));
      this.x.Hash_Update(q - p);
    }
    this.x.Hash_Final(HASH_BYTES);
    return io;
  }

  hashInto(buf: Uint8Array, start: number, end: number, out: Uint8Array, outOffset: number): void {
    const io = this.run(buf, start, end);
    for (let i = 0; i < HASH_BYTES; i++) out[outOffset + i] = io[i]!;
  }

  matches(buf: Uint8Array, start: number, end: number, want: Uint8Array, wantOffset: number): boolean {
    return sameHash(this.run(buf, start, end), 0, want, wantOffset);
  }

  hash(buf: Uint8Array): Uint8Array {
    return copyBytes(this.run(buf, 0, buf.length), 0, HASH_BYTES);
  }
}

function sameHash(a: Uint8Array, aOff: number, b: Uint8Array, bOff: number): boolean {
  for (let i = 0; i < HASH_BYTES; i++) if (a[aOff + i] !== b[bOff + i]) return false;
  return true;
}

/** BLAKE3("abc"), the published digest: the direct path must reproduce it to be used. */
const ABC_DIGEST = '6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85';

function isHashWasmExports(x: unknown): x is HashWasmExports {
  const e = x as Partial<HashWasmExports> | null;
  return (
    !!e &&
    typeof e.memory === 'object' &&
    e.memory.buffer instanceof ArrayBuffer &&
    typeof e.Hash_GetBuffer === 'function' &&
    typeof e.Hash_Init === 'function' &&
    typeof e.Hash_Update === 'function' &&
    typeof e.Hash_Final === 'function' &&
    typeof e.Hash_Calculate === 'function'
  );
}

/** Creates a hash-wasm BLAKE3 and, where possible, a direct handle on its module. */
async function createBlake3(): Promise<Blake3> {
  // loaded on first use: hash-wasm's bundle (every algorithm, wasm as base64) costs ~50 ms
  // of start-up, which commands that import this module for HASH_BYTES alone never pay
  const { createBLAKE3 } = await import('hash-wasm');
  const wasm = wasmApi;
  if (!wasm) return new WasmBlake3(await createBLAKE3(256));
  const original = wasm.instantiate;
  const seen: unknown[] = [];
  wasm.instantiate = async function (this: unknown, ...args: unknown[]): Promise<unknown> {
    const r = await original.apply(this, args);
    seen.push((r as { instance?: WasmInstance }).instance ?? r);
    return r;
  };
  let h: IHasher;
  try {
    h = await createBLAKE3(256);
  } finally {
    wasm.instantiate = original;
  }
  const wrapped = new WasmBlake3(h);
  const exports = seen.length === 1 ? (seen[0] as WasmInstance).exports : null;
  if (!isHashWasmExports(exports)) return wrapped;
  const direct = new DirectBlake3(exports);
  const abc = direct.hash(new Uint8Array([0x61, 0x62, 0x63]));
  return Buffer.from(abc).toString('hex') === ABC_DIGEST ? direct : wrapped;
}

/** Whether `h` talks to the module directly (the fast path) rather than through hash-wasm's wrapper. */
export function isDirectHasher(h: Blake3): boolean {
  return h instanceof DirectBlake3;
}

let shared: Promise<Blake3> | undefined;

/** A ready BLAKE3 hasher (one per thread, created on first use). */
export function createHasher(): Promise<Blake3> {
  shared ??= createBlake3();
  return shared;
}
