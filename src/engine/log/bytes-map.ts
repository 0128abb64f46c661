/**
 * A map keyed by byte strings, looked up in place: `get(buf, start, len)` hashes and
 * compares the bytes where they lie, so hot paths (a scan meets an entity name per
 * EVENT frame) find their value without making a string or a copy per lookup.
 * Open addressing over FNV-1a, at most half full; keys are copied when inserted.
 */
import { equalBytes } from '../../format/bytes.js';

const INITIAL_SLOTS = 64;
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

function fnv1a(buf: Uint8Array, start: number, end: number): number {
  let h = FNV_OFFSET;
  for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i]!, FNV_PRIME);
  return h;
}

export class BytesMap<T> {
  /** Keys and values by insertion index. */
  readonly keys: Uint8Array[] = [];
  readonly values: T[] = [];
  /** insertion index + 1; 0 = empty */
  private slots = new Int32Array(INITIAL_SLOTS);

  get size(): number {
    return this.keys.length;
  }

  /** Insertion index of the key buf[start, start + len), or -1. */
  indexOf(buf: Uint8Array, start: number, len: number): number {
    const mask = this.slots.length - 1;
    for (let p = fnv1a(buf, start, start + len) & mask; ; p = (p + 1) & mask) {
      const v = this.slots[p]!;
      if (v === 0) return -1;
      const k = this.keys[v - 1]!;
      if (k.length === len && equalBytes(k, 0, buf, start, len)) return v - 1;
    }
  }

  get(buf: Uint8Array, start: number, len: number): T | undefined {
    const i = this.indexOf(buf, start, len);
    return i < 0 ? undefined : this.values[i];
  }

  /** Adds a key that is not in the map (callers look it up first); returns its index. */
  add(buf: Uint8Array, start: number, len: number, value: T): number {
    // a copy: `buf` may be a Buffer, whose slice() is a view a reader will overwrite
    const key = Uint8Array.prototype.slice.call(buf, start, start + len);
    const i = this.keys.length;
    this.keys.push(key);
    this.values.push(value);
    if (this.keys.length * 2 > this.slots.length) this.rehash(this.slots.length * 2);
    else this.place(key, i);
    return i;
  }

  private place(key: Uint8Array, i: number): void {
    const mask = this.slots.length - 1;
    let p = fnv1a(key, 0, key.length) & mask;
    while (this.slots[p] !== 0) p = (p + 1) & mask;
    this.slots[p] = i + 1;
  }

  private rehash(size: number): void {
    this.slots = new Int32Array(size);
    for (let i = 0; i < this.keys.length; i++) this.place(this.keys[i]!, i);
  }
}
