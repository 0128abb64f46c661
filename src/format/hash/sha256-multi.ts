/**
 * SHA-256 of the Merkle tree's two shapes, four at a time: a hand-assembled WebAssembly
 * SIMD kernel, one message per i32x4 lane (as blake3-multi.ts does for BLAKE3).
 *
 * Why: `verify --anchor` hashes ~3 SHA-256 blocks per event (a leaf is one block, an
 * interior node two); in JavaScript (sha256.ts, ~0.3 µs a block) that was ~1 s of CPU
 * per million events, 40-50% on top of verify. SHA-256 is 32-bit additions, xors,
 * shifts and selects: each SIMD instruction does it for four independent messages, and
 * a chunk's 256 leaves, and then each level's nodes, are independent.
 *
 * The kernel works in place on BUF (hashes of 32 bytes, back to back):
 *   run(0, n): leaves. hash i = SHA-256(0x00 ‖ hash i), i < n (one block:
 *     W0..W7 = the 33 bytes shifted by one, W8 = last byte ‖ 0x80, W15 = 264 bits).
 *   run(1, n): nodes. hash i = SHA-256(0x01 ‖ hash 2i ‖ hash 2i+1), i < n (two blocks:
 *     W0..W15 = the first 64 bytes; then last byte ‖ 0x80, zeros, W15 = 520 bits).
 * n is rounded up to a multiple of 4; the extra lanes hash whatever follows and write
 * past n (callers keep BUF big enough and ignore it). Per group of four:
 *
 *   load each lane's 16-byte rows (at its offset − 1: the prefix byte's place), 4x4
 *   transpose with the bytes of each word reversed (big-endian words) by two stages of
 *   i8x16.shuffle, mask/set the prefix byte; state = IV; per block: 64 rounds
 *     T1 = h + Σ1(e) + Ch(e,f,g) + K[t] + W[t]; T2 = Σ0(a) + Maj(a,b,c)
 *     Ch = bitselect(f, g, e); Maj = bitselect(c, b, a ^ b); rotations = shr | shl
 *     W[t] (t ≥ 16) = σ1(W[t−2]) + W[t−7] + σ0(W[t−15]) + W[t−16] in a 16-word ring
 *   (the 8 variables renamed at emit time: no moves at run time); state += variables;
 *   the digests transposed back (same shuffles) and stored over the group's first
 *   four slots, after all of its inputs were read.
 *
 * Self-tested against sha256.ts (itself checked against node:crypto) when created;
 * `Sha256x4.create()` returns null without WebAssembly SIMD, when the self-test fails,
 * or with SEGLOG_SHA256_SIMD=0 (the JavaScript path, for comparison and the tests).
 */
import { section, sleb, uleb, vec, WASM_HEADER, wasmName } from './wasm-emit.js';
import { wasmApi, type WasmMemory } from './wasm-api.js';
import { SHA256_IV, SHA256_K, sha256LeafInto, sha256NodeInto } from '../sha256.js';
import { copyBytes } from '../bytes.js';

const HASH = 32;
const LANES = 4;
/** Where BUF starts: the leaves' rows are loaded from one byte before each hash. */
export const SHA_MULTI_BUF_BASE = 64;
/** Hashes BUF holds: a node level reads two per output, so 256 outputs at most per run. */
export const SHA_MULTI_CAPACITY = 512;
/** Most outputs of one run (nodes read 2n hashes). */
export const SHA_MULTI_MAX_RUN = SHA_MULTI_CAPACITY / 2;
const MEMORY_PAGES = 1; // 64 + 512 × 32 + the last group's overrun < 64 KiB

const K = SHA256_K;
const IV = SHA256_IV;

/**
 * The module's bytes. Written into one growing array by small emitting functions (no
 * intermediate arrays: emitting the ~20 KB this way takes a few ms where composing
 * arrays by spreading took ~80 ms, all of it start-up for `head` and `prove`).
 */
