/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78).
 *
 * Two implementations of the same slice-by-16 table algorithm (docs/DECISIONS.md,
 * "Performance log", has the measurements):
 * - `crc32cJs(buf, start, end)`: plain JS over any byte array, reading 32-bit words
 *   through a cached DataView (twice as fast as the byte-at-a-time slice-by-8 it replaced).
 *   `crc32c` is this loop for inputs under CRC_SCRATCH_MIN_BYTES, and the kernel below
 *   through a scratch arena for longer ones (footers, snapshots).
 * - `CrcArena`: a buffer that lives inside a tiny hand-assembled WebAssembly module's
 *   memory, for the readers' large chunk buffers: the checksum runs in place, with no
 *   copy and no per-call allocation, another ~1.5x over the JS loop at frame sizes
 *   (~2x since round six's kernel; `SEGLOG_CRC_FAST=0` selects round four's).
 * Both fall back to each other's answer: they are tested equal to a bit-at-a-time oracle.
 */
import { wasmApi, type WasmMemory, type WasmModule } from './wasm-api.js';
import { section, sleb, uleb, vec, WASM_HEADER, wasmName as name } from './wasm-emit.js';

const POLY = 0x82f63b78;
const SLICES = 16;
const TABLE_WORDS = 256 * SLICES;
/** All 16 tables in one array: table k is words [256k, 256k + 256). */
const TABLE: Uint32Array = buildTables();

function buildTables(): Uint32Array {
  const t = new Uint32Array(TABLE_WORDS);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[n]!;
    for (let k = 1; k < SLICES; k++) {
      c = t[c & 0xff]! ^ (c >>> 8);
      t[k * 256 + n] = c >>> 0;
    }
  }
  return t;
}

const T = Array.from({ length: SLICES }, (_, k) => TABLE.subarray(k * 256, k * 256 + 256));
const [T0, T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13, T14, T15] = T as [
  Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array,
  Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array,
];

/** One DataView per backing buffer, remembered: creating one per call costs more than a short CRC. */
let viewOf: ArrayBufferLike | null = null;
let view: DataView = new DataView(new ArrayBuffer(0));

/**
 * Inputs at least this long are checksummed by the WebAssembly kernel through a scratch
 * arena, copied in a chunk at a time: a footer (80 bytes per event, ~14 MB per 64 MiB
 * segment) or a snapshot. The copy costs far less than the kernel saves over the JS loop
 * (~2x). Shorter inputs (frames, trailers) stay in JS: no copy, no call into WebAssembly.
 */
export const CRC_SCRATCH_MIN_BYTES = 64 * 1024;
const SCRATCH_CHUNK_BYTES = 1024 * 1024;
/** The scratch arena: made on the first long input; null when WebAssembly is not there. */
let scratch: CrcArena | null | undefined;

/** CRC-32C of buf[start, end), continuing from `crc` (0 for a fresh checksum). */
export function crc32c(buf: Uint8Array, start = 0, end = buf.length, crc = 0): number {
  if (end - start >= CRC_SCRATCH_MIN_BYTES) {
    if (scratch?.fast !== crcFastKernel()) scratch = crcKernel() === null ? null : new CrcArena(SCRATCH_CHUNK_BYTES);
    if (scratch !== null) {
      let c = crc;
      for (let p = start; p < end; p += SCRATCH_CHUNK_BYTES) {
        const n = Math.min(SCRATCH_CHUNK_BYTES, end - p);
        scratch.buf.set(buf.subarray(p, p + n), 0);
        c = scratch.crc(0, n, c);
      }
      return c;
    }
  }
  return crc32cJs(buf, start, end, crc);
}

