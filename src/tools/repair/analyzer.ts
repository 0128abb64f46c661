/**
 * The repair planner's walk: one pass over every segment, in file order, deciding what
 * each problem needs. (Over 500 lines, knowingly: the transaction rules are the TxnFold's,
 * but the chain and sequence rules stay here, not on log/chain-fold.ts, because repair
 * must plan around what the fold only reports: how many links a damaged range lost,
 * where credible claims put them, the resume hash of each entity gap record.) It keeps what verify keeps (expected sequence, entity heads,
 * open transactions) plus the damaged ranges met so far, and resolves each range when
 * the log itself says what was lost there:
 * - the next surviving event's sequence says which sequences a range lost (a sequence
 *   gap record replaces the range);
 * - an entity's next surviving event says how many links of its chain were lost and
 *   what hash the chain resumes at (an entity gap record goes in the last damaged range
 *   since the entity's previous event, or where a credible claim puts it);
 * - transactions that lost frames, never finished, or lost their BEGIN are made inert
 *   (an inserted ABORT, a COMMIT replaced by an ABORT, an inserted BEGIN), so every
 *   event byte, sequence and chain link that survived stays exactly as it was.
 * Memory grows with entities, open transactions and damage, never with the log size.
 *
 * Over 500 lines, knowingly: the walk, the damaged ranges and the resolution of what
 * they lost are one pass over shared state (heads, claims, pending ranges).
 */
import { HASH_BYTES } from '../../format/hash/blake3.js';
import { assert } from '../../format/assert.js';
import type { Blake3 } from '../../format/hash/blake3.js';
import { copyBytes, equalBytes, toHex } from '../../format/bytes.js';
import type { PruneBase } from '../../format/base.js';
import { checkEventLayout, EV, ev, ZERO_HASH } from '../../format/event.js';
import { FRAME_HEADER_BYTES, FRAME_PREFIX_BYTES, FrameStatus, FrameType } from '../../format/frame.js';
import { gap, GapKind, GapReason, type GapReasonCode } from '../../format/gap.js';
import { markerCount, markerTxnId } from '../../format/marker.js';
import { SEGMENT_HEADER_BYTES } from '../../format/segment-header.js';
import type { FileSystem } from '../../engine/io/fs-types.js';
import { EntityTable } from '../../engine/log/entity-table.js';
import type { SegmentReader } from '../../engine/segment/segment-reader.js';
import type { DamagedFooter, Fault, SegmentFile } from '../../engine/segment/walker.js';
import { type Claim, CLAIM_SCAN_MAX_BYTES, intactSuffixStart, parseClaims } from './damaged-range.js';
import { FooterVerifier } from '../../engine/index/sidx.js';
import { type Adoption, type OpenTxn, SILENT_FACTS, type TxnFacts, TxnFold } from '../../engine/log/txn-fold.js';
import type { FooterChecks, HashVerdicts } from '../../engine/verify/verify.js';
import type { AffectedEvent, FooterState, LostLinks, PlannedFrame, QuarantineReason, SegmentEdit, Unfixable } from './plan-types.js';

interface Head {
  clock: number;
  hash: Uint8Array;
  wallMs: number;
  /** Damaged ranges seen before the entity's last event (index into `ranges`). */
  rangeOrdinal: number;
}

/** An entity's chain as credible claims continue it past its head. */
interface ClaimHead {
  clock: number;
  rangeOrdinal: number;
}

/** A damaged stretch of a segment: its bytes go to lost+found/, gap records take their place. */
export interface DamagedRange {
  ordinal: number;
  segIndex: number;
  start: number;
  end: number;
  reason: QuarantineReason;
  gapReason: GapReasonCode;
  claims: Claim[];
  /** Sequences the range lost (decided when the next surviving event is read). */
  seqGap: { fromSeq: number; count: number } | null;
  entityGaps: Extract<PlannedFrame, { type: 'gap_entity' }>[];
  /** Per entity gap: whether the links were surely lost here (a credible claim, or the only damaged range in between). */
  entityGapCertain: boolean[];
}

/** Where a frame is inserted between existing frames. */
export interface Insertion {
  segIndex: number;
  offset: number;
  frames: PlannedFrame[];
}

