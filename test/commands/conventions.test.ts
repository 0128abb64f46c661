/** CLI conventions of issue 15: unknown commands, -h, refusals of non-segment files, plurals and sizes, help width. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, BIN, CLI_TEST_TIMEOUT_MS, describeRun, expectOneLineError, jsonOf, REPO_ROOT, removeTempDirs, runCli, tempDir } from './cli-helpers.js';

beforeAll(assertBuilt);
afterAll(removeTempDirs);

describe('seglog command-line conventions', () => {
  it('an unknown command suggests the closest one, exit 2, with a JSON error under --json', async () => {
    const [text, json, far] = await Promise.all([runCli(['verfy', 'st']), runCli(['verfy', 'st', '--json']), runCli(['frobnicate'])]);
    expect(text.code, describeRun(text)).toBe(2);
    expect(text.stderr.trim()).toBe("seglog: unknown command 'verfy' (did you mean 'verify'?)");
    expect(json.code).toBe(2);
    expect(jsonOf(json)).toEqual({ error: { code: 'usage', message: "unknown command 'verfy' (did you mean 'verify'?)" } });
    expect(far.code).toBe(2);
    expect(far.stderr).toContain("unknown command 'frobnicate'");
  }, CLI_TEST_TIMEOUT_MS);

  it('-h is --help', async () => {
    const r = await runCli(['verify', '-h']);
    expect(r.code, describeRun(r)).toBe(0);
    expect(r.stdout).toContain('USAGE');
  }, CLI_TEST_TIMEOUT_MS);

  it('sidx show|strip|rebuild refuse a file that is not a segment: exit 2, never 0', async () => {
    const file = join(tempDir(), 'two.bin');
    writeFileSync(file, 'ab');
    const runs = await Promise.all([runCli(['sidx', 'show', file]), runCli(['sidx', 'strip', file, '--yes']), runCli(['sidx', 'rebuild', file, '--yes'])]);
    for (const r of runs) expectOneLineError(r, { exitCode: 2, file, at: /not a seglog segment/ });
  }, CLI_TEST_TIMEOUT_MS);

  it('messages name the store file right, count with plurals, and give sizes in human units', async () => {
    const dir = tempDir();
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    for (const path of [empty, `${empty}/`]) {
      const r = await runCli(['stats', path]);
      expect(r.stderr, describeRun(r)).toContain('(no seglog.json)');
    }
    const store = join(dir, 's');
    const init = await runCli(['init', store]);
    expect(init.stdout).toContain('segments of 64 MiB');
    const one = join(dir, 'one.jsonl');
    writeFileSync(one, `${JSON.stringify({ entity: 'e', scope: 's', payload: {} })}\n`);
    const a = await runCli(['append', store, '--file', one, '--batch-size', '5']);
    expect(a.stdout.trim(), describeRun(a)).toBe('appended 1 event in 1 batch');
    const gh = await runCli(['verify', store, '--format', 'github']);
    expect(gh.stdout.trim().split('\n').at(-1)).toBe('no problems found');
    const quiet = await runCli(['verify', store, '--quiet']);
    expect({ code: quiet.code, stdout: quiet.stdout }).toEqual({ code: 0, stdout: '' });
  }, CLI_TEST_TIMEOUT_MS);

  it('help text fits an 80-column terminal', () => {
    for (const cmd of ['', 'drill', 'append', 'fixture build', 'sidx strip']) {
      const out = execFileSync('script', ['-qfec', `stty cols 80; ${process.execPath} ${BIN} ${cmd} --help`, '/dev/null'], { cwd: REPO_ROOT, env: { ...process.env, NODE_ENV: 'production', NO_COLOR: '1' }, encoding: 'utf8' });
      const long = out
        .replace(/\u001b\[[0-9;]*[A-Za-z]/g, '')
        .split(/\r?\n/)
        .filter((l) => l.length > 80);
      expect(long, `seglog ${cmd} --help (src/help/seglog-help.ts)`).toEqual([]);
    }
  }, CLI_TEST_TIMEOUT_MS);
  it('completion bash prints a script that completes commands, subcommands and flags', async () => {
    const r = await runCli(['completion', 'bash']);
    expect(r.code, describeRun(r)).toBe(0);
    const file = join(tempDir(), 'seglog.bash');
    writeFileSync(file, r.stdout);
    const probe = (words: string[]): string =>
      execFileSync('bash', ['-c', `source "$0"; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _seglog_complete; echo "\${COMPREPLY[@]}"`, file], { encoding: 'utf8' }).trim();
    expect(probe(['seglog', 'ver'])).toBe('verify');
    expect(probe(['seglog', 'sidx', 're'])).toBe('rebuild');
    expect(probe(['seglog', 'verify', '--qu'])).toBe('--quiet');
    const zsh = await runCli(['completion', 'zsh']);
    expect(zsh.stdout).toContain('bashcompinit');
  }, CLI_TEST_TIMEOUT_MS);
});
