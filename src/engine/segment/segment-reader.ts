import { readU32 } from '../../format/bytes.js';
import { CrcArena, crc32c, crcFastKernel } from '../../format/hash/crc32c.js';
import { checkFrame, type CrcOf, FRAME_PREFIX_BYTES, FrameStatus, type FrameSlot } from '../../format/frame.js';
import { decodeSegmentHeader, SEGMENT_HEADER_BYTES, type HeaderResult } from '../../format/segment-header.js';
import { SeglogError } from '../io/errors.js';
import type { FileSystem } from '../io/fs-types.js';
import { readFully } from '../io/fs-util.js';

/** Default read-buffer size: large reads, frames decoded in place. */
export const READ_CHUNK_BYTES = 4 * 1024 * 1024;
/** Bounds of a configured read chunk: small enough to cross in tests, never absurd. */
export const MIN_READ_CHUNK_BYTES = 64;
export const MAX_READ_CHUNK_BYTES = 256 * 1024 * 1024;

/**
 * The read chunk a reader uses when its caller names none: `READ_CHUNK_BYTES`, or the
 * environment's `SEGLOG_READ_CHUNK_BYTES` (so the CLI can be run with chunks small enough
 * for a small store's batches to cross them: the differential suites and the issue-12
 * regression fixture do), or what `setDefaultReadChunkBytes` set. A frame larger than
 * the chunk still reads: the buffer grows to hold it.
 */
let defaultChunkBytes: number | null = null;

function parseChunkBytes(text: string | undefined): number | null {
  if (text === undefined || text === '') return null;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < MIN_READ_CHUNK_BYTES || n > MAX_READ_CHUNK_BYTES) {
    throw new SeglogError('usage', `SEGLOG_READ_CHUNK_BYTES must be an integer from ${MIN_READ_CHUNK_BYTES} to ${MAX_READ_CHUNK_BYTES}, got '${text}'`);
  }
  return n;
}

export function defaultReadChunkBytes(): number {
  defaultChunkBytes ??= parseChunkBytes(process.env.SEGLOG_READ_CHUNK_BYTES) ?? READ_CHUNK_BYTES;
  return defaultChunkBytes;
}

/** Sets the default read chunk of every reader opened afterwards (engine option; tests). */
export function setDefaultReadChunkBytes(bytes: number): void {
  const n = parseChunkBytes(String(bytes));
  defaultChunkBytes = n ?? READ_CHUNK_BYTES;
}
/**
 * Files at least this large are read into a `CrcArena` (WebAssembly memory, CRC in
 * place); smaller ones into a plain Buffer, so the many tiny stores of tests and
 * simulations never reserve WebAssembly memories.
 */
export const ARENA_MIN_FILE_BYTES = 256 * 1024;
/** An `extendCrcTrust` answer: nothing further yet, ask again at the next frame. */
export const CRC_TRUST_LATER = -1;
/** Arenas kept for reuse after `close()`: each WebAssembly memory reserves address space. */
const ARENA_POOL_MAX = 4;
const arenaPool: CrcArena[] = [];

/** A pooled arena if there is one made with the kernel `SEGLOG_CRC_FAST` now selects (tests switch it in one process). */
function takeArena(sizeBytes: number): CrcArena {
  const a = arenaPool.pop();
  if (a && a.fast === crcFastKernel()) {
    a.grow(sizeBytes);
    return a;
  }
  return new CrcArena(sizeBytes);
}

/**
 * Streams the frames of one segment file through a reusable buffer. After `next()`
 * returns Valid, `buf[bodyOff, bodyOff + bodyBytes)` is the frame's body, valid
 * until the next call. Memory is bounded by the chunk size and the largest real
 * frame: a length field is never trusted beyond the bytes the file actually has.
 */