/** A transaction open at this point of the walk (the fold's record plus the plan's notes). */
interface TxnState extends OpenTxn {
  /** Its BEGIN is missing: the repair inserts one. */
  synthetic: boolean;
  /** Items, flat: seq, segIndex, offset (numbers) and entity keys; for reports. */
  itemNums: number[];
  itemKeys: string[];
  /** End of its last frame in segments before the last one. */
  lastEndEarlier: { segIndex: number; end: number } | null;
  /** Ends of its frames in the last segment (a tail cut may take some). */
  endsInLast: number[];
}

/** Per segment, what the walk learned. */
export interface SegmentFacts {
  file: SegmentFile;
  fileSizeBytes: number;
  frameEnd: number;
  headerOk: boolean;
  headerTorn: boolean;
  headerId: number;
  headerFirstSeq: number;
  footerFound: FooterState;
  footerMessage: string;
  /** Valid EVENT frames (content-damaged ones included). */
  eventFrames: number;
  /** Offsets of EVENT frames taken out (content damaged). */
  removedEventOffsets: number[];
  firstSurviving: { seq: number; offset: number } | null;
  /** Sequence of its last surviving event (-1 if none). */
  lastSurvivingSeq: number;
  /** Sequence gap records already in it: where, and the sequence they end at. */
  seqGapRecords: { offset: number; end: number }[];
  validEnd: number;
}

export interface AnalyzerOptions {
  hasher: Blake3;
  /** Recompute every event hash (default true). */
  checkHashes: boolean;
  onProgress?: (bytesDone: number) => void;
  /**
   * Hash verdicts and footer checks computed ahead by worker threads (verify-parallel.ts),
   * the same ones verify uses; frames they do not cover are checked here.
   */
  hashVerdicts?: HashVerdicts;
}

/** A view of one valid frame, from the reader or from frames recovered inside a range. */
interface FrameView {
  buf: Uint8Array;
  b: number;
  bodyBytes: number;
  type: number;
  offset: number;
  end: number;
}

/** Entity names are the map keys, as in the recovery scan and verify (UTF-8 decoded). */
function entityText(key: string): string {
  return key;
}

function entityHex(key: string): string {
  return Buffer.from(key, 'utf8').toString('hex');
}

export class RepairAnalyzer implements TxnFacts<TxnState> {
  readonly facts: SegmentFacts[] = [];
  readonly ranges: DamagedRange[] = [];
  readonly insertions: Insertion[] = [];
  /** Replacements of whole valid frames (a COMMIT that no longer tells the truth). */
  readonly replacements: { segIndex: number; edit: SegmentEdit; txnId: number }[] = [];
  readonly lostLinks: (LostLinks & { rangeOrdinal: number | null; segIndex: number })[] = [];
  readonly affected: AffectedEvent[] = [];
  readonly unfixable: Unfixable[] = [];
  /** The active segment's torn tail, if any. */
  torn: { segIndex: number; offset: number } | null = null;

  private readonly heads = new Map<string, Head>();
  /** `heads` looked up by the entity's bytes: no string is made per event (entity-table.ts). */
  private readonly entities = new EntityTable(this.heads);
  private readonly claimHeads = new Map<string, ClaimHead>();
  /**
   * The transactions as the repaired log will have them (log/txn-fold.ts, this class
   * its TxnFacts): a transaction met without a BEGIN is adopted (a BEGIN is inserted).
   * Fed the events that survive (layout and hash intact).
   */
  private txns: TxnFold<TxnState> = new TxnFold<TxnState>(this);
  /** The same rules as the recovery scan sees them, for its tail rule (recovery-scan.ts): every event whose layout is intact. */
  private recoveryTxns = new TxnFold(SILENT_FACTS);
  private nextSeq = 0;
  /** Damaged ranges since the last surviving event. */
  private pending: DamagedRange[] = [];
  /** Next sequence a claim may credibly have. */
  private claimSeqNext = 0;

  private reader: SegmentReader | null = null;
  private segIndex = 0;
  private cur!: SegmentFacts;
  /** Judges each footer exactly as verify does (engine/index/sidx.ts): built from the frames, compared byte for byte. */
  private readonly footers: FooterChecks;
  private readonly lastIndex: number;
  /** Recovery's tail rule, for the last segment: events and the last surviving sequence where its complete frames end. */
  eventsAtCompleteEnd = 0;
  /** The last surviving event's sequence where the last segment's complete frames end (-1: none). */
  lastSeqAtCompleteEnd = -1;
  private eventsInLast = 0;
  eventFrames = 0;
  bytes = 0;
  private bytesBefore = 0;
  /** End of the marker frame being folded (a COMMIT replaced by an ABORT covers it). */
  private frameEnd = 0;
  private readonly view: FrameView = { buf: new Uint8Array(0), b: 0, bodyBytes: 0, type: 0, offset: 0, end: 0 };

