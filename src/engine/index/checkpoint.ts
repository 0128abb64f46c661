/**
 * index.ckpt in the engine: written atomically at a clean close, loaded and checked
 * against the segments on disk at open. A checkpoint is trusted only when every
 * segment file it names is there with the same size and the same last bytes, and no
 * other segment exists; otherwise it is ignored (with a warning) and the open falls
 * back to footers and frame scans. Queries never read it: a bad checkpoint can at
 * worst cost an open its speed, never change an answer.
 */
import { basename } from 'node:path';
import { copyBytes, utf8 } from '../../format/bytes.js';
import { crc32c } from '../../format/hash/crc32c.js';
import {
  type Checkpoint,
  CKPT_MAX_BYTES,
  CKPT_TAIL_CHECK_BYTES,
  CkptFooter,
  type CkptSegment,
  decodeCheckpoint,
  encodeCheckpoint,
} from '../../format/checkpoint.js';
import { decodeSegmentHeader, type HeaderResult, SEGMENT_HEADER_BYTES } from '../../format/segment-header.js';
import { SE, SIDX_ENTRY_BYTES, SIDX_MARKER_BYTES, SM } from '../../format/sidx.js';
import { FrameType } from '../../format/frame.js';
import { firstAtOrAfter, replayTables } from './footer-replay.js';
import { SILENT_FACTS, TxnFold } from '../log/txn-fold.js';
import { type FileSystem, isFsError } from '../io/fs-types.js';
import { exists, readFully, readWhole, writeFileAtomic } from '../io/fs-util.js';
import { storePaths } from '../io/layout.js';
import type { EntityHead, OpenTxn, RecoveryScan, SegmentSummary } from '../recovery/recovery-scan.js';
import type { FooterBuilder, SealedSegment } from './sidx.js';
import { listSegments, type SegmentFile } from '../segment/walker.js';

/** A footer's state as an open learned it (or as the checkpoint recorded it). */
export type FooterState = 'absent' | 'valid' | 'damaged' | 'mismatch';

export function footerStateCode(s: FooterState): number {
  return s === 'valid' ? CkptFooter.VALID : s === 'absent' ? CkptFooter.ABSENT : 2;
}
export function footerStateOf(code: number): FooterState {
  return code === CkptFooter.VALID ? 'valid' : code === CkptFooter.ABSENT ? 'absent' : 'damaged';
}

/** Size, last bytes and header of a segment file: what a checkpoint is checked against. */
export interface SegmentFingerprint {
  sizeBytes: number;
  tailCrc: number;
  header: HeaderResult;
}

export function fingerprintSegment(fs: FileSystem, path: string): SegmentFingerprint {
  const fd = fs.open(path, 'r');
  try {
    const sizeBytes = fs.fstat(fd).sizeBytes;
    const head = new Uint8Array(Math.min(SEGMENT_HEADER_BYTES, sizeBytes));
    readFully(fs, fd, head, 0, head.length, 0);
    const tail = new Uint8Array(Math.min(CKPT_TAIL_CHECK_BYTES, sizeBytes));
    readFully(fs, fd, tail, 0, tail.length, sizeBytes - tail.length);
    return { sizeBytes, tailCrc: crc32c(tail), header: decodeSegmentHeader(head) };
  } finally {
    fs.close(fd);
  }
}

export type CheckpointLoad =
  | { status: 'absent' }
  /** unreadable, checksum or structure fails */
  | { status: 'damaged'; message: string }
  /** well-formed but no longer matches the segments on disk */
  | { status: 'stale'; message: string }
  | { status: 'valid'; checkpoint: Checkpoint };

