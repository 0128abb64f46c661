/**
 * BLAKE3-256 of many short messages at once: a hand-assembled WebAssembly SIMD kernel
 * that hashes four independent messages side by side, one per i32x4 lane.
 *
 * Why: verify hashes every event body (~330 bytes, ~6 blocks of one chunk) and hash-wasm
 * compresses one block at a time in scalar WebAssembly; that was ~2 s of verify's ~4.5 s
 * CPU per million events (docs/DECISIONS.md, Performance log). BLAKE3's compression is
 * 32-bit additions, xors and rotations: each SIMD instruction does it for four messages.
 *
 * Only messages of at most one chunk (1024 bytes) take this path: such a message is a
 * single chunk whose last block is the root (flags CHUNK_START on the first block,
 * CHUNK_END|ROOT on the last, counter 0, the key words are the IV), so no tree is
 * needed. Lanes with fewer blocks keep their chaining value through the other lanes'
 * extra blocks (a per-lane mask). Longer messages belong to blake3.ts (hash-wasm).
 *
 * Usage: `push` messages (copied into the kernel's memory at once, so the caller's
 * buffer may be reused right after), `run`, then read `digestInto` / `matches`, `clear`.
 */
import { wasmApi, type WasmMemory } from './wasm-api.js';
import { section, sleb, uleb, vec, WASM_HEADER, wasmName } from './wasm-emit.js';
import { assert } from '../assert.js';
import { CHUNK_END, IV, MSG_PERMUTATION, ROOT, ROUNDS } from './blake3-constants.js';

export const MULTI_HASH_BYTES = 32;
/** Longest message the kernel hashes: one BLAKE3 chunk. */
export const MULTI_MAX_MESSAGE_BYTES = 1024;
/** Messages per `run` (a multiple of LANES). */
export const MULTI_CAPACITY = 64;

const LANES = 4;
const BLOCK_BYTES = 64;
/**
 * Bytes per message slot: a chunk, plus room for the expected digest that `pushChecked`
 * copies along with the message (an event body ends with its hash), block-aligned.
 */
const SLOT_BYTES = MULTI_MAX_MESSAGE_BYTES + BLOCK_BYTES;
const GROUP_BYTES = SLOT_BYTES * LANES;
const IN_BASE = 0;
const LEN_BASE = IN_BASE + MULTI_CAPACITY * SLOT_BYTES;
const OUT_BASE = LEN_BASE + MULTI_CAPACITY * 4;
/** One byte per message: 1 where its digest differs from the 32 bytes after it. */
const DIFF_BASE = OUT_BASE + MULTI_CAPACITY * MULTI_HASH_BYTES;
const MEMORY_BYTES = DIFF_BASE + MULTI_CAPACITY;
const WASM_PAGE_BYTES = 65536;
const MEMORY_PAGES = Math.ceil(MEMORY_BYTES / WASM_PAGE_BYTES);


// ----------------------------------------------------------------------------------
// The kernel: (func $run (param $groups i32) (result i32)), hashing messages
// [0, 4*groups). Memory: slot k (SLOT_BYTES apart from IN_BASE) holds message k, then
// anything (for `pushChecked`: its expected digest); LEN_BASE holds the lengths as i32.
// Per group of 4 messages:
//
//   len = load LEN[g]; nb = max(1, ceil(len / 64)); h0..h7 = IV
//   for b = 0; any_true(active = nb > b); b++:
//     m0..m15 = transpose of the 4 lanes' block b (4x4 word transposes by shuffles)
//     blen = min_u(len - 64b, 64); if some lane's blen < 64: zero each lane's bytes
//       at and after its blen (the padding: the slot holds other bytes there)
//     v = h0..h7, IV0..3, 0, 0, blen, (b == 0) | (nb == b+1 ? END|ROOT : 0)
//     7 rounds of G (message schedule resolved at emit time: no moves at run time)
//     h_i = bitselect(v_i ^ v_i+8, h_i, active)
//   digests (transpose of h0..h7) to OUT_BASE, 32 bytes each; DIFF[k] = whether digest k
//   differs from the 32 bytes after message k; returns the number of such differences.
//
// Keeping the message words in memory instead of 16 v128 locals (fewer live vectors)
// measured no faster under V8, so they are locals.
// ----------------------------------------------------------------------------------