  constructor(
    fs: FileSystem,
    private readonly segments: SegmentFile[],
    private readonly opts: AnalyzerOptions,
  ) {
    this.lastIndex = segments.length - 1;
    const local = new FooterVerifier(fs, segments.length, false);
    this.footers = opts.hashVerdicts?.footerChecks?.(local) ?? local;
  }

  /**
   * A pruned store (docs/FORMAT.md section 11): sequences, clocks, chains and
   * transactions continue from its base, exactly as verify and the open-time scan
   * start there. Without this, everything before the cut looks lost.
   */
  startFromBase(base: PruneBase): void {
    this.nextSeq = base.nextSeq;
    this.claimSeqNext = base.nextSeq;
    for (const [name, h] of base.heads) this.heads.set(name, { clock: h.clock, hash: copyBytes(h.hash), wallMs: h.wallMs, rangeOrdinal: 0 });
    const open = new Map<number, TxnState>();
    const book = new Map<number, OpenTxn>();
    for (const t of base.openTxns) {
      open.set(t.txnId, { txnId: t.txnId, segIndex: 0, offset: 0, items: t.items, declared: 0, synthetic: false, itemNums: [], itemKeys: [], lastEndEarlier: null, endsInLast: [] });
      book.set(t.txnId, { txnId: t.txnId, segIndex: 0, offset: 0, items: t.items, declared: 0 });
    }
    this.txns = new TxnFold<TxnState>(this, open, base.nextTxnId, base.committedEvents, base.committedBatches);
    this.recoveryTxns = new TxnFold(SILENT_FACTS, book, base.nextTxnId, base.committedEvents, base.committedBatches);
  }

  // ------------------------------------------------------------------ walk visitor

  onSegment(seg: SegmentFile, segIndex: number, r: SegmentReader): void {
    // frames a worker already found valid are not checksummed twice, as in verify (verify-parallel.ts);
    // SEGLOG_VERIFY_WORKERS=0 (no workers) checks every CRC here
    r.crcTrustedBelow = this.opts.hashVerdicts?.checkedEnd?.(segIndex) ?? 0;
    this.reader = r;
    this.segIndex = segIndex;
    this.bytes += r.fileSize;
    this.footers.onSegment(r);
    // refined at the end of the segment (onSegmentEnd): 'valid' while a checked-out trailer ends the file
    const footerFound: FooterState = r.frameEnd < r.fileSize ? 'valid' : 'missing';
    this.cur = {
      file: seg,
      fileSizeBytes: r.fileSize,
      frameEnd: r.frameEnd,
      headerOk: r.header.ok,
      headerTorn: false,
      headerId: r.header.ok ? r.header.header.segmentId : -1,
      headerFirstSeq: r.header.ok ? r.header.header.firstSeq : -1,
      footerFound,
      footerMessage: '',
      eventFrames: 0,
      removedEventOffsets: [],
      firstSurviving: null,
      lastSurvivingSeq: -1,
      seqGapRecords: [],
      validEnd: SEGMENT_HEADER_BYTES,
    };
    this.facts.push(this.cur);
    if (segIndex === this.lastIndex) this.recoveryTxns.segmentStart(SEGMENT_HEADER_BYTES);
  }

  onFrame(r: SegmentReader): void {
    this.footers.onFrame(r);
    const v = this.view;
    v.buf = r.buf;
    v.b = r.bodyOff;
    v.bodyBytes = r.bodyBytes;
    v.type = r.type;
    v.offset = r.frameOffset;
    v.end = r.pos;
    this.frame(v);
    if (this.opts.onProgress && (this.eventFrames & 0xffff) === 0) this.opts.onProgress(this.bytesBefore + r.pos);
  }

  onDamagedFooter(d: DamagedFooter): void {
    this.cur.frameEnd = d.offset;
    this.cur.footerFound = 'damaged';
    this.cur.footerMessage = 'footer trailer is damaged';
    this.footers.onDamagedFooter(d.offset);
  }

