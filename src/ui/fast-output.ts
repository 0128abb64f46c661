/**
 * What the start-up fast path (fast-path.ts) prints for a command it runs without oclif:
 * BaseCommand's emit and reportFailure, with the same helpers (json.ts, errors.ts).
 */
import { debugEnabled, stackOf, type ErrorReport } from './errors.js';
import { writeJson } from './json.js';

/** BaseCommand's emit and reportFailure, for one command without oclif. */
export class FastOutput {
  private jsonWritten = false;
  constructor(private readonly json: boolean) {}

  emit<R>(result: R, renderText: (result: R) => string): void {
    if (this.json) {
      this.jsonWritten = true;
      writeJson(result);
      return;
    }
    const text = renderText(result);
    if (text.length > 0) process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  fail(report: ErrorReport, err: unknown): void {
    if (!report.silent) {
      process.stderr.write(`seglog: ${report.text}\n`);
      if (debugEnabled()) process.stderr.write(`${stackOf(err)}\n`);
      if (this.json && !this.jsonWritten) {
        this.jsonWritten = true;
        writeJson({ error: report.json });
      }
    }
    process.exitCode = report.exitCode;
  }
}