export function kernelBytes(): Uint8Array {
  const I32 = 0x7f;
  const V128 = 0x7b;
  // locals: params 0 mode, 1 n; i32 2 gi, 3 p (input offset of the group), 4 b (block), 5 nb
  const [MODE, N, GI, P, B, NB] = [0, 1, 2, 3, 4, 5];
  const I32_LOCALS = 4;
  let next = 2 + I32_LOCALS;
  const alloc = (k: number): number[] => Array.from({ length: k }, () => next++);
  const S = alloc(8);
  const V = alloc(8);
  const W = alloc(16);
  const T = alloc(4);
  const [T1, T2] = alloc(2) as [number, number];
  const v128Locals = next - 2 - I32_LOCALS;

  const c: number[] = [];
  const op = (...bytes: number[]): void => {
    for (const x of bytes) c.push(x);
  };
  const ulebTo = (n: number): void => {
    for (const x of uleb(n)) c.push(x);
  };
  const get = (i: number): void => (c.push(0x20), ulebTo(i));
  const set = (i: number): void => (c.push(0x21), ulebTo(i));
  const i32 = (v: number): void => {
    c.push(0x41);
    for (const x of sleb(v | 0)) c.push(x);
  };
  const simd = (code: number): void => (c.push(0xfd), ulebTo(code));
  const vload = (offset: number): void => (simd(0x00), c.push(0), ulebTo(offset));
  const vstore = (offset: number): void => (simd(0x0b), c.push(0), ulebTo(offset));
  const vconst32 = (w: number): void => {
    simd(0x0c);
    for (let l = 0; l < 4; l++) c.push(w & 0xff, (w >>> 8) & 0xff, (w >>> 16) & 0xff, (w >>> 24) & 0xff);
  };
  const replaceLane = (l: number): void => (simd(0x1c), op(l));
  const load8 = (offset: number): void => (c.push(0x2d, 0), ulebTo(offset));
  const [ADD32, MUL32, SHL32, OR32, LT_U32, EQZ] = [0x6a, 0x6c, 0x74, 0x72, 0x49, 0x45];
  const [BLOCK, LOOP, IF, ELSE, VOID, BR, BR_IF, END] = [0x02, 0x03, 0x04, 0x05, 0x40, 0x0c, 0x0d, 0x0b];
  const vAnd = (): void => simd(0x4e);
  const vOr = (): void => simd(0x50);
  const vXor = (): void => simd(0x51);
  const vSelect = (): void => simd(0x52);
  const shl = (): void => simd(0xab);
  const shrU = (): void => simd(0xad);
  const add = (): void => simd(0xae);
  /** i8x16.shuffle picking 32-bit lanes (0-3 first operand, 4-7 second), bytes of each reversed when `swap`. */
  const shuffle32 = (lanes: number[], swap: boolean): void => {
    simd(0x0d);
    for (const l of lanes) {
      if (swap) c.push(4 * l + 3, 4 * l + 2, 4 * l + 1, 4 * l);
      else c.push(4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3);
    }
  };
  /** 4x4 transpose of 32-bit words with every word byte-reversed: rows pushed by row(l), columns into dst. */
  const transpose = (row: (l: number) => void, dst: number[]): void => {
    const stage1 = (r0: number, r1: number, lanes: number[], t: number): void => (row(r0), row(r1), shuffle32(lanes, true), set(T[t]!));
    stage1(0, 1, [0, 4, 1, 5], 0);
    stage1(0, 1, [2, 6, 3, 7], 1);
    stage1(2, 3, [0, 4, 1, 5], 2);
    stage1(2, 3, [2, 6, 3, 7], 3);
    const stage2 = (ta: number, tb: number, lanes: number[], d: number): void => (get(T[ta]!), get(T[tb]!), shuffle32(lanes, false), set(dst[d]!));
    stage2(0, 2, [0, 1, 4, 5], 0);
    stage2(0, 2, [2, 3, 6, 7], 1);
    stage2(1, 3, [0, 1, 4, 5], 2);
    stage2(1, 3, [2, 3, 6, 7], 3);
  };
  const rotr = (x: number, n: number): void => (get(x), i32(n), shrU(), get(x), i32(32 - n), shl(), vOr());
  const big = (x: number, r1: number, r2: number, r3: number): void => (rotr(x, r1), rotr(x, r2), vXor(), rotr(x, r3), vXor());
  const small = (x: number, r1: number, r2: number, s: number): void => (rotr(x, r1), rotr(x, r2), vXor(), get(x), i32(s), shrU(), vXor());
  /** W[k] = lane-wise (byte at p + offset(l)) << 24 | 0x800000: a block's last message byte and the 0x80 after it. */
  const lastByteWord = (k: number, offset: (l: number) => number): void => {
    vconst32(0);
    set(W[k]!);
    for (let l = 0; l < LANES; l++) {
      get(W[k]!), get(P), load8(offset(l)), i32(24), op(SHL32), i32(0x800000), op(OR32), replaceLane(l), set(W[k]!);
    }
  };
  const zeroWords = (from: number, to: number): void => {
    for (let k = from; k < to; k++) vconst32(0), set(W[k]!);
  };

  // one block's 64 rounds over V, the variables renamed instead of moved
  const rounds = (): void => {
    let names = [...V];
    for (let t = 0; t < 64; t++) {
      const [a, b, cc, d, e, f, g, h] = names as [number, number, number, number, number, number, number, number];
      const w = W[t % 16]!;
      if (t >= 16) {
        small(W[(t - 2) % 16]!, 17, 19, 10), get(W[(t - 7) % 16]!), add(), small(W[(t - 15) % 16]!, 7, 18, 3), add(), get(w), add(), set(w);
      }
      get(h), big(e, 6, 11, 25), add(), get(f), get(g), get(e), vSelect(), add(), vconst32(K[t]!), add(), get(w), add(), set(T1);
      big(a, 2, 13, 22), get(cc), get(b), get(a), get(b), vXor(), vSelect(), add(), set(T2);
      get(d), get(T1), add(), set(d);
      get(T1), get(T2), add(), set(h);
      names = [h, a, b, cc, d, e, f, g];
    }
    // 64 renamings by one: the names are back where they started
  };

  const B0 = SHA_MULTI_BUF_BASE;
  const leafPrep = (): void => {
    transpose((l) => (get(P), vload(B0 + HASH * l - 1)), W.slice(0, 4));
    transpose((l) => (get(P), vload(B0 + HASH * l + 15)), W.slice(4, 8));
    get(W[0]!), vconst32(0x00ffffff), vAnd(), set(W[0]!);
    lastByteWord(8, (l) => B0 + HASH * l + 31);
    zeroWords(9, 15);
    vconst32(33 * 8), set(W[15]!);
  };
  const nodePrep1 = (): void => {
    for (let q = 0; q < 4; q++) transpose((l) => (get(P), vload(B0 + 2 * HASH * l - 1 + 16 * q)), W.slice(4 * q, 4 * q + 4));
    get(W[0]!), vconst32(0x00ffffff), vAnd(), vconst32(0x01000000), vOr(), set(W[0]!);
  };
  const nodePrep2 = (): void => {
    lastByteWord(0, (l) => B0 + 2 * HASH * l + 63);
    zeroWords(1, 15);
    vconst32(65 * 8), set(W[15]!);
  };
  const storeDigests = (): void => {
    const lo = W.slice(0, 4); // the message words are dead when the digests are stored
    const hi = W.slice(4, 8);
    transpose((l) => get(S[l]!), lo);
    transpose((l) => get(S[4 + l]!), hi);
    for (let l = 0; l < LANES; l++) {
      const q = (): void => (get(GI), i32(LANES * HASH), op(MUL32));
      q(), get(lo[l]!), vstore(B0 + HASH * l);
      q(), get(hi[l]!), vstore(B0 + HASH * l + 16);
    }
  };

  i32(0), set(GI);
  get(MODE), i32(1), op(ADD32), set(NB);
  op(BLOCK, VOID, LOOP, VOID);
  get(GI), i32(LANES), op(MUL32), get(N), op(LT_U32, EQZ, BR_IF, 1);
  // p = gi × (4 × 32) for leaves, gi × (4 × 64) for nodes
  get(GI), i32(LANES * HASH), op(MUL32), get(MODE), i32(1), op(ADD32, MUL32), set(P);
  IV.forEach((w, i) => (vconst32(w), set(S[i]!)));
  i32(0), set(B);
  op(BLOCK, VOID, LOOP, VOID);
  get(B), get(NB), op(LT_U32, EQZ, BR_IF, 1);
  get(MODE), op(EQZ, IF, VOID), leafPrep(), op(ELSE), get(B), op(EQZ, IF, VOID), nodePrep1(), op(ELSE), nodePrep2(), op(END, END);
  S.forEach((s, i) => (get(s), set(V[i]!)));
  rounds();
  S.forEach((s, i) => (get(s), get(V[i]!), add(), set(s)));
  get(B), i32(1), op(ADD32), set(B);
  op(BR, 0, END, END);
  storeDigests();
  get(GI), i32(1), op(ADD32), set(GI);
  op(BR, 0, END, END);
  op(END);

  const locals = vec([[I32_LOCALS, I32], [...uleb(v128Locals), V128]]);
  const codeEntry = new Uint8Array(locals.length + c.length);
  codeEntry.set(locals);
  codeEntry.set(c, locals.length);
  const head = [
    ...WASM_HEADER,
    ...section(1, vec([[0x60, ...vec([[I32], [I32]]), ...vec([])]])), // type: (i32, i32) -> ()
    ...section(3, vec([[0]])),
    ...section(5, vec([[0x00, ...uleb(MEMORY_PAGES)]])),
    ...section(7, vec([[...wasmName('run'), 0x00, 0], [...wasmName('memory'), 0x02, 0]])),
  ];
  // code section: id 10, size, one function: its size, then locals and code
  const fnSize = uleb(codeEntry.length);
  const sectionBody = [...uleb(1), ...fnSize];
  const out = new Uint8Array(head.length + 1 + uleb(sectionBody.length + codeEntry.length).length + sectionBody.length + codeEntry.length);
  let o = 0;
  for (const x of [...head, 10, ...uleb(sectionBody.length + codeEntry.length), ...sectionBody]) out[o++] = x;
  out.set(codeEntry, o);
  return out;
}

