import { encodeSegmentHeader, SEGMENT_FORMAT_VERSION, SEGMENT_HEADER_BYTES } from '../../format/segment-header.js';
import { type BackgroundWriter, type ChunkFrames, type FileSystem, isCrash, shortWrite } from '../io/fs-types.js';
import { writeFully } from '../io/fs-util.js';
import { segmentFileName } from '../io/layout.js';
import { join } from 'node:path';

export interface ActiveSegment {
  id: number;
  path: string;
  fd: number;
  /** Write position: the segment's size as far as this writer knows. */
  sizeBytes: number;
  firstSeq: number;
  /** Whether any frame sits in the segment (a frame never rotates out of an empty segment). */
  hasFrames: boolean;
}

/** Called when a segment is sealed (fsynced and closed): footers plug in here. */
export type SealHook = (fs: FileSystem, seg: { id: number; path: string; fd: number; sizeBytes: number }) => void;

/**
 * Owns the active segment file: positioned writes, fsync, rotation at the size cap.
 * Rotation seals the old segment (fsync, then the seal hook) before the new segment
 * is created and its name made durable, so no write can outlive its predecessor.
 */
export class SegmentWriter {
  active: ActiveSegment;
  /** Segments created since `mark()`, for rollback. */
  private created: number[] = [];
  private dirty = false;
  /** Bulk chunks' writes on another thread (writeLater); undefined until first asked, null: none here. */
  private behind: BackgroundWriter | null | undefined = undefined;

  constructor(
    private readonly fs: FileSystem,
    private readonly dir: string,
    private readonly segmentMaxBytes: number,
    active: ActiveSegment,
    private readonly onSeal: SealHook | null,
  ) {
    this.active = active;
  }

  static createSegment(fs: FileSystem, dir: string, id: number, firstSeq: number): ActiveSegment {
    const path = join(dir, segmentFileName(id));
    const fd = fs.open(path, 'wx');
    try {
      const header = encodeSegmentHeader({ formatVersion: SEGMENT_FORMAT_VERSION, segmentId: id, firstSeq });
      writeFully(fs, fd, header, 0, header.length, 0);
      fs.fsync(fd);
      fs.fsyncDir(dir);
    } catch (err) {
      // A half-made segment must not stay: the retry's open 'wx' would fail on it for
      // good (found by test/engine/faults-misc.test.ts). Best effort: recovery also
      // copes with a header-only or empty last segment a crash leaves here.
      if (!isCrash(err)) {
        try {
          fs.close(fd);
          fs.unlink(path);
        } catch {
          // keep the original error
        }
      }
      throw err;
    }
    return { id, path, fd, sizeBytes: SEGMENT_HEADER_BYTES, firstSeq, hasFrames: false };
  }

  /** Rotates first if `frameBytes` would push a non-empty segment past the cap. */
  ensureRoom(frameBytes: number, nextSeq: number): void {
    const a = this.active;
    if (a.hasFrames && a.sizeBytes + frameBytes > this.segmentMaxBytes) this.rotate(nextSeq);
  }

  rotate(nextSeq: number): void {
    const old = this.active;
    this.seal(old);
    let next: ActiveSegment;
    try {
      next = SegmentWriter.createSegment(this.fs, this.dir, old.id + 1, nextSeq);
    } catch (err) {
      // The old segment is sealed and its descriptor closed: reopen it as the active one,
      // or the caller's rollback truncates a closed descriptor, fails, and the frames of
      // the failed write written before the rotation stay visible (found by
      // test/engine/faults-misc.test.ts: a multi-segment raw write of `fixture build`).
      if (!isCrash(err)) {
        try {
          this.active = { ...old, fd: this.fs.open(old.path, 'r+') };
        } catch {
          // the rollback will fail on the closed descriptor and the store refuses writes
        }
      }
      throw err;
    }
    this.active = next;
    this.created.push(next.id);
  }

  private seal(seg: ActiveSegment): void {
    this.settle();
    this.fs.fsync(seg.fd);
    this.onSeal?.(this.fs, seg);
    this.fs.close(seg.fd);
  }

  write(buf: Uint8Array, off: number, len: number, frames: number): void {
    this.settle();
    const a = this.active;
    // One write call, never a retried remainder: a frame put together from several
    // writes can lose a middle piece to a power cut while later frames survive, and
    // recovery cannot tell that from corruption (found by the seeded simulation, seed
    // 12453, reorder mode). A short write fails the write; the caller rolls back.
    const written = this.fs.write(a.fd, buf, off, len, a.sizeBytes);
    if (written !== len) {
      this.dirty = true;
      throw shortWrite(written, len, a.path);
    }
    a.sizeBytes += len;
    if (frames > 0) a.hasFrames = true;
    this.dirty = true;
  }

