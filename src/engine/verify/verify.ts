/*
 * verify: every frame, hash, chain, sequence, batch, footer and checkpoint of a store or
 * segment, reported as problems (never refused). The rules are the folds' (log/txn-fold,
 * log/chain-fold); this file is their reporting consumer. Just over 500 lines: the
 * problem codes and messages are the bulk, and they belong next to the facts that raise them.
 */
import { basename, dirname } from 'node:path';
import type { Blake3 } from '../../format/hash/blake3.js';
import { checkEventLayout, ev } from '../../format/event.js';
import { FrameStatus, FrameType } from '../../format/frame.js';
import { markerCount, markerTxnId } from '../../format/marker.js';
import { decodeGap, describeGap, GapKind } from '../../format/gap.js';
import type { FileSystem } from '../io/fs-types.js';
import type { SegmentReader } from '../segment/segment-reader.js';
import { type DamagedFooter, type Fault, type SegmentFile, type WalkVisitor, walkStore } from '../segment/walker.js';
import { type FooterProblem, FooterVerifier } from '../index/sidx.js';
import { type ChainFacts, ChainFold, newWordHead, type WordHead } from '../log/chain-fold.js';
import { checkCheckpoint } from '../index/checkpoint.js';
import { type Adoption, type OpenTxn, type TxnFacts, TxnFold } from '../log/txn-fold.js';
import { BASE_FILE, type PruneBase } from '../../format/base.js';
import { segmentFileName } from '../io/layout.js';

export type Severity = 'error' | 'warning' | 'info';

/** Stable problem codes; docs/CLI.md lists each with its meaning and severity. */
export type ProblemCode =
  | 'bad_header'
  | 'bad_frame'
  | 'crc_mismatch'
  | 'torn_tail'
  | 'truncated_segment'
  | 'bad_event'
  | 'hash_mismatch'
  | 'chain_break'
  | 'sequence_gap'
  | 'clock_gap'
  | 'wall_regression'
  | 'batch_mismatch'
  | 'incomplete_batch'
  | 'orphan_event'
  | 'sidx_missing'
  | 'sidx_mismatch'
  | 'checkpoint_stale'
  | 'gap_acknowledged'
  // anchored verification (issue 16, engine/anchor/verify-anchor.ts)
  | 'anchor_mismatch'
  | 'anchor_signature'
  | 'anchor_ok'
  | 'merkle_stale'
  | 'merkle_mismatch'
  // a pruned store (issue 17, segment/prune-base.ts)
  | 'pruned';

export interface Problem {
  code: ProblemCode;
  severity: Severity;
  /** File name of the segment (or other file) at fault. */
  segment: string;
  /** Byte offset in that file of the frame (or structure) at fault. */
  offset: number;
  message: string;
  seq?: number;
  entity?: string;
}

export interface VerifyReport {
  ok: boolean;
  /** Committed events readers can see. */
  events: number;
  segments: number;
  /** Every EVENT frame, committed or not. */
  eventFrames: number;
  entities: number;
  batches: number;
  bytes: number;
  errors: number;
  warnings: number;
  /** True when --max-errors stopped the run before the end. */
  stoppedEarly: boolean;
  problems: Problem[];
}

export interface VerifyOptions {
  /** Stop after this many errors (default: no limit). */
  maxErrors?: number;
  /**
   * A single segment file checked on its own: it may be the active one (a torn tail is
   * a warning) and it starts mid-chain (each entity's first event there is taken as given).
   */
  loneFile?: boolean;
  /** Progress callback: bytes walked so far. */
  onProgress?: (bytesDone: number) => void;
  /**
   * Event hashes already checked elsewhere (worker threads, see verify-parallel.ts):
   * whether the EVENT frame at `frameOffset` of segment `segIndex` has a matching
   * event_hash, or undefined when it was not checked (then it is hashed here).
   */
  hashVerdicts?: HashVerdicts;
  /** Sees every frame the walk sees, after verify (engine/anchor/verify-anchor.ts builds the Merkle tree from it). */
  tap?: WalkVisitor;
  /**
   * The store directory (whole-store verify): where index.ckpt is checked even when no
   * segment file is left. Without it, the first segment's directory is used, so a store
   * whose every segment was deleted verified clean despite a checkpoint recording its
   * events (found by the differential damage suite, test/differential/regressions.ts).
   */
  storeDir?: string;
  /** A pruned store: start from the state at its cut (format/base.ts) instead of sequence 0. */
  base?: PruneBase;
}

