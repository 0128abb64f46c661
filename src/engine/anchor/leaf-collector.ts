/**
 * The leaves of the log's Merkle tree (docs/FORMAT.md 9.1): the `event_hash` of every
 * committed event, in commit order — exactly what readers see, in the order they see it
 * (committed-stream.ts: a standalone event when read, a transaction's items when its
 * COMMIT is read; items of aborted, open or orphaned transactions are never leaves).
 * test/engine/anchor/leaf-collector.test.ts checks it against streamCommitted.
 *
 * A walker visitor (standalone, or teed from verify's walk). It keeps 40 bytes per item
 * of a transaction still open, never a view of the reader's buffer.
 */
import { HASH_BYTES } from '../../format/hash/blake3.js';
import { copyBytes } from '../../format/bytes.js';
import { ev } from '../../format/event.js';
import { FrameType } from '../../format/frame.js';
import { decodeGap, describeGap } from '../../format/gap.js';
import { markerTxnId } from '../../format/marker.js';
import type { SegmentReader } from '../segment/segment-reader.js';
import type { Fault, SegmentFile, WalkVisitor } from '../segment/walker.js';

/** Receives each leaf: its event's sequence and `event_hash` at buf[off, off + 32), valid only during the call. */
export type LeafSink = (seq: number, buf: Uint8Array, off: number) => void;

/** Items of a transaction open where a walk stopped: what a later walk needs to continue. */
export interface OpenTxnItems {
  txn: number;
  seqs: number[];
  /** 32 bytes per item. */
  hashes: Uint8Array[];
}

/** A repair's gap record met by the walk, and how many leaves came before it. */
export interface GapSeen {
  leavesBefore: number;
  segment: string;
  offset: number;
  text: string;
}

export class LeafCollector implements WalkVisitor {
  leaves = 0;
  /** Leaf count at the end of each segment walked, by segment index. */
  readonly leavesAtSegmentEnd: number[] = [];
  readonly gaps: GapSeen[] = [];
  readonly faults: Fault[] = [];
  private readonly open = new Map<number, OpenTxnItems>();
  private segName = '';

  constructor(
    private readonly sink: LeafSink,
    openAtStart: readonly OpenTxnItems[] = [],
    leavesBefore = 0,
  ) {
    for (const t of openAtStart) this.open.set(t.txn, { txn: t.txn, seqs: [...t.seqs], hashes: [...t.hashes] });
    this.leaves = leavesBefore;
  }

  onSegment(seg: SegmentFile): void {
    this.segName = seg.name;
  }

  onFrame(r: SegmentReader): void {
    const buf = r.buf;
    const b = r.bodyOff;
    switch (r.type) {
      case FrameType.EVENT: {
        const hashOff = b + r.bodyBytes - HASH_BYTES;
        const txn = ev.txnId(buf, b);
        if (txn === 0) {
          this.emit(ev.seq(buf, b), buf, hashOff);
          return;
        }
        const t = this.open.get(txn);
        if (!t) return; // orphan: never visible
        t.seqs.push(ev.seq(buf, b));
        // a copy (never Buffer.slice, a view): the reader's buffer is reused for later frames
        t.hashes.push(copyBytes(buf, hashOff, hashOff + HASH_BYTES));
        return;
      }
      case FrameType.BEGIN: {
        const txn = markerTxnId(buf, b);
        this.open.set(txn, { txn, seqs: [], hashes: [] });
        return;
      }
      case FrameType.COMMIT: {
        const txn = markerTxnId(buf, b);
        const t = this.open.get(txn);
        if (!t) return;
        this.open.delete(txn);
        for (let i = 0; i < t.seqs.length; i++) this.emit(t.seqs[i]!, t.hashes[i]!, 0);
        return;
      }
      case FrameType.ABORT:
        this.open.delete(markerTxnId(buf, b));
        return;
      case FrameType.GAP: {
        const g = decodeGap(buf, b, r.bodyBytes);
        this.gaps.push({ leavesBefore: this.leaves, segment: this.segName, offset: r.frameOffset, text: g ? describeGap(g) : 'gap record' });
        return;
      }
      default:
        return;
    }
  }

  onFault(f: Fault): void {
    this.faults.push(f);
  }

  onSegmentEnd(_seg: SegmentFile, segIndex: number): void {
    this.leavesAtSegmentEnd[segIndex] = this.leaves;
  }

  /** Transactions open now, with their items (copies). */
  openTxns(): OpenTxnItems[] {
    return [...this.open.values()].map((t) => ({ txn: t.txn, seqs: [...t.seqs], hashes: [...t.hashes] }));
  }

  private emit(seq: number, buf: Uint8Array, off: number): void {
    this.sink(seq, buf, off);
    this.leaves++;
  }
}
