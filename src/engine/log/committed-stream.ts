import { copyBytes } from '../../format/bytes.js';
import { ev } from '../../format/event.js';
import { FRAME_PREFIX_BYTES, FrameType } from '../../format/frame.js';
import { markerCount, markerTxnId } from '../../format/marker.js';
import { type OpenTxn, TxnFold } from './txn-fold.js';
import type { FileSystem } from '../io/fs-types.js';
import type { SegmentReader } from '../segment/segment-reader.js';
import { type Fault, type SegmentFile, type WalkOptions, walkStore } from '../segment/walker.js';

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

/** An open transaction's items, copied until its COMMIT. */
interface Pending extends OpenTxn {
  frames: { bytes: Uint8Array; loc: FrameLocation }[];
  bytes: number;
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
  let pendingBytes = 0;
  const filter = opts.filter;
  const onSegment = opts.onSegment;
  const drop = (p: Pending): void => {
    pendingBytes -= p.bytes;
  };
  // the log's transaction rules (log/txn-fold.ts); this reader's policy: show committed items, drop the rest
  const fold = new TxnFold<Pending>({
    create: (txnId, declared, segIndex, offset) => ({ txnId, segIndex, offset, items: 0, declared, frames: [], bytes: 0 }),
    begunAgain: (prev) => {
      drop(prev);
      return true;
    },
    orphan: () => false, // never visible
    endWithoutBegin: () => false,
    countMismatch: () => {}, // shown whole, as a read-write open counts it (docs/FORMAT.md 4.1)
    committed: (p) => {
      drop(p);
      for (const f of p.frames) sink(f.bytes, FRAME_PREFIX_BYTES, f.bytes.length - FRAME_PREFIX_BYTES, f.loc);
    },
    aborted: drop,
    incomplete: drop,
  }, beganBefore(opts.openAtStart));
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
            const p = fold.event(txn, segIndex, r.frameOffset);
            if (p === null) {
              // standalone (orphans are never visible)
              if (txn === 0 && (!filter || filter(buf, b))) sink(buf, b, r.bodyBytes, { segIndex, path: r.path, offset: r.frameOffset });
              return;
            }
            if (filter && !filter(buf, b)) return;
            const bytes = copyBytes(buf, b - FRAME_PREFIX_BYTES, b + r.bodyBytes);
            pendingBytes += bytes.length;
            p.bytes += bytes.length;
            if (pendingBytes > MAX_PENDING_TXN_BYTES) {
              throw new Error(`open transactions hold over ${MAX_PENDING_TXN_BYTES} bytes at ${r.path}:${r.frameOffset}`);
            }
            p.frames.push({ bytes, loc: { segIndex, path: r.path, offset: r.frameOffset } });
            return;
          }
          case FrameType.BEGIN:
          case FrameType.COMMIT:
          case FrameType.ABORT:
            fold.marker(r.type, markerTxnId(buf, b), markerCount(buf, b), segIndex, r.frameOffset);
            return;
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

/** The transactions a pruned store's base says were begun before its first segment (their BEGINs are gone). */
function beganBefore(txnIds: readonly number[] = []): Map<number, Pending> {
  const open = new Map<number, Pending>();
  for (const txnId of txnIds) open.set(txnId, { txnId, segIndex: 0, offset: 0, items: 0, declared: 0, frames: [], bytes: 0 });
  return open;
}