export interface HashVerdicts {
  verdict(segIndex: number, frameOffset: number): boolean | undefined;
  /**
   * Optional: footer checks done elsewhere too (verify-parallel.ts). Given this walk's
   * own FooterVerifier, returns what the walk should call instead.
   */
  footerChecks?(local: FooterChecks): FooterChecks;
  /** Optional: frames of segment `segIndex` ending at or before this offset were found valid elsewhere (CRC included). */
  checkedEnd?(segIndex: number): number;
  /** Optional: a later `checkedEnd` once the walk reaches `pos` (the reader's `extendCrcTrust`; it may wait for it). */
  extendCheckedEnd?(segIndex: number, pos: number): number;
}

/** The walk's per-segment SIDX footer checks: sidx.ts FooterVerifier, or a stand-in for it. */
export interface FooterChecks {
  onSegment(r: SegmentReader): void;
  onFrame(r: SegmentReader): void;
  onFault(): void;
  onDamagedFooter(offset: number): void;
  onSegmentEnd(seg: SegmentFile, segIndex: number, r: SegmentReader): FooterProblem[];
}

/**
 * Checks everything a log promises: every frame's CRC, every event's layout and
 * hash, every entity's chain across segments, dense sequences and clocks, monotonic
 * wall time per entity, and that transactions are well formed. Streams the files:
 * memory grows with the number of entities and open transactions, not the log size.
 */
export function verifySegments(fs: FileSystem, segments: SegmentFile[], hasher: Blake3, opts: VerifyOptions = {}): VerifyReport {
  const v = new VerifyVisitor(hasher, opts);
  const footers = new FooterVerifier(fs, segments.length, opts.loneFile ?? false);
  v.footers = opts.hashVerdicts?.footerChecks?.(footers) ?? footers;
  if (opts.base) v.startFromBase(opts.base);
  walkStore(fs, segments, opts.tap ? tee(v, opts.tap) : v, { lastIsActive: true, shouldStop: () => v.stopped });
  const storeDir = opts.storeDir ?? (segments.length > 0 ? dirname(segments[0]!.path) : undefined);
  if (!opts.loneFile && storeDir !== undefined) v.checkCheckpoint(fs, storeDir, segments);
  return v.finish(segments.length);
}

/** An open transaction as verify reports it. */
interface VerifyTxn extends OpenTxn {
  /** File name of its BEGIN's segment. */
  segment: string;
  /** A lone file began inside this transaction (its BEGIN and first items are in an earlier segment). */
  startedBefore: boolean;
}

class VerifyVisitor implements TxnFacts<VerifyTxn>, ChainFacts {
  /** The sequence, clock and chain rules (log/chain-fold.ts); this class is their `ChainFacts`: it reports. */
  private readonly chain: ChainFold<WordHead>;
  /** The frame being checked (for the chain facts' problems). */
  private frameOffset = 0;
  /** The log's transaction rules (log/txn-fold.ts); this class is their `TxnFacts`: it reports. */
  private txns: TxnFold<VerifyTxn> = new TxnFold<VerifyTxn>(this);
  private readonly problems: Problem[] = [];
  private segName = '';
  private segIndex = 0;
  private segFirstSeqHeader = -1;
  private segFirstEventSeen = false;
  /** Where the current segment's frames end (its size, or its footer's start). */
  private segFrameEnd = 0;
  private eventFrames = 0;
  private bytes = 0;
  private bytesBefore = 0;
  private errors = 0;
  private warnings = 0;
  stopped = false;
  private readonly maxErrors: number;
  /** SIDX footer checks (issue 3): sidx_missing, sidx_mismatch. */
  footers: FooterChecks | null = null;

