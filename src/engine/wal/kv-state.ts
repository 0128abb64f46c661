/**
 * The key/value state replay builds: live keys with their value and version.
 *
 * Replay applies millions of operations to a set of keys that stays small, while the
 * log streams through the CPU caches. Lookups therefore avoid pointer chasing: an
 * open-addressing table (linear probing, at most half full, backward-shift deletion)
 * of entry numbers, and per-entry fields in typed arrays, with every key's UTF-8 bytes
 * in one arena. A lookup compares bytes straight from the buffer replay holds them in:
 * applying an operation to an existing key allocates nothing, and no key string is
 * made until the state is read out.
 *
 * Values (when kept) are UTF-8 bytes in a second arena, not JS strings: 1M live keys
 * made 1M strings (~36 MB of heap and as much young-generation churn while they were
 * made), which put a 1M-key snapshot over 200 MB of peak RSS (issue 18). A snapshot
 * copies them out as bytes; strings are made only when the state is read out as text.
 */
export interface KvEntry {
  /** The value's JSON text as recorded (null when replay ran without `keepValues`). */
  value: string | null;
  version: number;
}

const INITIAL_SLOTS = 1024;
const INITIAL_ENTRIES = 512;
const INITIAL_ARENA_BYTES = 16 * 1024;
/** The arena is compacted when dead key bytes outnumber this many plus the live ones. */
const ARENA_SLACK_BYTES = 64 * 1024;

export class KvState {
  /** Entry number + 1 per slot, 0 = empty. */
  private slots: Int32Array;
  private mask: number;
  private hashes: Int32Array;
  private keyOffsets: Int32Array;
  private keyLengths: Int32Array;
  private versions: Float64Array;
  /** Per entry: where its value's bytes are in `vals`, and how many (NO_VALUE: kept without a value). */
  private valueOffsets: Int32Array;
  private valueLengths: Int32Array;
  private readonly keys = new ByteArena();
  private readonly vals = new ByteArena();
  /** Entry numbers are reused: `free` holds released ones, `highWater` is the next never-used one. */
  private readonly free: number[] = [];
  private highWater = 0;
  private count = 0;

  /**
   * `entries`: how many keys the state will hold, when known (a snapshot's count, bounded
   * by its file's size: never an untrusted number alone): the per-entry arrays are made
   * that size at once, instead of doubling up to it (each doubling left the old arrays
   * behind for the collector). The slot table still grows as keys come: its size and
   * history decide the order `entries()` and `forEachRaw` give, which is the order of a
   * snapshot's entries, and that order stays what it was (the same bytes, the same drills).
   */
  constructor(entries = 0) {
    const cap = Math.max(INITIAL_ENTRIES, entries);
    this.slots = new Int32Array(INITIAL_SLOTS);
    this.mask = INITIAL_SLOTS - 1;
    this.hashes = new Int32Array(cap);
    this.keyOffsets = new Int32Array(cap);
    this.keyLengths = new Int32Array(cap);
    this.versions = new Float64Array(cap);
    this.valueOffsets = new Int32Array(cap);
    this.valueLengths = new Int32Array(cap);
  }

  get size(): number {
    return this.count;
  }

  /**
   * Sets the key at buf[start, start + len) to version `version` and the value whose
   * UTF-8 bytes are vbuf[vstart, vstart + vlen) (copied); `vbuf` null: no value kept.
   */
  put(buf: Uint8Array, start: number, len: number, version: number, vbuf: Uint8Array | null = null, vstart = 0, vlen = 0): void {
    const h = hashBytes(buf, start, len);
    let i = h & this.mask;
    for (;;) {
      const s = this.slots[i]!;
      if (s === 0) break;
      const e = s - 1;
      if (this.hashes[e] === h && this.sameKey(e, buf, start, len)) {
        this.versions[e] = version;
        this.dropValue(e);
        this.setValue(e, vbuf, vstart, vlen);
        return;
      }
      i = (i + 1) & this.mask;
    }
    const e = this.newEntry(buf, start, len, h);
    this.versions[e] = version;
    this.setValue(e, vbuf, vstart, vlen);
    this.slots[i] = e + 1;
    this.count++;
    if (this.count * 2 > this.slots.length) this.resize(this.slots.length * 2);
  }

