/**
 * `seglog drill` as a job (control.ts). The drill explores crash states on a simulated
 * disk (nothing real is written), in worker threads of its own or in this thread; the
 * job's cancel flag is handed to all of them (DrillOptions.stop), so a Ctrl-C stops
 * every thread before its next crash state and the report covers what was explored
 * (`interrupted: true`).
 */
import { type DrillOptions, type DrillReport, runDrill } from '../../tools/drill/drill-runner.js';
import type { JobControl } from './control.js';

export type DrillJobInput = Omit<DrillOptions, 'onProgress' | 'stop'>;

export async function drillJob(input: DrillJobInput, ctl: JobControl): Promise<DrillReport> {
  return runDrill({ ...input, stop: ctl.cancelFlag, onProgress: (done) => ctl.progress(done) });
}
