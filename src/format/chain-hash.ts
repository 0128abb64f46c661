/**
 * Event hashes filled in after encoding (issue 18, round six): a bulk append encodes its
 * EVENT frames without their event_hash (and, where the entity's previous event is not
 * hashed yet, without their prev_hash), and whichever thread writes the chunk completes
 * them here, in frame order, just before the CRCs (engine/io/write-behind.ts).
 *
 * The chain is carried by a table of 32-byte hashes shared between the threads: each
 * frame to complete has a code, `slot * 2 + fromTable`. `fromTable` (1): its prev_hash
 * is copied from table slot `slot` first (the encoder left it out); 0: the encoder wrote
 * it. Its event_hash is then computed, written at the end of its body, and copied into
 * the slot, for the entity's next event. The encoder gives each entity one slot between
 * two synchronisations, so a slot holds one entity's latest hash. Frames with code
 * HASH_DONE are complete already.
 *
 * Events of distinct entities are hashed side by side by the SIMD kernel (as
 * store/hash-lanes.ts does at encode time); an event whose slot is in the batch being
 * filled runs the batch first, so it copies the hash of its entity's previous event.
 * Pure functions over bytes: no I/O, no threads.
 */
import { readU32 } from './bytes.js';
import { EV } from './event.js';
import { FRAME_HEADER_BYTES, FRAME_PREFIX_BYTES } from './frame.js';
import { HASH_BYTES, type Blake3 } from './hash/blake3.js';
import { type Blake3Multi, MULTI_CAPACITY, MULTI_MAX_MESSAGE_BYTES } from './hash/blake3-multi.js';

/** Slots in a chain table: entities one encoder may have in flight between two synchronisations. */
export const CHAIN_TABLE_SLOTS = 65536;
export const CHAIN_TABLE_BYTES = CHAIN_TABLE_SLOTS * HASH_BYTES;
/** A frame's code when it needs nothing done. */
export const HASH_DONE = -1;

/** One thread's hashers and scratch for `fillChainHashes` (`chainHashers`). */
export interface ChainHashers {
  /** The SIMD kernel, or null (each event then hashed by `single`). */
  readonly multi: Blake3Multi | null;
  /** Any length, for bodies longer than the kernel's messages. */
  readonly single: Blake3;
  /** marks[slot] === batch: the slot's entity has an event in the batch being filled. */
  readonly marks: Int32Array;
  batch: number;
  /** Per queued message: where its event_hash goes, and its slot. */
  readonly at: Int32Array;
  readonly slotOf: Int32Array;
}

export function chainHashers(multi: Blake3Multi | null, single: Blake3): ChainHashers {
  return { multi, single, marks: new Int32Array(CHAIN_TABLE_SLOTS), batch: 1, at: new Int32Array(MULTI_CAPACITY), slotOf: new Int32Array(MULTI_CAPACITY) };
}

/**
 * Completes the EVENT frames among the first `count` whole frames of buf[0, len) whose
 * code (codes[f] for the f-th frame) is not HASH_DONE: prev_hash from the table where the
 * code says so, then event_hash, written into the frame and into the table. CRCs are
 * not touched (sealFrameCrcs comes after).
 */
export function fillChainHashes(buf: Uint8Array, len: number, codes: Int32Array, count: number, table: Uint8Array, h: ChainHashers): void {
  const multi = h.multi;
  const marks = h.marks;
  const bv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const tv = new DataView(table.buffer, table.byteOffset, table.byteLength);
  let n = 0;
  for (let off = 0, f = 0; off < len && f < count; f++) {
    const length = readU32(buf, off);
    const code = codes[f]!;
    if (code >= 0) {
      const slot = code >>> 1;
      const t = slot * HASH_BYTES;
      // the entity's previous event is in the batch: its hash is needed now
      if (n > 0 && marks[slot] === h.batch) n = runBatch(buf, bv, tv, h, n);
      const b = off + FRAME_PREFIX_BYTES;
      const q = off + FRAME_HEADER_BYTES + length - HASH_BYTES;
      if ((code & 1) === 1) copyHash(tv, t, bv, b + EV.PREV_HASH);
      if (multi !== null && q - b <= MULTI_MAX_MESSAGE_BYTES) {
        multi.push(buf, b, q);
        h.at[n] = q;
        h.slotOf[n++] = slot;
        marks[slot] = h.batch;
        if (n === MULTI_CAPACITY) n = runBatch(buf, bv, tv, h, n);
      } else {
        h.single.hashInto(buf, b, q, buf, q);
        copyHash(bv, q, tv, t);
      }
    }
    off += FRAME_HEADER_BYTES + length;
  }
  if (n > 0) runBatch(buf, bv, tv, h, n);
}

/** 32 bytes from `from` at `a` to `to` at `b`, a 32-bit word at a time (a byte loop costs twice as much). */
function copyHash(from: DataView, a: number, to: DataView, b: number): void {
  for (let i = 0; i < HASH_BYTES; i += 4) to.setInt32(b + i, from.getInt32(a + i, true), true);
}

/** Hashes the batch, completes its frames and their slots; returns 0 (the new batch's size). */
function runBatch(buf: Uint8Array, bv: DataView, tv: DataView, h: ChainHashers, n: number): number {
  const multi = h.multi!;
  multi.run();
  for (let i = 0; i < n; i++) {
    const q = h.at[i]!;
    multi.digestInto(i, buf, q);
    copyHash(bv, q, tv, h.slotOf[i]! * HASH_BYTES);
  }
  multi.clear();
  h.batch++;
  return 0;
}