  constructor(
    private readonly hasher: Blake3,
    private readonly opts: VerifyOptions,
  ) {
    this.maxErrors = opts.maxErrors ?? Number.MAX_SAFE_INTEGER;
    this.chain = new ChainFold(new Map<string, WordHead>(), this, { newHead: newWordHead, words: true, midChain: opts.loneFile ?? false });
  }

  private report(p: Problem): void {
    if (this.stopped) return;
    this.problems.push(p);
    if (p.severity === 'error') {
      this.errors++;
      if (this.errors >= this.maxErrors) this.stopped = true;
    } else if (p.severity === 'warning') {
      this.warnings++;
    }
  }

  onSegment(seg: SegmentFile, segIndex: number, r: SegmentReader): void {
    // frames a worker already found valid are not checksummed twice (verify-parallel.ts)
    const verdicts = this.opts.hashVerdicts;
    r.crcTrustedBelow = verdicts?.checkedEnd?.(segIndex) ?? 0;
    if (verdicts?.extendCheckedEnd) r.extendCrcTrust = (pos) => verdicts.extendCheckedEnd!(segIndex, pos);
    this.footers?.onSegment(r);
    this.segName = seg.name;
    this.segIndex = segIndex;
    this.bytes += r.fileSize;
    this.segFirstEventSeen = false;
    this.segFrameEnd = r.frameEnd;
    this.segFirstSeqHeader = r.header.ok ? r.header.header.firstSeq : -1;
    if (r.header.ok && r.header.header.segmentId !== seg.id && seg.name.endsWith('.seg') && /^\d+\.seg$/.test(seg.name)) {
      this.report({
        code: 'bad_header',
        severity: 'error',
        segment: seg.name,
        offset: 0,
        message: `header says segment ${r.header.header.segmentId} but the file is named for segment ${seg.id}`,
      });
    }
  }

  /**
   * A pruned store: sequences, clocks, chains and counts continue from the base, and the
   * transactions open at the cut (none commits later) are taken as begun before it.
   */
  startFromBase(base: PruneBase): void {
    this.chain.nextSeq = base.nextSeq;
    for (const [name, h] of base.heads) {
      const head = newWordHead(h.clock, h.wallMs);
      head.hash.set(h.hash); // `words` views the same bytes
      this.chain.heads.set(name, head);
    }
    const open = new Map<number, VerifyTxn>();
    for (const t of base.openTxns) open.set(t.txnId, { txnId: t.txnId, segIndex: 0, offset: 0, items: t.items, declared: 0, segment: BASE_FILE, startedBefore: true });
    this.txns = new TxnFold<VerifyTxn>(this, open, base.nextTxnId, base.committedEvents, base.committedBatches);
    this.report({
      code: 'pruned',
      severity: 'info',
      segment: BASE_FILE,
      offset: 0,
      message: base.nextSeq > 0 ? `events 0..${base.nextSeq - 1} were pruned (segments before ${segmentFileName(base.firstSegmentId)}); the walk starts from the base` : `segments before ${segmentFileName(base.firstSegmentId)} were pruned`,
    });
  }

  onDamagedFooter(d: DamagedFooter): void {
    this.footers?.onDamagedFooter(d.offset);
  }

  /** index.ckpt against the segments and, when the frames verified clean, against what they say. */
  checkCheckpoint(fs: FileSystem, dir: string, segments: SegmentFile[]): void {
    if (this.stopped) return;
    const computed = this.errors === 0 ? { nextSeq: this.chain.nextSeq, events: this.txns.committedEvents, batches: this.txns.committedBatches, heads: this.chain.heads } : undefined;
    for (const p of checkCheckpoint(fs, dir, segments, computed)) this.report(p);
  }

