/**
 * Property of format/chain-hash.ts (issue 18, round six: a bulk append's hashes completed
 * by the write-behind thread): completing chunks of EVENT frames by their chain codes, one
 * chunk after another through one shared table, gives every frame the prev_hash and
 * event_hash of hashing the events one by one in file order, each linked to its entity's
 * previous event. Whatever the chunk boundaries, the body lengths (either side of the SIMD
 * kernel's 1,024-byte messages), the entities in a batch, frames needing nothing
 * (HASH_DONE) or the garbage left where the encoder did not write a prev_hash; with the
 * SIMD kernel and without it.
 *
 * If it fails: an event hashed before its entity's previous one was complete (the batch's
 * marks in fillChainHashes), a prev_hash not taken from the table, or the table not
 * updated after a single-hasher event.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeU32 } from '../../src/format/bytes.js';
import { CHAIN_TABLE_BYTES, chainHashers, fillChainHashes, HASH_DONE } from '../../src/format/chain-hash.js';
import { EV } from '../../src/format/event.js';
import { FRAME_PREFIX_BYTES, FrameType } from '../../src/format/frame.js';
import { type Blake3, createHasher, HASH_BYTES } from '../../src/format/hash/blake3.js';
import { Blake3Multi } from '../../src/format/hash/blake3-multi.js';

let single: Blake3;
beforeAll(async () => {
  single = await createHasher();
});

interface Ev {
  entity: number;
  /** Body bytes from the id to the event_hash (the hashed message). */
  bodyLen: number;
  /** A frame complete already (HASH_DONE): not part of any chain here. */
  done: boolean;
  fill: number;
}

const ev: fc.Arbitrary<Ev> = fc.record({
  entity: fc.nat(6),
  bodyLen: fc.oneof(fc.integer({ min: EV.PREV_HASH + HASH_BYTES, max: 400 }), fc.integer({ min: 1000, max: 1050 }), fc.integer({ min: 1051, max: 3000 })),
  done: fc.constantFrom(false, false, false, true),
  fill: fc.nat(255),
});

/** The frames laid out one after another; body bytes from `fill`, prev_hash and event_hash zero. */
function layout(evs: Ev[]): { buf: Uint8Array; offs: number[] } {
  const offs: number[] = [];
  let len = 0;
  for (const e of evs) {
    offs.push(len);
    len += FRAME_PREFIX_BYTES + e.bodyLen + HASH_BYTES;
  }
  const buf = new Uint8Array(len);
  evs.forEach((e, i) => {
    const off = offs[i]!;
    writeU32(buf, off, 1 + e.bodyLen + HASH_BYTES);
    buf[off + 8] = FrameType.EVENT;
    const b = off + FRAME_PREFIX_BYTES;
    for (let k = 0; k < e.bodyLen; k++) buf[b + k] = (e.fill + k * 7) & 0xff;
    for (let k = 0; k < HASH_BYTES; k++) buf[b + EV.PREV_HASH + k] = 0;
  });
  return { buf, offs };
}

const headOf = (entity: number): Uint8Array => Uint8Array.from({ length: HASH_BYTES }, (_, k) => (entity * 37 + k) & 0xff);

/** The reference: each event in order, its prev_hash its entity's last event_hash (headOf at first). */
function reference(evs: Ev[]): Uint8Array {
  const { buf, offs } = layout(evs);
  const last = new Map<number, Uint8Array>();
  evs.forEach((e, i) => {
    const b = offs[i]! + FRAME_PREFIX_BYTES;
    const q = b + e.bodyLen;
    if (e.done) {
      single.hashInto(buf, b, q, buf, q); // complete already: its own bytes
      return;
    }
    buf.set(last.get(e.entity) ?? headOf(e.entity), b + EV.PREV_HASH);
    single.hashInto(buf, b, q, buf, q);
    last.set(e.entity, buf.slice(q, q + HASH_BYTES));
  });
  return buf;
}

/** As the bulk encoder codes them: an entity's first event carries its prev_hash (slot*2), later ones take it from the table (slot*2+1). */
function completed(evs: Ev[], cuts: number[], multi: Blake3Multi | null): Uint8Array {
  const { buf, offs } = layout(evs);
  const codes = new Int32Array(evs.length);
  const slotOf = new Map<number, number>();
  evs.forEach((e, i) => {
    const b = offs[i]! + FRAME_PREFIX_BYTES;
    if (e.done) {
      single.hashInto(buf, b, b + e.bodyLen, buf, b + e.bodyLen);
      codes[i] = HASH_DONE;
      return;
    }
    const s = slotOf.get(e.entity);
    if (s === undefined) {
      const slot = 5 + slotOf.size * 3; // slots need not be dense
      slotOf.set(e.entity, slot);
      buf.set(headOf(e.entity), b + EV.PREV_HASH);
      codes[i] = slot * 2;
    } else {
      for (let k = 0; k < HASH_BYTES; k++) buf[b + EV.PREV_HASH + k] = 0xee; // garbage: the table's hash goes here
      codes[i] = s * 2 + 1;
    }
  });
  const table = new Uint8Array(CHAIN_TABLE_BYTES);
  const h = chainHashers(multi, single);
  // chunk by chunk (as the slots are written), each from its first frame
  const bounds = [0, ...cuts.filter((c) => c > 0 && c < evs.length).sort((a, b) => a - b), evs.length];
  for (let c = 0; c + 1 < bounds.length; c++) {
    const from = bounds[c]!;
    const to = bounds[c + 1]!;
    if (from === to) continue;
    const start = offs[from]!;
    const end = to < evs.length ? offs[to]! : buf.length;
    fillChainHashes(buf.subarray(start, end), end - start, codes.subarray(from, to), to - from, table, h);
  }
  return buf;
}

describe('chain hashes completed chunk by chunk equal hashing each event in order (format/chain-hash.ts)', () => {
  for (const simd of [true, false]) {
    it(`with the SIMD kernel ${simd ? 'on' : 'off'}`, () => {
      const multi = simd ? Blake3Multi.create() : null;
      if (simd) expect(multi, 'no WebAssembly SIMD here: Blake3Multi.create() returned null').not.toBeNull();
      fc.assert(
        fc.property(fc.array(ev, { minLength: 1, maxLength: 300 }), fc.array(fc.nat(300), { maxLength: 6 }), (evs, cuts) => {
          const want = reference(evs);
          const got = completed(evs, cuts, multi);
          expect(Buffer.from(got).equals(Buffer.from(want)), 'a frame differs from hashing the events one by one in order').toBe(true);
        }),
        { seed: 0x5eed6, numRuns: 150 },
      );
    });
  }

  it('a batch never holds two events of one entity: 200 events of one entity, then of two alternating', () => {
    const one: Ev[] = Array.from({ length: 200 }, (_, i) => ({ entity: 0, bodyLen: 200, done: false, fill: i }));
    const two: Ev[] = Array.from({ length: 200 }, (_, i) => ({ entity: i & 1, bodyLen: 200 + i, done: false, fill: i }));
    for (const evs of [one, two]) {
      expect(Buffer.from(completed(evs, [], Blake3Multi.create())).equals(Buffer.from(reference(evs)))).toBe(true);
    }
  });
});
