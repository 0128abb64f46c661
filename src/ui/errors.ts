/**
 * Error classification for the CLI: the one place that decides which exit status and
 * which one-line message an error turns into. `BaseCommand.catch` is its only caller;
 * it is a pure function so tests can check the mapping without running a command.
 *
 * Exit statuses (docs/CLI.md): 0 clean, 1 the data has problems, 2 usage or
 * operational failure, 130 interrupted (Ctrl-C).
 *
 * The engine's `SeglogError` is recognised by shape, not by `instanceof`: ui must not
 * depend on the engine being importable (or on there being a single copy of it).
 */

export const EXIT_CLEAN = 0;
export const EXIT_DATA_PROBLEMS = 1;

/** Exit status 1 ("the data has problems") once the command returns, unless another status was already set. */
export function markDataProblems(): void {
  if (process.exitCode === undefined || process.exitCode === 0) process.exitCode = EXIT_DATA_PROBLEMS;
}
export const EXIT_FAILURE = 2;
export const EXIT_INTERRUPTED = 130;

/** How long interrupt cleanups (closing a store, releasing its lock, a job reaching its next boundary) may take. */
export const INTERRUPT_CLEANUP_TIMEOUT_MS = 2000;

/** Upper bound on a one-line message, so a runaway message cannot flood a CI log. */
export const MAX_ONE_LINE_CHARS = 2000;

/**
 * A usage error raised by the ui layer itself (refused prompt, bad flag value). It has
 * the same shape as the engine's SeglogError, so it takes the same path in `catch`.
 */
export class UsageError extends Error {
  readonly code = 'usage' as const;
  readonly exitCode = EXIT_FAILURE;
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
  oneLine(): string {
    return this.message;
  }
}

/** The shape of the engine's SeglogError (src/engine/io/errors.ts) that the CLI relies on. */
export interface SeglogErrorLike {
  code: string;
  message: string;
  exitCode: number;
  file?: string | undefined;
  offset?: number | undefined;
  line?: number | undefined;
  oneLine(): string;
}

/** The `error` member of the JSON document printed on stdout under --json. */
export interface JsonErrorBody {
  code: string;
  message: string;
  file?: string;
  offset?: number;
  line?: number;
}

export interface ErrorReport {
  exitCode: number;
  /** Stable identifier: the SeglogError code, 'usage', 'interrupted' or 'internal'. */
  code: string;
  /** One line for stderr, without the `seglog: ` prefix. */
  text: string;
  /** Body of the --json error document. */
  json: JsonErrorBody;
  /** True for oclif's ExitError (`this.exit(n)`): exit with the code, print nothing. */
  silent: boolean;
}

type Bag = Record<string, unknown>;

function asBag(err: unknown): Bag | undefined {
  return typeof err === 'object' && err !== null ? (err as Bag) : undefined;
}

export function isSeglogErrorLike(err: unknown): err is SeglogErrorLike {
  const e = asBag(err);
  return e !== undefined && typeof e.oneLine === 'function' && typeof e.exitCode === 'number';
}

function oclifExitCode(e: Bag): number | undefined {
  const oclif = asBag(e.oclif);
  return oclif !== undefined && typeof oclif.exit === 'number' ? oclif.exit : undefined;
}

/** An exit status an error may carry: 1..255 (0 would report an error as success). */
function validExitCode(code: number | undefined): number {
  return code !== undefined && Number.isInteger(code) && code >= 1 && code <= 255 ? code : EXIT_FAILURE;
}

const ANSI_PATTERN = /\u001B\[[0-9;]*[A-Za-z]/g;
const HELP_HINT = /^see more help with --help$/i;

/**
 * Collapses a possibly multi-line message (oclif parse errors span several lines and
 * carry colour codes) into one line: lines are trimmed and joined with ': ' (or a space
 * after a line that already ends with ':'), oclif's "See more help" line is dropped.
 */
export function collapseToOneLine(message: string): string {
  const parts = message
    .replace(ANSI_PATTERN, '')
    .split(/\r?\n/)
    .map((part) => part.replace(/\s+/g, ' ').trim())
    .filter((part) => part.length > 0 && !HELP_HINT.test(part));
  let out = '';
  for (const part of parts) {
    if (out.length === 0) out = part;
    else out += out.endsWith(':') ? ` ${part}` : `: ${part}`;
  }
  if (out.length === 0) out = 'unknown error';
  return out.length > MAX_ONE_LINE_CHARS ? `${out.slice(0, MAX_ONE_LINE_CHARS - 1)}…` : out;
}

/** oclif ends parse errors with "See more help with --help"; the stderr line keeps a short hint. */
function helpHint(message: string): string {
  return message.split(/\r?\n/).some((line) => HELP_HINT.test(line.trim())) ? ' (see --help)' : '';
}

/** A missing argument names the arguments rather than echoing oclif's two-column list. */
function cliErrorMessage(e: Bag, message: string): string {
  const args = e.args;
  if (/^Missing \d+ required arg/.test(message) && Array.isArray(args) && args.length > 0) {
    const names = args.map((arg: unknown) => String(asBag(arg)?.name ?? arg));
    return `missing required argument${names.length === 1 ? '' : 's'}: ${names.join(', ')}`;
  }
  return collapseToOneLine(message);
}

/** POSIX error names as Node and the FileSystem interface use them (ENOENT, EISDIR, ...). */
const ERRNO_CODE = /^E[A-Z0-9]{2,}$/;

/**
 * Node's (and the FileSystem's) message `EISDIR: illegal operation on a directory, read
 * '/s/0000000001.seg'` as the engine's ioError words it, the path left to the line's
 * file part: `read failed (EISDIR): illegal operation on a directory`.
 */
function errnoText(message: string, code: string): string {
  const text = message.startsWith(`${code}: `) ? message.slice(code.length + 2) : message;
  const m = /^(.*), (\w+)(?: '[^']*'(?: -> '[^']*')?)?$/.exec(text);
  return m === null ? `${code}: ${text}` : `${m[2]} failed (${code}): ${m[1]}`;
}

