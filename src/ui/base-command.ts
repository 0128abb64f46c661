/**
 * BaseCommand: every seglog command extends it. It owns, in one place, what all
 * commands must do the same way: the `--json` flag, the output channel, errors and
 * exit codes, Ctrl-C, spinners and confirmations. A command stays thin:
 *
 *   export default class Stats extends BaseCommand<typeof Stats> {
 *     static override summary = 'Show counts and sizes of a store';
 *     static override args = { store: storeArg() };
 *     async run(): Promise<void> {
 *       const result = await statsOf(this.args.store);        // the engine
 *       this.emit(result, (r) => renderStats(r));             // JSON or text
 *       if (result.problems.length > 0) this.markDataProblems();  // exit 1, output kept
 *     }
 *   }
 *
 * Flags and args are parsed in `init()`; `run()` reads `this.flags` / `this.args`.
 *
 * Output contract
 * - `--json` (oclif's enableJsonFlag): stdout carries exactly one JSON document, either
 *   the result (`this.emit`, or a value returned from `run()`) or, on failure,
 *   `{"error": {"code", "message", "file"?, "offset"?, "line"?}}`. Nothing else is
 *   written to stdout; if the command fails after its result was emitted, the error is
 *   reported on stderr and in the exit code only. A streamed document (`openJsonStream`,
 *   dump's events) that fails mid-way is closed validly with an `"error"` member after
 *   its array: still one document. `SEGLOG_CONTENT_TYPE=json` in the
 *   environment also turns JSON on (oclif). Text mode: `emit` calls the renderer.
 *   Diagnostics (`this.warn`, spinners, prompts, errors) always go to stderr.
 *
 * Exit codes (decided only in `catch`, via classifyError in errors.ts)
 * - 0: clean. 1: the data has problems. 2: usage or operational failure. 130: Ctrl-C.
 * - Engine errors (SeglogError, recognised by shape: numeric `exitCode` + `oneLine()`)
 *   print `seglog: <oneLine()>` and exit with their own exitCode (1 or 2), with or
 *   without --json (oclif alone would turn codes into 1 under --json).
 * - oclif parse/usage errors: one line, exit 2. Anything else: `seglog: internal error:
 *   <message>`, exit 2. Stack traces only with SEGLOG_DEBUG=1.
 *
 * "The data has problems" while still printing the result (verify finding a CRC
 * mismatch, replay discarding a transaction): call `this.markDataProblems()` (it sets
 * `process.exitCode = 1`) and return normally. Do not throw for that: a thrown error
 * replaces the result with an error document.
 *
 * Failure is signalled by throwing oclif's ExitError from `catch`; `bin/run.js`
 * (oclif's handle) then exits with that code. In tests, `await Cmd.run(argv)` rejects
 * with an error whose `oclif.exit` is the exit code; output was already written.
 */
import { Command, Errors, type Interfaces } from '@oclif/core';
import { classifyError, INTERRUPT_CLEANUP_TIMEOUT_MS, debugEnabled, stackOf, type ErrorReport } from './errors.js';
import { writeJson } from './json.js';
import { JsonStream } from './json-stream.js';
import { type Cleanup, type JobDisplay, JobHost } from './job-host.js';
import { confirmOrRefuse } from './prompt.js';
import { startSpinner, type Spinner } from './spinner.js';
import type { StdoutSink } from './stdout-sink.js';
import type { JobInput, JobName, JobOutput } from './job/jobs.js';

export type { Cleanup, JobDisplay };

export type Flags<T extends typeof Command> = Interfaces.InferredFlags<(typeof BaseCommand)['baseFlags'] & T['flags']>;
export type Args<T extends typeof Command> = Interfaces.InferredArgs<T['args']>;

export { INTERRUPT_CLEANUP_TIMEOUT_MS };

export abstract class BaseCommand<T extends typeof Command> extends Command {
  static override enableJsonFlag = true;
  static override baseFlags = {};

  protected flags!: Flags<T>;
  protected args!: Args<T>;

  /** Set once a JSON document went to stdout; a second one would break the contract. */
  private jsonWritten = false;
  /** The streamed document (openJsonStream), closed with an "error" member on failure. */
  private jsonStream: JsonStream | undefined;
  private readonly spinners = new Set<Spinner>();
  /** Jobs and Ctrl-C (job-host.ts, shared with the fast path). */
  private readonly jobs = new JobHost({
    spinner: (label) => this.spinner(label),
    warn: (m) => void this.warn(m),
    stopSpinners: () => this.stopSpinners('stop'),
    fail: (report, err) => this.reportFailure(report, err),
  });

  /** True when --json is on (also before parsing, so parse errors honour it). */
  protected get json(): boolean {
    return this.jsonEnabled();
  }

  public override async init(): Promise<void> {
    await super.init();
    this.jobs.install();
    const ctor = this.ctor as typeof BaseCommand;
    const { args, flags } = await this.parse({
      flags: ctor.flags,
      baseFlags: ctor.baseFlags,
      enableJsonFlag: ctor.enableJsonFlag,
      args: ctor.args,
      strict: ctor.strict,
    });
    this.flags = flags as Flags<T>;
    this.args = args as Args<T>;
  }