  onFault(f: Fault): void {
    this.footers.onFault();
    if (f.kind === 'torn') {
      this.torn = { segIndex: f.segIndex, offset: f.offset };
      if (f.offset === 0) this.cur.headerTorn = true;
      return;
    }
    if (f.kind === 'bad_header') return; // the header is rewritten; frames are read from byte 32
    // a frame running past the end with nothing valid after it: the segment was cut short;
    // with valid frames after it, only its length field is damaged
    const truncated = f.status === FrameStatus.Truncated && f.endOffset >= this.cur.frameEnd;
    const reason: QuarantineReason = truncated ? 'truncated_segment' : f.lengthIntact ? 'crc_mismatch' : 'bad_frame';
    const end = f.endOffset;
    if (end <= f.offset) return;
    if (f.lengthIntact && end - f.offset <= CLAIM_SCAN_MAX_BYTES) {
      const bytes = this.reader!.readRange(f.offset, end);
      const q = intactSuffixStart(bytes);
      if (q > 0) {
        // the damaged length skipped intact frames: only [offset, offset + q) is damaged
        this.addRange(f.offset, f.offset + q, reason, truncated ? GapReason.TRUNCATED_SEGMENT : GapReason.CORRUPT_FRAMES, bytes.subarray(0, q));
        this.replayRecovered(bytes, q, f.offset);
        return;
      }
      this.addRange(f.offset, end, reason, GapReason.CORRUPT_FRAMES, bytes);
      return;
    }
    this.addRange(f.offset, end, reason, truncated ? GapReason.TRUNCATED_SEGMENT : GapReason.CORRUPT_FRAMES, null);
  }

  onSegmentEnd(_s: SegmentFile, _i: number, r: SegmentReader, validEnd: number): void {
    this.cur.validEnd = validEnd;
    this.bytesBefore += r.fileSize;
    for (const p of this.footers.onSegmentEnd(_s, _i, r)) {
      if (p.code !== 'sidx_mismatch') continue;
      this.cur.footerFound = p.kind === 'damaged' || this.cur.footerFound !== 'valid' ? 'damaged' : 'mismatch';
      this.cur.footerMessage = p.message;
    }
    this.reader = null;
  }

  // ------------------------------------------------------------------ frames

  private frame(v: FrameView): void {
    const isLast = this.segIndex === this.lastIndex;
    switch (v.type) {
      case FrameType.EVENT: {
        this.eventFrames++;
        this.cur.eventFrames++;
        if (isLast) this.eventsInLast++;
        const bad = checkEventLayout(v.buf, v.b, v.bodyBytes);
        const txn = bad === null ? ev.txnId(v.buf, v.b) : 0;
        if (bad === null) this.recoveryTxns.event(txn, this.segIndex, v.offset);
        this.event(v, bad, txn);
        break;
      }
      case FrameType.BEGIN:
      case FrameType.COMMIT:
      case FrameType.ABORT: {
        const txn = markerTxnId(v.buf, v.b);
        const count = markerCount(v.buf, v.b);
        this.recoveryTxns.marker(v.type, txn, count, this.segIndex, v.offset);
        this.frameEnd = v.end;
        const before = this.txns.get(txn);
        const t = this.txns.marker(v.type, txn, count, this.segIndex, v.offset);
        if (v.type === FrameType.BEGIN && t !== null && t !== before) this.noteTxnFrame(t, v.end);
        break;
      }
      case FrameType.GAP:
        this.gapRecord(v);
        break;
      default:
        break;
    }
    if (isLast && this.recoveryTxns.frameDone(v.end)) {
      this.eventsAtCompleteEnd = this.eventsInLast;
      this.lastSeqAtCompleteEnd = this.cur.lastSurvivingSeq;
    }
  }

