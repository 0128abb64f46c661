import { FrameStatus } from '../../format/frame.js';
import { SEGMENT_HEADER_BYTES } from '../../format/segment-header.js';
import type { FileSystem } from '../io/fs-types.js';
import { parseSegmentFileName } from '../io/layout.js';
import { SegmentReader } from './segment-reader.js';
import { join } from 'node:path';
import { footerHeadAt, frameEndOf } from './segment-end.js';

/** A segment file found in a store directory. */
export interface SegmentFile {
  id: number;
  path: string;
  name: string;
}

/** Segment files of a store, in id order. */
export function listSegments(fs: FileSystem, dir: string): SegmentFile[] {
  const out: SegmentFile[] = [];
  for (const name of fs.readdir(dir)) {
    const id = parseSegmentFileName(name);
    if (id !== null) out.push({ id, path: join(dir, name), name });
  }
  return out.sort((a, b) => a.id - b.id);
}

/**
 * What the walker met where frames stop being valid.
 * - torn: the tail of the active (last) segment: a crash's leftovers, cut by recovery.
 * - corrupt: a damaged range followed by valid frames, or any damage in a sealed segment.
 * - bad_header: the segment header does not check out.
 */
export interface Fault {
  kind: 'torn' | 'corrupt' | 'bad_header';
  segIndex: number;
  path: string;
  /** Byte offset of the first bad byte in that file. */
  offset: number;
  /** Where valid frames resume (or the end of the frames). */
  endOffset: number;
  status: FrameStatus | null;
  /** A single frame whose length was intact (its own length led to the next valid frame). */
  lengthIntact: boolean;
  detail: string;
}

export interface WalkVisitor {
  onSegment?(seg: SegmentFile, segIndex: number, reader: SegmentReader): void;
  /** Called for every valid frame, in file order; the reader's fields describe it. */
  onFrame(reader: SegmentReader, segIndex: number): void;
  onFault?(fault: Fault): void;
  /**
   * Frames stopped at the head of a SIDX footer whose trailer does not check out (see
   * segment-end.ts): [offset, fileSize) is a damaged index, not damaged frames, and
   * the walk of this segment ends there.
   */
  onDamagedFooter?(d: DamagedFooter): void;
  onSegmentEnd?(seg: SegmentFile, segIndex: number, reader: SegmentReader, validEnd: number): void;
}

export interface DamagedFooter {
  segIndex: number;
  path: string;
  /** Where the footer (and the end of the frames) starts. */
  offset: number;
  fileSize: number;
}

export interface WalkOptions {
  /** Whether the last segment is the active one (its tail may be torn); false for a lone file. */
  lastIsActive?: boolean;
  /** Stop early once this returns true (checked between segments and after damage). */
  shouldStop?: () => boolean;
  /**
   * Stop at once, mid-segment, once this returns true: checked every
   * CANCEL_CHECK_EVERY_FRAMES frames (an interrupt, a reached limit). The segment left
   * part-way gets no onSegmentEnd. `shouldStop` alone would walk (and CRC-check) the
   * rest of a 64 MiB segment first: ~0.1-0.2 s of a Ctrl-C's latency (issue 15).
   */
  cancelled?: () => boolean;
  /** Start here instead of the first segment's first frame (a frame boundary). */
  start?: { segmentId: number; offset: number };
  /** Read chunk of each segment's reader (default: `defaultReadChunkBytes()`). */
  readChunkBytes?: number;
}

/** How often `cancelled` is asked: a few microseconds of frames, so an interrupt is seen at once. */
export const CANCEL_CHECK_EVERY_FRAMES = 64;

const STATUS_TEXT: Record<number, string> = {
  [FrameStatus.Truncated]: 'frame runs past the end of the file',
  [FrameStatus.Zero]: 'zero bytes where a frame should start',
  [FrameStatus.BadFraming]: 'impossible frame length or unknown frame type',
  [FrameStatus.CrcMismatch]: 'frame checksum mismatch',
};

export function describeStatus(st: FrameStatus): string {
  return STATUS_TEXT[st] ?? `frame status ${st}`;
}

