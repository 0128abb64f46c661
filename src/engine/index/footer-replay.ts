/**
 * Transaction bookkeeping replayed from footer tables instead of frames. A footer
 * lists every EVENT frame (entries) and every other frame (markers) with its offset,
 * so merging the two lists by offset gives the segment's frames in file order, and
 * they go through the same fold as the recovery scan's frames (log/txn-fold.ts): a
 * cold start from footers or a checkpoint ends in the same state as a frame scan.
 */
import { readU32, readU64 } from '../../format/bytes.js';
import { SE, SIDX_ENTRY_BYTES, SIDX_MARKER_BYTES, SM } from '../../format/sidx.js';
import type { TxnFold } from '../log/txn-fold.js';

/** The raw tables of a footer (a decoded SidxFooter, or a FooterBuilder's). */
export interface FooterTables {
  entries: Uint8Array;
  entryCount: number;
  markers: Uint8Array;
  markerCount: number;
}

/**
 * Replays entries [entryFrom, entryCount) and markers [markerFrom, markerCount) in
 * file order into `book`. `onEntry(i)` sees each entry before its transaction effect
 * and may refuse it (returns false): the replay then stops and returns false, and
 * `book` must be thrown away. Offsets must strictly increase across both lists.
 */
export function replayTables(
  t: FooterTables,
  entryFrom: number,
  markerFrom: number,
  segIndex: number,
  book: TxnFold,
  onEntry: ((i: number) => boolean) | null,
): boolean {
  let i = entryFrom;
  let m = markerFrom;
  let lastOffset = -1;
  const e = t.entries;
  const mk = t.markers;
  while (i < t.entryCount || m < t.markerCount) {
    const eOff = i < t.entryCount ? readU64(e, i * SIDX_ENTRY_BYTES + SE.OFFSET) : Number.POSITIVE_INFINITY;
    const mOff = m < t.markerCount ? readU64(mk, m * SIDX_MARKER_BYTES + SM.OFFSET) : Number.POSITIVE_INFINITY;
    if (eOff < mOff) {
      if (eOff <= lastOffset) return false;
      lastOffset = eOff;
      if (onEntry && !onEntry(i)) return false;
      book.event(readU64(e, i * SIDX_ENTRY_BYTES + SE.TXN), segIndex, eOff);
      i++;
    } else {
      if (mOff <= lastOffset) return false;
      lastOffset = mOff;
      const at = m * SIDX_MARKER_BYTES;
      book.marker(mk[at + SM.TYPE]!, readU64(mk, at + SM.A), readU32(mk, at + SM.B), segIndex, mOff);
      m++;
    }
  }
  return true;
}

/** Index of the first entry (or marker) at or after `offset` (tables are in offset order). */
export function firstAtOrAfter(table: Uint8Array, count: number, rowBytes: number, offsetField: number, offset: number): number {
  let lo = 0;
  let hi = count;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (readU64(table, mid * rowBytes + offsetField) < offset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