/** `crc32c` in plain JavaScript, whatever the length (the kernels are tested equal to it). */
export function crc32cJs(buf: Uint8Array, start = 0, end = buf.length, crc = 0): number {
  let c = ~crc;
  let i = start;
  if (end - start >= SLICES) {
    if (viewOf !== buf.buffer) {
      view = new DataView(buf.buffer);
      viewOf = buf.buffer;
    }
    const dv = view;
    let p = buf.byteOffset + i;
    const stop = buf.byteOffset + end - SLICES;
    while (p <= stop) {
      const a = dv.getInt32(p, true) ^ c;
      const b = dv.getInt32(p + 4, true);
      const d = dv.getInt32(p + 8, true);
      const e = dv.getInt32(p + 12, true);
      c =
        T15[a & 0xff]! ^ T14[(a >>> 8) & 0xff]! ^ T13[(a >>> 16) & 0xff]! ^ T12[a >>> 24]! ^
        T11[b & 0xff]! ^ T10[(b >>> 8) & 0xff]! ^ T9[(b >>> 16) & 0xff]! ^ T8[b >>> 24]! ^
        T7[d & 0xff]! ^ T6[(d >>> 8) & 0xff]! ^ T5[(d >>> 16) & 0xff]! ^ T4[d >>> 24]! ^
        T3[e & 0xff]! ^ T2[(e >>> 8) & 0xff]! ^ T1[(e >>> 16) & 0xff]! ^ T0[e >>> 24]!;
      p += SLICES;
    }
    i = p - buf.byteOffset;
  }
  while (i < end) {
    c = T0[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
    i++;
  }
  return ~c >>> 0;
}

// ----------------------------------------------------------------------------------
// The WebAssembly kernels. Memory layout: the 16 tables (16 KiB) at address 0, then the
// arena's data. The round-four kernel (`SEGLOG_CRC_FAST=0`) is the JS loop above, word
// for word:
//
//   (func $crc (param $p i32) (param $n i32) (param $c i32) (result i32)
//     (local $a i32) (local $b i32) (local $d i32) (local $e i32)
//     c = c ^ -1
//     while n >= 16: a = load(p) ^ c; b = load(p+4); d = load(p+8); e = load(p+12)
//                    c = T15[a&255] ^ T14[a>>8&255] ^ ... ^ T0[e>>24]; p += 16; n -= 16
//     while n != 0:  c = T0[(c ^ load8(p)) & 255] ^ (c >> 8); p += 1; n -= 1
//     return c ^ -1)
//
// Its 15 XORs form one chain that starts at the four lookups depending on c, so every
// round waits for all of them. The default kernel computes the same value (XOR commutes)
// in fewer steps on the critical path (docs/DECISIONS.md, round six, has the numbers):
// - the 12 lookups of b, d, e (independent of c) are XORed as a balanced tree, then
//   the 4 lookups of a (= load(p) ^ c) as another, then the two: 3 XORs after the
//   c-dependent loads instead of 15;
// - a table index is the byte times 4, taken as (w << 2) & 1020, (w >> 6) & 1020,
//   (w >> 14) & 1020, (w >> 22) & 1020: shift and mask, no third instruction;
// - tails of 4 to 15 bytes go 4 at a time (c = T3 ^ T2 ^ T1 ^ T0 of load(p) ^ c), the
//   last 0-3 bytes one at a time.
//
// Table k of a byte x is `i32.load offset=1024k (x << 2)`. The bytes are assembled here
// rather than shipped as an opaque blob so the code can be read and reviewed.
// ----------------------------------------------------------------------------------

const TABLE_BYTES = TABLE_WORDS * 4;
const WASM_PAGE_BYTES = 65536;

/** The kernel's bytes: `fast` the default one, else round four's (see above). */
function crcModuleBytes(fast: boolean): Uint8Array {
  const [P, N, C, A, B, D, E] = [0, 1, 2, 3, 4, 5, 6];
  const get = (i: number): number[] => [0x20, i];
  const set = (i: number): number[] => [0x21, i];
  const i32 = (v: number): number[] => [0x41, ...sleb(v)];
  const load = (offset: number): number[] => [0x28, 2, ...uleb(offset)];
  const load8 = (offset: number): number[] => [0x2d, 0, ...uleb(offset)];
  const [XOR, AND, SHR_U, SHL, ADD, SUB, LT_U, EQZ] = [0x73, 0x71, 0x76, 0x74, 0x6a, 0x6b, 0x49, 0x45];
  const [BLOCK, LOOP, VOID, BR, BR_IF, END] = [0x02, 0x03, 0x40, 0x0c, 0x0d, 0x0b];
  // T_k[(w >>> shift) & 255]
  const look = (w: number, shift: number, k: number): number[] =>
    fast
      ? [...get(w), ...(shift ? [...i32(shift - 2), SHR_U] : [...i32(2), SHL]), ...i32(1020), AND, ...load(k * 1024)]
      : [
          ...get(w),
          ...(shift ? [...i32(shift), SHR_U] : []),
          ...(shift !== 24 ? [...i32(255), AND] : []),
          ...i32(2),
          SHL,
          ...load(k * 1024),
        ];
  /** The four lookups of word w, tables k0 .. k0 - 3. */
  const looks = (w: number, k0: number): number[][] => [0, 8, 16, 24].map((shift, byte) => look(w, shift, k0 - byte));
  const chain = (terms: number[][]): number[] => terms.flatMap((t, i) => (i ? [...t, XOR] : t));
  const tree = (terms: number[][]): number[] =>
    terms.length === 1 ? terms[0]! : [...tree(terms.slice(0, terms.length >> 1)), ...tree(terms.slice(terms.length >> 1)), XOR];
  const loadA = [...get(P), ...load(0), ...get(C), XOR, ...set(A)];
  const loadBDE = ([[B, 4], [D, 8], [E, 12]] as const).flatMap(([w, off]) => [...get(P), ...load(off), ...set(w)]);
  const step = (bytes: number): number[] => [...get(P), ...i32(bytes), ADD, ...set(P), ...get(N), ...i32(bytes), SUB, ...set(N)];
  const loop = (min: number, round: number[]): number[] => [BLOCK, VOID, LOOP, VOID, ...get(N), ...i32(min), LT_U, BR_IF, 1, ...round, BR, 0, END, END];
  const round16 = fast
    ? [...loadBDE, ...tree([...looks(B, 11), ...looks(D, 7), ...looks(E, 3)]), ...loadA, ...tree(looks(A, 15)), XOR, ...set(C), ...step(16)]
    : [...loadA, ...loadBDE, ...chain([...looks(A, 15), ...looks(B, 11), ...looks(D, 7), ...looks(E, 3)]), ...set(C), ...step(16)];
  const round4 = [...loadA, ...tree(looks(A, 3)), ...set(C), ...step(4)];
  const body = [
    ...get(C), ...i32(-1), XOR, ...set(C),
    ...loop(16, round16),
    ...(fast ? loop(4, round4) : []),
    BLOCK, VOID, LOOP, VOID,
    ...get(N), EQZ, BR_IF, 1,
    ...get(C), ...get(P), ...load8(0), XOR, ...i32(255), AND, ...i32(2), SHL, ...load(0),
    ...get(C), ...i32(8), SHR_U, XOR, ...set(C),
    ...step(1),
    BR, 0, END, END,
    ...get(C), ...i32(-1), XOR,
    END,
  ];
  const I32 = 0x7f;
  const fn = [...vec([[4, I32]]), ...body];
  return new Uint8Array([
    ...WASM_HEADER,
    ...section(1, vec([[0x60, ...vec([[I32], [I32], [I32]]), ...vec([[I32]])]])), // type: (i32 i32 i32) -> i32
    ...section(2, vec([[...name('m'), ...name('memory'), 0x02, 0x00, 0x01]])), // import memory m.memory (min 1 page)
    ...section(3, vec([[0]])), // one function of type 0
    ...section(7, vec([[...name('crc'), 0x00, 0]])), // export it as "crc"
    ...section(10, vec([[...uleb(fn.length), ...fn]])),
  ]);
}

type CrcFn = (p: number, n: number, c: number) => number;
/** The compiled kernels, fast and round four's; null when WebAssembly is not there. */
const kernels = new Map<boolean, WasmModule | null>();

/** Which kernel new arenas use: the fast one unless `SEGLOG_CRC_FAST=0` (same values; kept to compare). */
export function crcFastKernel(): boolean {
  return process.env.SEGLOG_CRC_FAST !== '0';
}

function crcKernel(fast = crcFastKernel()): WasmModule | null {
  let mod = kernels.get(fast);
  if (mod === undefined) {
    try {
      mod = wasmApi ? new wasmApi.Module(crcModuleBytes(fast)) : null;
    } catch {
      mod = null; // no WebAssembly here: the JS loop does the work
    }
    kernels.set(fast, mod);
  }
  return mod;
}

/**
 * A growable byte buffer whose CRC-32C is computed in place by the WebAssembly kernel.
 * `buf` is a Buffer view over the kernel's memory; it is replaced (contents kept) by
 * `grow`, so callers must re-read `buf` after growing.
 */
export class CrcArena {
  buf: Buffer;
  /** Which kernel this arena was made with (`crcFastKernel()` then). */
  readonly fast: boolean;
  private readonly memory: WasmMemory | null;
  private readonly fn: CrcFn | null;

  /** `fast`: which kernel (tests run both; the default follows `SEGLOG_CRC_FAST`). */
  constructor(sizeBytes: number, fast = crcFastKernel()) {
    this.fast = fast;
    const mod = crcKernel(fast);
    if (mod && wasmApi) {
      this.memory = new wasmApi.Memory({ initial: pagesFor(sizeBytes) });
      this.fn = (new wasmApi.Instance(mod, { m: { memory: this.memory } }).exports as { crc: CrcFn }).crc;
      new Uint32Array(this.memory.buffer, 0, TABLE_WORDS).set(TABLE);
      this.buf = Buffer.from(this.memory.buffer, TABLE_BYTES, sizeBytes);
    } else {
      this.memory = null;
      this.fn = null;
      this.buf = Buffer.allocUnsafe(sizeBytes);
    }
  }

  /** Makes `buf` at least `sizeBytes` long, keeping its contents. */
  grow(sizeBytes: number): void {
    if (sizeBytes <= this.buf.length) return;
    if (this.memory) {
      const have = this.memory.buffer.byteLength / WASM_PAGE_BYTES;
      const want = pagesFor(sizeBytes);
      if (want > have) this.memory.grow(want - have);
      this.buf = Buffer.from(this.memory.buffer, TABLE_BYTES, sizeBytes);
    } else {
      const bigger = Buffer.allocUnsafe(sizeBytes);
      this.buf.copy(bigger);
      this.buf = bigger;
    }
  }

  /** `crc32c`'s signature, for `checkFrame`: in place when `buf` is this arena's buffer. */
  readonly crcOf = (buf: Uint8Array, start: number, end: number): number =>
    buf === this.buf && this.fn !== null ? this.fn(TABLE_BYTES + start, end - start, 0) >>> 0 : crc32c(buf, start, end);

  /** CRC-32C of buf[start, end), continuing from `crc`. */
  crc(start: number, end: number, crc = 0): number {
    if (this.fn === null) return crc32cJs(this.buf, start, end, crc);
    return this.fn(TABLE_BYTES + start, end - start, crc) >>> 0;
  }
}

function pagesFor(sizeBytes: number): number {
  return Math.ceil((TABLE_BYTES + sizeBytes) / WASM_PAGE_BYTES);
}