function multiModuleBytes(): Uint8Array {
  const I32 = 0x7f;
  const V128 = 0x7b;
  // locals: 0 param groups; i32 1 gi, 2 blkP, 3 bOff, 4 diffs, 5 addr; v128 from 6
  const [GROUPS, GI, BLKP, BOFF, DIFFS, ADDR] = [0, 1, 2, 3, 4, 5];
  const I32_LOCALS = 5;
  let next = 1 + I32_LOCALS;
  const alloc = (n: number): number[] => Array.from({ length: n }, () => next++);
  const H = alloc(8);
  const V = alloc(16);
  const M = alloc(16);
  const T = alloc(4);
  const [LEN, NB, ACTIVE, BLEN_BYTES] = alloc(4) as [number, number, number, number];
  const v128Locals = next - 1 - I32_LOCALS;

  const get = (i: number): number[] => [0x20, ...uleb(i)];
  const set = (i: number): number[] => [0x21, ...uleb(i)];
  const tee = (i: number): number[] => [0x22, ...uleb(i)];
  const i32 = (v: number): number[] => [0x41, ...sleb(v | 0)];
  const simd = (op: number): number[] => [0xfd, ...uleb(op)];
  const vload = (offset: number): number[] => [...simd(0x00), 0, ...uleb(offset)]; // align 1: slots hold messages at any length
  const vstore = (offset: number): number[] => [...simd(0x0b), 4, ...uleb(offset)];
  const vconst = (bytes: number[]): number[] => [...simd(0x0c), ...bytes];
  const splat = (v: number): number[] => [...i32(v), ...simd(0x11)];
  const extractLane = (l: number): number[] => [...simd(0x1b), l];
  const [ADD32, I32_MUL, I32_SHR_U] = [0x6a, 0x6c, 0x76];
  const [EQZ, LT_U] = [0x45, 0x49];
  const [BLOCK, LOOP, IF, VOID, BR, BR_IF, END] = [0x02, 0x03, 0x04, 0x40, 0x0c, 0x0d, 0x0b];
  const store8 = (offset: number): number[] => [0x3a, 0, ...uleb(offset)];
  const [V_AND, V_OR, V_XOR, V_SELECT, V_ANY] = [0x4e, 0x50, 0x51, 0x52, 0x53].map(simd) as [number[], number[], number[], number[], number[]];
  const [I8_GT_U, EQ, LT_U32, GT_U] = [0x28, 0x37, 0x3a, 0x3c].map(simd) as [number[], number[], number[], number[]];
  const [SHL, SHR_U, ADD, SUB, MIN_U] = [0xab, 0xad, 0xae, 0xb1, 0xb7].map(simd) as [number[], number[], number[], number[], number[]];
  /** i8x16.shuffle whose 16 byte indices pick 32-bit lanes: 0-3 from the first operand, 4-7 from the second. */
  const shuffle32 = (lanes: number[]): number[] => [...simd(0x0d), ...lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3])];
  /** Rotations by whole bytes within each 32-bit lane (x >>> 16, x >>> 8). */
  const byteRot = (bytes: number): number[] => [
    ...simd(0x0d),
    ...Array.from({ length: 16 }, (_, i) => (i & ~3) + (((i & 3) + bytes) & 3)),
  ];
  const rotr = (x: number, n: number): number[] =>
    n % 8 === 0
      ? [...tee(x), ...get(x), ...byteRot(n / 8), ...set(x)]
      : [...tee(x), ...i32(n), ...SHR_U, ...get(x), ...i32(32 - n), ...SHL, ...V_OR, ...set(x)];

  const g = (a: number, b: number, c: number, d: number, mx: number, my: number): number[] => [
    ...get(a), ...get(b), ...ADD, ...get(mx), ...ADD, ...set(a),
    ...get(d), ...get(a), ...V_XOR, ...rotr(d, 16),
    ...get(c), ...get(d), ...ADD, ...set(c),
    ...get(b), ...get(c), ...V_XOR, ...rotr(b, 12),
    ...get(a), ...get(b), ...ADD, ...get(my), ...ADD, ...set(a),
    ...get(d), ...get(a), ...V_XOR, ...rotr(d, 8),
    ...get(c), ...get(d), ...ADD, ...set(c),
    ...get(b), ...get(c), ...V_XOR, ...rotr(b, 7),
  ];
  const rounds: number[] = [];
  let s = Array.from({ length: 16 }, (_, i) => i);
  for (let r = 0; r < ROUNDS; r++) {
    const m = (k: number): number => M[s[k]!]!;
    const v = (k: number): number => V[k]!;
    rounds.push(
      ...g(v(0), v(4), v(8), v(12), m(0), m(1)),
      ...g(v(1), v(5), v(9), v(13), m(2), m(3)),
      ...g(v(2), v(6), v(10), v(14), m(4), m(5)),
      ...g(v(3), v(7), v(11), v(15), m(6), m(7)),
      ...g(v(0), v(5), v(10), v(15), m(8), m(9)),
      ...g(v(1), v(6), v(11), v(12), m(10), m(11)),
      ...g(v(2), v(7), v(8), v(13), m(12), m(13)),
      ...g(v(3), v(4), v(9), v(14), m(14), m(15)),
    );
    s = MSG_PERMUTATION.map((p) => s[p]!);
  }

  /**
   * 4x4 transpose of 32-bit words: rows (one per lane) pushed by `row(l)`, columns
   * stored into dst[0..3]. t0 = [r0.0 r1.0 r0.1 r1.1], t1 = [r0.2 r1.2 r0.3 r1.3],
   * t2, t3 likewise of r2, r3; then col0 = [t0.0 t0.1 t2.0 t2.1] and so on.
   */
  const transpose = (row: (l: number) => number[], dst: number[]): number[] => [
    ...row(0), ...row(1), ...shuffle32([0, 4, 1, 5]), ...set(T[0]!),
    ...row(0), ...row(1), ...shuffle32([2, 6, 3, 7]), ...set(T[1]!),
    ...row(2), ...row(3), ...shuffle32([0, 4, 1, 5]), ...set(T[2]!),
    ...row(2), ...row(3), ...shuffle32([2, 6, 3, 7]), ...set(T[3]!),
    ...get(T[0]!), ...get(T[2]!), ...shuffle32([0, 1, 4, 5]), ...set(dst[0]!),
    ...get(T[0]!), ...get(T[2]!), ...shuffle32([2, 3, 6, 7]), ...set(dst[1]!),
    ...get(T[1]!), ...get(T[3]!), ...shuffle32([0, 1, 4, 5]), ...set(dst[2]!),
    ...get(T[1]!), ...get(T[3]!), ...shuffle32([2, 3, 6, 7]), ...set(dst[3]!),
  ];
  const loadBlock: number[] = [];
  for (let q = 0; q < 4; q++) {
    loadBlock.push(...transpose((l) => [...get(BLKP), ...vload(l * SLOT_BYTES + q * 16)], M.slice(4 * q, 4 * q + 4)));
  }
  /**
   * Padding: byte j of word k of a lane is kept when 4k + j < that lane's blen. blen
   * (<= 64) is spread to the 4 bytes of its lane, then compared bytewise with 4k + j.
   */
  const padBlock: number[] = [
    ...get(V[14]!), ...get(V[14]!), ...simd(0x0d), ...[0, 0, 0, 0, 4, 4, 4, 4, 8, 8, 8, 8, 12, 12, 12, 12], ...set(BLEN_BYTES),
  ];
  for (let k = 0; k < 16; k++) {
    const positions = Array.from({ length: 16 }, (_, i) => 4 * k + (i & 3));
    padBlock.push(...get(M[k]!), ...get(BLEN_BYTES), ...vconst(positions), ...I8_GT_U, ...V_AND, ...set(M[k]!));
  }
  /** Digest words h0..h7 (one lane per message) back to 4 digests of 8 words, and their check. */
  const lo = M.slice(0, 4); // the message words are dead by now
  const hi = M.slice(4, 8);
  const storeDigests: number[] = [
    ...transpose((l) => get(H[l]!), lo),
    ...transpose((l) => get(H[4 + l]!), hi),
  ];
  for (let l = 0; l < LANES; l++) {
    const out = (): number[] => [...get(GI), ...i32(LANES * MULTI_HASH_BYTES), I32_MUL];
    storeDigests.push(
      ...out(), ...get(lo[l]!), ...vstore(OUT_BASE + l * MULTI_HASH_BYTES),
      ...out(), ...get(hi[l]!), ...vstore(OUT_BASE + l * MULTI_HASH_BYTES + 16),
      // addr = start of this lane's slot + its length: where its expected digest is
      ...get(GI), ...i32(GROUP_BYTES), I32_MUL, ...get(LEN), ...extractLane(l), ADD32, ...set(ADDR),
      // DIFF[4 gi + l] = any_true((lo ^ expected lo) | (hi ^ expected hi))
      ...get(GI), ...i32(LANES), I32_MUL,
      ...get(lo[l]!), ...get(ADDR), ...vload(IN_BASE + l * SLOT_BYTES), ...V_XOR,
      ...get(hi[l]!), ...get(ADDR), ...vload(IN_BASE + l * SLOT_BYTES + 16), ...V_XOR,
      ...V_OR, ...V_ANY, ...tee(ADDR), ...store8(DIFF_BASE + l),
      ...get(DIFFS), ...get(ADDR), ADD32, ...set(DIFFS),
    );
  }

  const body = [
    ...i32(0), ...set(GI),
    ...i32(0), ...set(DIFFS),
    BLOCK, VOID, LOOP, VOID,
    ...get(GI), ...get(GROUPS), LT_U, EQZ, BR_IF, 1,
    // len, nb = ((len + 63) >> 6) | (len == 0 ? 1 : 0)
    ...get(GI), ...i32(16), I32_MUL, ...vload(LEN_BASE), ...tee(LEN),
    ...splat(BLOCK_BYTES - 1), ...ADD, ...i32(6), ...SHR_U,
    ...get(LEN), ...splat(0), ...EQ, ...splat(1), ...V_AND, ...V_OR, ...set(NB),
    ...IV.flatMap((w, i) => [...splat(w), ...set(H[i]!)]),
    ...get(GI), ...i32(GROUP_BYTES), I32_MUL, ...i32(IN_BASE), ADD32, ...set(BLKP),
    ...i32(0), ...set(BOFF),
    BLOCK, VOID, LOOP, VOID,
    ...get(NB), ...get(BOFF), ...i32(6), I32_SHR_U, ...simd(0x11), ...GT_U, ...tee(ACTIVE),
    ...V_ANY, EQZ, BR_IF, 1,
    ...loadBlock,
    ...get(LEN), ...get(BOFF), ...simd(0x11), ...SUB, ...splat(BLOCK_BYTES), ...MIN_U, ...tee(V[14]!),
    ...splat(BLOCK_BYTES), ...LT_U32, ...V_ANY, IF, VOID, ...padBlock, END,
    ...H.flatMap((h, i) => [...get(h), ...set(V[i]!)]),
    ...[0, 1, 2, 3].flatMap((i) => [...splat(IV[i]!), ...set(V[8 + i]!)]),
    ...splat(0), ...set(V[12]!),
    ...splat(0), ...set(V[13]!),
    // flags: CHUNK_START on block 0, CHUNK_END|ROOT where this is the lane's last block
    ...get(BOFF), EQZ, ...simd(0x11),
    ...get(NB), ...get(BOFF), ...i32(6), I32_SHR_U, ...i32(1), ADD32, ...simd(0x11), ...EQ, ...splat(CHUNK_END | ROOT), ...V_AND,
    ...V_OR, ...set(V[15]!),
    ...rounds,
    ...H.flatMap((h, i) => [...get(V[i]!), ...get(V[i + 8]!), ...V_XOR, ...get(h), ...get(ACTIVE), ...V_SELECT, ...set(h)]),
    ...get(BLKP), ...i32(BLOCK_BYTES), ADD32, ...set(BLKP),
    ...get(BOFF), ...i32(BLOCK_BYTES), ADD32, ...set(BOFF),
    BR, 0, END, END,
    ...storeDigests,
    ...get(GI), ...i32(1), ADD32, ...set(GI),
    BR, 0, END, END,
    ...get(DIFFS),
    END,
  ];
  const fn = [...vec([[I32_LOCALS, I32], [...uleb(v128Locals), V128]]), ...body];
  return new Uint8Array([
    ...WASM_HEADER,
    ...section(1, vec([[0x60, ...vec([[I32]]), ...vec([[I32]])]])), // type: (i32) -> i32
    ...section(3, vec([[0]])), // one function of type 0
    ...section(5, vec([[0x00, ...uleb(MEMORY_PAGES)]])), // its own memory
    ...section(7, vec([[...wasmName('run'), 0x00, 0], [...wasmName('memory'), 0x02, 0]])),
    ...section(10, vec([[...uleb(fn.length), ...fn]])),
  ]);
}

