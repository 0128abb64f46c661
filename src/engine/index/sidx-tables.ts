/**
 * The footer tables the builder (sidx-builder.ts) and the streaming verifier
 * (sidx-verifier.ts) both accumulate, frame by frame in file order: the marker rows of
 * non-EVENT frames and the entity names interned in order of first appearance. One
 * implementation, so the footer the verifier expects is the builder's by construction.
 */
import { SIDX_MARKER_BYTES, SIDX_MAX_ENTRIES, writeMarkerRow } from '../../format/sidx.js';
import { BytesMap } from '../log/bytes-map.js';

const INITIAL_MARKER_ROOM = 256;

/** A copy of `b` with room for `need` bytes (`exact`, or at least double). */
export function grow(b: Uint8Array, need: number, exact?: number): Uint8Array {
  const out = new Uint8Array(exact ?? Math.max(need, b.length * 2));
  out.set(b);
  return out;
}

/** Marker rows (format/sidx.ts `writeMarkerRow`): `rows[0, count * SIDX_MARKER_BYTES)`. */
export class MarkerRows {
  rows: Uint8Array = new Uint8Array(INITIAL_MARKER_ROOM * SIDX_MARKER_BYTES);
  count = 0;

  /** Any frame but an EVENT: its type and the first 12 bytes of its body (txn id and count for markers). */
  add(type: number, buf: Uint8Array, b: number, bodyBytes: number, frameOffset: number): void {
    if (this.count >= SIDX_MAX_ENTRIES) throw new RangeError('too many markers for one footer');
    const need = (this.count + 1) * SIDX_MARKER_BYTES;
    if (need > this.rows.length) this.rows = grow(this.rows, need);
    writeMarkerRow(this.rows, this.count * SIDX_MARKER_BYTES, type, buf, b, bodyBytes, frameOffset);
    this.count++;
  }

  /** Takes `rows` (a footer's table, already a copy) as the first `count` rows. */
  adopt(rows: Uint8Array, count: number): void {
    this.rows = rows.length > 0 ? rows : new Uint8Array(INITIAL_MARKER_ROOM * SIDX_MARKER_BYTES);
    this.count = count;
  }

  /** Empties the table, keeping its memory. */
  clear(): void {
    this.count = 0;
  }
}

/** Entity names (UTF-8 bytes) by string index, in order of first appearance. */
export class EntityNames {
  private map = new BytesMap<null>();

  /** The names by string index (the footer's string table). */
  get keys(): Uint8Array[] {
    return this.map.keys;
  }

  /** String index of the name at buf[start, start + len) (in place: no string or copy per event). */
  intern(buf: Uint8Array, start: number, len: number): number {
    const i = this.map.indexOf(buf, start, len);
    return i >= 0 ? i : this.map.add(buf, start, len, null);
  }

  /** Appends a footer's string as the next index, as the footer has it (a seed's names). */
  append(name: Uint8Array): void {
    this.map.add(name, 0, name.length, null);
  }

  clear(): void {
    this.map = new BytesMap<null>();
  }
}