  onFault(f: Fault): void {
    this.footers?.onFault();
    const segment = basename(f.path);
    if (f.kind === 'torn' && f.offset === 0 && this.opts.loneFile) {
      // a file given on its own that does not even start like a segment is the wrong file
      const message = f.detail.startsWith('not a seglog segment') ? f.detail : `not a seglog segment: ${f.detail}`;
      this.report({ code: 'bad_header', severity: 'error', segment, offset: 0, message });
      return;
    }
    if (f.kind === 'torn') {
      this.report({
        code: 'torn_tail',
        severity: 'warning',
        segment,
        offset: f.offset,
        message: `torn tail: ${f.endOffset - f.offset} bytes from here are not a complete frame (${f.detail}); recovery cuts them`,
      });
      return;
    }
    if (f.kind === 'bad_header') {
      this.report({ code: 'bad_header', severity: 'error', segment, offset: 0, message: `bad segment header: ${f.detail}` });
      return;
    }
    // A frame that runs past the end with valid frames after it is a damaged length, not
    // a segment that ends inside a frame: bad_frame, as repair's analyzer classifies it
    // (found by the differential suite: a flipped length bit was reported as truncated_segment).
    const endsInside = f.status === FrameStatus.Truncated && f.endOffset >= this.segFrameEnd;
    if (endsInside || (f.endOffset === f.offset && f.status !== FrameStatus.CrcMismatch)) {
      this.report({
        code: 'truncated_segment',
        severity: 'error',
        segment,
        offset: f.offset,
        message: `sealed segment ends inside a frame (${f.detail})`,
      });
      return;
    }
    const skipped = f.endOffset - f.offset;
    this.report({
      code: f.lengthIntact ? 'crc_mismatch' : 'bad_frame',
      severity: 'error',
      segment,
      offset: f.offset,
      message: f.lengthIntact
        ? `${f.detail}: frame of ${skipped} bytes is damaged`
        : `${f.detail}: framing is broken; ${skipped} bytes skipped to the next valid frame`,
    });
  }

  onFrame(r: SegmentReader): void {
    this.footers?.onFrame(r);
    const buf = r.buf;
    const b = r.bodyOff;
    switch (r.type) {
      case FrameType.EVENT:
        this.checkEvent(r, buf, b);
        return;
      case FrameType.BEGIN:
      case FrameType.COMMIT:
      case FrameType.ABORT:
        this.txns.marker(r.type, markerTxnId(buf, b), markerCount(buf, b), this.segIndex, r.frameOffset);
        return;
      case FrameType.GAP:
        this.checkGap(r, buf, b);
        return;
      default:
        return;
    }
  }

  /**
   * A repair's gap record (format/gap.ts): the events it stands for are acknowledged as
   * lost (info), and the checks continue after them: a sequence gap moves the expected
   * sequence past its run, an entity gap moves the entity's clock past its lost links
   * and sets its chain head to the resume hash. A gap record out of place is an error.
   */
  private checkGap(r: SegmentReader, buf: Uint8Array, b: number): void {
    const g = decodeGap(buf, b, r.bodyBytes);
    if (!g) {
      this.report({ code: 'bad_frame', severity: 'error', segment: this.segName, offset: r.frameOffset, message: 'gap record with a field beyond 2^53' });
      return;
    }
    this.frameOffset = r.frameOffset;
    this.chain.gap(buf, b);
    if (g.kind === GapKind.SEQUENCE) {
      this.report({ code: 'gap_acknowledged', severity: 'info', segment: this.segName, offset: r.frameOffset, seq: g.fromSeq, message: describeGap(g) });
      return;
    }
    this.report({ code: 'gap_acknowledged', severity: 'info', segment: this.segName, offset: r.frameOffset, entity: this.chain.entity, message: describeGap(g) });
  }

