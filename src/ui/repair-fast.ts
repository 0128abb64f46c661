/**
 * `repair STORE --yes [--json]` without oclif (fast-path.ts): the repair bench (issue 18)
 * is timed as a whole CLI run, and oclif's start-up (~0.15-0.2 s of CPU) came before the
 * plan's job could start.
 *
 * Sound by refusing, as the rest of the fast path: only `--yes` (no prompt to show) and
 * `--json`, nothing else (a dry run, --backup-dir, --no-backup, --output go to oclif),
 * and only when stderr is not a terminal (at a terminal BaseCommand draws progress). What
 * runs is the command's own flow (repair-flow.ts: its checks in its order, its jobs, its
 * output), its failures reported as BaseCommand reports them (FastOutput.fail), Ctrl-C
 * answered by the same JobHost BaseCommand uses. `SEGLOG_FAST_PATH=0` turns it off, and
 * test/commands/fast-path.test.ts compares both ways.
 */
import { classifyError } from './errors.js';
import type { FastOutput } from './fast-output.js';
import { fastJobHost } from './fast-job.js';
import { confirmOrRefuse } from './prompt.js';
import { type RepairHost, repairFlow } from './repair-flow.js';

/** Runs the repair; false (nothing done, nothing printed) when oclif must. */
export async function repairFast(store: string, json: boolean, warn: (message: string) => void, out: FastOutput): Promise<boolean> {
  if (process.stderr.isTTY) return false;
  const jobs = fastJobHost(warn, out);
  const host: RepairHost = {
    json,
    runJob: (name, input, display) => jobs.runJob(name, input, display),
    emit: (result, render) => out.emit(result, render),
    markDataProblems: () => jobs.markDataProblems(),
    onInterrupt: (cleanup) => jobs.onInterrupt(cleanup),
    warn,
    confirm: (message, yes) => confirmOrRefuse({ yes, message, json }),
  };
  jobs.install();
  try {
    await repairFlow(host, { store, dryRun: false, yes: true, backupDir: undefined, noBackup: false, output: undefined });
  } catch (err) {
    out.fail(classifyError(err), err);
  } finally {
    jobs.uninstall();
  }
  return true;
}