  private event(v: FrameView, bad: string | null, txn: number): void {
    const { buf, b } = v;
    if (bad !== null) {
      this.contentDamaged(v, 'bad_event', null);
      return;
    }
    const hs = ev.hashStart(buf, b);
    if (this.opts.checkHashes && !(this.opts.hashVerdicts?.verdict(this.segIndex, v.offset) ?? this.opts.hasher.matches(buf, b, hs, buf, hs))) {
      this.contentDamaged(v, 'hash_mismatch', buf);
      return;
    }
    const seq = ev.seq(buf, b);
    this.resolveSeq(seq, v.offset);
    this.nextSeq = seq + 1;
    this.claimSeqNext = this.nextSeq;
    if (this.cur.firstSurviving === null) this.cur.firstSurviving = { seq, offset: v.offset };
    this.cur.lastSurvivingSeq = seq;

    let head = this.entities.lookup(buf, b + EV.VAR, ev.entityLen(buf, b));
    const key = this.entities.name;
    const clock = ev.clock(buf, b);
    const wall = ev.wallMs(buf, b);
    const expected = head ? head.clock + 1 : 0;
    if (clock > expected) {
      this.lostLinksBefore(key, head, expected, clock - expected, buf.subarray(b + EV.PREV_HASH, b + EV.PREV_HASH + HASH_BYTES), v.offset);
      head = this.heads.get(key);
    } else if (clock < expected) {
      this.unfix('clock_gap', v.offset, `entity clock ${clock} where ${expected} was expected (a duplicated or reordered event)`, seq, key);
    } else if (!equalBytes(buf, b + EV.PREV_HASH, head ? head.hash : ZERO_HASH, 0, HASH_BYTES)) {
      this.unfix('chain_break', v.offset, "prev_hash is not the entity's previous event_hash, and no link of its chain is missing", seq, key);
    }
    if (head && wall < head.wallMs) this.unfix('wall_regression', v.offset, `wall time ${wall} is before the entity's previous ${head.wallMs}`, seq, key);
    if (this.claimHeads.size > 0) this.claimHeads.delete(key);
    if (!head) {
      head = { clock, hash: new Uint8Array(HASH_BYTES), wallMs: wall, rangeOrdinal: this.ranges.length };
      this.heads.set(key, head);
    }
    head.clock = clock;
    head.wallMs = Math.max(head.wallMs, wall);
    const hh = head.hash;
    for (let i = 0; i < 32; i++) hh[i] = buf[hs + i]!;
    head.rangeOrdinal = this.ranges.length;

    if (txn !== 0) this.txnItem(txn, v, seq, key);
  }

  /** An event whose frame checks out but whose content is bad: taken out like a damaged range. */
  private contentDamaged(v: FrameView, reason: 'bad_event' | 'hash_mismatch', buf: Uint8Array | null): void {
    this.cur.removedEventOffsets.push(v.offset);
    const bytes = buf ? buf.subarray(v.b - FRAME_PREFIX_BYTES, v.end - v.offset + v.b - FRAME_PREFIX_BYTES) : null;
    this.addRange(v.offset, v.end, reason, GapReason.BAD_EVENT, bytes);
  }

  private txnItem(txn: number, v: FrameView, seq: number, key: string): void {
    // an item with no open BEGIN (lost, or its transaction already ended) is adopted: BEGIN before it
    const t = this.txns.event(txn, this.segIndex, v.offset)!;
    t.itemNums.push(seq, this.segIndex, v.offset);
    t.itemKeys.push(key);
    this.noteTxnFrame(t, v.end);
  }

  // ------------------------------------------------------------ transaction facts (TxnFacts)

  /** A transaction met without its BEGIN (lost in a damaged range) is synthetic: a BEGIN goes before its first frame. */
  create(txnId: number, declared: number, segIndex: number, offset: number, adopted: Adoption): TxnState {
    const synthetic = adopted !== 'begin';
    if (synthetic) this.insertions.push({ segIndex: this.segIndex, offset, frames: [{ type: 'begin', txnId }] });
    return { txnId, segIndex, offset, items: 0, declared, synthetic, itemNums: [], itemKeys: [], lastEndEarlier: null, endsInLast: [] };
  }

  begunAgain(prev: TxnState, _declared: number, _segIndex: number, offset: number): boolean {
    this.unfix('batch_mismatch', offset, `BEGIN of transaction ${prev.txnId}, which is already open`);
    return false;
  }

  orphan(): boolean {
    return true;
  }

  /** No BEGIN open for it (lost in a damaged range, or the transaction already ended): one is inserted. */
  endWithoutBegin(): boolean {
    return true;
  }

  countMismatch(t: TxnState, _count: number, segIndex: number, offset: number): void {
    // items were lost (or never matched): the batch cannot be shown whole, so nothing of it is shown
    this.replacements.push({
      segIndex,
      txnId: t.txnId,
      edit: { start: offset, end: this.frameEnd, frames: [{ type: 'abort', txnId: t.txnId }], quarantine: 'commit_mismatch' },
    });
    this.reportItems(t.txnId, t, 'transaction_damaged', null);
  }

