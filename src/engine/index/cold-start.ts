/**
 * Cold start: rebuild what an open needs (entity heads, next sequence and transaction
 * id, open transactions, counts, per-segment summaries) as cheaply as the files allow:
 *   1. a valid index.ckpt that matches every segment on disk: nothing else is read;
 *   2. otherwise, per segment in order: its SIDX footer when it checks out and agrees
 *      with the state so far;
 *   3. otherwise a frame scan of that segment (recovery-scan.ts).
 * Anything damaged or stale is ignored with a warning and the next way is taken, so
 * the three ways end in the same state (test/engine/checkpoint.test.ts proves it).
 * What the fast ways do not re-check is the sealed frames themselves (their CRCs and
 * chains): that is verify's job, as it is for a scan.
 */
import { HASH_BYTES } from '../../format/hash/blake3.js';
import { storePaths } from '../io/layout.js';
import type { FileSystem } from '../io/fs-types.js';
import { type FooterState, footerStateOf, loadCheckpoint, scanFromCheckpoint } from './checkpoint.js';
import { replayTables } from './footer-replay.js';
import { type RecoveryScan, ScanVisitor } from '../recovery/recovery-scan.js';
import { loadBase, segmentsFromBase } from '../segment/prune-base.js';
import { seedScanFromBase } from './base-seed.js';
import { newWordHead } from '../log/chain-fold.js';
import { entryAt, FooterBuilder, type FooterSeed, markerAt, readFooterWithHeader } from './sidx.js';
import { type SegmentFile, walkSegment } from '../segment/walker.js';
import type { SidxFooter } from '../../format/sidx.js';
import { SEGMENT_HEADER_BYTES } from '../../format/segment-header.js';
import { FrameType } from '../../format/frame.js';

export type CheckpointUse =
  /** the checkpoint described the store: no segment was read */
  | 'used'
  | 'absent'
  | 'stale'
  | 'damaged'
  /** valid, but it records open transactions: only a scan can tell whether they are a tail to cut */
  | 'skipped'
  /** not tried (the caller asked for a slower way) */
  | 'disabled';

export interface SegmentColdStart {
  name: string;
  /** The footer as this open found it ('valid' from a checkpoint: as recorded, not re-read). */
  footer: FooterState;
  /** How this open learned the segment's contents. */
  source: 'checkpoint' | 'footer' | 'scan';
  message: string | null;
}

export interface ColdStartInfo {
  checkpoint: CheckpointUse;
  checkpointMessage: string | null;
  segments: SegmentColdStart[];
}

export interface ColdStartOptions {
  useCheckpoint?: boolean;
  useFooters?: boolean;
  /** Keep the last segment's footer as a seed for the writer (read-write opens). */
  wantSeed?: boolean;
  warn?: (message: string) => void;
}

export interface ColdStart {
  scan: RecoveryScan;
  info: ColdStartInfo;
  seed: FooterSeed | null;
}