  private checkEvent(r: SegmentReader, buf: Uint8Array, b: number): void {
    this.eventFrames++;
    const bad = checkEventLayout(buf, b, r.bodyBytes);
    if (bad) {
      this.report({ code: 'bad_event', severity: 'error', segment: this.segName, offset: r.frameOffset, message: bad });
      return;
    }
    const chain = this.chain;
    const head = chain.lookup(buf, b);
    const seq = chain.seq;
    const hs = ev.hashStart(buf, b);
    // hot loop: the digest is compared where the hasher leaves it (no copy), or taken from a worker's verdict
    const hashOk = this.opts.hashVerdicts?.verdict(this.segIndex, r.frameOffset) ?? this.hasher.matches(buf, b, hs, buf, hs);
    this.frameOffset = r.frameOffset;
    if (!hashOk) {
      this.report({ code: 'hash_mismatch', severity: 'error', ...this.at(seq, chain.entity), message: 'event_hash does not match the hash of the event\'s bytes' });
    }
    if (!this.segFirstEventSeen) {
      this.segFirstEventSeen = true;
      if (this.segFirstSeqHeader >= 0 && seq !== this.segFirstSeqHeader) {
        this.report({ code: 'bad_header', severity: 'error', segment: this.segName, offset: 0, message: `header says the first sequence is ${this.segFirstSeqHeader} but the first event has ${seq}` });
      }
    }
    chain.advance(buf, b, head);
    this.txns.event(ev.txnId(buf, b), this.segIndex, r.frameOffset);
    if (this.opts.onProgress && (this.eventFrames & 0x3fff) === 0) this.opts.onProgress(this.bytesBefore + r.pos);
  }

  // ------------------------------------------------------------ transaction facts (TxnFacts)

  create(txnId: number, declared: number, segIndex: number, offset: number, adopted: Adoption): VerifyTxn {
    // adopted only in a lone file: it starts mid-batch as it starts mid-chain, the BEGIN is taken as given
    return { txnId, segIndex, offset, items: 0, declared, segment: this.segName, startedBefore: adopted === 'item' };
  }

  begunAgain(_prev: VerifyTxn, _declared: number, _segIndex: number, offset: number): boolean {
    this.report({ code: 'batch_mismatch', severity: 'error', segment: this.segName, offset, message: `BEGIN of transaction ${_prev.txnId}, which is already open` });
    return true;
  }

  orphan(txnId: number, _segIndex: number, offset: number): boolean {
    if (this.opts.loneFile) return true;
    this.report({ code: 'orphan_event', severity: 'error', segment: this.segName, offset, seq: this.chain.seq, entity: this.chain.entity, message: `event of transaction ${txnId}, which has no open BEGIN` });
    return false;
  }

  endWithoutBegin(type: number, txnId: number, _segIndex: number, offset: number): boolean {
    // a lone segment file may start after a transaction's last item: its BEGIN is in an earlier file
    if (this.opts.loneFile) return false;
    const what = type === FrameType.COMMIT ? 'COMMIT' : 'ABORT';
    this.report({ code: 'batch_mismatch', severity: 'error', segment: this.segName, offset, message: `${what} of transaction ${txnId} with no BEGIN` });
    return false;
  }

  countMismatch(t: VerifyTxn, count: number, _segIndex: number, offset: number): void {
    if (t.startedBefore) return;
    this.report({
      code: 'batch_mismatch',
      severity: 'error',
      segment: this.segName,
      offset,
      message: `transaction ${t.txnId} wrote ${t.items} items but its markers say ${t.declared || '?'} (BEGIN) and ${count} (COMMIT)`,
    });
  }

  committed(): void {}

  aborted(): void {}

