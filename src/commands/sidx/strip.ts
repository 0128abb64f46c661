import { RealFs } from '../../engine/fs/real-fs.js';
import { type SidxMaintenanceResult, stripFooters } from '../../engine/sidx-maintenance.js';
import { resolveTarget } from '../../engine/target.js';
import { BaseCommand } from '../../ui/base-command.js';
import { dryRunFlag, storeArg, yesFlag } from '../../ui/flags.js';
import { renderMaintenance } from '../../ui/sidx-render.js';

export default class SidxStrip extends BaseCommand<typeof SidxStrip> {
  static override summary = 'Remove SIDX footers (and the checkpoint), leaving what an unclean shutdown leaves';
  static override description =
    'Each segment keeps its header and frames, byte for byte; opens then scan the stripped segments. ' +
    'Takes the store lock; rewrites a segment through a temp file, fsync and rename. ' +
    'Asks first on a terminal; needs --yes otherwise (exit 2 without it).';
  static override examples = ['<%= config.bin %> sidx strip ./events --yes', '<%= config.bin %> sidx strip ./events/0000000003.seg --dry-run'];
  static override args = { target: storeArg('store directory or segment file') };
  static override flags = { yes: yesFlag(), 'dry-run': dryRunFlag() };

  async run(): Promise<void> {
    const fs = new RealFs();
    const target = resolveTarget(fs, this.args.target);
    const dryRun = this.flags['dry-run'];
    const warn = (m: string): void => void this.warn(m);
    if (!dryRun && !this.flags.yes) {
      const plan = stripFooters(fs, target, { dryRun: true, onWarning: warn });
      const n = plan.segments.filter((s) => s.action === 'stripped').length;
      if (n === 0 && !plan.checkpointRemoved) {
        this.emit({ ...plan, dryRun: false, target: this.args.target }, (r) => renderMaintenance(r, 'strip'));
        return;
      }
      const what = `${n} SIDX footer${n === 1 ? '' : 's'}${plan.checkpointRemoved ? ' and index.ckpt' : ''}`;
      if (!(await this.confirm(`Remove ${what} from ${this.args.target}? Frames are kept; opens will scan instead.`, false))) {
        this.warn('nothing changed');
        return;
      }
    }
    const spin = this.spinner(dryRun ? 'checking footers' : 'stripping footers');
    let result: SidxMaintenanceResult;
    try {
      result = stripFooters(fs, target, { dryRun, onWarning: warn, onSegment: (s) => spin.update(`${s.segment}: ${s.action}`) });
    } finally {
      spin.stop();
    }
    this.emit({ ...result, target: this.args.target }, (r) => renderMaintenance(r, 'strip'));
  }
}

/** Same shape as `sidx rebuild`'s output. */