/** Loads index.ckpt and checks it against `segments` (the store's segment files, in id order). */
export function loadCheckpoint(fs: FileSystem, dir: string, segments: SegmentFile[]): CheckpointLoad {
  const path = storePaths(dir).checkpoint;
  let bytes: Uint8Array;
  try {
    bytes = readWhole(fs, path, CKPT_MAX_BYTES);
  } catch (err) {
    if (isFsError(err, 'ENOENT')) return { status: 'absent' };
    return { status: 'damaged', message: `cannot read it (${(err as { code?: string }).code ?? (err as Error).message})` };
  }
  const d = decodeCheckpoint(bytes);
  if (!d.ok) return { status: 'damaged', message: `at byte ${d.offset}: ${d.message}` };
  const stale = staleness(fs, d.checkpoint, segments);
  return stale === null ? { status: 'valid', checkpoint: d.checkpoint } : { status: 'stale', message: stale };
}

/** Why a well-formed checkpoint does not describe `segments`, or null when it does. */
export function staleness(fs: FileSystem, c: Checkpoint, segments: SegmentFile[]): string | null {
  if (c.segments.length !== segments.length) return `it describes ${c.segments.length} segments, the store has ${segments.length}`;
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i]!;
    const k = c.segments[i]!;
    if (k.id !== s.id) return `it describes segment ${k.id} where the store has ${s.name}`;
    let fp: SegmentFingerprint;
    try {
      fp = fingerprintSegment(fs, s.path);
    } catch (err) {
      return `${s.name} cannot be read (${(err as { code?: string }).code ?? (err as Error).message})`;
    }
    if (fp.sizeBytes !== k.fileSizeBytes) return `${s.name} is ${fp.sizeBytes} bytes, the checkpoint says ${k.fileSizeBytes}`;
    if (fp.tailCrc !== k.tailCrc) return `the last bytes of ${s.name} changed since the checkpoint was written`;
    if (k.frameEnd < SEGMENT_HEADER_BYTES || k.frameEnd > k.fileSizeBytes) return `it gives ${s.name} an impossible end of frames ${k.frameEnd}`;
  }
  return null;
}

/** The recovery state a valid checkpoint describes (what a frame scan would find). */
export function scanFromCheckpoint(c: Checkpoint, segments: SegmentFile[]): RecoveryScan {
  const heads = new Map<string, EntityHead>();
  for (const h of c.heads) {
    // decoded as the frame scan decodes entity bytes, so the keys are the same strings
    heads.set(Buffer.from(h.entity.buffer, h.entity.byteOffset, h.entity.length).toString('utf8'), {
      clock: h.clock,
      wallMs: h.wallMs,
      hash: copyBytes(h.hash),
    });
  }
  const openTxns = new Map<number, OpenTxn>();
  for (const t of c.openTxns) openTxns.set(t.txnId, { txnId: t.txnId, segIndex: t.segIndex, offset: t.offset, items: t.items, declared: 0 });
  const summaries: SegmentSummary[] = segments.map((s, i) => {
    const k = c.segments[i]!;
    return {
      id: s.id,
      path: s.path,
      name: s.name,
      fileSizeBytes: k.fileSizeBytes,
      frameEnd: k.frameEnd,
      validEnd: k.frameEnd,
      headerOk: true,
      headerFirstSeq: k.headerFirstSeq,
      eventFrames: k.eventFrames,
      firstSeq: k.firstSeq,
      lastSeq: k.lastSeq,
    };
  });
  return {
    segments: summaries,
    heads,
    nextSeq: c.nextSeq,
    nextTxnId: c.nextTxnId,
    openTxns,
    faults: [],
    semanticFaults: [],
    tail: null,
    committedEvents: c.committedEvents,
    committedBatches: c.committedBatches,
    maxKvVersion: c.maxKvVersion,
  };
}

/** Removes index.ckpt (durably) if it exists: a read-write open does, since it changes the last segment. */
export function deleteCheckpoint(fs: FileSystem, dir: string): boolean {
  const path = storePaths(dir).checkpoint;
  if (!exists(fs, path)) return false;
  fs.unlink(path);
  fs.fsyncDir(dir);
  return true;
}

interface SegmentRecord {
  summary: SegmentSummary;
  footer: FooterState;
}

/**
 * What a read-write session needs to write a checkpoint at its clean close: the state
 * found at open, advanced by replaying the footer tables of every segment sealed
 * during the session, from where the frames ended at open. Entity heads and the next
 * sequence come from the store itself (its chains depend on them being exact); the
 * transaction bookkeeping is replayed so that it is exactly what a scan would find,
 * whatever mix of batches, interactive transactions and raw frames was written.
 */
