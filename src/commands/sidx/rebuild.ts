import { rebuildFooters, type SidxMaintenanceResult } from '../../tools/sidx-maintenance.js';
import { dryRunFlag, storeArg, yesFlag } from '../../ui/flags.js';
import { SidxMaintenanceCommand } from '../../ui/sidx-maintenance-command.js';

export default class SidxRebuild extends SidxMaintenanceCommand<typeof SidxRebuild> {
  static override summary = 'Regenerate SIDX footers from a scan of the frames';
  static override description =
    'Footers are deterministic: after `sidx strip`, `sidx rebuild` gives back byte-identical segments. ' +
    'A footer that already matches is left alone; a segment whose frames are damaged is skipped (exit 1). ' +
    'Takes the store lock; rewrites a segment through a temp file, fsync and rename; frames are copied byte for byte. ' +
    'Asks first on a terminal; needs --yes otherwise (exit 2 without it).';
  static override examples = ['<%= config.bin %> sidx rebuild ./events --yes', '<%= config.bin %> sidx rebuild ./events/0000000003.seg --dry-run --json'];
  static override args = { target: storeArg('store directory or segment file') };
  static override flags = { yes: yesFlag(), 'dry-run': dryRunFlag() };

  protected readonly verb = 'rebuild';
  protected readonly apply = rebuildFooters;
  protected override readonly skippedIsDataProblem = true;

  protected question(plan: SidxMaintenanceResult, targetArg: string): string | null {
    const n = plan.segments.filter((s) => s.action === 'rebuilt').length;
    if (n === 0) return null;
    return `Write ${n} SIDX footer${n === 1 ? '' : 's'} in ${targetArg}? Frames are not changed.`;
  }

  async run(): Promise<void> {
    await this.runMaintenance(this.args.target, { yes: this.flags.yes, dryRun: this.flags['dry-run'] });
  }
}
