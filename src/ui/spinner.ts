/**
 * Progress spinners, on stderr only and only when stderr is a terminal and --json is
 * off. Otherwise the spinner is a no-op object that prints nothing at all: a disabled
 * ora still prints "- text" / "✔ text" lines, which would pollute CI logs.
 *
 * ora is ESM-only and loaded on first use, so `startSpinner` returns at once and the
 * animation starts when the module has loaded; calls made before then are remembered.
 * ora's `discardStdin` is off: it puts stdin in raw mode, where Ctrl-C stops raising
 * SIGINT while the engine does synchronous work, and it would fight a later prompt.
 * A terminal reporting 0 columns (a pty without a size, e.g. `script` under CI) gets no
 * spinner: ora 9.4 divides by the width and then clears an infinite number of lines,
 * blocking the process and writing without end (measured: 67 MB in 20 s).
 */
import type { Ora } from 'ora';
import type { TtyLike } from './colors.js';

export interface Spinner {
  update(text: string): void;
  succeed(text?: string): void;
  fail(text?: string): void;
  /** Removes the spinner without a final line. */
  stop(): void;
}

export interface SpinnerOptions {
  json: boolean;
  /** Default process.stderr; injectable for tests. */
  stream?: NodeJS.WritableStream & TtyLike & { columns?: number };
}

const NOOP_SPINNER: Spinner = Object.freeze({
  update() {},
  succeed() {},
  fail() {},
  stop() {},
});

export function spinnerEnabled(opts: SpinnerOptions): boolean {
  const stream = opts.stream ?? process.stderr;
  const columns = (stream as { columns?: unknown }).columns;
  return !opts.json && stream.isTTY === true && typeof columns === 'number' && columns > 0;
}

export function startSpinner(text: string, opts: SpinnerOptions): Spinner {
  if (!spinnerEnabled(opts)) return NOOP_SPINNER;
  const stream = opts.stream ?? process.stderr;
  let current = text;
  let done = false;
  let ora: Ora | undefined;

  import('ora')
    .then((mod) => {
      if (done) return;
      // isEnabled: we only get here on a TTY (above); ora's own test also turns animation off whenever CI is set, even on a real terminal
      ora = mod.default({ text: current, stream, discardStdin: false, isEnabled: true }).start();
    })
    .catch(() => {
      // No spinner is better than a failed command: progress display is optional.
    });

  const finish = (kind: 'succeed' | 'fail' | 'stop', finalText?: string): void => {
    if (done) return;
    done = true;
    if (ora !== undefined) {
      if (kind === 'stop') ora.stop();
      else ora[kind](finalText ?? current);
      return;
    }
    // Finished before ora loaded: print the final line ourselves, as ora would have.
    if (kind !== 'stop') stream.write(`${kind === 'succeed' ? '✔' : '✖'} ${finalText ?? current}\n`);
  };

  return {
    update(next: string) {
      current = next;
      if (ora !== undefined && !done) ora.text = next;
    },
    succeed: (finalText?: string) => finish('succeed', finalText),
    fail: (finalText?: string) => finish('fail', finalText),
    stop: () => finish('stop'),
  };
}
