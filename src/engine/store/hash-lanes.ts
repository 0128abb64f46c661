/**
 * Bulk events waiting for their event_hash (issue 18): the bulk encoder (bulk.ts) writes
 * an event's frame into its chunk with everything but the hash and the CRC, and queues
 * its body here; the 4-lane SIMD BLAKE3 kernel (format/hash/blake3-multi.ts) then hashes
 * up to MULTI_CAPACITY bodies side by side, and `settle` completes each frame (event_hash,
 * CRC) and its entity head's hash. The chain only orders the events of one entity, so
 * events of distinct entities may be hashed together; the write path (write-path.ts)
 * settles before anything reads a waiting head: the entity's next event, any other
 * write, a read of the heads, a chunk written, the store closed.
 */
import { readU32, writeU32 } from '../../format/bytes.js';
import { HASH_BYTES } from '../../format/hash/blake3.js';
import { Blake3Multi, MULTI_CAPACITY, MULTI_MAX_MESSAGE_BYTES } from '../../format/hash/blake3-multi.js';
import type { CrcArena } from '../../format/hash/crc32c.js';
import { FRAME_HEADER_BYTES } from '../../format/frame.js';
import type { EntityHead } from '../recovery/recovery-scan.js';

/** Longest event body (from its id to its event_hash) the lanes take; longer ones are hashed at once. */
export const LANE_MAX_BODY_BYTES = MULTI_MAX_MESSAGE_BYTES;

export class HashLanes {
  /** Events waiting. */
  count = 0;
  /** The chunk buffer (an arena) the waiting frames are in. */
  private arena: CrcArena | null = null;
  /**
   * Frame offsets in the arena and entity heads, in the kernel's order (the first `count`).
   * A head waiting is found by a scan of `headOf` (at most MULTI_CAPACITY): a Set of the
   * heads, cleared at every settle, cost ~0.1 s per million events (issue 18, round four).
   */
  private readonly at = new Int32Array(MULTI_CAPACITY);
  private readonly headOf: EntityHead[] = new Array<EntityHead>(MULTI_CAPACITY);
  /** Whether settling writes the frames' CRCs (false: the write-behind thread does, bulk.ts). */
  private crc = true;

  private constructor(private readonly kernel: Blake3Multi) {}

  /**
   * Lanes, or null where WebAssembly SIMD is missing or `SEGLOG_BLAKE3_SIMD=0` (each bulk
   * event then hashed at once by hash-wasm, as before issue 18; the differential suite runs both).
   */
  static create(): HashLanes | null {
    if (process.env.SEGLOG_BLAKE3_SIMD === '0') return null;
    const k = Blake3Multi.create();
    return k ? new HashLanes(k) : null;
  }

  /** Whether settling is needed before an event of `head`'s entity in `arena` is encoded (its prev_hash is the head's hash). */
  mustSettleFor(head: EntityHead | undefined, arena: CrcArena): boolean {
    const n = this.count;
    if (n === 0) return false;
    if (this.arena !== arena) return true;
    if (head === undefined) return false;
    const headOf = this.headOf;
    for (let i = 0; i < n; i++) if (headOf[i] === head) return true;
    return false;
  }

  /**
   * Queues the frame at arena.buf[off] (length field written, body buf[b, q) with its
   * event_hash to go at q) whose hash becomes `head`'s; settles when the lanes are full.
   * `crc`: settling writes its CRC (the same for every frame until the next settle).
   */
  push(arena: CrcArena, b: number, q: number, off: number, head: EntityHead, crc: boolean): void {
    this.kernel.push(arena.buf, b, q);
    this.arena = arena;
    this.crc = crc;
    this.headOf[this.count] = head;
    this.at[this.count++] = off;
    if (this.kernel.full) this.settle();
  }

  /** Hashes the waiting events and completes them: event_hash and CRC in the frame, the head's hash. */
  settle(): void {
    const n = this.count;
    if (n === 0) return;
    const lanes = this.kernel;
    const arena = this.arena!;
    lanes.run();
    const buf = arena.buf;
    for (let i = 0; i < n; i++) {
      const off = this.at[i]!;
      const length = readU32(buf, off);
      const q = off + FRAME_HEADER_BYTES + length - HASH_BYTES;
      lanes.digestInto(i, buf, q);
      if (this.crc) writeU32(buf, off + 4, arena.crc(off + FRAME_HEADER_BYTES, off + FRAME_HEADER_BYTES + length));
      const h = this.headOf[i]!.hash;
      for (let k = 0; k < HASH_BYTES; k++) h[k] = buf[q + k]!;
    }
    lanes.clear();
    this.count = 0;
    this.arena = null;
  }
}