export class CheckpointSession {
  private readonly records = new Map<number, SegmentRecord>();
  private readonly book: TxnFold;
  private maxKvVersion: number;
  private readonly sealed = new Set<number>();
  /** Why no checkpoint can be written at close (null: it can). */
  broken: string | null = null;

  constructor(
    open: RecoveryScan,
    footers: readonly FooterState[],
    /** Id, index and end of frames of the segment the writer continues (or creates). */
    private readonly active: { id: number; index: number; frameEnd: number },
  ) {
    open.segments.forEach((s, i) => this.records.set(s.id, { summary: { ...s }, footer: footers[i] ?? 'absent' }));
    const txns = new Map<number, OpenTxn>();
    for (const [k, t] of open.openTxns) txns.set(k, { ...t });
    this.book = new TxnFold(SILENT_FACTS, txns, open.nextTxnId, open.committedEvents, open.committedBatches);
    this.maxKvVersion = open.maxKvVersion;
  }

  /** Called by the seal hook with the footer it built (null when it could not build one). */
  onSealed(builder: FooterBuilder | null, s: SealedSegment, path: string): void {
    if (this.broken) return;
    if (this.sealed.has(s.id)) {
      this.broken = `segment ${s.id} was sealed twice (a write after rotation was rolled back)`;
      return;
    }
    this.sealed.add(s.id);
    if (!builder || !s.footer) {
      this.broken = `segment ${s.id} was sealed without a footer`;
      return;
    }
    if (s.id < this.active.id) {
      this.broken = `segment ${s.id} is older than the segment the session started in`;
      return;
    }
    const from = s.id === this.active.id ? this.active.frameEnd : SEGMENT_HEADER_BYTES;
    const t = builder.tables();
    const e0 = firstAtOrAfter(t.entries, t.entryCount, SIDX_ENTRY_BYTES, SE.OFFSET, from);
    const m0 = firstAtOrAfter(t.markers, t.markerCount, SIDX_MARKER_BYTES, SM.OFFSET, from);
    for (let m = m0; m < t.markerCount; m++) {
      if (t.markers[m * SIDX_MARKER_BYTES + SM.TYPE] === FrameType.GAP) {
        // gap records change heads in ways the markers do not carry: let the next open scan
        this.broken = `segment ${s.id} got a gap record during the session`;
        return;
      }
    }
    const segIndex = this.active.index + (s.id - this.active.id);
    if (!replayTables(t, e0, m0, segIndex, this.book, null)) {
      this.broken = `the footer of segment ${s.id} is not in file order`;
      return;
    }
    if (builder.maxKvVersion > this.maxKvVersion) this.maxKvVersion = builder.maxKvVersion;
    const prev = this.records.get(s.id)?.summary;
    this.records.set(s.id, {
      summary: {
        id: s.id,
        path,
        name: basename(path),
        fileSizeBytes: s.fileSizeBytes,
        frameEnd: s.frameEnd,
        validEnd: s.frameEnd,
        headerOk: true,
        headerFirstSeq: prev?.headerFirstSeq ?? -1,
        eventFrames: s.eventFrames,
        firstSeq: s.firstSeq,
        lastSeq: s.lastSeq,
      },
      footer: 'valid',
    });
  }

