/**
 * Transaction bookkeeping replayed from footer tables instead of frames. A footer
 * lists every EVENT frame (entries) and every other frame (markers) with its offset,
 * so merging the two lists by offset gives the segment's frames in file order, and
 * the rules below are exactly those of the recovery scan (recovery-scan.ts): a cold
 * start from footers or a checkpoint must end in the same state as a frame scan.
 */
import { readU64 } from '../../format/bytes.js';
import { FrameType } from '../../format/frame.js';
import { SE, SIDX_ENTRY_BYTES, SIDX_MARKER_BYTES, SM } from '../../format/sidx.js';
import type { OpenTxn } from '../recovery/recovery-scan.js';

/** The raw tables of a footer (a decoded SidxFooter, or a FooterBuilder's). */
export interface FooterTables {
  entries: Uint8Array;
  entryCount: number;
  markers: Uint8Array;
  markerCount: number;
}

/** Transaction state as the recovery scan keeps it. */
export class TxnBook {
  constructor(
    public openTxns: Map<number, OpenTxn>,
    public nextTxnId: number,
    public committedEvents: number,
    public committedBatches: number,
  ) {}

  clone(): TxnBook {
    const open = new Map<number, OpenTxn>();
    for (const [k, t] of this.openTxns) open.set(k, { ...t });
    return new TxnBook(open, this.nextTxnId, this.committedEvents, this.committedBatches);
  }

  event(txn: number): void {
    if (txn === 0) {
      this.committedEvents++;
      return;
    }
    const t = this.openTxns.get(txn);
    if (t) t.items++;
    if (txn >= this.nextTxnId) this.nextTxnId = txn + 1;
  }

  marker(type: number, txn: number, segIndex: number, offset: number): void {
    switch (type) {
      case FrameType.BEGIN:
        this.openTxns.set(txn, { txnId: txn, segIndex, offset, items: 0 });
        if (txn >= this.nextTxnId) this.nextTxnId = txn + 1;
        return;
      case FrameType.COMMIT: {
        const t = this.openTxns.get(txn);
        if (t) {
          this.openTxns.delete(txn);
          this.committedEvents += t.items;
          this.committedBatches++;
        }
        return;
      }
      case FrameType.ABORT:
        this.openTxns.delete(txn);
        return;
      default:
        return;
    }
  }
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
  book: TxnBook,
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
      book.event(readU64(e, i * SIDX_ENTRY_BYTES + SE.TXN));
      i++;
    } else {
      if (mOff <= lastOffset) return false;
      lastOffset = mOff;
      const at = m * SIDX_MARKER_BYTES;
      book.marker(mk[at + SM.TYPE]!, readU64(mk, at + SM.A), segIndex, mOff);
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
