import { ev } from '../../format/event.js';
import { FrameType } from '../../format/frame.js';
import { markerCount, markerTxnId } from '../../format/marker.js';
import { kvVersionOf } from '../../format/kv.js';
import type { FileSystem } from '../io/fs-types.js';
import type { SegmentReader } from '../segment/segment-reader.js';
import { type ChainFacts, ChainFold, type ChainHead, newWordHead } from '../log/chain-fold.js';
import { type DamagedFooter, type Fault, type SegmentFile, walkStore } from '../segment/walker.js';
import { type OpenTxn, SILENT_FACTS, TxnFold } from '../log/txn-fold.js';

export type { OpenTxn };

/** Per-entity state a writer continues from (log/chain-fold.ts). */
export type EntityHead = ChainHead;

export interface SegmentSummary {
  id: number;
  path: string;
  name: string;
  fileSizeBytes: number;
  /** End of the frames (file size, or where a SIDX footer starts). */
  frameEnd: number;
  /** Offset after the last valid frame. */
  validEnd: number;
  headerOk: boolean;
  headerFirstSeq: number;
  /** EVENT frames in the segment (committed or not). */
  eventFrames: number;
  firstSeq: number;
  lastSeq: number;
}

/** A frame whose checksum is fine but whose content breaks the log's rules. */
export interface SemanticFault {
  code: 'sequence_gap' | 'clock_gap' | 'chain_break';
  segIndex: number;
  path: string;
  offset: number;
  seq: number;
  entity: string;
  message: string;
}

export interface RecoveryScan {
  segments: SegmentSummary[];
  heads: Map<string, EntityHead>;
  nextSeq: number;
  nextTxnId: number;
  openTxns: Map<number, OpenTxn>;
  faults: Fault[];
  semanticFaults: SemanticFault[];
  /** Where the active segment should be cut on a read-write open, and why. */
  tail: { segIndex: number; offset: number; reason: 'torn' | 'incomplete_batch' } | null;
  committedEvents: number;
  committedBatches: number;
  /** Largest version any key/value operation records (0 if none): the writer allocates above it. */
  maxKvVersion: number;
}

/**
 * The open-time scan: rebuilds entity heads, the next sequence and transaction id,
 * and finds where the active segment's valid, complete data ends. It checks what is
 * cheap (CRC, sequence, clock, prev_hash links); recomputing hashes is verify's job.
 */
export function scanStore(fs: FileSystem, segments: SegmentFile[]): RecoveryScan {
  const s = new ScanVisitor(segments.length);
  walkStore(fs, segments, s);
  return s.finish();
}

/**
 * The scan's state machine. Exported for the cold start (cold-start.ts), which walks
 * some segments with it and applies SIDX footers for the others to the same `out`.
 */
export class ScanVisitor implements ChainFacts {
  readonly out: RecoveryScan = {
    segments: [],
    heads: new Map(),
    nextSeq: 0,
    nextTxnId: 1,
    openTxns: new Map(), // the fold's (set by finish)
    faults: [],
    semanticFaults: [],
    tail: null,
    committedEvents: 0,
    committedBatches: 0,
    maxKvVersion: 0,
  };
  private cur!: SegmentSummary;
  /**
   * The transaction rules (log/txn-fold.ts), every fact silent: an open only needs the
   * book (open transactions, next id, counts) and the tail rule.
   */
  private fold = new TxnFold(SILENT_FACTS);
  /** Whether the current segment holds any frame. */
  private segmentHasFrames = false;
  /**
   * The sequence, clock and chain rules (log/chain-fold.ts) over `out.heads`; this class
   * is their `ChainFacts`: a fact is a semantic fault (a read-write open refuses).
   */
  private readonly chain: ChainFold<EntityHead>;
  private segIndex = 0;
  private path = '';
  private frameOffset = 0;

  constructor(private readonly segmentCount: number) {
    this.chain = new ChainFold(this.out.heads, this, { newHead: newWordHead, words: true, midChain: false });
  }

  /** The transaction book so far (the cold start replays footers into a copy of it). */
  txns(): TxnFold {
    return this.fold;
  }

  /** Continues from `fold` (a footer replay the cold start accepted). */
  adoptTxns(fold: TxnFold): void {
    this.fold = fold;
    this.out.openTxns = fold.open;
  }

  onSegment(seg: SegmentFile, _i: number, r: SegmentReader): void {
    this.cur = {
      id: seg.id,
      path: seg.path,
      name: seg.name,
      fileSizeBytes: r.fileSize,
      frameEnd: r.frameEnd,
      validEnd: 0,
      headerOk: r.header.ok,
      headerFirstSeq: r.header.ok ? r.header.header.firstSeq : -1,
      eventFrames: 0,
      firstSeq: -1,
      lastSeq: -1,
    };
    this.out.segments.push(this.cur);
    this.fold.segmentStart(r.pos);
    // a cold start may have applied footers to `out` since the last segment walked
    this.chain.nextSeq = this.out.nextSeq;
    this.segIndex = _i;
    this.path = r.path;
    this.segmentHasFrames = false;
  }

