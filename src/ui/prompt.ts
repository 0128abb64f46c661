/**
 * Confirmation before changing files. Never prompts without a terminal: @inquirer's
 * confirm throws on /dev/null and hangs forever on an open pipe with no data (a typical
 * CI runner), so without a TTY (or under --json, where stdout is a contract) the
 * command must be given --yes and otherwise stops with a usage error (exit 2).
 *
 * The question goes to stderr so stdout stays clean for the command's result.
 * @inquirer/prompts is imported only when a question is actually asked.
 */
import type { TtyLike } from './colors.js';
import { UsageError } from './errors.js';

export const REFUSE_WITHOUT_TTY = 'refusing to change files without --yes when stdin is not a terminal';
export const REFUSE_WITH_JSON = 'refusing to change files without --yes when --json is given';

export interface ConfirmOptions {
  /** --yes was given: do not ask. */
  yes: boolean;
  /** The question, e.g. "Cut 512 bytes of torn tail from 000003.seg?". */
  message: string;
  /** --json was given: never ask interactively. */
  json: boolean;
  /** Answer when the user just presses Enter. Default false: changing files is opt-in. */
  defaultAnswer?: boolean;
  /** Injectable for tests; default process.stdin / process.stderr. */
  stdin?: NodeJS.ReadableStream & TtyLike;
  output?: NodeJS.WritableStream;
}

/**
 * Resolves true to go ahead, false when the user answered no. Throws UsageError when it
 * may not ask. Ctrl-C during the question rejects with @inquirer's ExitPromptError,
 * which the base command maps to exit 130.
 */
export async function confirmOrRefuse(opts: ConfirmOptions): Promise<boolean> {
  if (opts.yes) return true;
  const stdin = opts.stdin ?? process.stdin;
  if (stdin.isTTY !== true) throw new UsageError(REFUSE_WITHOUT_TTY);
  if (opts.json) throw new UsageError(REFUSE_WITH_JSON);
  const { confirm } = await import('@inquirer/prompts');
  return confirm(
    { message: opts.message, default: opts.defaultAnswer ?? false },
    { input: stdin, output: opts.output ?? process.stderr },
  );
}
