import { stripFooters, type SidxMaintenanceResult } from '../../tools/sidx-maintenance.js';
import { dryRunFlag, storeArg, yesFlag } from '../../ui/flags.js';
import { SidxMaintenanceCommand } from '../../ui/sidx-maintenance-command.js';

export default class SidxStrip extends SidxMaintenanceCommand<typeof SidxStrip> {
  static override summary = 'Remove SIDX footers (and the checkpoint), leaving what an unclean shutdown leaves';
  static override description =
    'Each segment keeps its header and frames, byte for byte; opens then scan the stripped segments. ' +
    'Takes the store lock; rewrites a segment through a temp file, fsync and rename. ' +
    'Asks first on a terminal; needs --yes otherwise (exit 2 without it).';
  static override examples = ['<%= config.bin %> sidx strip ./events --yes', '<%= config.bin %> sidx strip ./events/0000000003.seg --dry-run'];
  static override args = { target: storeArg('store directory or segment file') };
  static override flags = { yes: yesFlag(), 'dry-run': dryRunFlag() };

  protected readonly verb = 'strip';
  protected readonly apply = stripFooters;

  protected question(plan: SidxMaintenanceResult, targetArg: string): string | null {
    const n = plan.segments.filter((s) => s.action === 'stripped').length;
    if (n === 0 && !plan.checkpointRemoved) return null;
    const what = `${n} SIDX footer${n === 1 ? '' : 's'}${plan.checkpointRemoved ? ' and index.ckpt' : ''}`;
    return `Remove ${what} from ${targetArg}? Frames are kept; opens will scan instead.`;
  }

  async run(): Promise<void> {
    await this.runMaintenance(this.args.target, { yes: this.flags.yes, dryRun: this.flags['dry-run'] });
  }
}
