import { basename, dirname } from 'node:path';
import { type Blake3, HASH_BYTES } from '../format/blake3.js';
import { checkEventLayout, EV, ev } from '../format/event.js';
import { FrameStatus, FrameType } from '../format/frame.js';
import { markerCount, markerTxnId } from '../format/marker.js';
import { decodeGap, describeGap, GapKind } from '../format/gap.js';
import type { FileSystem } from './fs/types.js';
import type { SegmentReader } from './segment-reader.js';
import { type DamagedFooter, type Fault, type SegmentFile, walkStore } from './walker.js';
import { type FooterProblem, FooterVerifier } from './sidx.js';
import { EntityTable } from './entity-table.js';
import { checkCheckpoint } from './checkpoint.js';
import { BASE_FILE, type PruneBase } from '../format/base.js';
import { segmentFileName } from './layout.js';

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
}

/** The walk's per-segment SIDX footer checks: sidx.ts FooterVerifier, or a stand-in for it. */
export interface FooterChecks {
  onSegment(r: SegmentReader): void;
  onFrame(r: SegmentReader): void;
  onFault(): void;
  onDamagedFooter(offset: number): void;
  onSegmentEnd(seg: SegmentFile, segIndex: number, r: SegmentReader): FooterProblem[];
}

interface Head {
  clock: number;
  hash: Uint8Array;
  /** `hash` read and written a 32-bit word at a time (the hot loop's chain check). */
  words: DataView<ArrayBufferLike>;
  wallMs: number;
}

function newHead(clock: number, wallMs: number): Head {
  const hash = new Uint8Array(HASH_BYTES);
  return { clock, wallMs, hash, words: new DataView(hash.buffer) };
}

/** A zero hash as words: what an entity's first prev_hash must be. */
const ZERO_WORDS = new DataView(new ArrayBuffer(HASH_BYTES));

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
  walkStore(fs, segments, v, { lastIsActive: true, shouldStop: () => v.stopped });
  if (!opts.loneFile && segments.length > 0) v.checkCheckpoint(fs, dirname(segments[0]!.path), segments);
  return v.finish(segments.length);
}

