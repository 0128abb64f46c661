import { equalBytes } from '../format/bytes.js';
import { EV, ev, ZERO_HASH } from '../format/event.js';
import { FrameType } from '../format/frame.js';
import { gap, GapKind } from '../format/gap.js';
import { markerCount, markerTxnId } from '../format/marker.js';
import { kvVersionOf } from '../format/kv.js';
import type { FileSystem } from './fs/types.js';
import type { SegmentReader } from './segment-reader.js';
import { BytesMap } from './bytes-map.js';
import { type DamagedFooter, type Fault, type SegmentFile, walkStore } from './walker.js';
import { type OpenTxn, SILENT_FACTS, TxnFold } from './log/txn-fold.js';

export type { OpenTxn };

/** Per-entity state a writer continues from. */
export interface EntityHead {
  clock: number;
  hash: Uint8Array;
  wallMs: number;
}

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

function entityName(buf: Uint8Array, start: number, len: number): string {
  return (buf as Buffer).toString('utf8', start, start + len);
}

/**
 * The scan's state machine. Exported for the cold start (cold-start.ts), which walks
 * some segments with it and applies SIDX footers for the others to the same `out`.
 */
export class ScanVisitor {
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
  /** A cache in front of `out.heads` (the same head objects), keyed by entity bytes. */
  private readonly headsByBytes = new BytesMap<EntityHead>();

  constructor(private readonly segmentCount: number) {}

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
    this.segmentHasFrames = false;
  }

  onFrame(r: SegmentReader, segIndex: number): void {
    const buf = r.buf;
    const b = r.bodyOff;
    const fold = this.fold;
    switch (r.type) {
      case FrameType.EVENT: {
        this.checkAndAdvance(r, segIndex, ev.seq(buf, b));
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
        this.applyGap(r, segIndex);
        break;
      default:
        break;
    }
    fold.frameDone(r.pos);
    this.segmentHasFrames = true;
  }

  private checkAndAdvance(r: SegmentReader, segIndex: number, seq: number): void {
    const buf = r.buf;
    const b = r.bodyOff;
    const o = this.out;
    const entStart = b + EV.VAR;
    const entLen = ev.entityLen(buf, b);
    // heads are found by the entity's bytes in place; the name is decoded once per entity
    let head = this.headsByBytes.get(buf, entStart, entLen);
    if (head === undefined) {
      head = o.heads.get(entityName(buf, entStart, entLen));
      if (head) this.headsByBytes.add(buf, entStart, entLen, head);
    }
    const clock = ev.clock(buf, b);
    const wall = ev.wallMs(buf, b);
    if (seq !== o.nextSeq) {
      this.semantic('sequence_gap', r, segIndex, seq, entityName(buf, entStart, entLen), `sequence ${seq} where ${o.nextSeq} was expected`);
    }
    const expectClock = head ? head.clock + 1 : 0;
    if (clock !== expectClock) {
      this.semantic('clock_gap', r, segIndex, seq, entityName(buf, entStart, entLen), `entity clock ${clock} where ${expectClock} was expected`);
    }
    const prev = head ? head.hash : ZERO_HASH;
    if (!equalBytes(buf, b + EV.PREV_HASH, prev, 0, 32)) {
      this.semantic('chain_break', r, segIndex, seq, entityName(buf, entStart, entLen), 'prev_hash does not match the entity\'s previous event hash');
    }
    const hs = ev.hashStart(buf, b);
    if (!head) {
      head = { clock, hash: new Uint8Array(32), wallMs: wall };
      o.heads.set(entityName(buf, entStart, entLen), head);
      this.headsByBytes.add(buf, entStart, entLen, head);
    }
    head.clock = clock;
    head.wallMs = Math.max(head.wallMs, wall);
    const hh = head.hash;
    for (let i = 0; i < 32; i++) hh[i] = buf[hs + i]!;
    o.nextSeq = seq + 1;
    const c = this.cur;
    if (c.firstSeq < 0) c.firstSeq = seq;
    c.lastSeq = seq;
    c.eventFrames++;
  }

  /**
   * A repair's gap record (format/gap.ts) stands where lost events were: a sequence gap
   * advances the next sequence past them; an entity gap advances that entity's clock and
   * sets its chain head to the resume hash, so the next event (or append) links to it.
   */
  private applyGap(r: SegmentReader, segIndex: number): void {
    const buf = r.buf;
    const b = r.bodyOff;
    const o = this.out;
    const first = gap.first(buf, b);
    const count = gap.count(buf, b);
    if (gap.kind(buf, b) === GapKind.SEQUENCE) {
      if (first !== o.nextSeq) this.semantic('sequence_gap', r, segIndex, first, '', `gap record for sequence ${first} where ${o.nextSeq} was expected`);
      o.nextSeq = Math.max(o.nextSeq, first + count);
      return;
    }
    const s = gap.entityStart(b);
    const entity = (buf as Buffer).toString('utf8', s, s + gap.entityLen(buf, b));
    let head = o.heads.get(entity);
    const expected = head ? head.clock + 1 : 0;
    if (first !== expected) this.semantic('clock_gap', r, segIndex, o.nextSeq, entity, `gap record for clock ${first} where ${expected} was expected`);
    if (!head) {
      head = { clock: 0, hash: new Uint8Array(32), wallMs: 0 };
      o.heads.set(entity, head);
    }
    head.clock = first + count - 1;
    const h = gap.resumeHashOffset(b);
    head.hash.set(buf.subarray(h, h + 32));
    head.wallMs = Math.max(head.wallMs, gap.wallFloorMs(buf, b));
  }

  private semantic(code: SemanticFault['code'], r: SegmentReader, segIndex: number, seq: number, entity: string, message: string): void {
    this.out.semanticFaults.push({ code, segIndex, path: r.path, offset: r.frameOffset, seq, entity, message });
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
    const isLast = segIndex === this.segmentCount - 1;
    const incompleteAt = isLast ? this.fold.incompleteTail() : -1;
    if (incompleteAt >= 0) {
      // the active segment ends inside transactions that never finished: recovery drops those frames
      const tornAt = this.out.tail?.offset;
      if (tornAt === undefined || incompleteAt < tornAt) {
        this.out.tail = { segIndex, offset: incompleteAt, reason: 'incomplete_batch' };
      }
    } else if (isLast && segIndex > 0 && !this.segmentHasFrames && this.fold.open.size > 0 && this.out.tail === null) {
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
