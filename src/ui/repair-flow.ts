/**
 * `seglog repair` itself, for the oclif command (commands/repair.ts) and for the start-up
 * fast path (repair-fast.ts): the same checks in the same order, the same jobs, the same
 * output, whoever parsed the command line. What the command needs from its runner
 * (jobs, output, Ctrl-C cleanups, the prompt) is a RepairHost: BaseCommand's methods,
 * or the fast path's JobHost and FastOutput.
 */
import { resolve } from 'node:path';
import { RealFs } from '../engine/io/real-fs.js';
import { storeSizeBytes } from '../engine/segment/store-size.js';
import type { RepairResult } from '../tools/repair/executor.js';
import type { PlanAction, RepairPlan } from '../tools/repair/plan-types.js';
import { backupRootOf, liveLockHolder, RepairSession, requireStore } from '../tools/repair/session.js';
import { UsageError } from './errors.js';
import { formatBytes, formatCount, plural } from './format.js';
import type { Cleanup, JobDisplay } from './job-host.js';
import type { JobInput, JobName, JobOutput } from './job/jobs.js';
import { REFUSE_WITH_JSON, REFUSE_WITHOUT_TTY } from './prompt.js';
import { renderTable } from './table.js';

/** Rows of lost events shown in text output; --json always lists them all. */
const TEXT_LIST_MAX_ROWS = 50;

export interface RepairOutput {
  store: string;
  dryRun: boolean;
  /** Nothing was (or would be) changed and nothing is left unfixed. */
  clean: boolean;
  /** After this run, the store has no problem the repair knows of (for a dry run: would have). */
  ok: boolean;
  actions: PlanAction[];
  lostEvents: RepairPlan['lostEvents'];
  lostLinks: RepairPlan['lostLinks'];
  affectedEvents: RepairPlan['affectedEvents'];
  unfixable: RepairPlan['unfixable'];
  cursors: RepairPlan['cursors'];
  checkpoint: RepairPlan['checkpoint'];
  segments: { segment: string; changed: boolean; footer: string; footerAfter: string; edits: number }[];
  eventFrames: number;
  bytes: number;
  /** Set when a live process holds the store's LOCK (a dry run does not take it). */
  lockHeldBy?: { pid: number; host: string; sinceMs: number };
  /** What was done (absent for a dry run, a refusal or nothing to do). */
  result?: RepairResult;
  declined?: boolean;
  /** Ctrl-C stopped the repair before it replaced any segment: the store is unchanged (exit 130). */
  interrupted?: boolean;
}

function outputOf(store: string, plan: RepairPlan, dryRun: boolean): RepairOutput {
  return {
    store,
    dryRun,
    clean: plan.clean,
    ok: plan.unfixable.length === 0,
    actions: plan.actions,
    lostEvents: plan.lostEvents,
    lostLinks: plan.lostLinks,
    affectedEvents: plan.affectedEvents,
    unfixable: plan.unfixable,
    cursors: plan.cursors,
    checkpoint: plan.checkpoint,
    segments: plan.segments.map((s) => ({ segment: s.name, changed: s.changed, footer: s.footerFound, footerAfter: s.footerAfter, edits: s.edits.length })),
    eventFrames: plan.eventFrames,
    bytes: plan.bytes,
  };
}

/** The command line, parsed (by oclif or by the fast path). */
export interface RepairArgs {
  store: string;
  dryRun: boolean;
  yes: boolean;
  backupDir: string | undefined;
  noBackup: boolean;
  output: string | undefined;
}

/** What the repair needs from whoever runs it (BaseCommand, or the fast path). */
export interface RepairHost {
  readonly json: boolean;
  runJob<N extends JobName>(name: N, input: JobInput<N>, display: JobDisplay): Promise<JobOutput<N>>;
  emit<R>(result: R, renderText: (result: R) => string): void;
  markDataProblems(): void;
  onInterrupt(cleanup: Cleanup): void;
  warn(message: string): void;
  confirm(message: string, yes: boolean): Promise<boolean>;
}