  onFrame(r: SegmentReader, segIndex: number): void {
    const buf = r.buf;
    const b = r.bodyOff;
    const fold = this.fold;
    this.frameOffset = r.frameOffset;
    switch (r.type) {
      case FrameType.EVENT: {
        const chain = this.chain;
        chain.advance(buf, b, chain.lookup(buf, b));
        const c = this.cur;
        if (c.firstSeq < 0) c.firstSeq = chain.seq;
        c.lastSeq = chain.seq;
        c.eventFrames++;
        const v = kvVersionOf(buf, b);
        if (v > this.out.maxKvVersion) this.out.maxKvVersion = v;
        fold.event(ev.txnId(buf, b), segIndex, r.frameOffset);
        break;
      }
      case FrameType.BEGIN:
      case FrameType.COMMIT:
      case FrameType.ABORT:
        fold.marker(r.type, markerTxnId(buf, b), markerCount(buf, b), segIndex, r.frameOffset);
        break;
      case FrameType.GAP:
        // a repair's gap record (format/gap.ts): the writer continues the sequence, clocks and chains after it
        this.chain.gap(buf, b);
        break;
      default:
        break;
    }
    fold.frameDone(r.pos);
    this.segmentHasFrames = true;
  }

  // ------------------------------------------------------------ chain facts (ChainFacts)

  sequenceJump(seq: number, expected: number): void {
    this.semantic('sequence_gap', seq, this.chain.entity, `sequence ${seq} where ${expected} was expected`);
  }

  clockGap(clock: number, expected: number): void {
    this.semantic('clock_gap', this.chain.seq, this.chain.entity, `entity clock ${clock} where ${expected} was expected`);
  }

  chainBreak(): void {
    this.semantic('chain_break', this.chain.seq, this.chain.entity, "prev_hash does not match the entity's previous event hash");
  }

  /** Not an open's business: the writer clamps wall time (verify reports it). */
  wallRegression(): void {}

  gapSequenceOutOfPlace(first: number, expected: number): void {
    this.semantic('sequence_gap', first, '', `gap record for sequence ${first} where ${expected} was expected`);
  }

  gapClockOutOfPlace(first: number, expected: number): void {
    this.semantic('clock_gap', this.chain.nextSeq, this.chain.entity, `gap record for clock ${first} where ${expected} was expected`);
  }

  private semantic(code: SemanticFault['code'], seq: number, entity: string, message: string): void {
    this.out.semanticFaults.push({ code, segIndex: this.segIndex, path: this.path, offset: this.frameOffset, seq, entity, message });
  }

  /** A damaged SIDX footer: the frames end at its head (a read-write open truncates there). */
  onDamagedFooter(d: DamagedFooter): void {
    this.cur.frameEnd = d.offset;
  }

  onFault(f: Fault): void {
    this.out.faults.push(f);
    if (f.kind === 'torn') this.out.tail = { segIndex: f.segIndex, offset: f.offset, reason: 'torn' };
  }

  onSegmentEnd(_seg: SegmentFile, segIndex: number, _r: SegmentReader, validEnd: number): void {
    this.cur.validEnd = validEnd;
    this.out.nextSeq = this.chain.nextSeq;
    const isLast = segIndex === this.segmentCount - 1;
    const incompleteAt = isLast ? this.fold.incompleteTail() : -1;
    if (incompleteAt >= 0) {
      // the active segment ends inside transactions that never finished: recovery drops those frames
      const tornAt = this.out.tail?.offset;
      if (tornAt === undefined || incompleteAt < tornAt) {
        this.out.tail = { segIndex, offset: incompleteAt, reason: 'incomplete_batch' };
      }
    } else if (isLast && segIndex > 0 && !this.segmentHasFrames && this.fold.size > 0 && this.out.tail === null) {
      // The log ends inside a transaction whose frames all sit in earlier segments, and this
      // last segment (created by the rotation the batch was in) holds no frame: cut it
      // (offset 0 removes it), so that Store.open's next cut can drop the batch from the
      // segment before, where its frames would otherwise burn their sequence numbers for
      // good (found by test/engine/faults-ingest.test.ts: a directory fsync failing at a
      // rotation mid-batch). Removing a segment with no frame loses nothing.
      this.out.tail = { segIndex, offset: 0, reason: 'incomplete_batch' };
    }
  }

  finish(): RecoveryScan {
    const o = this.out;
    const f = this.fold;
    o.openTxns = f.open;
    o.nextTxnId = f.nextTxnId;
    o.committedEvents = f.committedEvents;
    o.committedBatches = f.committedBatches;
    return o;
  }
}