  /** Removes the key at buf[start, start + len) if present. */
  delete(buf: Uint8Array, start: number, len: number): void {
    const h = hashBytes(buf, start, len);
    let i = h & this.mask;
    for (;;) {
      const s = this.slots[i]!;
      if (s === 0) return;
      const e = s - 1;
      if (this.hashes[e] === h && this.sameKey(e, buf, start, len)) {
        this.removeSlot(i);
        this.dropValue(e);
        this.keys.live -= this.keyLengths[e]!;
        this.free.push(e);
        this.count--;
        return;
      }
      i = (i + 1) & this.mask;
    }
  }

  get(key: string): KvEntry | undefined {
    const b = Buffer.from(key, 'utf8');
    const h = hashBytes(b, 0, b.length);
    for (let i = h & this.mask; this.slots[i] !== 0; i = (i + 1) & this.mask) {
      const e = this.slots[i]! - 1;
      if (this.hashes[e] === h && this.sameKey(e, b, 0, b.length)) return { value: this.valueText(e), version: this.versions[e]! };
    }
    return undefined;
  }

  /** Live entries, in no particular order; keys are decoded here. */
  *entries(): IterableIterator<[string, KvEntry]> {
    for (let i = 0; i < this.slots.length; i++) {
      const s = this.slots[i]!;
      if (s === 0) continue;
      const e = s - 1;
      const off = this.keyOffsets[e]!;
      yield [this.keys.buf.toString('utf8', off, off + this.keyLengths[e]!), { value: this.valueText(e), version: this.versions[e]! }];
    }
  }

  /**
   * Live entries as the bytes they are kept in, for writers that copy them out as they
   * are (a snapshot): `keys[keyOffset, keyOffset + keyLength)` is the key's UTF-8 and
   * `values[valueOffset, valueOffset + valueLength)` the value's (valueLength NO_VALUE:
   * none kept), valid during the call only. No string is made.
   */
  forEachRaw(fn: (keys: Buffer, keyOffset: number, keyLength: number, values: Buffer, valueOffset: number, valueLength: number, version: number) => void): void {
    for (let i = 0; i < this.slots.length; i++) {
      const s = this.slots[i]!;
      if (s === 0) continue;
      const e = s - 1;
      fn(this.keys.buf, this.keyOffsets[e]!, this.keyLengths[e]!, this.vals.buf, this.valueOffsets[e]!, this.valueLengths[e]!, this.versions[e]!);
    }
  }

  private valueText(e: number): string | null {
    const n = this.valueLengths[e]!;
    if (n === NO_VALUE) return null;
    const off = this.valueOffsets[e]!;
    return this.vals.buf.toString('utf8', off, off + n);
  }

  private setValue(e: number, vbuf: Uint8Array | null, vstart: number, vlen: number): void {
    if (vbuf === null) {
      this.valueLengths[e] = NO_VALUE;
      return;
    }
    // room first: a compaction moves the other values (this entry has none right now)
    this.valueLengths[e] = NO_VALUE;
    if (this.vals.used + vlen > this.vals.buf.length) this.makeRoom(this.vals, this.valueOffsets, this.valueLengths, vlen);
    const off = this.vals.append(vbuf, vstart, vlen);
    this.valueOffsets[e] = off;
    this.valueLengths[e] = vlen;
  }

  private dropValue(e: number): void {
    const n = this.valueLengths[e]!;
    if (n !== NO_VALUE) this.vals.live -= n;
    this.valueLengths[e] = NO_VALUE;
  }

  /** A plain Map copy (tests, small states). */
  toMap(): Map<string, KvEntry> {
    return new Map(this.entries());
  }

  private sameKey(e: number, buf: Uint8Array, start: number, len: number): boolean {
    if (this.keyLengths[e] !== len) return false;
    const a = this.keys.buf;
    const off = this.keyOffsets[e]!;
    for (let k = 0; k < len; k++) if (a[off + k] !== buf[start + k]) return false;
    return true;
  }

  private newEntry(buf: Uint8Array, start: number, len: number, h: number): number {
    let e = this.free.pop();
    if (e === undefined) {
      e = this.highWater++;
      if (e >= this.hashes.length) this.growEntries();
    }
    // the new entry is not in the table yet: a compaction leaves it out (its key goes in after)
    this.keyLengths[e] = 0;
    if (this.keys.used + len > this.keys.buf.length) this.makeRoom(this.keys, this.keyOffsets, this.keyLengths, len);
    const off = this.keys.append(buf, start, len);
    this.hashes[e] = h;
    this.keyOffsets[e] = off;
    this.keyLengths[e] = len;
    return e;
  }