  incomplete(t: VerifyTxn): void {
    // a lone segment file may end mid-batch because the batch continues in the next segment
    this.report(
      this.opts.loneFile
        ? {
            code: 'incomplete_batch',
            severity: 'info',
            segment: t.segment,
            offset: t.offset,
            message: `transaction ${t.txnId} is still open at the end of this file (${t.items} items here); it may continue in the next segment`,
          }
        : {
            code: 'incomplete_batch',
            severity: 'warning',
            segment: t.segment,
            offset: t.offset,
            message: `transaction ${t.txnId} has BEGIN and ${t.items} items but no COMMIT or ABORT; readers never see it`,
          },
    );
  }

  /** Where an event problem is: built only when one is reported. */
  private at(seq: number, entity: string): { segment: string; offset: number; seq: number; entity: string } {
    return { segment: this.segName, offset: this.frameOffset, seq, entity };
  }

  // ------------------------------------------------------------ chain facts (ChainFacts)

  sequenceJump(seq: number, expected: number): void {
    this.report({ code: 'sequence_gap', severity: 'error', ...this.at(seq, this.chain.entity), message: `sequence ${seq} where ${expected} was expected` });
  }

  clockGap(clock: number, expected: number): void {
    this.report({ code: 'clock_gap', severity: 'error', ...this.at(this.chain.seq, this.chain.entity), message: `entity clock ${clock} where ${expected} was expected` });
  }

  chainBreak(): void {
    this.report({ code: 'chain_break', severity: 'error', ...this.at(this.chain.seq, this.chain.entity), message: "prev_hash is not the entity's previous event_hash" });
  }

  wallRegression(wallMs: number, previousMs: number): void {
    this.report({ code: 'wall_regression', severity: 'error', ...this.at(this.chain.seq, this.chain.entity), message: `wall time ${wallMs} is before the entity's previous ${previousMs}` });
  }

  gapSequenceOutOfPlace(first: number, expected: number): void {
    this.report({ code: 'sequence_gap', severity: 'error', segment: this.segName, offset: this.frameOffset, seq: first, message: `gap record for sequence ${first} where ${expected} was expected` });
  }

  gapClockOutOfPlace(first: number, expected: number): void {
    this.report({ code: 'clock_gap', severity: 'error', segment: this.segName, offset: this.frameOffset, entity: this.chain.entity, message: `gap record for clock ${first} where ${expected} was expected` });
  }

  onSegmentEnd(s: SegmentFile, i: number, r: SegmentReader): void {
    if (this.footers && !this.stopped) {
      for (const p of this.footers.onSegmentEnd(s, i, r)) this.report({ code: p.code, severity: p.severity, segment: p.segment, offset: p.offset, message: p.message });
    }
    this.bytesBefore += r.fileSize;
  }

  finish(segments: number): VerifyReport {
    if (!this.stopped) this.txns.finish();
    return {
      ok: this.errors === 0,
      events: this.txns.committedEvents,
      segments,
      eventFrames: this.eventFrames,
      entities: this.chain.heads.size,
      batches: this.txns.committedBatches,
      bytes: this.bytes,
      errors: this.errors,
      warnings: this.warnings,
      stoppedEarly: this.stopped,
      problems: this.problems,
    };
  }
}

/** Both visitors see every callback, `a` first. */
function tee(a: WalkVisitor, b: WalkVisitor): WalkVisitor {
  return {
    onSegment: (seg, i, r) => {
      a.onSegment?.(seg, i, r);
      b.onSegment?.(seg, i, r);
    },
    onFrame: (r, i) => {
      a.onFrame(r, i);
      b.onFrame(r, i);
    },
    onFault: (f) => {
      a.onFault?.(f);
      b.onFault?.(f);
    },
    onDamagedFooter: (d) => {
      a.onDamagedFooter?.(d);
      b.onDamagedFooter?.(d);
    },
    onSegmentEnd: (seg, i, r, end) => {
      a.onSegmentEnd?.(seg, i, r, end);
      b.onSegmentEnd?.(seg, i, r, end);
    },
  };
}
