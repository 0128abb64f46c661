import type { Command } from '@oclif/core';
import { RealFs } from '../engine/io/real-fs.js';
import type { FileSystem } from '../engine/io/fs-types.js';
import type { SidxMaintenanceOptions, SidxMaintenanceResult } from '../tools/sidx-maintenance.js';
import { storeSizeBytes } from '../engine/segment/store-size.js';
import { requireSegmentHeaders } from '../engine/segment/segment-check.js';
import { resolveTarget, type Target } from '../engine/segment/target.js';
import { BaseCommand } from './base-command.js';
import { renderMaintenance } from './render/sidx-render.js';

/**
 * What `sidx strip` and `sidx rebuild` share: plan with a dry run, ask on a terminal
 * (or go on with --yes), run with a spinner naming each segment, print one result.
 * Each command says what it applies, when there is nothing to do, and what to ask.
 */
export abstract class SidxMaintenanceCommand<T extends typeof Command> extends BaseCommand<T> {
  protected abstract readonly verb: 'strip' | 'rebuild';
  protected abstract apply(fs: FileSystem, target: Target, opts: SidxMaintenanceOptions): SidxMaintenanceResult;
  /** The confirmation question for a plan, or null when the plan changes nothing. */
  protected abstract question(plan: SidxMaintenanceResult, targetArg: string): string | null;
  /** Whether a skipped segment (damaged frames) makes the exit status 1. */
  protected readonly skippedIsDataProblem: boolean = false;

  protected async runMaintenance(targetArg: string, opts: { yes: boolean; dryRun: boolean }): Promise<void> {
    const fs = new RealFs();
    const target = resolveTarget(fs, targetArg);
    requireSegmentHeaders(fs, target);
    // jobs (ui/job/sidx-job.ts): in a worker thread for large stores, so Ctrl-C and progress work;
    // an interrupted run changes nothing (the temp files are abandoned)
    const sizeBytes = storeSizeBytes(targetArg);
    const run = (dryRun: boolean): Promise<SidxMaintenanceResult> =>
      this.runJob('sidx', { verb: this.verb, target: targetArg, dryRun }, { label: dryRun ? 'checking footers' : `${this.verb === 'strip' ? 'stripping' : 'rebuilding'} footers`, unit: 'segments', sizeBytes, readOnly: dryRun });
    if (!opts.dryRun && !opts.yes) {
      const plan = await run(true);
      const question = this.question(plan, targetArg);
      if (question === null) {
        this.finish({ ...plan, dryRun: false }, targetArg);
        return;
      }
      if (!(await this.confirm(question, false))) {
        this.warn('nothing changed');
        return;
      }
    }
    this.finish(await run(opts.dryRun), targetArg);
  }

  private finish(result: SidxMaintenanceResult, targetArg: string): void {
    this.emit({ ...result, target: targetArg }, (r) => renderMaintenance(r, this.verb));
    if (this.skippedIsDataProblem && result.segments.some((s) => s.action === 'skipped')) this.markDataProblems();
  }
}