export class SegmentReader {
  buf: Uint8Array;
  private bufStart = 0;
  private bufLen = 0;
  /** File offset of the next frame to read (or of the bad frame after a failure). */
  pos: number;
  /** After Valid: file offset of the frame, its type, body position in `buf` and size. */
  frameOffset = 0;
  type = 0;
  bodyOff = 0;
  bodyBytes = 0;
  readonly slot: FrameSlot = { type: 0, length: 0, sizeBytes: 0 };
  readonly header: HeaderResult;
  private arena: CrcArena | null = null;
  private crcOf: CrcOf | undefined = undefined;
  /**
   * Frames that end at or before this file offset have CRCs already checked elsewhere
   * (verify's worker threads read the same bytes: verify-parallel.ts); they are not
   * checksummed again. 0: every frame is checked.
   */
  crcTrustedBelow = 0;
  /**
   * Asked for a further `crcTrustedBelow` when `pos` reaches it (verify's worker streams its
   * progress through a segment: verify-parallel.ts `stream`); an answer not past `pos`
   * means nothing more is coming, and it is not asked again, except CRC_TRUST_LATER:
   * nothing yet, this frame's CRC is checked here and it is asked again at the next frame
   * (dump, which does not wait for its worker: dump-verdicts.ts). null: not asked.
   */
  extendCrcTrust: ((pos: number) => number) | null = null;
  private readonly trustingCrcOf: CrcOf = (buf, start, end) =>
    this.bufStart + end <= this.crcTrustedBelow ? readU32(buf, start - 4) : (this.crcOf ?? crc32c)(buf, start, end);

  private constructor(
    private readonly fs: FileSystem,
    private readonly fd: number,
    readonly path: string,
    readonly fileSize: number,
    /** Frames stop here: the file size, or the start of a SIDX footer. */
    readonly frameEnd: number,
    chunkBytes: number,
  ) {
    const bufBytes = Math.min(chunkBytes, Math.max(fileSize, SEGMENT_HEADER_BYTES));
    if (fileSize >= ARENA_MIN_FILE_BYTES) {
      this.arena = takeArena(bufBytes);
      this.buf = this.arena.buf;
      this.crcOf = this.arena.crcOf;
    } else {
      this.buf = Buffer.allocUnsafe(bufBytes);
    }
    this.pos = SEGMENT_HEADER_BYTES;
    const head = new Uint8Array(Math.min(SEGMENT_HEADER_BYTES, fileSize));
    readFully(fs, fd, head, 0, head.length, 0);
    this.header = decodeSegmentHeader(head);
  }

  static open(
    fs: FileSystem,
    path: string,
    opts: { frameEnd?: (fs: FileSystem, fd: number, sizeBytes: number) => number; chunkBytes?: number } = {},
  ): SegmentReader {
    const fd = fs.open(path, 'r');
    try {
      const size = fs.fstat(fd).sizeBytes;
      const frameEnd = opts.frameEnd ? opts.frameEnd(fs, fd, size) : size;
      return new SegmentReader(fs, fd, path, size, frameEnd, opts.chunkBytes ?? defaultReadChunkBytes());
    } catch (err) {
      fs.close(fd);
      throw err;
    }
  }

  close(): void {
    const a = this.arena;
    this.arena = null;
    if (a && arenaPool.length < ARENA_POOL_MAX && a.buf.length <= READ_CHUNK_BYTES) arenaPool.push(a);
    this.fs.close(this.fd);
  }

  /** Makes buf hold [pos, pos + want) or up to frameEnd, whichever is less. */
  private ensure(want: number): void {
    const need = Math.min(want, this.frameEnd - this.pos);
    if (this.pos >= this.bufStart && this.pos + need <= this.bufStart + this.bufLen) return;
    if (need > this.buf.length) {
      const bytes = Math.max(need, this.buf.length * 2);
      if (this.arena) {
        this.arena.grow(bytes);
        this.buf = this.arena.buf;
      } else {
        this.buf = Buffer.allocUnsafe(bytes);
      }
      this.bufLen = 0;
    }
    // keep what we already have of [pos, ...) and read the rest after it
    let kept = 0;
    if (this.pos >= this.bufStart && this.pos < this.bufStart + this.bufLen) {
      kept = this.bufStart + this.bufLen - this.pos;
      this.buf.copyWithin(0, this.pos - this.bufStart, this.bufStart + this.bufLen - this.bufStart);
    }
    this.bufStart = this.pos;
    const room = Math.min(this.buf.length - kept, this.frameEnd - this.pos - kept);
    const got = room > 0 ? readFully(this.fs, this.fd, this.buf, kept, room, this.pos + kept) : 0;
    this.bufLen = kept + got;
  }