  /**
   * `write`, except that the bytes may reach the file later, from another thread
   * (FileSystem.writeBehind: bulk chunks, issue 18 round five): they are copied, so `buf`
   * may be reused at once. Every other method here waits for them first (`settle`), so an
   * fsync, a seal, a rotation or a synchronous write never overtakes them. A failed write
   * is thrown by whichever call comes next. `crcFrames`: whole frames whose CRCs that
   * thread writes first; `frames`: their chain hashes to complete first, and a call once written
   * (ChunkFrames). Returns false, having queued nothing, when there is no such
   * thread or the bytes do not fit its buffers: the caller then writes them (`write`).
   */
  writeLater(buf: Uint8Array, off: number, len: number, crcFrames: boolean, frames: ChunkFrames): boolean {
    if (this.behind === undefined) this.behind = this.fs.writeBehind?.() ?? null;
    const a = this.active;
    if (this.behind === null || !this.behind.write(a.fd, a.path, buf, off, len, a.sizeBytes, crcFrames, frames)) return false;
    a.sizeBytes += len;
    if (frames.count > 0) a.hasFrames = true;
    this.dirty = true;
    return true;
  }

  /** Takes a write-behind thread started warm (FileSystem.writeBehind(true)), if there is one and none yet. */
  startWarmWriteBehind(): void {
    if (this.behind === undefined) this.behind = this.fs.writeBehind?.(true) ?? undefined;
  }

  /** Whether `writeLater` has a thread to hand writes to (it is started by the first writeLater, or warm). */
  get writesBehind(): boolean {
    return this.behind !== undefined && this.behind !== null;
  }

  /** The chain table of the thread `writeLater` hands writes to (ChunkFrames.codes), or null: no thread (yet). */
  get chainTable(): Uint8Array | null {
    return this.behind ? this.behind.chainTable : null;
  }

  /**
   * The buffer the next `writeLater` copies into (BackgroundWriter.nextBuffer), for the
   * caller to fill in place; null without a thread.
   */
  nextChunkBuffer(): Uint8Array | null {
    return this.behind ? this.behind.nextBuffer() : null;
  }

  /** Waits for the writes `writeLater` queued; throws the first failure. */
  settle(): void {
    this.behind?.drain();
  }

  /**
   * Asks the filesystem to start writing the active segment's data out (a hint:
   * FileSystem.startWritebackOf, through a descriptor of its own, so that this writer's
   * fsync still reports a write-back error the hint met).
   */
  startWriteback(): void {
    this.fs.startWritebackOf?.(this.active.path);
  }

  fsync(): void {
    this.settle();
    if (!this.dirty) return;
    this.fs.fsync(this.active.fd);
    this.dirty = false;
  }

  /** A point to roll back to if a write fails. */
  mark(): { id: number; sizeBytes: number; hasFrames: boolean } {
    this.created = [];
    return { id: this.active.id, sizeBytes: this.active.sizeBytes, hasFrames: this.active.hasFrames };
  }

  /**
   * Undoes everything written since `mark`: removes segments created since, reopens
   * the marked one and truncates it back. Throws if the filesystem refuses; the
   * caller then treats the store as unusable until reopened (recovery cleans up).
   */
  rollback(m: { id: number; sizeBytes: number; hasFrames: boolean }): void {
    this.settle();
    if (this.active.id !== m.id) {
      this.fs.close(this.active.fd);
      for (const id of this.created) this.fs.unlink(join(this.dir, segmentFileName(id)));
      this.fs.fsyncDir(this.dir);
      const path = join(this.dir, segmentFileName(m.id));
      this.active = { id: m.id, path, fd: this.fs.open(path, 'r+'), sizeBytes: m.sizeBytes, firstSeq: 0, hasFrames: m.hasFrames };
    }
    this.fs.truncate(this.active.fd, m.sizeBytes);
    this.fs.fsync(this.active.fd);
    this.active.sizeBytes = m.sizeBytes;
    this.active.hasFrames = m.hasFrames;
    this.created = [];
  }

  /** Clean close: fsync and seal the active segment. */
  close(): void {
    this.seal(this.active);
    this.behind?.close();
  }

  /** Close without sealing (a dying process: nothing more reaches the disk). */
  abandon(): void {
    // no write may land once the descriptor is closed (its number can name the next file opened)
    this.behind?.abandon();
    try {
      this.fs.close(this.active.fd);
    } catch {
      // the descriptor may already be gone with a simulated crash
    }
  }
}

