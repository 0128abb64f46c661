import type { FileSystem } from '../io/fs-types.js';
import { CRC_TRUST_LATER, type SegmentReader } from '../segment/segment-reader.js';
import { type ParallelVerdicts, startParallelVerdicts } from './verify-parallel.js';
import type { SegmentFile } from '../segment/walker.js';

/** One segment's dump verdicts, as the worker read it. */
interface SegmentDumpVerdicts {
  checkedEnd: number;
  /** null: the worker did not run the payload test. */
  nonCanonical: Set<number> | null;
}

/**
 * Dump's use of verify's precheck workers (verify-parallel.ts): a worker thread walks
 * the segment files ahead of dump's walk, checking each frame's CRC and each event
 * payload's canonical-JSON test, so dump's thread (which writes the output) skips both
 * for frames the worker covered. The output is the same either way: both sides run the
 * same checks on the same bytes, and a verdict is used only for the file as the worker
 * saw it: same path, same size when opened, frames before the worker's `checkedEnd`
 * (its run of valid frames from the header). A segment whose size differs (appended to,
 * sealed since), whose precheck is not in, or that the walk claimed first, is checked
 * by the walk frame by frame as without workers.
 *
 * Streamed (round six, `SEGLOG_DUMP_STREAM=0` turns it off): the walk need not wait for a
 * segment's whole precheck. A worker publishes, as it goes, an offset below which every
 * frame was valid and every EVENT payload canonical JSON (only while both hold: the first
 * damaged frame or non-canonical payload stops it), and the walk trusts the frames below
 * that offset; past the last one published, it takes the segment's final result under the
 * rules above. Same argument as verify's streaming (verify-parallel.ts `stream`): the
 * frames the worker published are the frames the walk reads, the same bytes of the same
 * file below an offset both found valid, and nothing past a fault or a non-canonical
 * payload is ever published. The walk never waits for that progress: a frame the worker
 * has not reached yet is checked by the walk itself. It matters for the first segment: a
 * warm precheck worker (warm-precheck.ts) is given it while it may still be loading its
 * modules; the walk starts alone and takes the worker's verdicts once it overtakes.
 */
export class DumpVerdicts {
  private readonly bySeg = new Map<number, SegmentDumpVerdicts>();
  /** The segment the walk follows a worker through, and the worker's published offset there. */
  private streamSeg = -1;
  private streamEnd = 0;

  /** Over workers already started (tests: test/support/workers-only-verdicts.ts, so every verdict comes from a worker). */
  constructor(private readonly pv: ParallelVerdicts) {}

  /**
   * Starts the workers when that pays (as verify: ≥2 cores, ≥ PARALLEL_MIN_BYTES of
   * segments, the built worker file; `SEGLOG_DUMP_WORKERS` sets the count, 0 turns them
   * off), else null. `canonical`: the payload test is wanted too (JSON output).
   */
  static start(fs: FileSystem, segments: SegmentFile[], opts: { loneFile: boolean; canonical: boolean }): DumpVerdicts | null {
    const pv = startParallelVerdicts(fs, segments, { loneFile: opts.loneFile, dump: { canonical: opts.canonical }, stream: true });
    return pv ? new DumpVerdicts(pv) : null;
  }

  /**
   * At the start of segment `segIndex` (walker onSegment, before any frame is read):
   * takes its precheck (waiting for the worker that has it) and lets the reader skip
   * the CRCs the worker checked, when the file is the one the worker read.
   */
  onSegment(segIndex: number, r: SegmentReader): void {
    this.bySeg.delete(segIndex);
    this.streamSeg = -1;
    this.streamEnd = 0;
    if (this.pv.streams(segIndex)) {
      this.streamSeg = segIndex;
      r.crcTrustedBelow = 0;
      r.extendCrcTrust = (pos) => this.extend(segIndex, r, pos);
      return;
    }
    this.useFinal(segIndex, r);
  }

  /**
   * The reader's next CRC-trust bound once it reaches `pos`: the worker's progress; while
   * the worker is not past `pos`, CRC_TRUST_LATER (the walk checks the frame itself rather
   * than wait: a warm worker may still be loading its modules when the walk starts segment
   * 0); once the segment no longer streams, its final result.
   */
  private extend(segIndex: number, r: SegmentReader, pos: number): number {
    const end = this.pv.streamedPast(segIndex, pos);
    if (end > pos) {
      this.streamEnd = end;
      return end;
    }
    if (end >= 0) return CRC_TRUST_LATER;
    this.streamSeg = -1;
    this.useFinal(segIndex, r);
    return r.crcTrustedBelow;
  }

  /** Takes segment `segIndex`'s whole precheck, when it is for the file the reader opened. */
  private useFinal(segIndex: number, r: SegmentReader): void {
    const p = this.pv.precheck(segIndex);
    if (!p || p.path !== r.path || p.fileSizeBytes !== r.fileSize) {
      this.bySeg.delete(segIndex);
      r.crcTrustedBelow = 0;
      return;
    }
    r.crcTrustedBelow = p.checkedEnd;
    this.bySeg.set(segIndex, { checkedEnd: p.checkedEnd, nonCanonical: p.nonCanonical ? new Set(p.nonCanonical) : null });
  }

  /**
   * Whether the payload of the EVENT frame at `frameOffset` of segment `segIndex` is
   * canonical JSON (the check ui/render/event-jsonl.ts makes), or undefined: not known, test it.
   */
  canonical(segIndex: number, frameOffset: number): boolean | undefined {
    if (segIndex === this.streamSeg && frameOffset < this.streamEnd) return true;
    const v = this.bySeg.get(segIndex);
    if (!v || !v.nonCanonical || frameOffset >= v.checkedEnd) return undefined;
    return !v.nonCanonical.has(frameOffset);
  }

  /** Stops the workers (dump may stop early: --limit, a closed stdout). */
  close(): void {
    this.pv.close();
  }
}