type RunFn = (mode: number, n: number) => void;

let compiled: { module: unknown } | null | undefined;

function compiledKernel(): { module: unknown } | null {
  if (compiled === undefined) {
    compiled = null;
    try {
      const bytes = kernelBytes();
      const api = wasmApi as (typeof wasmApi & { validate?: (b: Uint8Array) => boolean }) | null;
      if (api && (api.validate?.(bytes) ?? true)) compiled = { module: new api.Module(bytes) };
    } catch {
      compiled = null; // no SIMD here: the JavaScript path
    }
  }
  return compiled;
}

export class Sha256x4 {
  /** BUF: hash i at [SHA_MULTI_BUF_BASE + 32 i, +32). */
  readonly mem: Uint8Array;

  private constructor(private readonly fn: RunFn, memory: WasmMemory) {
    this.mem = new Uint8Array(memory.buffer);
  }

  /** The kernel, or null (no WebAssembly SIMD, SEGLOG_SHA256_SIMD=0, or a failed self-test). */
  static create(env: NodeJS.ProcessEnv = process.env): Sha256x4 | null {
    if (env.SEGLOG_SHA256_SIMD === '0') return null;
    const k = compiledKernel();
    if (!k || !wasmApi) return null;
    try {
      const inst = new wasmApi.Instance(k.module as never, {});
      const { run, memory } = inst.exports as { run: RunFn; memory: WasmMemory };
      const m = new Sha256x4(run, memory);
      return m.selfTest() ? m : null;
    } catch {
      return null;
    }
  }