function messageOf(err: unknown): string {
  const e = asBag(err);
  if (e !== undefined && typeof e.message === 'string') return e.message;
  return String(err);
}

/** Maps any thrown value to its exit status, stderr line and JSON body. */
export function classifyError(err: unknown): ErrorReport {
  const e = asBag(err) ?? {};

  // oclif's ExitError, from `this.exit(n)`: the command already said what it had to.
  if (e.code === 'EEXIT' && oclifExitCode(e) !== undefined) {
    const exitCode = oclifExitCode(e) ?? EXIT_FAILURE;
    return { exitCode, code: 'exit', text: '', json: { code: 'exit', message: '' }, silent: true };
  }

  // @inquirer/prompts rejects with ExitPromptError when the user presses Ctrl-C; a
  // stopped job (ui/job/control.ts) with JobCancelled.
  if (e.name === 'ExitPromptError' || e.name === 'JobCancelled') {
    return interruptedReport();
  }

  if (isSeglogErrorLike(err)) {
    const json: JsonErrorBody = { code: String(err.code), message: collapseToOneLine(err.message) };
    if (err.file !== undefined) json.file = err.file;
    if (err.offset !== undefined) json.offset = err.offset;
    if (err.line !== undefined) json.line = err.line;
    return {
      exitCode: validExitCode(err.exitCode),
      code: json.code,
      text: `${collapseToOneLine(err.oneLine())}${helpHint(err.message)}`,
      json,
      silent: false,
    };
  }

  // oclif's CLIError and its parse errors (missing arg, unknown flag, bad flag value)
  // carry `oclif.exit`; it is 2 unless the command asked for another code explicitly.
  const cliExit = oclifExitCode(e);
  if (cliExit !== undefined) {
    const code = typeof e.code === 'string' && e.code.length > 0 ? e.code : 'usage';
    const message = cliErrorMessage(e, messageOf(err));
    const text = `${message}${helpHint(messageOf(err))}`;
    return { exitCode: validExitCode(cliExit), code, text, json: { code, message }, silent: false };
  }

  // A file-system error that no engine path wrapped (RealFs's FsError, or Node's own):
  // an operational failure naming the file, not an internal error (issue 12, item 6).
  if (typeof e.code === 'string' && ERRNO_CODE.test(e.code)) {
    const file = typeof e.path === 'string' ? e.path : undefined;
    const message = collapseToOneLine(errnoText(messageOf(err), e.code));
    const json: JsonErrorBody = { code: 'io', message };
    if (file !== undefined) json.file = file;
    return { exitCode: EXIT_FAILURE, code: 'io', text: file !== undefined ? `${file}: ${message}` : message, json, silent: false };
  }

  const message = collapseToOneLine(messageOf(err));
  return {
    exitCode: EXIT_FAILURE,
    code: 'internal',
    text: `internal error: ${message}`,
    json: { code: 'internal', message },
    silent: false,
  };
}

export function interruptedReport(): ErrorReport {
  return {
    exitCode: EXIT_INTERRUPTED,
    code: 'interrupted',
    text: 'interrupted',
    json: { code: 'interrupted', message: 'interrupted' },
    silent: false,
  };
}

/** Stack traces are for developers: shown only with SEGLOG_DEBUG=1. */
export function debugEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.SEGLOG_DEBUG === '1';
}

/** The stack of an error and of its `cause` chain (bounded), for SEGLOG_DEBUG output. */
export function stackOf(err: unknown, maxDepth = 5): string {
  const lines: string[] = [];
  let current: unknown = err;
  for (let depth = 0; depth < maxDepth && current !== undefined && current !== null; depth++) {
    const e = asBag(current);
    const stack = e !== undefined && typeof e.stack === 'string' ? e.stack : String(current);
    lines.push(depth === 0 ? stack : `caused by: ${stack}`);
    current = e?.cause;
  }
  return lines.join('\n');
}
