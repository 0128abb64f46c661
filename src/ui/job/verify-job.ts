/**
 * `seglog verify` as a job (control.ts): the same verifySegments walk, with progress
 * (bytes walked of the segments' total) and a cancel check at every progress call.
 * Verify is read-only, so the runner may also simply stop its worker on Ctrl-C.
 * With `--anchor` heads (issue 16) the same walk feeds the Merkle check (AnchorCheck, a
 * walk tap), and its problems join the report.
 */
import { type Blake3, createHasher } from '../../format/hash/blake3.js';
import { readHeadFile, readVerifier } from '../../engine/anchor/anchor-files.js';
import { AnchorCheck, type AnchorOutcome, addProblems } from '../../engine/anchor/verify-anchor.js';
import { RealFs } from '../../engine/io/real-fs.js';
import { resolveTarget } from '../../engine/segment/target.js';
import { type VerifyReport, verifySegments } from '../../engine/verify/verify.js';
import { startParallelVerdicts } from '../../engine/verify/verify-parallel.js';
import { logView } from '../../tools/archive.js';
import { requireWholeLog } from '../whole-log.js';
import { UsageError } from '../errors.js';
import type { JobControl } from './control.js';

export interface VerifyJobInput {
  store: string;
  maxErrors?: number;
  /** Signed head files (`--anchor`) and verifier key files (`--pubkey`). */
  anchors?: string[];
  pubkeys?: string[];
  /** `--archive DIR`: the pruned segments (prune --archive) and the store, checked as one log. */
  archive?: string;
}

export type VerifyJobOutput = VerifyReport & { anchors?: AnchorOutcome[] };

/**
 * hash-wasm's module is compiled asynchronously: ~0.1 s between asking and the walk's
 * start on the loaded bench VM. Asked for when this module loads (a prewarmed job worker
 * loads it before the job comes, prewarm.ts), so the first job finds it ready.
 */
let earlyHasher: Promise<Blake3> | null = createHasher();
earlyHasher.catch(() => undefined);

export async function verifyJob(input: VerifyJobInput, ctl: JobControl): Promise<VerifyJobOutput> {
  const fs = new RealFs();
  const target = resolveTarget(fs, input.store);
  if (input.archive !== undefined && target.kind !== 'store') throw new UsageError('--archive needs a store directory, not a segment file');
  // a pruned store starts at its base (segment/prune-base.ts); --archive adds the pruned segments back
  const view = target.kind === 'store' ? await logView(fs, target.dir, input.archive) : { segments: target.segments, base: null };
  const segments = view.segments;
  ctl.setTotalBytes(segments.reduce((sum, s) => sum + sizeOf(fs, s.path), 0));
  const heads = (input.anchors ?? []).map(readHeadFile);
  const verifiers = (input.pubkeys ?? []).map(readVerifier);
  // the tree's leaves start at event 0: a head can only be checked against the whole history
  if (heads.length > 0) requireWholeLog(view, input.archive, '--anchor');
  const anchorCheck = target.kind === 'store' && AnchorCheck.needed(fs, target.dir, heads) ? new AnchorCheck(fs, target.dir, segments, heads, verifiers) : null;
  const hasher = await (earlyHasher ?? createHasher());
  earlyHasher = null;
  // worker threads hash sealed segments ahead of the walk; the report is the same either way
  const verdicts = startParallelVerdicts(fs, segments, { loneFile: target.kind === 'segment', stream: true });
  let report: VerifyReport;
  try {
    report = verifySegments(fs, segments, hasher, {
      ...(view.base !== null ? { base: view.base } : {}),
      maxErrors: input.maxErrors,
      loneFile: target.kind === 'segment',
      storeDir: target.kind === 'store' ? target.dir : undefined,
      onProgress: (bytes) => {
        ctl.progress(bytes, bytes);
        ctl.checkpoint();
      },
      hashVerdicts: verdicts ?? undefined,
      tap: anchorCheck ?? undefined,
    });
  } finally {
    verdicts?.close();
  }
  if (!anchorCheck) return report;
  const checked = await anchorCheck.finish(report);
  const out: VerifyJobOutput = addProblems(report, checked.problems);
  if (heads.length > 0) out.anchors = checked.anchors;
  return out;
}

function sizeOf(fs: RealFs, path: string): number {
  try {
    return fs.stat(path).sizeBytes;
  } catch {
    return 0;
  }
}
