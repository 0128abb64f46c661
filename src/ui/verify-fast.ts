/**
 * `seglog verify` without oclif (fast-path.ts): the command that CI jobs and cron run over
 * and over, where oclif's start-up (~0.15-0.2 s of CPU) was a tenth of verifying a
 * 1M-event store (issue 18: verify at most 0.6x redis-check-aof).
 *
 * Sound by refusing, as the rest of the fast path: only when stderr is not a terminal (at
 * a terminal BaseCommand draws progress), only a format the command takes and a
 * --max-errors it accepts, and only once the command's own checks (verify-action.ts)
 * pass: any error there returns false with nothing printed, and oclif then says what it
 * always says. The job, its input and the printing are the command's; Ctrl-C as BaseCommand answers it (fast-job.ts).
 */
import { markDataProblems } from './errors.js';
import type { FastOutput } from './fast-output.js';
import type { FastArgs } from './fast-path.js';
import { runFastJob } from './fast-job.js';
import { prepareVerify, printVerify, type VerifyArgs, type VerifyFormat } from './verify-action.js';

const FORMATS: readonly string[] = ['text', 'json', 'junit', 'github'] satisfies VerifyFormat[];

/** Runs verify; false (nothing done, nothing printed) when oclif must. */
export async function verifyFast(p: FastArgs, warn: (message: string) => void, out: FastOutput): Promise<boolean> {
  if (process.stderr.isTTY) return false;
  const f = p.flags;
  const format = p.json ? 'json' : ((f.format as string | undefined) ?? 'text');
  const maxErrors = f['max-errors'] as number | undefined;
  if (!FORMATS.includes(format) || (maxErrors !== undefined && maxErrors < 1)) return false;
  const a: VerifyArgs = {
    store: p.arg,
    maxErrors,
    strict: f.strict === true,
    format: format as VerifyFormat,
    quiet: f.quiet === true,
    verbose: f.verbose === true,
    anchors: (f.anchor as string[] | undefined) ?? [],
    pubkeys: (f.pubkey as string[] | undefined) ?? [],
    archive: f.archive as string | undefined,
  };
  let prepared: ReturnType<typeof prepareVerify>;
  try {
    prepared = prepareVerify(a);
  } catch {
    return false;
  }
  await runFastJob('verify', prepared.input, { sizeBytes: prepared.sizeBytes, readOnly: true, warn, out }, (report) => {
    if (printVerify(report, a, (o, render) => out.emit(o, render))) markDataProblems();
  });
  return true;
}