export async function repairFlow(host: RepairHost, a: RepairArgs): Promise<void> {
  const fs = new RealFs();
  const output = a.output;
  const { yes, dryRun } = a;
  const backupDir = a.backupDir;
  if (a.noBackup && !yes && !dryRun) throw new UsageError('--no-backup is only accepted together with --yes');
  if (a.noBackup && backupDir !== undefined) throw new UsageError('--no-backup and --backup-dir contradict each other');
  if (output !== undefined && dryRun) throw new UsageError('--output and --dry-run contradict each other');
  if (output !== undefined && backupDir !== undefined) throw new UsageError('--output keeps the original as it is: no --backup-dir needed');
  requireStore(fs, resolve(a.store));
  if (output !== undefined) {
    // the repair runs on a copy (tools/repair/copy-store.ts): the original is the backup
    if (!yes && (host.json || process.stdin.isTTY !== true)) throw new UsageError(`${host.json ? REFUSE_WITH_JSON : REFUSE_WITHOUT_TTY} (seglog repair ${a.store} --dry-run shows the plan)`);
    // a job (ui/job/repair-jobs.ts): a Ctrl-C mid-copy removes the partial copy
    const copy = await host.runJob('repairCopy', { dir: resolve(a.store), output: resolve(output) }, { label: `copying ${a.store} to ${output}`, unit: null, sizeBytes: storeSizeBytes(resolve(a.store)), readOnly: false });
    if (copy.interrupted) {
      host.emit({ store: a.store, output, interrupted: true }, () => `${output}: copy interrupted and removed; ${a.store} was only read, nothing changed`);
      return;
    }
  }
  const store = output ?? a.store;
  const dir = resolve(store);
  const noBackup = a.noBackup || output !== undefined;
  // jobs (ui/job/repair-jobs.ts): in a worker thread for large stores, so Ctrl-C and progress work
  const sizeBytes = storeSizeBytes(dir);
  // the plan's worker is kept for the execution (not for a dry run: nothing follows)
  const makePlan = (): Promise<RepairPlan> => host.runJob('repairPlan', { dir }, { label: 'planning', unit: null, sizeBytes, readOnly: true, then: dryRun ? undefined : 'repairExecute' });

  if (dryRun) {
    const plan = await makePlan();
    const out = outputOf(store, plan, true);
    const holder = liveLockHolder(fs, dir);
    if (holder) out.lockHeldBy = holder;
    host.emit(out, renderOutput);
    if (!plan.clean) host.markDataProblems();
    return;
  }
  // refuse before anything is touched (the lock included) when no one can be asked
  if (!yes && (host.json || process.stdin.isTTY !== true)) {
    throw new UsageError(`${host.json ? REFUSE_WITH_JSON : REFUSE_WITHOUT_TTY} (seglog repair ${store} --dry-run shows the plan)`);
  }
  const session = RepairSession.open(fs, dir, { onWarning: (m) => host.warn(m) });
  host.onInterrupt(() => session.close());
  try {
    const plan = await makePlan();
    const out = outputOf(store, plan, false);
    if (plan.actions.length === 0) {
      host.emit(out, renderOutput);
      if (!plan.clean) host.markDataProblems();
      return;
    }
    if (!yes) {
      process.stderr.write(`${renderPlan(out)}\n`);
      const question = output !== undefined
        ? `Apply ${plural(plan.actions.length, 'change')} to the copy in ${store}? ${a.store} is not changed.`
        : `Apply ${plural(plan.actions.length, 'change')} to ${store}? Changed files are backed up first${noBackup ? ' (not: --no-backup)' : ''}.`;
      if (!(await host.confirm(question, false))) {
        out.declined = true;
        host.emit(out, () => `${store}: nothing changed (declined)`);
        host.markDataProblems();
        return;
      }
    }
    session.requireLock();
    const backupRoot = backupRootOf(dir, { backupDir: backupDir === undefined ? undefined : resolve(backupDir), noBackup });
    const done = await host.runJob('repairExecute', { plan, backupRoot, nowMs: Date.now() }, { label: 'repairing', unit: 'steps', sizeBytes, readOnly: false });
    out.result = done.result;
    if (done.interrupted) out.interrupted = true;
    host.emit(out, renderOutput);
    if (!out.ok) host.markDataProblems();
  } finally {
    session.close();
  }
}