type RunFn = (groups: number) => number;

/** Compiled once per thread; null where WebAssembly SIMD is not available. */
let compiled: { module: unknown } | null | undefined;

function compiledKernel(): { module: unknown } | null {
  if (compiled === undefined) {
    compiled = null;
    try {
      const bytes = multiModuleBytes();
      const api = wasmApi as (typeof wasmApi & { validate?: (b: Uint8Array) => boolean }) | null;
      if (api && (api.validate?.(bytes) ?? true)) compiled = { module: new api.Module(bytes) };
    } catch {
      compiled = null; // no SIMD here: callers use blake3.ts
    }
  }
  return compiled;
}

/** BLAKE3("abc"), checked once per instance before it is trusted. */
const ABC_DIGEST = '6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85';

export class Blake3Multi {
  /** Messages queued for the next `run`. */
  count = 0;
  private readonly mem: Uint8Array;
  private readonly lens: Int32Array;
  /** The last source buffer and a plain view of it: `subarray` of a Buffer is slow. */
  private src: Uint8Array | null = null;
  private plain: Uint8Array = new Uint8Array(0);
  /** The last digest target and a DataView of it (digestInto); the module memory's view. */
  private outOf: Uint8Array | null = null;
  private outView: DataView = new DataView(new ArrayBuffer(0));
  private readonly memView: DataView;

