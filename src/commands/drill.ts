import { Args, Flags } from '@oclif/core';
import { resolve } from 'node:path';
import type { DrillReport } from '../tools/drill/drill-runner.js';
import { INVARIANT_IDS } from '../tools/drill/invariants.js';
import { WORKLOAD_NAMES, type WorkloadName } from '../tools/drill/workload.js';
import { SeglogError } from '../engine/io/errors.js';
import { CRASH_MODES, type CrashMode } from '../sim/sim-fs.js';
import { RealFs } from '../engine/io/real-fs.js';
import { exists } from '../engine/io/fs-util.js';
import { storePaths } from '../engine/io/layout.js';
import { BaseCommand } from '../ui/base-command.js';
import { UsageError } from '../ui/errors.js';
import { intFlag, parseBoundedInt } from '../ui/flags.js';
import { formatCount, plural } from '../ui/format.js';
import { renderTable } from '../ui/table.js';

/** Failures listed in text output; --json carries up to the explorer's own limit. */
const MAX_FAILURES_SHOWN = 10;
const MAX_SEED = 0xffff_ffff;
/**
 * Crash points whose recovery is also crashed at each of its operations, in each mode.
 * Each costs about 20 recovery operations x 4 modes crash states, several times a plain
 * crash state's price: 32 keeps the default drill well under a minute on 2 cores
 * (docs/DECISIONS.md, "Drills").
 */
const DEFAULT_RECOVERY_POINTS = 32;

type DrillOutput = DrillReport & { store: string | null; reproduce: string | null; canaryCaught?: boolean };

export default class Drill extends BaseCommand<typeof Drill> {
  static override summary = 'Crash-test recovery: run a workload on a simulated disk, cut the power at every operation, reopen and check the invariants';
  static override description =
    'The store argument, if given, is copied into the simulated disk and never modified; without it the drill starts from an empty store. ' +
    'Exit status: 0 no invariant violated, 1 a violation (the command that reproduces the first one is printed), 2 could not run. ' +
    'With --canary the drill runs against a deliberately broken recovery and exits 0 only if it catches it.';
  static override examples = [
    '<%= config.bin %> drill',
    '<%= config.bin %> drill ./fixtures/clean --points 500 --modes torn,reorder',
    '<%= config.bin %> drill --canary --json',
  ];
  static override args = { store: Args.string({ required: false, description: 'a store to start from (copied, never modified)' }) };
  static override flags = {
    workload: Flags.string({ description: 'what the drill writes', options: [...WORKLOAD_NAMES], default: 'default' }),
    seed: intFlag({ description: 'seed of the workload and the crash states', min: 0, max: MAX_SEED, default: 1 }),
    points: Flags.string({ description: "crash points: 'all' (every mutating operation) or N (a seeded sample)", default: 'all' }),
    point: intFlag({ description: 'explore only this crash point (reproduces a failure)', min: 0 }),
    modes: Flags.string({ description: `crash modes, comma-separated (${CRASH_MODES.join(', ')})`, default: CRASH_MODES.join(',') }),
    canary: Flags.boolean({ description: 'drill a deliberately broken recovery (keeps incomplete batches); exit 0 only if caught', default: false }),
    'recovery-points': intFlag({
      description: 'crash points (a seeded sample) whose recovery is also crashed at every one of its operations; 0 = none',
      min: 0,
      default: DEFAULT_RECOVERY_POINTS,
    }),
    workers: intFlag({ description: 'worker threads (default: 2, or 1 on a one-core machine)', min: 1, max: 64 }),
  };

  async run(): Promise<void> {
    const modes = parseModes(this.flags.modes);
    const points = parsePoints(this.flags.points);
    const store = this.args.store;
    if (store !== undefined && !exists(new RealFs(), storePaths(resolve(store)).meta)) {
      throw new SeglogError('not_a_store', 'not a seglog store (no seglog.json)', { file: store });
    }
    // a job (ui/job/drill-job.ts): in a worker thread, so Ctrl-C stops it between crash states with a report
    const report = await this.runJob(
      'drill',
      {
        seed: this.flags.seed,
        workload: this.flags.workload as WorkloadName,
        fromStore: store === undefined ? undefined : resolve(store),
        modes,
        canary: this.flags.canary,
        points,
        onlyPoint: this.flags.point,
        recoveryPoints: this.flags['recovery-points'],
        workers: this.flags.workers,
      },
      { label: 'drilling', unit: 'crash states', sizeBytes: null, readOnly: false },
    );
    const first = report.failures[0];
    const reproduce = first ? reproduceCommand(store, this.flags.workload, first.seed, first.point, first.mode, this.flags.canary, first.recoveryOp !== undefined) : null;
    const out: DrillOutput = { ...report, store: store ?? null, reproduce };
    if (this.flags.canary) out.canaryCaught = report.violations > 0;
    this.emit(out, render);
    // interrupted (exit 130, set by runJob): a partial run proves nothing either way
    if (report.interrupted) return;
    if (this.flags.canary) {
      if (report.violations === 0) {
        process.stderr.write('seglog: the canary was not caught: this drill cannot tell the broken recovery from a sound one\n');
        this.markDataProblems();
      }
      return;
    }
    if (reproduce) {
      process.stderr.write(`seglog: reproduce the first failure with: ${reproduce}\n`);
      this.markDataProblems();
    }
  }
}