class VerifyVisitor {
  private readonly heads = new Map<string, Head>();
  /** `heads` looked up by the entity's bytes (no string made per event). */
  private readonly entities = new EntityTable(this.heads);
  /** `startedBefore`: a lone file began inside this transaction (its BEGIN and first items are in an earlier segment). */
  private readonly open = new Map<number, { offset: number; segment: string; declared: number; items: number; startedBefore?: boolean }>();
  private readonly problems: Problem[] = [];
  private nextSeq: number;
  private segName = '';
  private segIndex = 0;
  private segFirstSeqHeader = -1;
  private segFirstEventSeen = false;
  private events = 0;
  private eventFrames = 0;
  private batches = 0;
  private bytes = 0;
  private bytesBefore = 0;
  private errors = 0;
  private warnings = 0;
  stopped = false;
  private readonly maxErrors: number;
  /** A DataView over the frames' buffer `frameViewOf`, remembered. */
  private frameViewOf: Uint8Array | null = null;
  private frameView: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));
  /** SIDX footer checks (issue 3): sidx_missing, sidx_mismatch. */
  footers: FooterChecks | null = null;

  constructor(
    private readonly hasher: Blake3,
    private readonly opts: VerifyOptions,
  ) {
    this.maxErrors = opts.maxErrors ?? Number.MAX_SAFE_INTEGER;
    this.nextSeq = opts.loneFile ? -1 : 0;
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
    r.crcTrustedBelow = this.opts.hashVerdicts?.checkedEnd?.(segIndex) ?? 0;
    this.footers?.onSegment(r);
    this.segName = seg.name;
    this.segIndex = segIndex;
    this.bytes += r.fileSize;
    this.segFirstEventSeen = false;
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
    this.nextSeq = base.nextSeq;
    this.events = base.committedEvents;
    this.batches = base.committedBatches;
    for (const [name, h] of base.heads) {
      const head = newHead(h.clock, h.wallMs);
      head.hash.set(h.hash);
      this.heads.set(name, head);
    }
    for (const t of base.openTxns) this.open.set(t.txnId, { offset: 0, segment: BASE_FILE, declared: 0, items: t.items, startedBefore: true });
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
    const computed = this.errors === 0 ? { nextSeq: this.nextSeq, events: this.events, batches: this.batches, heads: this.heads } : undefined;
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
    if (f.status === FrameStatus.Truncated || (f.endOffset === f.offset && f.status !== FrameStatus.CrcMismatch)) {
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
      case FrameType.BEGIN: {
        const txn = markerTxnId(buf, b);
        if (this.open.has(txn)) {
          this.report({ code: 'batch_mismatch', severity: 'error', segment: this.segName, offset: r.frameOffset, message: `BEGIN of transaction ${txn}, which is already open` });
        }
        this.open.set(txn, { offset: r.frameOffset, segment: this.segName, declared: markerCount(buf, b), items: 0 });
        return;
      }
      case FrameType.COMMIT: {
        const txn = markerTxnId(buf, b);
        const t = this.open.get(txn);
        if (!t) {
          // a lone segment file may start after a transaction's last item: its BEGIN is in an earlier file
          if (this.opts.loneFile) return;
          this.report({ code: 'batch_mismatch', severity: 'error', segment: this.segName, offset: r.frameOffset, message: `COMMIT of transaction ${txn} with no BEGIN` });
          return;
        }
        this.open.delete(txn);
        const count = markerCount(buf, b);
        if (!t.startedBefore && (count !== t.items || (t.declared !== 0 && t.declared !== t.items))) {
          this.report({
            code: 'batch_mismatch',
            severity: 'error',
            segment: this.segName,
            offset: r.frameOffset,
            message: `transaction ${txn} wrote ${t.items} items but its markers say ${t.declared || '?'} (BEGIN) and ${count} (COMMIT)`,
          });
        }
        this.events += t.items;
        this.batches++;
        return;
      }
      case FrameType.ABORT: {
        const txn = markerTxnId(buf, b);
        if (!this.open.delete(txn) && !this.opts.loneFile) {
          this.report({ code: 'batch_mismatch', severity: 'error', segment: this.segName, offset: r.frameOffset, message: `ABORT of transaction ${txn} with no BEGIN` });
        }
        return;
      }
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
    if (g.kind === GapKind.SEQUENCE) {
      if (this.nextSeq >= 0 && g.fromSeq !== this.nextSeq) {
        this.report({ code: 'sequence_gap', severity: 'error', segment: this.segName, offset: r.frameOffset, seq: g.fromSeq, message: `gap record for sequence ${g.fromSeq} where ${this.nextSeq} was expected` });
      }
      this.nextSeq = g.fromSeq + g.count;
      this.report({ code: 'gap_acknowledged', severity: 'info', segment: this.segName, offset: r.frameOffset, seq: g.fromSeq, message: describeGap(g) });
      return;
    }
    let head = this.entities.lookup(g.entity, 0, g.entity.length);
    const entity = this.entities.name;
    const expectClock = head ? head.clock + 1 : 0;
    const known = head !== undefined || g.fromClock === 0 || !this.opts.loneFile;
    if (known && g.fromClock !== expectClock) {
      this.report({ code: 'clock_gap', severity: 'error', segment: this.segName, offset: r.frameOffset, entity, message: `gap record for clock ${g.fromClock} where ${expectClock} was expected` });
    }
    if (!head) {
      head = newHead(0, 0);
      this.entities.insert(head);
    }
    head.clock = g.fromClock + g.count - 1;
    head.hash.set(g.resumeHash);
    head.wallMs = Math.max(head.wallMs, g.wallFloorMs);
    this.report({ code: 'gap_acknowledged', severity: 'info', segment: this.segName, offset: r.frameOffset, entity, message: describeGap(g) });
  }

  private checkEvent(r: SegmentReader, buf: Uint8Array, b: number): void {
    this.eventFrames++;
    const bad = checkEventLayout(buf, b, r.bodyBytes);
    if (bad) {
      this.report({ code: 'bad_event', severity: 'error', segment: this.segName, offset: r.frameOffset, message: bad });
      return;
    }
    const seq = ev.seq(buf, b);
    let head = this.entities.lookup(buf, b + EV.VAR, ev.entityLen(buf, b));
    const entity = this.entities.name;
    const hs = ev.hashStart(buf, b);
    // hot loop: the digest is compared where the hasher leaves it (no copy), or taken from a worker's verdict
    const hashOk = this.opts.hashVerdicts?.verdict(this.segIndex, r.frameOffset) ?? this.hasher.matches(buf, b, hs, buf, hs);
    if (!hashOk) {
      this.report({ code: 'hash_mismatch', severity: 'error', ...this.at(r, seq, entity), message: 'event_hash does not match the hash of the event\'s bytes' });
    }
    if (!this.segFirstEventSeen) {
      this.segFirstEventSeen = true;
      if (this.segFirstSeqHeader >= 0 && seq !== this.segFirstSeqHeader) {
        this.report({ code: 'bad_header', severity: 'error', segment: this.segName, offset: 0, message: `header says the first sequence is ${this.segFirstSeqHeader} but the first event has ${seq}` });
      }
    }
    if (this.nextSeq >= 0 && seq !== this.nextSeq) {
      this.report({ code: 'sequence_gap', severity: 'error', ...this.at(r, seq, entity), message: `sequence ${seq} where ${this.nextSeq} was expected` });
    }
    this.nextSeq = seq + 1;
    const clock = ev.clock(buf, b);
    const wall = ev.wallMs(buf, b);
    const expectClock = head ? head.clock + 1 : 0;
    // a lone segment file starts mid-chain: an entity's first event there is taken as given
    const known = head !== undefined || clock === 0 || !this.opts.loneFile;
    if (known && clock !== expectClock) {
      this.report({ code: 'clock_gap', severity: 'error', ...this.at(r, seq, entity), message: `entity clock ${clock} where ${expectClock} was expected` });
    }
    // by the buffer's identity: reading `buf.buffer` per event costs more than the compares
    if (buf !== this.frameViewOf) {
      this.frameViewOf = buf;
      this.frameView = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    }
    const f = this.frameView;
    // hot loop: the hashes compared and copied a 32-bit word at a time (4x faster than bytes)
    if (known && !sameWords(f, b + EV.PREV_HASH, head ? head.words : ZERO_WORDS)) {
      this.report({ code: 'chain_break', severity: 'error', ...this.at(r, seq, entity), message: 'prev_hash is not the entity\'s previous event_hash' });
    }
    if (head && wall < head.wallMs) {
      this.report({ code: 'wall_regression', severity: 'error', ...this.at(r, seq, entity), message: `wall time ${wall} is before the entity's previous ${head.wallMs}` });
    }
    const txn = ev.txnId(buf, b);
    if (txn === 0) {
      this.events++;
    } else {
      const t = this.open.get(txn);
      if (t) t.items++;
      // a lone segment file starts mid-batch as it starts mid-chain: the BEGIN is taken as given
      else if (this.opts.loneFile) this.open.set(txn, { offset: r.frameOffset, segment: this.segName, declared: 0, items: 1, startedBefore: true });
      else this.report({ code: 'orphan_event', severity: 'error', ...this.at(r, seq, entity), message: `event of transaction ${txn}, which has no open BEGIN` });
    }
    if (!head) {
      head = newHead(clock, wall);
      this.entities.insert(head);
    }
    head.clock = clock;
    head.wallMs = Math.max(head.wallMs, wall);
    const hw = head.words;
    for (let i = 0; i < HASH_BYTES; i += 4) hw.setInt32(i, f.getInt32(hs + i, true), true);
    if (this.opts.onProgress && (this.eventFrames & 0xffff) === 0) this.opts.onProgress(this.bytesBefore + r.pos);
  }

  /** Where an event problem is: built only when one is reported. */
  private at(r: SegmentReader, seq: number, entity: string): { segment: string; offset: number; seq: number; entity: string } {
    return { segment: this.segName, offset: r.frameOffset, seq, entity };
  }

  onSegmentEnd(s: SegmentFile, i: number, r: SegmentReader): void {
    if (this.footers && !this.stopped) for (const p of this.footers.onSegmentEnd(s, i, r)) this.report(p);
    this.bytesBefore += r.fileSize;
  }

  finish(segments: number): VerifyReport {
    if (!this.stopped) {
      for (const [txn, t] of this.open) {
        // a lone segment file may end mid-batch because the batch continues in the next segment
        this.report(
          this.opts.loneFile
            ? {
                code: 'incomplete_batch',
                severity: 'info',
                segment: t.segment,
                offset: t.offset,
                message: `transaction ${txn} is still open at the end of this file (${t.items} items here); it may continue in the next segment`,
              }
            : {
                code: 'incomplete_batch',
                severity: 'warning',
                segment: t.segment,
                offset: t.offset,
                message: `transaction ${txn} has BEGIN and ${t.items} items but no COMMIT or ABORT; readers never see it`,
              },
        );
      }
    }
    return {
      ok: this.errors === 0,
      events: this.events,
      segments,
      eventFrames: this.eventFrames,
      entities: this.heads.size,
      batches: this.batches,
      bytes: this.bytes,
      errors: this.errors,
      warnings: this.warnings,
      stoppedEarly: this.stopped,
      problems: this.problems,
    };
  }
}

/** Whether the 32 bytes at `f`[off] equal the hash in `h`. */
function sameWords(f: DataView<ArrayBufferLike>, off: number, h: DataView<ArrayBufferLike>): boolean {
  for (let i = 0; i < HASH_BYTES; i += 4) if (f.getInt32(off + i, true) !== h.getInt32(i, true)) return false;
  return true;
}
