/**
 * The store's read side: committed events by region (through the committed stream),
 * by event id and along an entity's chain (indexes built on first use, kept current by
 * the write path through `indexNew`, dropped by `invalidate` when frames move).
 */
import { HASH_BYTES } from '../../format/hash/blake3.js';
import { toHex } from '../../format/bytes.js';
import { decodeEvent, type DecodedEvent, ev, EV } from '../../format/event.js';
import { FRAME_HEADER_BYTES, FRAME_PREFIX_BYTES, MAX_FRAME_LENGTH } from '../../format/frame.js';
import { type FrameLocation, streamCommitted } from '../log/committed-stream.js';
import type { FileSystem } from '../io/fs-types.js';
import { readFully } from '../io/fs-util.js';
import { compileRegion, type Region } from '../log/region.js';
import { baseOpenTxnIds, liveSegments } from '../segment/prune-base.js';
import type { SegmentFile } from '../segment/walker.js';

export class ReadView {
  private idIndex: Map<string, FrameLocation> | null = null;
  private hashIndex: Map<string, FrameLocation> | null = null;

  constructor(
    private readonly fs: FileSystem,
    private readonly dir: string,
  ) {}

  /** Forgets the indexes (a rollback or a cut moved frames); the next lookup rebuilds them. */
  invalidate(): void {
    this.idIndex = null;
    this.hashIndex = null;
  }

  /** The segments readers walk: those at or after the base of a pruned store. */
  private segmentFiles(): SegmentFile[] {
    return liveSegments(this.fs, this.dir);
  }

  /** Committed events matching the region, in commit order. */
  query(region: Region = {}, limit = Number.MAX_SAFE_INTEGER): DecodedEvent[] {
    const out: DecodedEvent[] = [];
    this.scan(region, (e) => {
      out.push(e);
      return out.length < limit;
    });
    return out;
  }

  /** Streams committed events matching the region; return false from `fn` to stop. */
  scan(region: Region, fn: (e: DecodedEvent) => boolean | void): void {
    const test = compileRegion(region);
    let stop = false;
    streamCommitted(
      this.fs,
      this.segmentFiles(),
      (buf, b) => {
        if (stop) return;
        if (fn(decodeEvent(buf, b)) === false) stop = true;
      },
      { filter: test, shouldStop: () => stop, lastIsActive: true, openAtStart: baseOpenTxnIds(this.fs, this.dir) },
    );
  }

  get(eventId: string): DecodedEvent | null {
    const loc = this.indexes().ids.get(eventId.toLowerCase());
    return loc ? this.readAt(loc) : null;
  }

  /** The event and its ancestors along the entity chain, newest first, at most `limit`. */
  walkAncestors(eventId: string, limit = 1000): DecodedEvent[] {
    const out: DecodedEvent[] = [];
    let cur = this.get(eventId);
    const { hashes } = this.indexes();
    while (cur && out.length < limit) {
      out.push(cur);
      if (/^0+$/.test(cur.prevHash)) break;
      const loc = hashes.get(cur.prevHash);
      cur = loc ? this.readAt(loc) : null;
    }
    return out;
  }

  private indexes(): { ids: Map<string, FrameLocation>; hashes: Map<string, FrameLocation> } {
    if (!this.idIndex || !this.hashIndex) {
      const ids = new Map<string, FrameLocation>();
      const hashes = new Map<string, FrameLocation>();
      streamCommitted(this.fs, this.segmentFiles(), (buf, b, _n, loc) => {
        ids.set(decodeEventId(buf, b), loc);
        const hs = ev.hashStart(buf, b);
        hashes.set(toHex(buf, hs, hs + HASH_BYTES), loc);
      }, { filter: () => true, openAtStart: baseOpenTxnIds(this.fs, this.dir) });
      this.idIndex = ids;
      this.hashIndex = hashes;
    }
    return { ids: this.idIndex, hashes: this.hashIndex };
  }

  /** Adds an event just written to the indexes, when they were built. */
  indexNew(buf: Uint8Array, b: number, loc: FrameLocation): void {
    if (!this.idIndex || !this.hashIndex) return;
    this.idIndex.set(decodeEventId(buf, b), loc);
    const hs = ev.hashStart(buf, b);
    this.hashIndex.set(toHex(buf, hs, hs + HASH_BYTES), loc);
  }

  private readAt(loc: FrameLocation): DecodedEvent {
    return decodeEvent(readFrameAt(this.fs, loc), FRAME_PREFIX_BYTES);
  }

}

function decodeEventId(buf: Uint8Array, b: number): string {
  const h = toHex(buf, b + EV.ID, b + EV.ID + 16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** The whole frame at `loc` (its length field read first, capped at the largest frame). */
export function readFrameAt(fs: FileSystem, loc: FrameLocation): Uint8Array {
  const fd = fs.open(loc.path, 'r');
  try {
    const head = new Uint8Array(FRAME_PREFIX_BYTES);
    readFully(fs, fd, head, 0, head.length, loc.offset);
    const length = head[0]! | (head[1]! << 8) | (head[2]! << 16) | (head[3]! << 24);
    const frame = new Uint8Array(FRAME_HEADER_BYTES + Math.min(length >>> 0, MAX_FRAME_LENGTH));
    readFully(fs, fd, frame, 0, frame.length, loc.offset);
    return frame;
  } finally {
    fs.close(fd);
  }
}
