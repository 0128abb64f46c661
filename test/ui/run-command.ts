/**
 * Test helper: runs an oclif command class in-process and returns what it wrote and the
 * exit status the CLI would have, without @oclif/test. Reusable by command tests:
 *
 *   const r = await runCommand(Verify, [storeDir, '--json']);
 *   expect(r.exitCode).toBe(1);
 *   expect(JSON.parse(r.stdout).ok).toBe(false);
 *
 * Exit status: the ExitError's `oclif.exit` when the command failed (BaseCommand.catch
 * throws one), else `process.exitCode` (set by markDataProblems), else 0.
 * process.exitCode is reset before and after, so one test cannot leak it into another.
 */
import { Config, type Interfaces } from '@oclif/core';
import { fileURLToPath } from 'node:url';
import { vi } from 'vitest';

export interface CommandRun {
  stdout: string;
  stderr: string;
  exitCode: number;
  /** What `Cmd.run` resolved to (undefined when it failed). */
  result: unknown;
  /** What `Cmd.run` rejected with (oclif's ExitError for BaseCommand failures). */
  error: unknown;
}

/** A directory with no oclif.manifest.json and no commands, so nothing else gets loaded. */
const CONFIG_ROOT = fileURLToPath(new URL('.', import.meta.url));

let configPromise: Promise<Config> | undefined;

/**
 * A Config with an inline package.json that declares no commands and no plugins, rooted
 * where there is no manifest: loading it imports nothing from src/ or dist/, so
 * command-class tests work before (and independently of) a build.
 */
export function testConfig(): Promise<Config> {
  configPromise ??= Config.load({
    root: CONFIG_ROOT,
    pjson: {
      name: 'seglog',
      version: '0.0.0-test',
      oclif: { bin: 'seglog', dirname: 'seglog', topicSeparator: ' ' },
    } as unknown as Config['pjson'],
  });
  return configPromise;
}

/** Any oclif command class: `typeof MyCommand`. */
export interface Runnable {
  run(argv?: string[], opts?: Interfaces.LoadOptions): Promise<unknown>;
}

function chunkToString(chunk: unknown): string {
  if (typeof chunk === 'string') return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk).toString('utf8');
  return String(chunk);
}

export async function runCommand(
  Cmd: Runnable,
  argv: string[],
  opts: { env?: Record<string, string | undefined> } = {},
): Promise<CommandRun> {
  const config = await testConfig();
  const out: string[] = [];
  const err: string[] = [];
  const savedEnv: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(opts.env ?? {})) {
    savedEnv[key] = process.env[key];
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  const outSpy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: unknown) => {
    out.push(chunkToString(chunk));
    return true;
  });
  const errSpy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: unknown) => {
    err.push(chunkToString(chunk));
    return true;
  });
  process.exitCode = undefined;
  let result: unknown;
  let error: unknown;
  let exitCode = 0;
  try {
    result = await Cmd.run(argv, config);
    exitCode = Number(process.exitCode ?? 0);
  } catch (caught) {
    error = caught;
    const oclifExit = (caught as { oclif?: { exit?: unknown } }).oclif?.exit;
    exitCode = typeof oclifExit === 'number' ? oclifExit : -1;
  } finally {
    outSpy.mockRestore();
    errSpy.mockRestore();
    process.exitCode = undefined;
    for (const [key, value] of Object.entries(savedEnv)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
  return { stdout: out.join(''), stderr: err.join(''), exitCode, result, error };
}