  committed(): void {}

  aborted(): void {}

  incomplete(): void {}

  private noteTxnFrame(t: TxnState, end: number): void {
    if (this.segIndex === this.lastIndex) t.endsInLast.push(end);
    else t.lastEndEarlier = { segIndex: this.segIndex, end };
  }

  private gapRecord(v: FrameView): void {
    const { buf, b } = v;
    const count = gap.count(buf, b);
    const first = gap.first(buf, b);
    if (gap.kind(buf, b) === GapKind.SEQUENCE) {
      this.resolveSeq(first, v.offset);
      if (first < this.nextSeq) return;
      this.nextSeq = first + count;
      this.cur.seqGapRecords.push({ offset: v.offset, end: first + count });
      this.claimSeqNext = this.nextSeq;
      return;
    }
    const s = gap.entityStart(b);
    let head = this.entities.lookup(buf, s, gap.entityLen(buf, b));
    const key = this.entities.name;
    const expected = head ? head.clock + 1 : 0;
    if (first > expected) {
      this.lostLinksBefore(key, head, expected, first - expected, ZERO_HASH, v.offset);
      head = this.heads.get(key);
    } else if (first < expected) {
      this.unfix('clock_gap', v.offset, `gap record for clock ${first} of an entity at clock ${expected - 1}`, undefined, key);
      return;
    }
    this.claimHeads.delete(key);
    if (!head) {
      head = { clock: 0, hash: new Uint8Array(HASH_BYTES), wallMs: 0, rangeOrdinal: 0 };
      this.heads.set(key, head);
    }
    head.clock = first + count - 1;
    head.hash.set(buf.subarray(gap.resumeHashOffset(b), gap.resumeHashOffset(b) + HASH_BYTES));
    head.wallMs = Math.max(head.wallMs, gap.wallFloorMs(buf, b));
    head.rangeOrdinal = this.ranges.length;
  }

  // ------------------------------------------------------------------ damage

  private addRange(start: number, end: number, reason: QuarantineReason, gapReason: GapReasonCode, bytes: Uint8Array | null): void {
    let data = bytes;
    if (data === null && end - start <= CLAIM_SCAN_MAX_BYTES && this.reader) data = this.reader.readRange(start, end);
    else if (data === null && this.reader) data = this.reader.readRange(start, start + CLAIM_SCAN_MAX_BYTES);
    const r: DamagedRange = {
      ordinal: this.ranges.length,
      segIndex: this.segIndex,
      start,
      end,
      reason,
      gapReason,
      claims: data ? parseClaims(data, start) : [],
      seqGap: null,
      entityGaps: [],
      entityGapCertain: [],
    };
    for (const c of r.claims) {
      // believed only when it continues the sequence exactly: a damaged field never does
      if (c.seq === this.claimSeqNext) {
        c.seqCredible = true;
        this.claimSeqNext = c.seq + 1;
      }
      const h = this.claimHeads.get(c.key) ?? this.heads.get(c.key);
      if (c.seqCredible && h && c.clock === h.clock + 1) {
        c.entityCredible = true;
        this.claimHeads.set(c.key, { clock: c.clock, rangeOrdinal: r.ordinal });
      }
    }
    this.ranges.push(r);
    this.pending.push(r);
  }

  /** Frames found intact inside a damaged range: read as if the walker had. */
  private replayRecovered(bytes: Uint8Array, from: number, baseOffset: number): void {
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let p = from;
    while (p < bytes.length) {
      const length = buf.readUInt32LE(p);
      // precondition: intactSuffixStart (damaged-range.ts) checked every frame from `from` to the end, CRC included
      assert(length >= 1 && p + FRAME_HEADER_BYTES + length <= bytes.length, 'a recovered frame inside a damaged range lies inside it');
      const v: FrameView = { buf, b: p + FRAME_PREFIX_BYTES, bodyBytes: length - 1, type: buf[p + FRAME_HEADER_BYTES]!, offset: baseOffset + p, end: baseOffset + p + FRAME_HEADER_BYTES + length };
      this.frame(v);
      p += FRAME_HEADER_BYTES + length;
    }
  }

