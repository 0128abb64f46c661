/**
 * BLAKE3 through hash-wasm (see docs/DECISIONS.md for the measured choice).
 * hash-wasm compiles its WebAssembly asynchronously, so a hasher is created once
 * with `createHasher()` and then used synchronously; the instance is reused for
 * every event (re-initialised, never re-created) because creation is expensive.
 */
import { createBLAKE3, type IHasher } from 'hash-wasm';

export const HASH_BYTES = 32;

export interface Blake3 {
  /** BLAKE3-256 of buf[start, end), written into out[outOffset, outOffset + 32). */
  hashInto(buf: Uint8Array, start: number, end: number, out: Uint8Array, outOffset: number): void;
  hash(buf: Uint8Array): Uint8Array;
}

class WasmBlake3 implements Blake3 {
  constructor(private readonly h: IHasher) {}
  hashInto(buf: Uint8Array, start: number, end: number, out: Uint8Array, outOffset: number): void {
    this.h.init();
    this.h.update(buf.subarray(start, end));
    out.set(this.h.digest('binary'), outOffset);
  }
  hash(buf: Uint8Array): Uint8Array {
    const out = new Uint8Array(HASH_BYTES);
    this.hashInto(buf, 0, buf.length, out, 0);
    return out;
  }
}

let shared: Promise<Blake3> | undefined;

/** A ready BLAKE3 hasher (one per thread, created on first use). */
export function createHasher(): Promise<Blake3> {
  shared ??= createBLAKE3(256).then((h) => new WasmBlake3(h));
  return shared;
}
