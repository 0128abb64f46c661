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
  private slots = new Int32Array(INITIAL_SLOTS);
  private mask = INITIAL_SLOTS - 1;
  private hashes = new Int32Array(INITIAL_ENTRIES);
  private keyOffsets = new Int32Array(INITIAL_ENTRIES);
  private keyLengths = new Int32Array(INITIAL_ENTRIES);
  private versions = new Float64Array(INITIAL_ENTRIES);
  private values: (string | null)[] = [];
  private arena = Buffer.allocUnsafe(INITIAL_ARENA_BYTES);
  private arenaUsed = 0;
  private liveKeyBytes = 0;
  /** Entry numbers are reused: `free` holds released ones, `highWater` is the next never-used one. */
  private readonly free: number[] = [];
  private highWater = 0;
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Sets the key at buf[start, start + len) to (value, version). */
  put(buf: Uint8Array, start: number, len: number, value: string | null, version: number): void {
    const h = hashBytes(buf, start, len);
    let i = h & this.mask;
    for (;;) {
      const s = this.slots[i]!;
      if (s === 0) break;
      const e = s - 1;
      if (this.hashes[e] === h && this.sameKey(e, buf, start, len)) {
        this.versions[e] = version;
        this.values[e] = value;
        return;
      }
      i = (i + 1) & this.mask;
    }
    const e = this.newEntry(buf, start, len, h);
    this.versions[e] = version;
    this.values[e] = value;
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
        this.values[e] = null;
        this.liveKeyBytes -= this.keyLengths[e]!;
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
      if (this.hashes[e] === h && this.sameKey(e, b, 0, b.length)) return { value: this.values[e] ?? null, version: this.versions[e]! };
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
      yield [this.arena.toString('utf8', off, off + this.keyLengths[e]!), { value: this.values[e] ?? null, version: this.versions[e]! }];
    }
  }

  /**
   * Live entries as the bytes they are kept in, for writers that copy keys out as they
   * are (a snapshot): `arena[keyOffset, keyOffset + keyLength)` is the key's UTF-8, valid
   * during the call only. No string is made per key.
   */
  forEachRaw(fn: (arena: Buffer, keyOffset: number, keyLength: number, value: string | null, version: number) => void): void {
    for (let i = 0; i < this.slots.length; i++) {
      const s = this.slots[i]!;
      if (s === 0) continue;
      const e = s - 1;
      fn(this.arena, this.keyOffsets[e]!, this.keyLengths[e]!, this.values[e] ?? null, this.versions[e]!);
    }
  }

  /** A plain Map copy (tests, small states). */
  toMap(): Map<string, KvEntry> {
    return new Map(this.entries());
  }

  private sameKey(e: number, buf: Uint8Array, start: number, len: number): boolean {
    if (this.keyLengths[e] !== len) return false;
    const a = this.arena;
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
    if (this.arenaUsed + len > this.arena.length) this.makeArenaRoom(len);
    const a = this.arena;
    const off = this.arenaUsed;
    for (let k = 0; k < len; k++) a[off + k] = buf[start + k]!;
    this.arenaUsed += len;
    this.liveKeyBytes += len;
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
  }

  /** Compacts the arena when most of it is dead keys, else doubles it. */
  private makeArenaRoom(len: number): void {
    const dead = this.arenaUsed - this.liveKeyBytes;
    const compact = dead > this.liveKeyBytes + ARENA_SLACK_BYTES;
    const size = Math.max(compact ? this.arena.length : this.arena.length * 2, (compact ? this.liveKeyBytes : this.arenaUsed) + len);
    const next = Buffer.allocUnsafe(size);
    if (!compact) {
      this.arena.copy(next, 0, 0, this.arenaUsed);
    } else {
      let used = 0;
      for (let i = 0; i < this.slots.length; i++) {
        const s = this.slots[i]!;
        if (s === 0) continue;
        const e = s - 1;
        const off = this.keyOffsets[e]!;
        const n = this.keyLengths[e]!;
        this.arena.copy(next, used, off, off + n);
        this.keyOffsets[e] = used;
        used += n;
      }
      this.arenaUsed = used;
    }
    this.arena = next;
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