  /**
   * The next surviving event (or sequence gap record) has sequence `seq`: the ranges
   * since the previous one lost [nextSeq, seq). A range with credible claims takes the
   * sequences up to its last claimed one; the range nearest `seq` takes the rest. With
   * no damaged range in between the events are missing outright (a lost file): a gap
   * record goes right before the frame at `offset`.
   */
  private resolveSeq(seq: number, offset: number): void {
    const pending = this.pending;
    if (pending.length > 0) this.pending = [];
    if (seq < this.nextSeq) {
      this.unfix('sequence_gap', offset, `sequence ${seq} where ${this.nextSeq} was expected (a duplicated or reordered event)`, seq);
      return;
    }
    if (seq === this.nextSeq) return;
    if (pending.length === 0) {
      this.insertions.push({ segIndex: this.segIndex, offset, frames: [{ type: 'gap_sequence', fromSeq: this.nextSeq, count: seq - this.nextSeq, reason: GapReason.MISSING }] });
      this.missingSeqs.push({ fromSeq: this.nextSeq, count: seq - this.nextSeq, segIndex: this.segIndex, offset });
      return;
    }
    assignSeqs(pending, this.nextSeq, seq - 1);
  }

  /** Sequences lost where no damaged bytes were (reported with the insertion point). */
  readonly missingSeqs: { fromSeq: number; count: number; segIndex: number; offset: number }[] = [];

  /**
   * Links [fromClock, fromClock + count) of an entity's chain are lost before the frame
   * at `offset`; its chain resumes at `resume`. The entity gap goes where a credible
   * claim puts the last lost link, else in the last damaged range since the entity's
   * previous event, else (nothing damaged in between) right before the frame.
   */
  private lostLinksBefore(key: string, head: Head | undefined, fromClock: number, count: number, resume: Uint8Array, offset: number): void {
    const minOrdinal = head ? head.rangeOrdinal : 0;
    const ch = this.claimHeads.get(key);
    let target: DamagedRange | null = null;
    let certain = false;
    if (ch && ch.rangeOrdinal >= minOrdinal && ch.clock < fromClock + count) {
      target = this.ranges[ch.rangeOrdinal]!;
      certain = true;
    } else if (this.ranges.length > minOrdinal) {
      target = this.ranges[this.ranges.length - 1]!;
      certain = this.ranges.length - minOrdinal === 1;
    }
    const frame: Extract<PlannedFrame, { type: 'gap_entity' }> = {
      type: 'gap_entity',
      entity: entityText(key),
      entityHex: entityHex(key),
      fromClock,
      count,
      resumeHash: toHex(resume, 0, HASH_BYTES),
      wallFloorMs: head ? head.wallMs : 0,
      reason: target ? target.gapReason : GapReason.MISSING,
    };
    if (target) {
      target.entityGaps.push(frame);
      target.entityGapCertain.push(certain);
    } else this.insertions.push({ segIndex: this.segIndex, offset, frames: [frame] });
    this.lostLinks.push({
      entity: frame.entity,
      fromClock,
      count,
      segment: target ? this.segments[target.segIndex]!.name : this.cur.file.name,
      offset: target ? target.start : offset,
      rangeOrdinal: target ? target.ordinal : null,
      segIndex: target ? target.segIndex : this.segIndex,
    });
    const h = head ?? { clock: 0, hash: new Uint8Array(HASH_BYTES), wallMs: 0, rangeOrdinal: 0 };
    h.clock = fromClock + count - 1;
    h.hash.set(resume.subarray(0, HASH_BYTES));
    if (!head) this.heads.set(key, h);
  }

  private unfix(code: string, offset: number, message: string, seq?: number, key?: string): void {
    const u: Unfixable = { code, segment: this.cur.file.name, offset, message };
    if (seq !== undefined) u.seq = seq;
    if (key !== undefined) u.entity = entityText(key);
    this.unfixable.push(u);
  }

  /** Reports a transaction's items: all, only those in the last segment from `from` on, or only those before `before` there. */
  private reportItems(txn: number, t: TxnState, reason: AffectedEvent['reason'], from: number | null, before: number | null = null): void {
    for (let i = 0; i < t.itemKeys.length; i++) {
      const segIndex = t.itemNums[3 * i + 1]!;
      const offset = t.itemNums[3 * i + 2]!;
      const inLast = segIndex === this.lastIndex;
      if (from !== null && !(inLast && offset >= from)) continue;
      if (before !== null && inLast && offset >= before) continue;
      this.affected.push({ seq: t.itemNums[3 * i]!, entity: entityText(t.itemKeys[i]!), txnId: txn, segment: this.segments[segIndex]!.name, offset, reason });
    }
  }