  /** Hashes i < n in BUF become SHA-256(0x00 ‖ hash i). n ≤ SHA_MULTI_CAPACITY − 3. */
  leaves(n: number): void {
    if (!(n >= 0 && n + LANES - 1 <= SHA_MULTI_CAPACITY)) throw new RangeError(`Sha256x4.leaves: ${n} hashes do not fit`);
    this.fn(0, n);
  }

  /** Hash i < n in BUF becomes SHA-256(0x01 ‖ hash 2i ‖ hash 2i+1). n ≤ SHA_MULTI_MAX_RUN. */
  nodes(n: number): void {
    if (!(n >= 0 && n <= SHA_MULTI_MAX_RUN)) throw new RangeError(`Sha256x4.nodes: ${n} nodes do not fit`);
    this.fn(1, n);
  }

  /** BUF's hashes [0, n) (n a power of two ≤ SHA_MULTI_MAX_RUN × 2) reduced level by level to their MTH, left in hash 0. */
  reduce(n: number): void {
    for (let k = n / 2; k >= 1; k /= 2) this.nodes(k);
  }

  /** Both shapes against sha256.ts on varied inputs (every lane, both levels). */
  private selfTest(): boolean {
    const count = 16;
    const inputs = new Uint8Array(count * HASH).map((_, i) => (i * 89 + 13) & 0xff);
    const base = SHA_MULTI_BUF_BASE;
    this.mem.set(inputs, base);
    this.leaves(count);
    const want = new Uint8Array(HASH);
    for (let i = 0; i < count; i++) {
      sha256LeafInto(inputs, i * HASH, want, 0);
      for (let k = 0; k < HASH; k++) if (this.mem[base + i * HASH + k] !== want[k]) return false;
    }
    const leaves = copyBytes(this.mem, base, base + count * HASH);
    this.nodes(count / 2);
    for (let i = 0; i < count / 2; i++) {
      sha256NodeInto(leaves, 2 * i * HASH, leaves, (2 * i + 1) * HASH, want, 0);
      for (let k = 0; k < HASH; k++) if (this.mem[base + i * HASH + k] !== want[k]) return false;
    }
    return true;
  }
}
