/**
 * Archives of pruned segments (`prune --archive DIR`, docs/FORMAT.md section 11.2): the
 * segment files, byte for byte, with `manifest.json` naming each one's size, first and
 * last sequence and BLAKE3-256; and `base` when the archive itself starts after an
 * earlier prune. `verify --archive` and `dump --archive` read the archive and the live
 * store as one log; a file that does not match the manifest is an error naming it.
 */
import { join } from 'node:path';
import type { IHasher } from 'hash-wasm';
import { toHex } from '../format/bytes.js';
import type { PruneBase } from '../format/base.js';
import { decodeBase } from '../format/base.js';
import { ioError, SeglogError } from '../engine/io/errors.js';
import { type FileSystem, isFsError } from '../engine/io/fs-types.js';
import { ensureDir, exists, readFully, readWhole, writeFileAtomic, writeFully } from '../engine/io/fs-util.js';
import { parseSegmentFileName, segmentFileName } from '../engine/io/layout.js';
import { basePath, loadBase, segmentsFromBase } from '../engine/segment/prune-base.js';
import { listSegments, type SegmentFile } from '../engine/segment/walker.js';

export const ARCHIVE_MANIFEST = 'manifest.json';
const ARCHIVE_FORMAT = 'seglog-archive';
const ARCHIVE_VERSION = 1;
/** Copy and hash buffer. */
const COPY_CHUNK_BYTES = 4 * 1024 * 1024;
const MANIFEST_MAX_BYTES = 64 * 1024 * 1024;

export interface ArchivedSegment {
  segment: string;
  sizeBytes: number;
  firstSeq: number;
  lastSeq: number;
  blake3: string;
}

export interface ArchiveManifest {
  format: typeof ARCHIVE_FORMAT;
  version: number;
  /** Whether the archive starts after an earlier prune: its `base` file is the state before its first segment. */
  hasBase: boolean;
  segments: ArchivedSegment[];
}

export interface ArchiveResult {
  dir: string;
  manifest: string;
  archived: ArchivedSegment[];
}

function manifestPath(dir: string): string {
  return join(dir, ARCHIVE_MANIFEST);
}

export function readManifest(fs: FileSystem, dir: string): ArchiveManifest | null {
  const path = manifestPath(dir);
  let text: string;
  try {
    text = Buffer.from(readWhole(fs, path, MANIFEST_MAX_BYTES)).toString('utf8');
  } catch (err) {
    if (isFsError(err, 'ENOENT')) return null;
    throw ioError(err, path, 'read the archive manifest');
  }
  let m: ArchiveManifest;
  try {
    m = JSON.parse(text) as ArchiveManifest;
  } catch {
    throw new SeglogError('corrupt', 'archive manifest is not JSON', { file: path });
  }
  if (m.format !== ARCHIVE_FORMAT || m.version !== ARCHIVE_VERSION || !Array.isArray(m.segments)) {
    throw new SeglogError('corrupt', 'not a seglog archive manifest (format or version)', { file: path });
  }
  for (const s of m.segments) {
    if (typeof s.segment !== 'string' || parseSegmentFileName(s.segment) === null || !Number.isSafeInteger(s.sizeBytes) || typeof s.blake3 !== 'string') {
      throw new SeglogError('corrupt', `archive manifest entry is malformed: ${JSON.stringify(s).slice(0, 200)}`, { file: path });
    }
  }
  return m;
}

/** Copies `from` to `to` (temp file, fsync, rename), returning its BLAKE3 in hex. */
function copyHashed(fs: FileSystem, from: string, to: string, h: IHasher): { sizeBytes: number; blake3: string } {
  const buf = new Uint8Array(COPY_CHUNK_BYTES);
  const tmp = `${to}.tmp`;
  const src = fs.open(from, 'r');
  let size = 0;
  try {
    const dst = fs.open(tmp, 'w');
    try {
      h.init();
      for (;;) {
        const n = readFully(fs, src, buf, 0, buf.length, size);
        if (n === 0) break;
        h.update(buf.subarray(0, n));
        writeFully(fs, dst, buf, 0, n, size);
        size += n;
        if (n < buf.length) break;
      }
      fs.fsync(dst);
    } finally {
      fs.close(dst);
    }
  } finally {
    fs.close(src);
  }
  fs.rename(tmp, to);
  return { sizeBytes: size, blake3: toHex(h.digest('binary')) };
}

/** BLAKE3 and size of a file, streamed. */
function hashFile(fs: FileSystem, path: string, h: IHasher): { sizeBytes: number; blake3: string } {
  const buf = new Uint8Array(COPY_CHUNK_BYTES);
  const fd = fs.open(path, 'r');
  let size = 0;
  try {
    h.init();
    for (;;) {
      const n = readFully(fs, fd, buf, 0, buf.length, size);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
      size += n;
      if (n < buf.length) break;
    }
  } finally {
    fs.close(fd);
  }
  return { sizeBytes: size, blake3: toHex(h.digest('binary')) };
}

/**
 * Copies the segments to prune into the archive and records them in its manifest, all
 * durable before the caller removes anything. Refuses an archive that would not be one
 * contiguous run of segments.
 */
