/**
 * A test oracle (moved out of src/engine/index/sidx.ts: only tests use it). The slow,
 * obvious footer check that verify's streaming FooterVerifier must agree with.
 */
import { equalBytes } from '../../src/format/bytes.js';
import type { FileSystem } from '../../src/engine/io/fs-types.js';
import type { SegmentReader } from '../../src/engine/segment/segment-reader.js';
import type { SegmentFile } from '../../src/engine/segment/walker.js';
import { FooterBuilder, type FooterProblem, footerProblems } from '../../src/engine/index/sidx.js';

/**
 * The reference footer check: builds the whole footer the frames call for, encodes it
 * and compares it with the stored one. Holds ~70 MB per 64 MiB segment while it works,
 * so verify uses FooterVerifier (below), which reports exactly what this one reports
 * (tests compare them on many damaged footers) while streaming.
 */
export class RebuildingFooterVerifier {
  private builder = new FooterBuilder(0);
  private faulty = false;
  private damagedAt: number | null = null;

  constructor(
    private readonly fs: FileSystem,
    private readonly segmentCount: number,
    private readonly loneFile: boolean,
  ) {}

  onSegment(r: SegmentReader): void {
    this.builder = new FooterBuilder(r.header.ok ? r.header.header.segmentId : 0);
    this.faulty = !r.header.ok;
    this.damagedAt = null;
  }

  onFrame(r: SegmentReader): void {
    this.builder.addFrame(r);
  }

  onFault(): void {
    this.faulty = true;
  }

  onDamagedFooter(offset: number): void {
    this.damagedAt = offset;
  }

  onSegmentEnd(seg: SegmentFile, segIndex: number, r: SegmentReader): FooterProblem[] {
    const sealed = !this.loneFile && segIndex < this.segmentCount - 1;
    return footerProblems(this.fs, seg, r, this.damagedAt, this.faulty, sealed, () => {
      const expected = this.builder.encode(r.frameEnd);
      const actual = r.readRange(r.frameEnd, r.fileSize);
      if (expected.length === actual.length && equalBytes(expected, 0, actual, 0, actual.length)) return -1;
      let i = 0;
      while (i < expected.length && i < actual.length && expected[i] === actual[i]) i++;
      return i;
    });
  }
}

