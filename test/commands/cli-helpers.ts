/**
 * End-to-end helpers: run the BUILT CLI (`bin/run.js`, NODE_ENV=production) as a child
 * process, with a timeout so nothing can hang the suite. `npm test` builds first; a
 * plain `npx vitest run` needs a prior `npm run build`.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../engine/test-store.js';

export { copyFixture, FIXTURES_DIR, freshStorePath, REPO_ROOT, removeTempDirs, tempDir } from '../engine/test-store.js';

export const BIN = join(REPO_ROOT, 'bin', 'run.js');
/**
 * No command here should come near this; a run that does is reported as a hang. Tests
 * start up to 16 CLI processes at once on a shared 2-core machine: at load 30+ a 0.5 s
 * (CPU) verify took 25 s of wall time, so the bound is generous.
 */
export const CLI_TIMEOUT_MS = 60_000;
/** Vitest timeout for a test that runs a handful of CLI processes. */
export const CLI_TEST_TIMEOUT_MS = 120_000;

/** Throws (failing the file's beforeAll) when the CLI has not been built. */
export function assertBuilt(): void {
  for (const f of [join(REPO_ROOT, 'dist', 'commands', 'verify.js'), join(REPO_ROOT, 'oclif.manifest.json')]) {
    if (!existsSync(f)) throw new Error(`${f} is missing: run \`npm run build\` first (npm test does)`);
  }
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** The command line, for failure messages. */
  cmd: string;
}

export interface CliOptions {
  /** Written to stdin, which is then closed (stdin is always closed, never left open). */
  input?: string;
  env?: Record<string, string | undefined>;
  cwd?: string;
  timeoutMs?: number;
}

export function runCli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  const env: Record<string, string | undefined> = { ...process.env, NODE_ENV: 'production', NO_COLOR: '1', SEGLOG_DEBUG: undefined, ...opts.env };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  const child = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd ?? REPO_ROOT, env: env as NodeJS.ProcessEnv, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let timedOut = false;
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdin.on('error', () => {}); // the command may exit before reading its input
  child.stdin.end(opts.input ?? '');
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, opts.timeoutMs ?? CLI_TIMEOUT_MS);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut, cmd: `seglog ${args.join(' ')}` });
    });
  });
}

/** What every run must show whatever its outcome: it finished, and no stack trace leaked. */
export function describeRun(r: CliResult): string {
  return `${r.cmd}\n--- exit ${r.code}${r.timedOut ? ' (TIMED OUT)' : ''}\n--- stdout\n${r.stdout.slice(0, 2000)}\n--- stderr\n${r.stderr.slice(0, 2000)}`;
}

export function stackLines(text: string): string[] {
  return text.split('\n').filter((l) => /^\s{4}at /.test(l));
}

/** stdout parsed as exactly one JSON document (JSON.parse of the whole text fails on two). */
export function jsonOf<T = Record<string, unknown>>(r: CliResult): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch (err) {
    throw new Error(`stdout is not exactly one JSON document (${(err as Error).message})\n${describeRun(r)}`);
  }
}

/** The non-empty lines of stderr that are not warnings. */
export function errorLines(r: CliResult): string[] {
  return r.stderr.split('\n').filter((l) => l.trim().length > 0 && !l.startsWith('seglog: warning:'));
}

/**
 * A failure as the CLI contract wants it: the exit status, one `seglog: ...` line on
 * stderr (warnings aside) naming the file and where in it, and no stack trace.
 */
export function expectOneLineError(r: CliResult, want: { exitCode: number; file?: string; at?: RegExp | string }): void {
  const where = describeRun(r);
  if (r.timedOut) throw new Error(`hung:\n${where}`);
  const lines = errorLines(r);
  const problems: string[] = [];
  if (r.code !== want.exitCode) problems.push(`exit ${r.code}, expected ${want.exitCode}`);
  if (lines.length !== 1) problems.push(`${lines.length} error lines on stderr, expected 1`);
  else {
    const line = lines[0]!;
    if (!line.startsWith('seglog: ')) problems.push('the error line does not start with "seglog: "');
    if (want.file !== undefined && !line.includes(want.file)) problems.push(`the error line does not name ${want.file}`);
    if (want.at !== undefined && !(typeof want.at === 'string' ? line.includes(want.at) : want.at.test(line))) problems.push(`the error line does not say ${String(want.at)}`);
  }
  if (stackLines(r.stderr).length > 0) problems.push('a stack trace leaked to stderr (only SEGLOG_DEBUG=1 may show one)');
  if (problems.length > 0) throw new Error(`${problems.join('; ')}\n${where}`);
}