export function archiveSegments(
  fs: FileSystem,
  storeDir: string,
  archiveDir: string,
  planned: { name: string; id: number; firstSeq: number; lastSeq: number }[],
  files: SegmentFile[],
  storeBase: PruneBase | null,
  h: IHasher,
): ArchiveResult {
  try {
    ensureDir(fs, archiveDir);
  } catch (err) {
    throw ioError(err, archiveDir, 'create the archive directory');
  }
  const existing = readManifest(fs, archiveDir);
  const first = planned[0]!;
  if (existing && existing.segments.length > 0) {
    const firstArchived = parseSegmentFileName(existing.segments[0]!.segment)!;
    const last = parseSegmentFileName(existing.segments[existing.segments.length - 1]!.segment)!;
    if (first.id > last + 1 || first.id < firstArchived) {
      throw new SeglogError('usage', `the archive holds segments ${firstArchived} to ${last} and this prune starts at ${first.id}: an archive holds one contiguous run of segments (use another directory)`, { file: archiveDir });
    }
    // a prune a crash interrupted after archiving: the files still in the store are copied again
    existing.segments = existing.segments.filter((s) => parseSegmentFileName(s.segment)! < first.id);
  }
  const manifest: ArchiveManifest = existing ?? { format: ARCHIVE_FORMAT, version: ARCHIVE_VERSION, hasBase: storeBase !== null, segments: [] };
  try {
    if (!existing && storeBase !== null) writeFileAtomic(fs, basePath(archiveDir), readWhole(fs, basePath(storeDir)));
    const archived: ArchivedSegment[] = [];
    planned.forEach((p, i) => {
      const c = copyHashed(fs, files[i]!.path, join(archiveDir, p.name), h);
      archived.push({ segment: p.name, sizeBytes: c.sizeBytes, firstSeq: p.firstSeq, lastSeq: p.lastSeq, blake3: c.blake3 });
    });
    fs.fsyncDir(archiveDir);
    manifest.segments.push(...archived);
    writeFileAtomic(fs, manifestPath(archiveDir), Buffer.from(`${JSON.stringify(manifest, null, 1)}\n`, 'utf8'));
    return { dir: archiveDir, manifest: manifestPath(archiveDir), archived };
  } catch (err) {
    if (err instanceof SeglogError) throw err;
    throw ioError(err, archiveDir, 'write the archive');
  }
}

export interface ArchiveView {
  /** Archived segments then live ones, one log in id order. */
  segments: SegmentFile[];
  /** Where the combined log starts (the archive's base), or null: from sequence 0. */
  base: PruneBase | null;
}

/**
 * The archive and the live store as one log, after checking every archived file
 * against the manifest (size and BLAKE3): a mismatch is an error naming the file.
 */
export function archiveView(fs: FileSystem, archiveDir: string, storeDir: string, h: IHasher): ArchiveView {
  const m = readManifest(fs, archiveDir);
  if (m === null) {
    if (!exists(fs, archiveDir)) throw new SeglogError('not_found', 'no such archive directory', { file: archiveDir });
    throw new SeglogError('not_found', 'not a seglog archive (no manifest.json)', { file: archiveDir });
  }
  const archived: SegmentFile[] = [];
  let prev = -1;
  for (const s of m.segments) {
    const path = join(archiveDir, s.segment);
    const id = parseSegmentFileName(s.segment)!;
    if (prev >= 0 && id !== prev + 1) throw new SeglogError('corrupt', `archive manifest skips from segment ${prev} to ${id}`, { file: manifestPath(archiveDir) });
    prev = id;
    let got;
    try {
      got = hashFile(fs, path, h);
    } catch (err) {
      if (isFsError(err, 'ENOENT')) throw new SeglogError('corrupt', 'archived segment named in the manifest is missing', { file: path });
      throw ioError(err, path, 'read an archived segment');
    }
    if (got.sizeBytes !== s.sizeBytes) throw new SeglogError('corrupt', `archived segment is ${got.sizeBytes} bytes, the manifest says ${s.sizeBytes}`, { file: path });
    if (got.blake3 !== s.blake3) throw new SeglogError('corrupt', 'archived segment does not match the BLAKE3 in the manifest', { file: path });
    archived.push({ id, path, name: s.segment });
  }
  let base: PruneBase | null = null;
  if (m.hasBase) {
    const b = decodeBase(readWhole(fs, basePath(archiveDir)));
    if (typeof b === 'string') throw new SeglogError('corrupt', `archive base is damaged: ${b}`, { file: basePath(archiveDir) });
    base = b;
  }
  const liveBase = loadBase(fs, storeDir);
  const live = segmentsFromBase(listSegments(fs, storeDir), liveBase).filter((s) => prev < 0 || s.id > prev);
  const firstLive = live[0]?.id;
  if (prev >= 0 && firstLive !== undefined && firstLive !== prev + 1) {
    throw new SeglogError('corrupt', `segments ${segmentFileName(prev + 1)} to ${segmentFileName(firstLive - 1)} are neither in the archive nor in the store`, { file: archiveDir });
  }
  return { segments: [...archived, ...live], base };
}

/**
 * The log a reader of `storeDir` walks: its live segments from its base, or, with an
 * archive, the archive and the live store as one log (checked against the manifest).
 */
export async function logView(fs: FileSystem, storeDir: string, archiveDir?: string): Promise<ArchiveView> {
  if (archiveDir !== undefined) {
    const { snapshotHasher } = await import('../engine/wal/snapshot.js');
    return archiveView(fs, archiveDir, storeDir, await snapshotHasher());
  }
  const base = loadBase(fs, storeDir);
  return { segments: segmentsFromBase(listSegments(fs, storeDir), base), base };
}
