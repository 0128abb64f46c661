import { copyBytes } from '../format/bytes.js';
import { ev } from '../format/event.js';
import { FRAME_PREFIX_BYTES, FrameType } from '../format/frame.js';
import { markerTxnId } from '../format/marker.js';
import type { FileSystem } from './fs/types.js';
import type { SegmentReader } from './segment-reader.js';
import { type Fault, type SegmentFile, type WalkOptions, walkStore } from './walker.js';

/** Where an event's frame lives. */
export interface FrameLocation {
  segIndex: number;
  path: string;
  offset: number;
}

/**
 * Receives committed events in commit order: a standalone event at once, the items
 * of a transaction when its COMMIT is read. `buf[body, ...)` is the EVENT body,
 * valid only during the call.
 */
export type CommittedSink = (buf: Uint8Array, body: number, bodyBytes: number, loc: FrameLocation) => void;

interface Pending {
  frames: { bytes: Uint8Array; loc: FrameLocation }[];
}

/** Upper bound on bytes buffered for open transactions before the reader gives up. */
export const MAX_PENDING_TXN_BYTES = 512 * 1024 * 1024;

/**
 * Streams only what readers may see: whole committed transactions and standalone
 * events. Items of open transactions are buffered (copied) until their COMMIT; an
 * ABORT or the end of the log drops them. Memory grows with open transactions only.
 */
export function streamCommitted(
  fs: FileSystem,
  segments: SegmentFile[],
  sink: CommittedSink,
  opts: WalkOptions & {
    filter?: (buf: Uint8Array, body: number) => boolean;
    onFault?: (f: Fault) => void;
    /** At the start of each segment, before its frames are read (dump-verdicts.ts sets the reader's trusted CRCs). */
    onSegment?: (segIndex: number, r: SegmentReader) => void;
    /** Transactions already begun where the walk starts: a pruned store's base (engine/prune-base.ts). */
    openAtStart?: readonly number[];
  } = {},
): void {
  const open = new Map<number, Pending>();
  for (const txn of opts.openAtStart ?? []) open.set(txn, { frames: [] });
  let pendingBytes = 0;
  const filter = opts.filter;
  const onSegment = opts.onSegment;
  walkStore(
    fs,
    segments,
    {
      onSegment: onSegment ? (_seg, segIndex, r) => onSegment(segIndex, r) : undefined,
      onFrame(r: SegmentReader, segIndex: number) {
        const buf = r.buf;
        const b = r.bodyOff;
        switch (r.type) {
          case FrameType.EVENT: {
            const txn = ev.txnId(buf, b);
            if (txn === 0) {
              if (!filter || filter(buf, b)) sink(buf, b, r.bodyBytes, { segIndex, path: r.path, offset: r.frameOffset });
              return;
            }
            const p = open.get(txn);
            if (!p) return; // orphan: never visible
            if (filter && !filter(buf, b)) return;
            const bytes = copyBytes(buf, b - FRAME_PREFIX_BYTES, b + r.bodyBytes);
            pendingBytes += bytes.length;
            if (pendingBytes > MAX_PENDING_TXN_BYTES) {
              throw new Error(`open transactions hold over ${MAX_PENDING_TXN_BYTES} bytes at ${r.path}:${r.frameOffset}`);
            }
            p.frames.push({ bytes, loc: { segIndex, path: r.path, offset: r.frameOffset } });
            return;
          }
          case FrameType.BEGIN:
            open.set(markerTxnId(buf, b), { frames: [] });
            return;
          case FrameType.COMMIT: {
            const txn = markerTxnId(buf, b);
            const p = open.get(txn);
            if (!p) return;
            open.delete(txn);
            for (const f of p.frames) {
              pendingBytes -= f.bytes.length;
              sink(f.bytes, FRAME_PREFIX_BYTES, f.bytes.length - FRAME_PREFIX_BYTES, f.loc);
            }
            return;
          }
          case FrameType.ABORT: {
            const p = open.get(markerTxnId(buf, b));
            if (p) for (const f of p.frames) pendingBytes -= f.bytes.length;
            open.delete(markerTxnId(buf, b));
            return;
          }
          // GAP (a repair's record of lost events) carries no event: readers see nothing of it
          default:
            return;
        }
      },
      onFault: opts.onFault,
    },
    opts,
  );
}