export function coldStart(fs: FileSystem, dir: string, allSegments: SegmentFile[], opts: ColdStartOptions = {}): ColdStart {
  // a pruned store starts at its base (prune-base.ts); files below it are already pruned
  const base = loadBase(fs, dir);
  const segments = segmentsFromBase(allSegments, base);
  const warn = opts.warn ?? ((): void => {});
  const info: ColdStartInfo = { checkpoint: 'disabled', checkpointMessage: null, segments: [] };
  if (opts.useCheckpoint ?? true) {
    const l = loadCheckpoint(fs, dir, segments);
    info.checkpoint = l.status === 'valid' ? 'used' : l.status;
    if (l.status === 'valid' && l.checkpoint.openTxns.length === 0) {
      const c = l.checkpoint;
      info.segments = segments.map((s, i) => ({ name: s.name, footer: footerStateOf(c.segments[i]!.footer), source: 'checkpoint', message: null }));
      const scan = scanFromCheckpoint(c, segments);
      let seed: FooterSeed | null = null;
      const last = scan.segments[scan.segments.length - 1];
      if (opts.wantSeed && last && info.segments[info.segments.length - 1]!.footer === 'valid') {
        const r = readFooterWithHeader(fs, last.path);
        if (r.status === 'valid' && r.footer.footerStart === last.frameEnd && r.footer.entryCount === last.eventFrames) {
          seed = { segmentId: last.id, frameEnd: last.frameEnd, builder: FooterBuilder.fromFooter(r.footer) };
        }
      }
      return { scan, info, seed };
    }
    if (l.status === 'valid') {
      info.checkpoint = 'skipped';
      info.checkpointMessage = 'it records open transactions';
    } else if (l.status === 'stale' || l.status === 'damaged') {
      info.checkpointMessage = l.message;
      warn(`${storePaths(dir).checkpoint}: checkpoint ${l.status === 'stale' ? 'is stale' : 'is damaged'} (${l.message}); ignoring it`);
    }
  }
  const useFooters = opts.useFooters ?? true;
  const v = new ScanVisitor(segments.length);
  if (base !== null) seedScanFromBase(v, base);
  let seed: FooterSeed | null = null;
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    const isLast = i === segments.length - 1;
    const entry: SegmentColdStart = { name: seg.name, footer: 'absent', source: 'scan', message: null };
    info.segments.push(entry);
    if (useFooters) {
      let r: ReturnType<typeof readFooterWithHeader> | null = null;
      try {
        r = readFooterWithHeader(fs, seg.path);
      } catch {
        r = null; // unreadable: the scan reports what it can
      }
      if (r?.status === 'valid') {
        const why = r.header.ok ? applyFooter(v, seg, i, r.footer, r.header.header.segmentId, r.header.header.firstSeq, r.fileSize, isLast) : 'the segment header is damaged';
        if (why === null) {
          entry.footer = 'valid';
          entry.source = 'footer';
          if (isLast && opts.wantSeed) seed = { segmentId: seg.id, frameEnd: r.footer.footerStart, builder: FooterBuilder.fromFooter(r.footer) };
          continue;
        }
        if (why === OPEN_AT_END || why === HAS_GAP_RECORDS) {
          entry.footer = 'valid';
          entry.message = why;
        } else {
          entry.footer = 'mismatch';
          entry.message = why;
          warn(`${seg.path}: SIDX footer disagrees with the store (${why}); scanning the segment instead`);
        }
      } else if (r?.status === 'damaged') {
        entry.footer = 'damaged';
        entry.message = r.message;
        warn(`${seg.path}: at byte ${r.offset}: SIDX footer is damaged (${r.message}); scanning the segment instead`);
      }
    }
    walkSegment(fs, seg, i, isLast, v);
    const s = v.out.segments[i];
    if (s && useFooters && entry.footer === 'absent' && s.frameEnd < s.fileSizeBytes) {
      // the walk stopped at the head of a footer whose trailer is damaged
      entry.footer = 'damaged';
      entry.message = 'footer trailer is damaged';
      warn(`${seg.path}: at byte ${s.frameEnd}: SIDX footer is damaged (its trailer does not check out); the frames before it were read`);
    }
  }
  return { scan: v.finish(), info, seed };
}

/** Not a footer problem: the last segment ends inside a transaction, which only a scan may judge. */
const OPEN_AT_END = 'transactions are open at the end of the last segment';
/**
 * Not a footer problem either: a repair's gap records (format/gap.ts) change sequences
 * and entity heads in ways a footer row does not carry (kind, entity, resume hash), so
 * a segment holding any is read by a frame scan. Only repaired segments have them.
 */
const HAS_GAP_RECORDS = 'the segment holds gap records of a repair';

/**
 * Applies a checked footer to the scan state when it agrees with it: dense sequences
 * from the next expected one, dense entity clocks, entries and markers in file order
 * before the footer. Returns null when applied, else why not (and `out` is untouched).
 */
