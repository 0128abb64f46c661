/**
 * Writes the repaired version of one segment to `<segment>.repair.tmp`, never touching
 * the original: the header (kept or new), the old file's bytes copied verbatim between
 * edits, each edit's frames (gap records, BEGIN, ABORT) where the plan puts them, up to
 * the cut or the end of the frames. The copy is then read back: every frame must check
 * out and the EVENT count must be what the plan expects, or the repair stops before
 * anything is renamed. A segment that is sealed after the repair gets the SIDX footer
 * its frames call for (built by engine/index/sidx.ts from the copy itself).
 *
 * The temp file is left open and not yet durable (`PendingTemp`): the executor fsyncs
 * it, through the descriptor that wrote it, before any rename (`syncTemp`). Meanwhile
 * the disk is already writing it: after the frames and again after the footer, an early
 * writeback is asked for (FileSystem.startWritebackOf, issue 18), which runs through a
 * descriptor of its own: Linux reports a writeback error once per open file, and had the
 * hint's fdatasync (whose outcome nobody sees) run on the writer's descriptor, it could
 * take the error that the fsync must report before any rename. `SEGLOG_EARLY_WRITEBACK=0`
 * turns the hints off.
 */
import { fromHex } from '../../format/bytes.js';
import { FrameType } from '../../format/frame.js';
import { encodeGapFrame, GAP_MAX_COUNT, GapKind } from '../../format/gap.js';
import { encodeAbort, encodeBegin, MARKER_FRAME_BYTES } from '../../format/marker.js';
import { encodeSegmentHeader, SEGMENT_FORMAT_VERSION, SEGMENT_HEADER_BYTES } from '../../format/segment-header.js';
import { SeglogError } from '../../engine/io/errors.js';
import { type FileSystem, isCrash } from '../../engine/io/fs-types.js';
import { readFully, writeFully } from '../../engine/io/fs-util.js';
import { buildFooterFromFrames } from '../../engine/index/sidx.js';
import { walkSegment } from '../../engine/segment/walker.js';
import { COPY_CHUNK_BYTES } from './file-copy.js';
import type { PlannedFrame, SegmentPlan } from './plan-types.js';
import { REPAIR_TEMP_SUFFIX } from './planner.js';

/** The bytes of the frames a plan asks for (gap records stamped with the repair time). */
export function encodePlannedFrames(frames: readonly PlannedFrame[], repairedAtMs: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const f of frames) {
    switch (f.type) {
      case 'gap_sequence':
        // a run longer than one record holds (u32) takes several, back to back
        for (let from = f.fromSeq, left = f.count; left > 0; ) {
          const n = Math.min(left, GAP_MAX_COUNT);
          out.push(encodeGapFrame({ kind: GapKind.SEQUENCE, fromSeq: from, count: n, reason: f.reason, repairedAtMs }));
          from += n;
          left -= n;
        }
        break;
      case 'gap_entity':
        for (let from = f.fromClock, left = f.count; left > 0; ) {
          const n = Math.min(left, GAP_MAX_COUNT);
          out.push(
            encodeGapFrame({
              kind: GapKind.ENTITY,
              entity: fromHex(f.entityHex),
              fromClock: from,
              count: n,
              resumeHash: fromHex(f.resumeHash),
              wallFloorMs: f.wallFloorMs,
              reason: f.reason,
              repairedAtMs,
            }),
          );
          from += n;
          left -= n;
        }
        break;
      case 'begin': {
        const b = new Uint8Array(MARKER_FRAME_BYTES);
        encodeBegin(b, 0, f.txnId, 0);
        out.push(b);
        break;
      }
      case 'abort': {
        const b = new Uint8Array(MARKER_FRAME_BYTES);
        out.push(b.subarray(0, encodeAbort(b, 0, f.txnId)));
        break;
      }
    }
  }
  return out;
}

/** Buffered sequential writer over a file descriptor. */
class ChunkWriter {
  private readonly buf = new Uint8Array(COPY_CHUNK_BYTES);
  private len = 0;
  position = 0;
  constructor(
    private readonly fs: FileSystem,
    private readonly fd: number,
    /** Called before each chunk of a copy; may throw to stop (an interrupt: the temp file is abandoned). */
    private readonly cancelPoint: () => void = () => {},
  ) {}
  write(bytes: Uint8Array): void {
    if (this.len + bytes.length > this.buf.length) this.flush();
    if (bytes.length > this.buf.length) {
      writeFully(this.fs, this.fd, bytes, 0, bytes.length, this.position);
      this.position += bytes.length;
      return;
    }
    this.buf.set(bytes, this.len);
    this.len += bytes.length;
  }
  /** Copies [start, end) of `src` through the buffer. */
  copy(src: number, start: number, end: number): void {
    for (let pos = start; pos < end; ) {
      this.cancelPoint();
      if (this.len === this.buf.length) this.flush();
      const n = Math.min(this.buf.length - this.len, end - pos);
      const got = readFully(this.fs, src, this.buf, this.len, n, pos);
      if (got !== n) throw Object.assign(new Error(`segment ended at byte ${pos + got}, expected ${end}`), { code: 'EIO' });
      this.len += n;
      pos += n;
    }
  }
  flush(): void {
    if (this.len === 0) return;
    writeFully(this.fs, this.fd, this.buf, 0, this.len, this.position);
    this.position += this.len;
    this.len = 0;
  }
  get size(): number {
    return this.position + this.len;
  }
}