  /**
   * Prints the command's result: one JSON document under --json, otherwise whatever
   * `renderText` returns (a trailing newline is added if missing) or writes itself.
   */
  protected emit<R>(result: R, renderText: (result: R) => string | void): void {
    if (this.json) {
      if (this.jsonWritten) throw new Error('emit: a JSON document was already written for this command');
      this.jsonWritten = true;
      writeJson(result);
      return;
    }
    const text = renderText(result);
    if (typeof text === 'string' && text.length > 0) {
      process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    }
  }

  /**
   * Starts a streamed JSON document `{"<member>":[` on `sink` (--json only). Write each
   * item after `stream.item()`, then `closeJsonStream(members)`. If the command fails
   * after the open, `catch` closes the document with an "error" member: stdout still
   * holds exactly one JSON document.
   */
  protected openJsonStream(sink: StdoutSink, member: string): JsonStream {
    if (this.jsonWritten) throw new Error('openJsonStream: a JSON document was already written for this command');
    this.jsonWritten = true;
    const stream = new JsonStream(sink, member);
    this.jsonStream = stream;
    stream.open();
    return stream;
  }

  /** Ends the streamed document normally; `members` follow the array. */
  protected closeJsonStream(members: Record<string, unknown> = {}): void {
    this.jsonStream?.close(members);
  }

  /**
   * Runs a long job (src/ui/job/) with the main thread kept free: Ctrl-C is answered
   * within a fraction of a second and a progress line is drawn on stderr (TTY only).
   * When it was interrupted, the job returns what it did (its output says so, e.g.
   * `interrupted: true`); the command prints that as usual and the exit status is 130
   * (`seglog: interrupted` on stderr). A read-only job is stopped outright and this
   * rejects with JobCancelled (exit 130 via catch).
   */
  protected runJob<N extends JobName>(name: N, input: JobInput<N>, display: JobDisplay): Promise<JobOutput<N>> {
    return this.jobs.runJob(name, input, display);
  }

  /** Exit status 130 (interrupted) once the command returns; says so on stderr once. */
  protected markInterrupted(): void {
    this.jobs.markInterrupted();
  }

  /** Exit status 1 ("the data has problems") once the command returns normally. */
  protected markDataProblems(): void {
    this.jobs.markDataProblems();
  }

  /** One line on stderr, `seglog: warning: ...`; stderr is never part of the JSON contract. */
  public override warn(input: Error | string): Error | string {
    const message = typeof input === 'string' ? input : input.message;
    process.stderr.write(`seglog: warning: ${message.replace(/\s*\n\s*/g, ' ')}\n`);
    return input;
  }

  /** A spinner on stderr (TTY only, never with --json); stopped automatically on error. */
  protected spinner(text: string): Spinner {
    const inner = startSpinner(text, { json: this.json });
    const spinners = this.spinners;
    const tracked: Spinner = {
      update: (next) => inner.update(next),
      succeed: (finalText) => {
        spinners.delete(tracked);
        inner.succeed(finalText);
      },
      fail: (finalText) => {
        spinners.delete(tracked);
        inner.fail(finalText);
      },
      stop: () => {
        spinners.delete(tracked);
        inner.stop();
      },
    };
    spinners.add(tracked);
    return tracked;
  }

  /** Asks before changing files; see prompt.ts for when it refuses (exit 2). */
  protected confirm(message: string, yes: boolean): Promise<boolean> {
    return confirmOrRefuse({ yes, message, json: this.json });
  }

  /**
   * Registers work to do on Ctrl-C before exiting with 130 (close the store so its lock
   * is released). It runs while the command may still be mid-operation, so it must be
   * safe to call at any time; it gets INTERRUPT_CLEANUP_TIMEOUT_MS in total.
   */
  protected onInterrupt(cleanup: Cleanup): void {
    this.jobs.onInterrupt(cleanup);
  }

  /** Prints a compact document instead of oclif's pretty one, and at most one. */
  protected override logJson(json: unknown): void {
    if (this.jsonWritten) return;
    this.jsonWritten = true;
    writeJson(json);
  }

  protected override async catch(err: Interfaces.CommandError): Promise<never> {
    const report = classifyError(err);
    this.stopSpinners(report.silent ? 'stop' : 'fail');
    if (!report.silent) this.reportFailure(report, err);
    throw new Errors.ExitError(report.exitCode);
  }

  protected override async finally(err: Error | undefined): Promise<void> {
    this.stopSpinners('stop');
    this.jobs.uninstall();
    await super.finally(err);
  }

  private reportFailure(report: ErrorReport, err: unknown): void {
    process.stderr.write(`seglog: ${report.text}\n`);
    if (debugEnabled()) process.stderr.write(`${stackOf(err)}\n`);
    if (this.jsonStream?.isOpen) {
      this.jsonStream.close({ error: report.json });
    } else if (this.json && !this.jsonWritten) {
      this.jsonWritten = true;
      writeJson({ error: report.json });
    }
  }

  private stopSpinners(how: 'fail' | 'stop'): void {
    for (const spinner of [...this.spinners]) spinner[how]();
    this.spinners.clear();
  }
}