function applyFooter(
  v: ScanVisitor,
  seg: SegmentFile,
  segIndex: number,
  f: SidxFooter,
  headerSegmentId: number,
  headerFirstSeq: number,
  fileSize: number,
  isLast: boolean,
): string | null {
  const out = v.out;
  if (f.segmentId !== headerSegmentId) return `footer is for segment ${f.segmentId}, the header says ${headerSegmentId}`;
  for (let m = 0; m < f.markerCount; m++) if (markerAt.type(f, m) === FrameType.GAP) return HAS_GAP_RECORDS;
  if (f.footerStart < SEGMENT_HEADER_BYTES) return 'footer starts inside the segment header';
  const n = f.strings.length;
  const names: string[] = f.strings.map((s) => Buffer.from(s.buffer, s.byteOffset, s.length).toString('utf8'));
  const clock = new Float64Array(n).fill(Number.NaN);
  const lastEntry = new Int32Array(n).fill(-1);
  const maxWall = new Float64Array(n).fill(-1);
  const firstSeq = out.nextSeq;
  let why: string | null = null;
  const book = v.txns().clone();
  const ok = replayTables(f, 0, 0, segIndex, book, (i) => {
    const seq = entryAt.seq(f, i);
    if (seq !== firstSeq + i) {
      why = `entry ${i} has sequence ${seq} where ${firstSeq + i} was expected`;
      return false;
    }
    const off = entryAt.offset(f, i);
    if (off < SEGMENT_HEADER_BYTES || off >= f.footerStart) {
      why = `entry ${i} points at byte ${off}, outside the frames`;
      return false;
    }
    const s = entryAt.entity(f, i);
    let c = clock[s]!;
    if (Number.isNaN(c)) c = out.heads.get(names[s]!)?.clock ?? -1;
    const ck = entryAt.clock(f, i);
    if (ck !== c + 1) {
      why = `entry ${i} has clock ${ck} where ${c + 1} was expected`;
      return false;
    }
    clock[s] = ck;
    lastEntry[s] = i;
    const w = entryAt.wallMs(f, i);
    if (w > maxWall[s]!) maxWall[s] = w;
    return true;
  });
  if (!ok) return why ?? 'entries and markers are not in file order';
  if (f.markerCount > 0) {
    // markers are in increasing order (the replay checked): the first and last bound them all
    const first = markerAt.offset(f, 0);
    const last = markerAt.offset(f, f.markerCount - 1);
    if (first < SEGMENT_HEADER_BYTES || last >= f.footerStart) return `markers point outside the frames (bytes ${first}..${last})`;
  }
  if (isLast && book.size > 0) return OPEN_AT_END;
  // agreed: commit
  for (let s = 0; s < n; s++) {
    const i = lastEntry[s]!;
    if (i < 0) continue;
    const name = names[s]!;
    const h = out.heads.get(name);
    const hashAt = entryAt.hashOffset(i);
    if (h) {
      h.clock = clock[s]!;
      if (maxWall[s]! > h.wallMs) h.wallMs = maxWall[s]!;
      h.hash.set(f.entries.subarray(hashAt, hashAt + HASH_BYTES));
    } else {
      const head = newWordHead(clock[s]!, maxWall[s]!);
      head.hash.set(f.entries.subarray(hashAt, hashAt + HASH_BYTES));
      out.heads.set(name, head);
    }
  }
  v.adoptTxns(book);
  if (f.maxKvVersion > out.maxKvVersion) out.maxKvVersion = f.maxKvVersion;
  if (f.entryCount > 0) out.nextSeq = firstSeq + f.entryCount;
  out.segments.push({
    id: seg.id,
    path: seg.path,
    name: seg.name,
    fileSizeBytes: fileSize,
    frameEnd: f.footerStart,
    validEnd: f.footerStart,
    headerOk: true,
    headerFirstSeq,
    eventFrames: f.entryCount,
    firstSeq: f.entryCount > 0 ? firstSeq : -1,
    lastSeq: f.entryCount > 0 ? firstSeq + f.entryCount - 1 : -1,
  });
  return null;
}