  private constructor(private readonly fn: RunFn, memory: WasmMemory) {
    this.mem = new Uint8Array(memory.buffer);
    this.memView = new DataView(memory.buffer);
    this.lens = new Int32Array(memory.buffer, LEN_BASE, MULTI_CAPACITY);
  }

  /**
   * `create`, but only where this thread has the kernel compiled already (emitting and
   * compiling it costs ~15-30 ms): for a thread that hashes a few chunks at most.
   */
  static createIfCompiled(): Blake3Multi | null {
    return compiled ? Blake3Multi.create() : null;
  }

  /** A multi-message hasher, or null where WebAssembly SIMD is not available. */
  static create(): Blake3Multi | null {
    const k = compiledKernel();
    if (!k || !wasmApi) return null;
    try {
      const inst = new wasmApi.Instance(k.module as never, {});
      const { run, memory } = inst.exports as { run: RunFn; memory: WasmMemory };
      const m = new Blake3Multi(run, memory);
      m.push(new Uint8Array([0x61, 0x62, 0x63]), 0, 3);
      m.run();
      const d = new Uint8Array(MULTI_HASH_BYTES);
      m.digestInto(0, d, 0);
      m.clear();
      return Buffer.from(d).toString('hex') === ABC_DIGEST ? m : null;
    } catch {
      return null;
    }
  }

