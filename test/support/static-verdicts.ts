/**
 * A test double (moved out of src/engine/verify/verify-parallel.ts: only tests use it):
 * verdicts from prechecks already in hand, so a test drives the walk's use of worker
 * results without starting workers.
 */
import type { FileSystem } from '../../src/engine/io/fs-types.js';
import type { FooterChecks, HashVerdicts } from '../../src/engine/verify/verify.js';
import { PrecheckedFooters, type PrecheckSource, type SegmentPrecheck, SegmentVerdicts } from '../../src/engine/verify/verify-parallel.js';

/** Verdicts from prechecks already in hand (tests). */
export class StaticVerdicts implements HashVerdicts, PrecheckSource {
  private readonly bySeg = new Map<number, SegmentPrecheck>();
  private readonly verdicts = new Map<number, SegmentVerdicts>();

  constructor(
    private readonly fs: FileSystem,
    private readonly segmentCount: number,
  ) {}

  add(p: SegmentPrecheck): void {
    this.bySeg.set(p.segIndex, p);
    this.verdicts.set(p.segIndex, new SegmentVerdicts(p.checkedEnd, p.mismatches));
  }
  verdict(segIndex: number, frameOffset: number): boolean | undefined {
    return this.verdicts.get(segIndex)?.verdict(frameOffset);
  }
  checkedEnd(segIndex: number): number {
    return this.verdicts.get(segIndex)?.checkedEnd ?? 0;
  }
  footerChecks(local: FooterChecks): FooterChecks {
    return new PrecheckedFooters(this, local, this.fs, this.segmentCount);
  }
  footersComing(k: number): boolean {
    return (this.bySeg.get(k)?.footerProblems ?? null) !== null;
  }
  precheck(k: number): SegmentPrecheck | null {
    return this.bySeg.get(k) ?? null;
  }
  indexOf(path: string): number {
    for (const [k, p] of this.bySeg) if (p.path === path) return k;
    return -1;
  }
}