function parseModes(text: string): CrashMode[] {
  const modes = text.split(',').map((m) => m.trim()).filter((m) => m.length > 0);
  if (modes.length === 0) throw new UsageError('--modes needs at least one crash mode');
  for (const m of modes) {
    if (!(CRASH_MODES as readonly string[]).includes(m)) throw new UsageError(`unknown crash mode '${m}' (expected ${CRASH_MODES.join(', ')})`);
  }
  return [...new Set(modes)] as CrashMode[];
}

function parsePoints(text: string): 'all' | number {
  return text.trim() === 'all' ? 'all' : parseBoundedInt(text, 1, Number.MAX_SAFE_INTEGER);
}

function reproduceCommand(store: string | undefined, workload: string, seed: number, point: number, mode: CrashMode, canary: boolean, inRecovery: boolean): string {
  const parts = ['seglog', 'drill'];
  if (store !== undefined) parts.push(JSON.stringify(store));
  // --point with --recovery-points 1 crashes that point's recovery at every operation
  parts.push('--workload', workload, '--seed', String(seed), '--point', String(point), '--modes', mode, '--recovery-points', inRecovery ? '1' : '0');
  if (canary) parts.push('--canary');
  return parts.join(' ');
}

function render(r: DrillOutput): string {
  const lines: string[] = [];
  lines.push(
    `drill ${r.canary ? '(canary: broken recovery) ' : ''}of ${r.store ?? 'an empty store'}: workload ${r.workload}, seed ${r.seed}, ` +
      `${plural(r.points, 'crash point')} of ${plural(r.operations, 'operation')}`,
  );
  for (const mode of r.modes) {
    const t = r.byMode[mode]!;
    lines.push(
      '',
      `${mode}: ${plural(t.crashStates, 'crash state')} + ${plural(t.recoveryCrashStates, 'recovery crash state')}, ${plural(t.violations, 'violation')}` +
        (t.recoveryViolations > 0 ? ` (${formatCount(t.recoveryViolations)} during recovery)` : ''),
    );
    lines.push(renderTable(['invariant', 'crash states violating it'], INVARIANT_IDS.map((inv) => [inv, t.invariants[inv]])));
  }
  if (r.failures.length > 0) {
    lines.push('', 'first failures:');
    for (const f of r.failures.slice(0, MAX_FAILURES_SHOWN)) {
      const where = f.recoveryOp === undefined ? '' : `, recovery crashed after its operation ${f.recoveryOp}`;
      lines.push(`  point ${f.point} ${f.mode}${where}: ${f.invariant}: ${f.detail}`);
    }
  }
  lines.push(
    '',
    `${plural(r.crashStates, 'crash state')} + ${plural(r.recoveryCrashStates, 'recovery crash state')} (recoveries of ${plural(r.recoveryPoints, 'point')} crashed at every operation; ` +
      `${plural(r.distinctStates, 'distinct disk')}) in ${(r.elapsedMs / 1000).toFixed(1)} s on ${plural(r.workers, 'thread')}; digest ${r.digest}`,
  );
  if (r.interrupted) lines.push(`interrupted: ${r.violations === 0 ? 'no invariant violated in the states explored' : `${plural(r.violations, 'crash state')} violated an invariant; reproduce: ${r.reproduce}`}`);
  else if (r.canary) lines.push(r.violations > 0 ? `canary caught: ${plural(r.violations, 'crash state')} flagged` : 'canary NOT caught');
  else lines.push(r.violations === 0 ? 'no invariant violated' : `${plural(r.violations, 'crash state')} violated an invariant; reproduce: ${r.reproduce}`);
  return `${lines.join('\n')}\n`;
}