  /** Whether another message fits before `run`. */
  get full(): boolean {
    return this.count === MULTI_CAPACITY;
  }

  /**
   * Queues buf[start, end) (at most MULTI_MAX_MESSAGE_BYTES, and not `full`); returns
   * its index. Copied at once: buf may change afterwards.
   */
  push(buf: Uint8Array, start: number, end: number): number {
    return this.queue(buf, start, end, end);
  }

  /**
   * Queues buf[start, end) like `push`, with the 32 bytes after it, buf[end, end + 32),
   * as the digest `matches` compares with (an event body ends with its event_hash).
   * One copy for both.
   */
  pushChecked(buf: Uint8Array, start: number, end: number): number {
    return this.queue(buf, start, end, end + MULTI_HASH_BYTES);
  }

  private queue(buf: Uint8Array, start: number, end: number, copyEnd: number): number {
    if (buf !== this.src || this.plain.byteLength !== buf.byteLength) {
      this.src = buf;
      this.plain = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    }
    // precondition: the message and its digest fit the slot, and a slot is free (callers check MULTI_MAX_MESSAGE_BYTES and MULTI_CAPACITY)
    assert(this.count < MULTI_CAPACITY && end - start <= MULTI_MAX_MESSAGE_BYTES && copyEnd - start <= SLOT_BYTES && start >= 0 && copyEnd <= buf.length, 'a message queued for the wasm kernel fits its slot');
    const i = this.count++;
    // the bytes after the message in its slot need no clearing: the kernel masks them
    this.mem.set(this.plain.subarray(start, copyEnd), IN_BASE + i * SLOT_BYTES);
    this.lens[i] = end - start;
    return i;
  }

  /**
   * Hashes every queued message. Returns 0 when every `pushChecked` message matched
   * (more precisely: a count that is 0 only then; use `matches` to find which).
   */
  run(): number {
    const groups = Math.ceil(this.count / LANES);
    // idle lanes of the last group: empty messages (nothing read of them)
    for (let i = this.count; i < groups * LANES; i++) this.lens[i] = 0;
    return this.fn(groups);
  }

  /** Digest of message i (after `run`) into out[outOffset, outOffset + 32), a 32-bit word at a time. */
  digestInto(i: number, out: Uint8Array, outOffset: number): void {
    if (out !== this.outOf) {
      this.outOf = out;
      this.outView = new DataView(out.buffer, out.byteOffset, out.byteLength);
    }
    const o = this.outView;
    const p = OUT_BASE + i * MULTI_HASH_BYTES;
    for (let k = 0; k < MULTI_HASH_BYTES; k += 4) o.setInt32(outOffset + k, this.memView.getInt32(p + k, true), true);
  }

  /** Whether message i's digest (after `run`) equals the 32 bytes `pushChecked` took after it. */
  matches(i: number): boolean {
    return this.mem[DIFF_BASE + i] === 0;
  }

  clear(): void {
    this.count = 0;
  }
}