function renderPlan(o: RepairOutput): string {
  const lines: string[] = [];
  if (o.actions.length > 0) {
    lines.push(
      renderTable(
        ['segment', 'offset', 'action', 'what'],
        o.actions.map((a) => [a.segment, a.offset ?? '', a.action, a.detail]),
        { colAligns: ['left', 'right', 'left', 'left'] },
      ),
    );
  }
  if (o.lostEvents.length > 0) {
    const rows = o.lostEvents.slice(0, TEXT_LIST_MAX_ROWS).map((e) => [e.seq, e.entity ?? '?', e.clock ?? '', e.segment, e.offset, e.reason]);
    lines.push(`lost events (${formatCount(o.lostEvents.length)}):`);
    lines.push(renderTable(['seq', 'entity', 'clock', 'segment', 'offset', 'reason'], rows, { colAligns: ['right', 'left', 'right', 'left', 'right', 'left'] }));
    if (o.lostEvents.length > TEXT_LIST_MAX_ROWS) lines.push(`… and ${formatCount(o.lostEvents.length - TEXT_LIST_MAX_ROWS)} more (--json lists them all)`);
  }
  if (o.affectedEvents.length > 0) {
    const damaged = o.affectedEvents.filter((e) => e.reason === 'transaction_damaged').length;
    const dropped = o.affectedEvents.length - damaged;
    if (damaged > 0) lines.push(`${plural(damaged, 'event')} of transactions that lost frames become invisible (they stay in the log)`);
    if (dropped > 0) lines.push(`${plural(dropped, 'uncommitted event')} go with the cut tail (kept in lost+found/)`);
  }
  for (const c of o.cursors) {
    const to = c.newOffset === null ? 'is cut off' : `becomes byte ${c.newOffset}`;
    lines.push(`cursor ${c.cursor}: its ${c.position} position (${c.segment} byte ${c.offset}) ${to}; the cursor file is not changed: recreate or move it after the repair`);
  }
  if (o.unfixable.length > 0) {
    lines.push(`not fixable by repair (${o.unfixable.length}):`);
    lines.push(renderTable(['code', 'segment', 'offset', 'seq', 'entity', 'message'], o.unfixable.map((u) => [u.code, u.segment, u.offset, u.seq ?? '', u.entity ?? '', u.message])));
  }
  return lines.join('\n');
}

function renderOutput(o: RepairOutput): string {
  const lines: string[] = [];
  const plan = renderPlan(o);
  if (plan.length > 0) lines.push(plan);
  if (o.lockHeldBy) lines.push(`note: pid ${o.lockHeldBy.pid} on ${o.lockHeldBy.host} holds the store lock; the plan may change before a repair can run`);
  const lost = o.lostEvents.length > 0 ? `, ${plural(o.lostEvents.length, 'event')} lost` : '';
  if (o.clean) lines.push(`${o.store}: nothing to do: no problem found (${plural(o.eventFrames, 'event frame')}, ${formatBytes(o.bytes)})`);
  else if (o.dryRun) lines.push(`${o.store}: ${plural(o.actions.length, 'change')} planned${lost}; nothing changed (dry run)`);
  else if (o.interrupted && o.result) {
    const r = o.result;
    const kept = [r.backupDir ? `backup in ${r.backupDir}` : null, r.lostFound.length > 0 ? `${plural(r.lostFound.length, 'copy', 'copies')} in lost+found/` : null].filter((s) => s !== null);
    lines.push(`${o.store}: repair interrupted before any segment was replaced: the store is unchanged${kept.length > 0 ? ` (made so far: ${kept.join(', ')})` : ''}; run the repair again to finish`);
  } else if (o.result) {
    const r = o.result;
    const parts = [`${plural(r.rewritten.length, 'segment')} rewritten`];
    if (r.removed.length > 0) parts.push(`${plural(r.removed.length, 'segment')} removed`);
    if (r.lostFound.length > 0) parts.push(`${plural(r.lostFound.length, 'range')} kept in lost+found/`);
    if (r.checkpointRemoved) parts.push('index.ckpt removed');
    lines.push(`${o.store}: repaired: ${parts.join(', ')}${lost}`);
    lines.push(r.backupDir ? `backup: ${r.backupDir}` : 'backup: none (--no-backup)');
  }
  if (o.unfixable.length > 0) lines.push(`${plural(o.unfixable.length, 'problem')} left that repair cannot fix`);
  return lines.join('\n');
}