  // ------------------------------------------------------------------ end of the log

  /**
   * After the walk: where the active segment is cut (recovery's rule: a torn tail, or a
   * trailing run of frames of transactions that never finished), what the ranges at
   * the end lost (credible claims only: nothing after them says), and an ABORT after
   * the last kept frame of every transaction still open.
   */
  finish(): { cut: { segIndex: number; offset: number; reason: 'torn_tail' | 'incomplete_batch' } | null; nextSeq: number; entities: number } {
    let cut: { segIndex: number; offset: number; reason: 'torn_tail' | 'incomplete_batch' } | null = null;
    if (this.torn) cut = { ...this.torn, reason: 'torn_tail' };
    // recovery's incomplete-tail rule (log/txn-fold.ts); its other branch, an empty last segment after a
    // batch's frames in earlier ones, is not repair's: those transactions get an ABORT (docs/FORMAT.md 4.1)
    const incompleteAt = this.lastIndex >= 0 ? this.recoveryTxns.incompleteTail() : -1;
    if (incompleteAt >= 0) {
      if (!cut || incompleteAt < cut.offset) cut = { segIndex: this.lastIndex, offset: incompleteAt, reason: 'incomplete_batch' };
    }
    const isCut = (segIndex: number, offset: number): boolean => cut !== null && segIndex === cut.segIndex && offset >= cut.offset;

    // sequences lost at the very end: only credible claims say how many
    const pending = this.pending.filter((r) => !isCut(r.segIndex, r.start));
    let maxClaim = -1;
    for (const r of pending) for (const c of r.claims) if (c.seqCredible && c.seq >= this.nextSeq) maxClaim = Math.max(maxClaim, c.seq);
    if (maxClaim >= this.nextSeq) {
      assignSeqs(pending, this.nextSeq, maxClaim);
      this.nextSeq = maxClaim + 1;
    }
    // an entity's last events lost: a credible claim continues its chain; the writer goes on after it
    for (const [key, ch] of this.claimHeads) {
      const r = this.ranges[ch.rangeOrdinal]!;
      const head = this.heads.get(key);
      if (!head || isCut(r.segIndex, r.start) || ch.clock <= head.clock) continue;
      const frame: Extract<PlannedFrame, { type: 'gap_entity' }> = {
        type: 'gap_entity',
        entity: entityText(key),
        entityHex: entityHex(key),
        fromClock: head.clock + 1,
        count: ch.clock - head.clock,
        resumeHash: toHex(ZERO_HASH),
        wallFloorMs: head.wallMs,
        reason: r.gapReason,
      };
      r.entityGaps.push(frame);
      r.entityGapCertain.push(true);
      this.lostLinks.push({ entity: frame.entity, fromClock: frame.fromClock, count: frame.count, segment: this.segments[r.segIndex]!.name, offset: r.start, rangeOrdinal: r.ordinal, segIndex: r.segIndex });
    }
    // transactions left open: inert after an ABORT right after their last kept frame
    for (const [txn, t] of this.txns.open) {
      let at: { segIndex: number; end: number } | null = t.lastEndEarlier;
      for (const e of t.endsInLast) if (cut === null || e <= cut.offset) at = { segIndex: this.lastIndex, end: e };
      if (cut) this.reportItems(txn, t, cut.reason, cut.offset);
      if (!at) continue;
      this.reportItems(txn, t, 'transaction_unfinished', null, cut ? cut.offset : null);
      this.insertions.push({ segIndex: at.segIndex, offset: at.end, frames: [{ type: 'abort', txnId: txn }] });
    }
    return { cut, nextSeq: this.nextSeq, entities: this.heads.size };
  }
}

/** Gives each pending range its share of the lost sequences [from, to]. */
function assignSeqs(pending: DamagedRange[], from: number, to: number): void {
  let cur = from;
  for (let i = 0; i < pending.length && cur <= to; i++) {
    const r = pending[i]!;
    let hi = to;
    if (i < pending.length - 1) {
      hi = cur - 1;
      for (const c of r.claims) if (c.seqCredible && c.seq >= cur && c.seq <= to && c.seq > hi) hi = c.seq;
    }
    if (hi >= cur) {
      r.seqGap = { fromSeq: cur, count: hi - cur + 1 };
      cur = hi + 1;
    }
  }
}

