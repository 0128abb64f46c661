/**
 * How `sidx strip` and `sidx rebuild` (sidx-maintenance.ts) replace segment files:
 * through temp files, fsyncs and renames, never in place (docs/DECISIONS.md, issue 18).
 */
import { dirname } from 'node:path';
import type { FileSystem } from '../engine/io/fs-types.js';
import { readFully, writeFully } from '../engine/io/fs-util.js';

/** Copy buffer for rewriting a segment (frames are copied, never re-encoded). */
const COPY_CHUNK_BYTES = 8 * 1024 * 1024;
/** Temp files kept open for their fsync at the commit (SegmentReplacements); beyond, the oldest is fsynced at once. */
const MAX_OPEN_TEMPS = 16;

/**
 * Replaces segments by their first `frameEnd` bytes plus a footer, crash-safely: each new
 * file is written to `<segment>.tmp` and fsynced; `commit` then renames each over its
 * segment and fsyncs the directories. Every fsync comes before the first rename, so an
 * fsync error fails the run with every segment as it was. A crash before a rename leaves
 * that segment as it was (and a stray `.tmp` nothing reads); a failure removes the temp
 * files not yet renamed.
 *
 * The frames are copied inside the kernel where the filesystem can (FileSystem.copyFile:
 * copy_file_range, about twice as fast as reading and writing them here), else through one
 * reused buffer. The disk works while the next segment is scanned: once a temp file is written, its
 * write-back is started in the background (FileSystem.startWritebackOf, a hint through a
 * descriptor of its own), and its fsync waits for the commit (or, with MAX_OPEN_TEMPS
 * files open, for the next file's turn), through the descriptor that wrote it, kept open until then: a
 * write-back error the hint met is reported to that descriptor's fsync, never to one
 * opened after the error (fs-types.ts).
 */
export class SegmentReplacements {
  /** The temp files written; `fd` is the descriptor that wrote one, open until its fsync. */
  private readonly temps: { tmp: string; path: string; fd: number | null }[] = [];
  private copyBuf = new Uint8Array(0);

  constructor(
    private readonly fs: FileSystem,
    private readonly cancelPoint: () => void = () => {},
    private readonly maxOpenTemps = MAX_OPEN_TEMPS,
  ) {}

  write(path: string, frameEnd: number, footer: Uint8Array[] | null): void {
    const fs = this.fs;
    const tmp = `${path}.tmp`;
    // bounded descriptors: the oldest temp file's write-back has had the most time to get done
    // (an fsync error here reaches the caller, which abandons every temp file)
    while (this.temps.filter((t) => t.fd !== null).length >= Math.max(1, this.maxOpenTemps)) this.syncOldest();
    // the descriptor every byte of the temp file goes through (or, for a kernel copy, opened
    // before it): its fsync reports any write-back error of the file (fs-types.ts)
    const dst = fs.open(tmp, 'w');
    const entry = { tmp, path, fd: dst as number | null };
    this.temps.push(entry);
    this.cancelPoint();
    const copied = fs.copyFile?.(path, tmp) ?? null;
    if (copied === null) {
      this.copyFrames(path, dst, frameEnd);
    } else {
      if (copied < frameEnd) throw Object.assign(new Error(`${path} ended at byte ${copied}, before its frames did`), { code: 'EIO' });
      // a footer that was there (damaged, or not the one the frames call for)
      if (copied > frameEnd) fs.truncate(dst, frameEnd);
    }
    let at = frameEnd;
    for (const x of footer ?? []) {
      writeFully(fs, dst, x, 0, x.length, at);
      at += x.length;
    }
    fs.startWritebackOf?.(tmp);
  }

  /** The first `frameEnd` bytes of `path` into `dst`, through one reused buffer. */
  private copyFrames(path: string, dst: number, frameEnd: number): void {
    const fs = this.fs;
    const src = fs.open(path, 'r');
    try {
      // one buffer for every copy: fresh pages cost a fault each on first write
      if (this.copyBuf.length < Math.min(COPY_CHUNK_BYTES, frameEnd)) this.copyBuf = new Uint8Array(Math.min(COPY_CHUNK_BYTES, frameEnd));
      const buf = this.copyBuf.length > 0 ? this.copyBuf : new Uint8Array(1);
      let pos = 0;
      while (pos < frameEnd) {
        this.cancelPoint();
        const n = readFully(fs, src, buf, 0, Math.min(buf.length, frameEnd - pos), pos);
        if (n === 0) throw Object.assign(new Error(`${path} ended at byte ${pos}, before its frames did`), { code: 'EIO' });
        writeFully(fs, dst, buf, 0, n, pos);
        pos += n;
      }
    } finally {
      fs.close(src);
    }
  }

  /** Fsyncs and closes the oldest temp file still open, through the descriptor that wrote it; false when none is. */
  private syncOldest(): boolean {
    const t = this.temps.find((x) => x.fd !== null);
    if (t === undefined) return false;
    const fd = t.fd!;
    this.fs.fsync(fd);
    t.fd = null;
    this.fs.close(fd);
    return true;
  }

  commit(): void {
    const fs = this.fs;
    try {
      while (this.syncOldest());
    } catch (err) {
      this.abandon();
      throw err;
    }
    const dirs = new Set<string>();
    try {
      while (this.temps.length > 0) {
        const t = this.temps[0]!;
        fs.rename(t.tmp, t.path);
        this.temps.shift();
        dirs.add(dirname(t.path));
      }
    } catch (err) {
      // the temp files not renamed yet would stay behind as debris
      this.abandon();
      throw err;
    }
    for (const d of dirs) fs.fsyncDir(d);
  }

  /** Removes the temp files written so far (best effort: the originals are untouched). */
  abandon(): void {
    for (const t of this.temps.splice(0)) {
      try {
        if (t.fd !== null) this.fs.close(t.fd);
      } catch {
        // the descriptor is gone either way
      }
      try {
        this.fs.unlink(t.tmp);
      } catch {
        // already gone, or the filesystem is failing: a stray .tmp is harmless
      }
    }
  }
}