  /** Checks the frame at `pos`; on Valid fills the frame fields and advances `pos`. */
  next(): FrameStatus {
    if (this.pos >= this.frameEnd) return this.pos === this.frameEnd ? FrameStatus.End : FrameStatus.Truncated;
    if (this.extendCrcTrust !== null && this.pos >= this.crcTrustedBelow) this.askCrcTrust();
    this.ensure(FRAME_PREFIX_BYTES);
    let rel = this.pos - this.bufStart;
    let end = Math.min(this.bufLen, this.frameEnd - this.bufStart);
    let st = checkFrame(this.buf, rel, end, this.slot, this.pos < this.crcTrustedBelow ? this.trustingCrcOf : this.crcOf);
    if (st === FrameStatus.Truncated && this.bufStart + end < this.frameEnd) {
      // the frame continues past the buffer: load it whole (bounded by the file)
      this.ensure(Math.max(this.slot.sizeBytes, FRAME_PREFIX_BYTES));
      rel = this.pos - this.bufStart;
      end = Math.min(this.bufLen, this.frameEnd - this.bufStart);
      st = checkFrame(this.buf, rel, end, this.slot, this.pos < this.crcTrustedBelow ? this.trustingCrcOf : this.crcOf);
    }
    if (st !== FrameStatus.Valid) return st;
    this.frameOffset = this.pos;
    this.type = this.slot.type;
    this.bodyOff = rel + FRAME_PREFIX_BYTES;
    this.bodyBytes = this.slot.length - 1;
    this.pos += this.slot.sizeBytes;
    return st;
  }

  private askCrcTrust(): void {
    const below = this.extendCrcTrust!(this.pos);
    if (below > this.pos) this.crcTrustedBelow = below;
    else if (below !== CRC_TRUST_LATER) this.extendCrcTrust = null;
  }

  /** Size the frame at `pos` claims (meaningful when its length field is plausible). */
  claimedSize(): number {
    return this.slot.sizeBytes;
  }

  /**
   * Looks for the next valid frame after a bad one at `pos`: first exactly where the
   * bad frame's own length says the next one starts (a flipped bit inside a frame),
   * then byte by byte. Returns its offset (and moves `pos` there) or null.
   * Linear in the bytes skipped: every candidate is rejected on length and type
   * before any checksum is computed.
   */
  resync(): number | null {
    const bad = this.pos;
    const claimed = this.slot.sizeBytes;
    if (claimed > FRAME_PREFIX_BYTES && bad + claimed <= this.frameEnd) {
      this.pos = bad + claimed;
      if (this.pos === this.frameEnd) return this.pos;
      const st = this.next();
      if (st === FrameStatus.Valid) {
        this.pos = this.frameOffset;
        return this.pos;
      }
    }
    for (let p = bad + 1; p < this.frameEnd; p++) {
      this.pos = p;
      if (this.next() === FrameStatus.Valid) {
        this.pos = this.frameOffset;
        return p;
      }
    }
    this.pos = bad;
    return null;
  }

  /** Reads raw bytes of the file (for lost+found copies and hex dumps). */
  readRange(start: number, end: number): Uint8Array {
    const out = new Uint8Array(Math.max(0, end - start));
    readFully(this.fs, this.fd, out, 0, out.length, start);
    return out;
  }

  /** Reads the file's bytes [start, end) into out[0, end - start) (a reused buffer); returns the count read. */
  readRangeInto(out: Uint8Array, start: number, end: number): number {
    return readFully(this.fs, this.fd, out, 0, Math.max(0, Math.min(end - start, out.length)), start);
  }
}