  /**
   * The checkpoint for the store as it is on disk now, or the reason there is none.
   * Every segment file must be one this session knows, at the size it knows.
   */
  build(fs: FileSystem, dir: string, heads: Map<string, EntityHead>, nextSeq: number): { checkpoint: Checkpoint } | { reason: string } {
    if (this.broken) return { reason: this.broken };
    const segments: CkptSegment[] = [];
    let lastSeq = -1;
    for (const f of listSegments(fs, dir)) {
      const r = this.records.get(f.id);
      if (!r) return { reason: `${f.name} appeared during the session` };
      const fp = fingerprintSegment(fs, f.path);
      if (fp.sizeBytes !== r.summary.fileSizeBytes) return { reason: `${f.name} is ${fp.sizeBytes} bytes where ${r.summary.fileSizeBytes} were expected` };
      if (!fp.header.ok) return { reason: `${f.name} has a bad header` };
      const s = r.summary;
      if (s.lastSeq >= 0) lastSeq = s.lastSeq;
      segments.push({
        id: f.id,
        fileSizeBytes: fp.sizeBytes,
        frameEnd: s.frameEnd,
        headerFirstSeq: fp.header.header.firstSeq,
        eventFrames: s.eventFrames,
        firstSeq: s.firstSeq,
        lastSeq: s.lastSeq,
        tailCrc: fp.tailCrc,
        footer: footerStateCode(r.footer),
      });
    }
    if (lastSeq + 1 !== nextSeq) return { reason: `the segments end at sequence ${lastSeq} but the store is at ${nextSeq}` };
    return {
      checkpoint: {
        nextSeq,
        nextTxnId: this.book.nextTxnId,
        committedEvents: this.book.committedEvents,
        committedBatches: this.book.committedBatches,
        maxKvVersion: this.maxKvVersion,
        segments,
        openTxns: [...this.book.open.values()].map((t) => ({ ...t })),
        heads: [...heads].map(([entity, h]) => ({ entity: utf8.encode(entity), clock: h.clock, wallMs: h.wallMs, hash: h.hash })),
      },
    };
  }
}

export function writeCheckpoint(fs: FileSystem, dir: string, c: Checkpoint): void {
  writeFileAtomic(fs, storePaths(dir).checkpoint, encodeCheckpoint(c));
}

/** What verify reports about a checkpoint (shaped like verify's Problem). */
export interface CheckpointProblem {
  code: 'checkpoint_stale';
  severity: 'warning';
  segment: string;
  offset: number;
  message: string;
}

/**
 * Checks index.ckpt against the segments and, when given, against the state a full
 * walk computed. A checkpoint that is absent is fine; one that is damaged, stale, or
 * whose content disagrees with the frames is reported as `checkpoint_stale` (opens
 * ignore such a checkpoint, so it is a warning, never an error).
 */
export function checkCheckpoint(
  fs: FileSystem,
  dir: string,
  segments: SegmentFile[],
  computed?: { nextSeq: number; events: number; batches: number; heads: Map<string, { clock: number; hash: Uint8Array }> },
): CheckpointProblem[] {
  const l = loadCheckpoint(fs, dir, segments);
  const problem = (message: string): CheckpointProblem[] => [
    { code: 'checkpoint_stale', severity: 'warning', segment: basename(storePaths(dir).checkpoint), offset: 0, message },
  ];
  if (l.status === 'absent') return [];
  if (l.status === 'damaged') return problem(`checkpoint is damaged (${l.message}); opens ignore it and read footers and frames`);
  if (l.status === 'stale') return problem(`checkpoint no longer matches the segments (${l.message}); opens ignore it`);
  if (!computed) return [];
  const c = l.checkpoint;
  if (c.nextSeq !== computed.nextSeq) return problem(`checkpoint says the next sequence is ${c.nextSeq}, the frames say ${computed.nextSeq}`);
  if (c.committedEvents !== computed.events || c.committedBatches !== computed.batches) {
    return problem(`checkpoint counts ${c.committedEvents} committed events in ${c.committedBatches} batches, the frames ${computed.events} in ${computed.batches}`);
  }
  if (c.heads.length !== computed.heads.size) return problem(`checkpoint has ${c.heads.length} entity heads, the frames ${computed.heads.size}`);
  for (const h of c.heads) {
    const name = Buffer.from(h.entity.buffer, h.entity.byteOffset, h.entity.length).toString('utf8');
    const k = computed.heads.get(name);
    if (!k || k.clock !== h.clock || Buffer.compare(Buffer.from(k.hash), Buffer.from(h.hash)) !== 0) {
      return problem(`checkpoint's head of entity ${JSON.stringify(name)} disagrees with the frames`);
    }
  }
  return [];
}