/** Walks every segment of a store in order. */
export function walkStore(fs: FileSystem, segments: SegmentFile[], visitor: WalkVisitor, opts: WalkOptions = {}): void {
  const lastIsActive = opts.lastIsActive ?? true;
  const start = opts.start;
  for (let i = 0; i < segments.length; i++) {
    if (start && segments[i]!.id < start.segmentId) continue;
    const from = start && segments[i]!.id === start.segmentId ? start.offset : undefined;
    walkSegment(fs, segments[i]!, i, lastIsActive && i === segments.length - 1, visitor, opts, from);
    if (opts.shouldStop?.() || opts.cancelled?.()) return;
  }
}

export function walkSegment(
  fs: FileSystem,
  seg: SegmentFile,
  segIndex: number,
  isActive: boolean,
  visitor: WalkVisitor,
  opts: WalkOptions = {},
  fromOffset?: number,
): void {
  const r = SegmentReader.open(fs, seg.path, { frameEnd: frameEndOf, chunkBytes: opts.readChunkBytes });
  try {
    visitor.onSegment?.(seg, segIndex, r);
    if (!r.header.ok) {
      const wholeFileTorn = isActive && (r.fileSize <= SEGMENT_HEADER_BYTES || resyncFrom(r, SEGMENT_HEADER_BYTES) === null);
      visitor.onFault?.({
        kind: wholeFileTorn ? 'torn' : 'bad_header',
        segIndex,
        path: seg.path,
        offset: 0,
        endOffset: wholeFileTorn ? r.fileSize : SEGMENT_HEADER_BYTES,
        status: null,
        lengthIntact: false,
        detail: r.header.message,
      });
      if (wholeFileTorn || r.fileSize < SEGMENT_HEADER_BYTES) {
        visitor.onSegmentEnd?.(seg, segIndex, r, 0);
        return;
      }
      r.pos = SEGMENT_HEADER_BYTES;
    }
    if (fromOffset !== undefined && fromOffset > r.pos) r.pos = Math.min(fromOffset, r.frameEnd);
    let validEnd = r.pos;
    const cancelled = opts.cancelled;
    let framesSinceCheck = 0;
    for (;;) {
      const st = r.next();
      if (st === FrameStatus.Valid) {
        visitor.onFrame(r, segIndex);
        validEnd = r.pos;
        if (cancelled !== undefined && ++framesSinceCheck >= CANCEL_CHECK_EVERY_FRAMES) {
          framesSinceCheck = 0;
          if (cancelled()) return;
        }
        continue;
      }
      if (st === FrameStatus.End) break;
      const bad = r.pos;
      if (st === FrameStatus.BadFraming && footerHeadAt(r, bad)) {
        visitor.onDamagedFooter?.({ segIndex, path: seg.path, offset: bad, fileSize: r.fileSize });
        break;
      }
      const claimed = r.claimedSize();
      // A zero region in the active segment is unwritten space: a torn tail, even if a
      // reordered later write survived beyond it (nothing past a hole was ever synced).
      let next = isActive && st === FrameStatus.Zero ? null : r.resync();
      // A bad last frame whose own length ends exactly at the end of the active segment
      // has no valid frame after it: a torn write (its last sector never made it), not
      // corruption. resync() returns frameEnd for it; found by `seglog drill` (torn mode).
      // Not behind a valid footer: a segment with a footer was sealed, so never torn.
      if (isActive && next === r.frameEnd && r.frameEnd === r.fileSize) next = null;
      const fault: Fault = {
        kind: next === null && isActive ? 'torn' : 'corrupt',
        segIndex,
        path: seg.path,
        offset: bad,
        endOffset: next ?? r.frameEnd,
        status: st,
        lengthIntact: next !== null && next === bad + claimed,
        detail: describeStatus(st),
      };
      visitor.onFault?.(fault);
      if (next === null) break;
      r.pos = next;
      if (opts.shouldStop?.()) break;
    }
    visitor.onSegmentEnd?.(seg, segIndex, r, validEnd);
  } finally {
    r.close();
  }
}

function resyncFrom(r: SegmentReader, offset: number): number | null {
  r.pos = offset;
  const st = r.next();
  if (st === FrameStatus.Valid) return r.frameOffset;
  if (st === FrameStatus.End) return null;
  return r.resync();
}
