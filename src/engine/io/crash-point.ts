/**
 * Named points where a test makes the CLI process die by SIGKILL, exactly there
 * (`SEGLOG_CRASH_AT=<name>`): timing a kill from outside cannot land between "position
 * durable" and "events printed". Used by test/commands/cursor-delivery.test.ts to check
 * the cursor delivery guarantees; a no-op unless the variable names the point.
 */
export type CrashPointName = 'cursor-read:after-commit' | 'cursor-read:after-output' | 'cursor-read:after-record' | 'cursor-commit:after-commit';

export function crashPoint(name: CrashPointName): void {
  if (process.env.SEGLOG_CRASH_AT === name) process.kill(process.pid, 'SIGKILL');
}
