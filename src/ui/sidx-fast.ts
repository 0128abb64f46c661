/**
 * `sidx rebuild TARGET --yes|--dry-run [--json]` without oclif (fast-path.ts): issue 18
 * times `sidx rebuild --yes --json` as a whole CLI run (under 1 s with intact footers),
 * and oclif's start-up (~0.15 s of CPU, before the job could begin) was a sixth of it.
 *
 * Sound by refusing, as the rest of the fast path: it runs only when stderr is not a
 * terminal (there the command draws a spinner), only with `--yes` or `--dry-run` (without
 * them the command asks first, or refuses: oclif's), and only once the target checks out
 * exactly as the command checks it (resolveTarget, requireSegmentHeaders); any error before
 * the job starts returns false with nothing printed, and oclif then says what it always
 * says. What runs next is the command's: the same job and input
 * (ui/sidx-maintenance-command.ts), the same document or text (renderMaintenance), exit 1
 * when a segment was skipped, Ctrl-C as BaseCommand handles a job (fast-job.ts).
 */
import { RealFs } from '../engine/io/real-fs.js';
import { requireSegmentHeaders } from '../engine/segment/segment-check.js';
import { segmentsSizeBytes } from '../engine/segment/store-size.js';
import { resolveTarget } from '../engine/segment/target.js';
import { markDataProblems } from './errors.js';
import { runFastJob } from './fast-job.js';
import type { FastOutput } from './fast-output.js';
import { renderMaintenance } from './render/sidx-render.js';

export interface SidxRebuildFastArgs {
  target: string;
  yes: boolean;
  dryRun: boolean;
}

/** Runs the rebuild; false (nothing done, nothing printed) when oclif must. */
export async function sidxRebuildFast(a: SidxRebuildFastArgs, warn: (message: string) => void, out: FastOutput): Promise<boolean> {
  if (process.stderr.isTTY || !(a.yes || a.dryRun)) return false;
  const fs = new RealFs();
  let sizeBytes: number;
  try {
    // the command's own checks, in its order (SidxMaintenanceCommand.runMaintenance)
    const target = resolveTarget(fs, a.target);
    requireSegmentHeaders(fs, target);
    sizeBytes = segmentsSizeBytes(fs, target.segments);
  } catch {
    return false;
  }
  await runFastJob('sidx', { verb: 'rebuild', target: a.target, dryRun: a.dryRun }, { sizeBytes, readOnly: a.dryRun, warn, out }, (result) => {
    out.emit({ ...result, target: a.target }, (r) => renderMaintenance(r, 'rebuild'));
    // SidxRebuild.skippedIsDataProblem (BaseCommand.markDataProblems)
    if (result.segments.some((s) => s.action === 'skipped')) markDataProblems();
  });
  return true;
}