/** Walks the copy of a segment that gets no footer: its frames, and how many are events. */
function readBack(fs: FileSystem, seg: SegmentPlan, tmp: string): { headerOk: boolean; fault: { offset: number; message: string } | null; frameEnd: number; events: number } {
  const out = { headerOk: true, fault: null as { offset: number; message: string } | null, frameEnd: 0, events: 0 };
  walkSegment(fs, { id: seg.id, path: tmp, name: seg.name }, 0, false, {
    onSegment(_s, _i, r) {
      out.headerOk = r.header.ok;
      out.frameEnd = r.frameEnd;
    },
    onFrame(r) {
      if (r.type === FrameType.EVENT) out.events++;
    },
    onFault(f) {
      out.fault ??= { offset: f.offset, message: f.detail };
    },
  });
  return out;
}

/** A repaired segment's temp file, written and checked, not yet fsynced (see the top of this file). */
export interface PendingTemp {
  path: string;
  /** The descriptor that wrote it: the one `syncTemp` fsyncs. */
  fd: number;
}

/** Asks for an early writeback of the temp file (never through its writer's descriptor: FileSystem.startWritebackOf). */
function hintWriteback(fs: FileSystem, t: PendingTemp): void {
  fs.startWritebackOf?.(t.path);
}

/** Makes the temp file durable (an fsync error surfaces here, before any rename) and closes it. */
export function syncTemp(fs: FileSystem, t: PendingTemp): void {
  fs.fsync(t.fd);
  closeTemp(fs, t);
}

/** Closes the temp file's descriptor (after `syncTemp`, or when the repair stops). */
export function closeTemp(fs: FileSystem, t: PendingTemp): void {
  const fd = t.fd;
  t.fd = -1;
  if (fd >= 0) fs.close(fd);
}

/**
 * Writes and checks the repaired segment; returns its temp file, still open, for the
 * caller to fsync (`syncTemp`) before any rename, or to close (`closeTemp`) and remove.
 * `cancelPoint` is called between chunks of the copy and between its steps (copy,
 * read-back, footer); it may throw to stop there, the temp file closed.
 */
export function writeRepairedSegment(fs: FileSystem, seg: SegmentPlan, repairedAtMs: number, cancelPoint: () => void = () => {}): PendingTemp {
  const tmp = `${seg.path}${REPAIR_TEMP_SUFFIX}`;
  const src = fs.open(seg.path, 'r');
  let t: PendingTemp;
  try {
    t = { path: tmp, fd: fs.open(tmp, 'w') };
  } catch (err) {
    fs.close(src);
    throw err;
  }
  try {
    let frameBytes: number;
    try {
      const w = new ChunkWriter(fs, t.fd, cancelPoint);
      if (seg.header) w.write(encodeSegmentHeader({ formatVersion: SEGMENT_FORMAT_VERSION, segmentId: seg.id, firstSeq: seg.header.firstSeq }));
      else w.copy(src, 0, SEGMENT_HEADER_BYTES);
      const end = seg.cutAt ? seg.cutAt.offset : seg.frameEnd;
      let pos = SEGMENT_HEADER_BYTES;
      for (const e of seg.edits) {
        if (e.start > pos) w.copy(src, pos, e.start);
        for (const f of encodePlannedFrames(e.frames, repairedAtMs)) w.write(f);
        pos = Math.max(pos, e.end);
      }
      if (end > pos) w.copy(src, pos, end);
      w.flush();
      frameBytes = w.size;
    } finally {
      fs.close(src);
    }
    hintWriteback(fs, t);
    cancelPoint();
    // read the copy back: nothing is renamed unless it checks out (and a sealed segment's footer is built from it)
    const built = seg.footerAfter === 'build' ? buildFooterFromFrames(fs, { id: seg.id, path: tmp, name: seg.name }) : null;
    const check = built ? { headerOk: built.headerOk, fault: built.fault, frameEnd: built.frameEnd, events: built.builder.entryCount } : readBack(fs, seg, tmp);
    const problem =
      !check.headerOk
        ? 'its header does not check out'
        : check.fault
          ? `at byte ${check.fault.offset}: ${check.fault.message}`
          : check.frameEnd !== frameBytes
            ? `its frames end at ${check.frameEnd}, not at ${frameBytes}`
            : check.events !== seg.eventFramesAfter
              ? `it holds ${check.events} events where ${seg.eventFramesAfter} were expected`
              : null;
    if (problem !== null) {
      throw new SeglogError('io', `the repaired copy of ${seg.name} does not check out (${problem}); nothing was renamed, the store is unchanged`, { file: tmp });
    }
    cancelPoint();
    if (built) {
      // in pieces, never one array: the entry table is the builder's own (~14 MB per 64 MiB segment)
      let at = frameBytes;
      for (const piece of built.builder.encodeParts(frameBytes)) {
        writeFully(fs, t.fd, piece, 0, piece.length, at);
        at += piece.length;
      }
      hintWriteback(fs, t);
    }
    return t;
  } catch (err) {
    if (!isCrash(err)) {
      try {
        closeTemp(fs, t);
      } catch {
        // the first error is the one to report
      }
    }
    throw err;
  }
}
