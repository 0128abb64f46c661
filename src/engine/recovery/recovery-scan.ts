import { equalBytes } from '../../format/bytes.js';
import { EV, ev, ZERO_HASH } from '../../format/event.js';
import { FrameType } from '../../format/frame.js';
import { gap, GapKind } from '../../format/gap.js';
import { markerTxnId } from '../../format/marker.js';
import { isKvKind, KV_KIND_CATEGORY, KV_VERSION_BYTES, kvVersionAt } from '../../format/kv.js';
import type { FileSystem } from '../io/fs-types.js';
import type { SegmentReader } from '../segment/segment-reader.js';
import { BytesMap } from '../log/bytes-map.js';
import { type DamagedFooter, type Fault, type SegmentFile, walkStore } from '../segment/walker.js';

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

export interface OpenTxn {
  txnId: number;
  segIndex: number;
  offset: number;
  items: number;
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
    openTxns: new Map(),
    faults: [],
    semanticFaults: [],
    tail: null,
    committedEvents: 0,
    committedBatches: 0,
    maxKvVersion: 0,
  };
  private cur!: SegmentSummary;
  /** In the active segment: end of the last frame that leaves no transaction half-written. */
  private completeEnd = 0;
  private lastFrameEnd = 0;
  /** Whether the current segment holds any frame. */
  private segmentHasFrames = false;
  /** A cache in front of `out.heads` (the same head objects), keyed by entity bytes. */
  private readonly headsByBytes = new BytesMap<EntityHead>();

  constructor(private readonly segmentCount: number) {}

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
    this.completeEnd = r.pos;
    this.lastFrameEnd = r.pos;
    this.segmentHasFrames = false;
  }

  onFrame(r: SegmentReader, segIndex: number): void {
    const buf = r.buf;
    const b = r.bodyOff;
    const o = this.out;
    let completes = true;
    switch (r.type) {
      case FrameType.EVENT: {
        const seq = ev.seq(buf, b);
        const txn = ev.txnId(buf, b);
        this.checkAndAdvance(r, segIndex, seq);
        if (ev.kindCategory(buf, b) === KV_KIND_CATEGORY) this.noteKvVersion(buf, b);
        if (txn !== 0) {
          const t = o.openTxns.get(txn);
          if (t) {
            t.items++;
            completes = false;
          }
          if (txn >= o.nextTxnId) o.nextTxnId = txn + 1;
          // an item with no open transaction is an orphan: invisible, and not half of anything
        } else {
          o.committedEvents++;
        }
        break;
      }
      case FrameType.BEGIN: {
        const txn = markerTxnId(buf, b);
        o.openTxns.set(txn, { txnId: txn, segIndex, offset: r.frameOffset, items: 0 });
        if (txn >= o.nextTxnId) o.nextTxnId = txn + 1;
        completes = false;
        break;
      }
      case FrameType.COMMIT: {
        const txn = markerTxnId(buf, b);
        const t = o.openTxns.get(txn);
        if (t) {
          o.openTxns.delete(txn);
          o.committedEvents += t.items;
          o.committedBatches++;
        }
        break;
      }
      case FrameType.ABORT:
        o.openTxns.delete(markerTxnId(buf, b));
        break;
      case FrameType.GAP:
        this.applyGap(r, segIndex);
        break;
      default:
        break;
    }
    this.lastFrameEnd = r.pos;
    this.segmentHasFrames = true;
    // only frames after the last one that completes something can be half of a transaction
    if (completes || o.openTxns.size === 0) this.completeEnd = r.pos;
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

  /** Key/value versions are allocated above the largest recorded, committed or not (never reused). */
  private noteKvVersion(buf: Uint8Array, b: number): void {
    if (!isKvKind(KV_KIND_CATEGORY, ev.kindType(buf, b)) || ev.payloadLen(buf, b) < KV_VERSION_BYTES) return;
    const v = kvVersionAt(buf, ev.payloadStart(buf, b));
    if (v > this.out.maxKvVersion && v <= Number.MAX_SAFE_INTEGER) this.out.maxKvVersion = v;
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
    if (isLast && this.out.openTxns.size > 0 && this.lastFrameEnd > this.completeEnd) {
      // the active segment ends inside transactions that never finished: recovery drops those frames
      const tornAt = this.out.tail?.offset;
      if (tornAt === undefined || this.completeEnd < tornAt) {
        this.out.tail = { segIndex, offset: this.completeEnd, reason: 'incomplete_batch' };
      }
    } else if (isLast && segIndex > 0 && !this.segmentHasFrames && this.out.openTxns.size > 0 && this.out.tail === null) {
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
    return this.out;
  }
}