  private growEntries(): void {
    const n = this.hashes.length * 2;
    this.hashes = grow(this.hashes, new Int32Array(n));
    this.keyOffsets = grow(this.keyOffsets, new Int32Array(n));
    this.keyLengths = grow(this.keyLengths, new Int32Array(n));
    this.versions = grow(this.versions, new Float64Array(n));
    this.valueOffsets = grow(this.valueOffsets, new Int32Array(n));
    this.valueLengths = grow(this.valueLengths, new Int32Array(n));
  }

  /**
   * Room for `len` more bytes in `arena` (the keys' or the values', with their per-entry
   * offsets and lengths): compacts it when most of it is dead bytes, else doubles it.
   * Only entries in the table are live; a length of NO_VALUE has no bytes.
   */
  private makeRoom(arena: ByteArena, offsets: Int32Array, lengths: Int32Array, len: number): void {
    const dead = arena.used - arena.live;
    const compact = dead > arena.live + ARENA_SLACK_BYTES;
    const size = Math.max(compact ? arena.buf.length : arena.buf.length * 2, (compact ? arena.live : arena.used) + len);
    const next = Buffer.allocUnsafe(size);
    if (!compact) {
      arena.buf.copy(next, 0, 0, arena.used);
    } else {
      let used = 0;
      for (let i = 0; i < this.slots.length; i++) {
        const s = this.slots[i]!;
        if (s === 0) continue;
        const e = s - 1;
        const n = lengths[e]!;
        if (n <= 0) continue;
        const off = offsets[e]!;
        arena.buf.copy(next, used, off, off + n);
        offsets[e] = used;
        used += n;
      }
      arena.used = used;
    }
    arena.buf = next;
  }

  private resize(slotCount: number): void {
    const old = this.slots;
    this.slots = new Int32Array(slotCount);
    this.mask = slotCount - 1;
    for (let i = 0; i < old.length; i++) {
      const s = old[i]!;
      if (s === 0) continue;
      let j = this.hashes[s - 1]! & this.mask;
      while (this.slots[j] !== 0) j = (j + 1) & this.mask;
      this.slots[j] = s;
    }
  }

  /** Backward-shift deletion: later entries of the probe run move up, so no tombstones. */
  private removeSlot(i: number): void {
    const slots = this.slots;
    const mask = this.mask;
    slots[i] = 0;
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const s = slots[j]!;
      if (s === 0) return;
      const home = this.hashes[s - 1]! & mask;
      // move s into the hole unless its home lies cyclically in (i, j]
      const inRange = i <= j ? home > i && home <= j : home > i || home <= j;
      if (!inRange) {
        slots[i] = s;
        slots[j] = 0;
        i = j;
      }
    }
  }
}

/** A value length meaning "no value kept" (replay without keepValues). */
export const NO_VALUE = -1;

/** Bytes appended at the end; `live` counts those still referenced (the rest is dead until compaction). */
class ByteArena {
  buf = Buffer.allocUnsafe(INITIAL_ARENA_BYTES);
  used = 0;
  live = 0;

  /** Appends src[start, start + len) (room was made); returns its offset. */
  append(src: Uint8Array, start: number, len: number): number {
    const off = this.used;
    const a = this.buf;
    if (len >= NATIVE_COPY_MIN_BYTES) a.set(src.subarray(start, start + len), off);
    else for (let k = 0; k < len; k++) a[off + k] = src[start + k]!;
    this.used += len;
    this.live += len;
    return off;
  }
}

/** Shorter copies go byte by byte (a native copy's call costs more). */
const NATIVE_COPY_MIN_BYTES = 32;

function grow<T extends Int32Array | Float64Array>(from: T, to: T): T {
  to.set(from);
  return to;
}

/** FNV-1a with a final mix: table positions come from the low bits. */
function hashBytes(buf: Uint8Array, start: number, len: number): number {
  let h = 0x811c9dc5;
  for (let i = start, end = start + len; i < end; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  return h ^ (h >>> 13);
}
