/**
 * `seglog sidx strip|rebuild` as a job (control.ts). Both write every replacement to a
 * temp file first and rename them all at the end (sidx-maintenance.ts), so a Ctrl-C
 * seen after a segment (onSegment), or within one (cancelPoint: every 64 frames of a
 * scan, every chunk of a copy), abandons the temp files: nothing changes, the lock is
 * released, and the command exits 130.
 */
import { RealFs } from '../../engine/io/real-fs.js';
import { rebuildFooters, type SidxMaintenanceResult, stripFooters } from '../../tools/sidx-maintenance.js';
import { resolveTarget } from '../../engine/segment/target.js';
import type { JobControl } from './control.js';

export async function sidxJob(input: { verb: 'strip' | 'rebuild'; target: string; dryRun: boolean }, ctl: JobControl): Promise<SidxMaintenanceResult> {
  const fs = new RealFs();
  const target = resolveTarget(fs, input.target);
  let done = 0;
  const apply = input.verb === 'strip' ? stripFooters : rebuildFooters;
  return apply(fs, target, {
    dryRun: input.dryRun,
    onWarning: (m) => ctl.warn(m),
    onSegment: () => {
      ctl.progress(++done);
      ctl.checkpoint();
    },
    // within a segment too: a 64 MiB segment's scan or copy took 0.3-0.8 s
    cancelPoint: () => ctl.checkpoint(),
  });
}
