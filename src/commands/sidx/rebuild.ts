import { RealFs } from '../../engine/fs/real-fs.js';
import { rebuildFooters, type SidxMaintenanceResult } from '../../engine/sidx-maintenance.js';
import { resolveTarget } from '../../engine/target.js';
import { BaseCommand } from '../../ui/base-command.js';
import { dryRunFlag, storeArg, yesFlag } from '../../ui/flags.js';
import { renderMaintenance } from '../../ui/sidx-render.js';

export default class SidxRebuild extends BaseCommand<typeof SidxRebuild> {
  static override summary = 'Regenerate SIDX footers from a scan of the frames';
  static override description =
    'Footers are deterministic: after `sidx strip`, `sidx rebuild` gives back byte-identical segments. ' +
    'A footer that already matches is left alone; a segment whose frames are damaged is skipped (exit 1). ' +
    'Takes the store lock; rewrites a segment through a temp file, fsync and rename; frames are copied byte for byte. ' +
    'Asks first on a terminal; needs --yes otherwise (exit 2 without it).';
  static override examples = ['<%= config.bin %> sidx rebuild ./events --yes', '<%= config.bin %> sidx rebuild ./events/0000000003.seg --dry-run --json'];
  static override args = { target: storeArg('store directory or segment file') };
  static override flags = { yes: yesFlag(), 'dry-run': dryRunFlag() };

  async run(): Promise<void> {
    const fs = new RealFs();
    const target = resolveTarget(fs, this.args.target);
    const dryRun = this.flags['dry-run'];
    const warn = (m: string): void => void this.warn(m);
    if (!dryRun && !this.flags.yes) {
      const plan = rebuildFooters(fs, target, { dryRun: true, onWarning: warn });
      const n = plan.segments.filter((s) => s.action === 'rebuilt').length;
      if (n === 0) {
        this.emit({ ...plan, dryRun: false, target: this.args.target }, (r) => renderMaintenance(r, 'rebuild'));
        if (plan.segments.some((s) => s.action === 'skipped')) this.markDataProblems();
        return;
      }
      if (!(await this.confirm(`Write ${n} SIDX footer${n === 1 ? '' : 's'} in ${this.args.target}? Frames are not changed.`, false))) {
        this.warn('nothing changed');
        return;
      }
    }
    const spin = this.spinner(dryRun ? 'checking footers' : 'rebuilding footers');
    let result: SidxMaintenanceResult;
    try {
      result = rebuildFooters(fs, target, { dryRun, onWarning: warn, onSegment: (s) => spin.update(`${s.segment}: ${s.action}`) });
    } finally {
      spin.stop();
    }
    this.emit({ ...result, target: this.args.target }, (r) => renderMaintenance(r, 'rebuild'));
    if (result.segments.some((s) => s.action === 'skipped')) this.markDataProblems();
  }
}

/** Same shape as `sidx strip`'s output. */
