import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeU32 } from '../../src/format/bytes.js';
import { FrameStatus } from '../../src/format/frame.js';
import { RealFs } from '../../src/engine/io/real-fs.js';
import { SegmentReader } from '../../src/engine/segment/segment-reader.js';
import {
  assertBuilt,
  CLI_TEST_TIMEOUT_MS,
  copyFixture,
  describeRun,
  expectOneLineError,
  jsonOf,
  removeTempDirs,
  runCli,
  stackLines,
  tempDir,
} from './cli-helpers.js';

beforeAll(assertBuilt);
afterAll(removeTempDirs);

interface VerifyJson {
  ok: boolean;
  problems: { code: string; severity: string; segment: string; offset: number }[];
}

/** Offsets of the frames of a segment file, read through the engine. */
function frameOffsets(path: string): number[] {
  const r = SegmentReader.open(new RealFs(), path);
  const out: number[] = [];
  try {
    while (r.next() === FrameStatus.Valid) out.push(r.frameOffset);
  } finally {
    r.close();
  }
  return out;
}

describe('paths that are not what a command needs: exit 2, one line naming the path', () => {
  it(
    'a missing path and a directory that is not a store',
    async () => {
      const missing = join(tempDir(), 'no-such-store');
      const notStore = tempDir();
      writeFileSync(join(notStore, 'notes.txt'), 'hello');
      const cases: [string[], string, RegExp][] = [
        [['verify', missing], missing, /no such file or directory/],
        [['stats', missing], missing, /no such store directory/],
        [['verify', notStore], notStore, /not a seglog store/],
        [['stats', notStore], notStore, /not a seglog store/],
        [['append', notStore, '--entity', 'e', '--scope', 's', '--payload', '1'], notStore, /not a seglog store/],
        [['stats', 'test/fixtures/garbage.seg'], 'test/fixtures/garbage.seg', /not a directory/],
      ];
      const runs = await Promise.all(cases.map(([args]) => runCli(args)));
      for (const [i, [, file, at]] of cases.entries()) expectOneLineError(runs[i]!, { exitCode: 2, file, at });
      expect(readFileSync(join(notStore, 'notes.txt'), 'utf8'), 'a refused append must not touch the directory').toBe('hello');
    },
    CLI_TEST_TIMEOUT_MS,
  );

  it(
    '--json prints exactly one error document on stdout; SEGLOG_DEBUG=1 adds the stack on stderr',
    async () => {
      const missing = join(tempDir(), 'gone');
      const [json, debug, usage] = await Promise.all([
        runCli(['verify', missing, '--json']),
        runCli(['verify', missing], { env: { SEGLOG_DEBUG: '1' } }),
        runCli(['verify', '--no-such-flag', '--json']),
      ]);
      expect(json.code, describeRun(json)).toBe(2);
      expect(jsonOf(json)).toEqual({ error: { code: 'not_found', message: 'no such file or directory', file: missing } });
      expectOneLineError(json, { exitCode: 2, file: missing });
      expect(debug.code, describeRun(debug)).toBe(2);
      expect(stackLines(debug.stderr).length, describeRun(debug)).toBeGreaterThan(0);
      expect(usage.code, describeRun(usage)).toBe(2);
      expect(jsonOf<{ error: { code: string } }>(usage).error.code).toBe('usage');
    },
    CLI_TEST_TIMEOUT_MS,
  );
});

describe('damaged files: the damage is named by file and byte offset, with the right exit status, and nothing hangs', () => {
  it(
    'garbage, empty, bit-flipped and absurd-length files under dump',
    async () => {
      const [garbage, empty, flipped, absurd, tornAlone] = await Promise.all([
        runCli(['dump', 'test/fixtures/garbage.seg']),
        runCli(['dump', 'test/fixtures/empty.seg', '--json']),
        runCli(['dump', 'test/fixtures/flipped-bit', '--format', 'jsonl']),
        runCli(['dump', 'test/fixtures/absurd-length', '--format', 'jsonl']),
        runCli(['dump', 'test/fixtures/torn-tail/0000000000.seg', '--format', 'jsonl']),
      ]);
      const expectWarning = (r: typeof garbage, exitCode: number, file: string, at: string, what: RegExp): void => {
        const where = describeRun(r);
        expect(r.timedOut, where).toBe(false);
        expect(r.code, where).toBe(exitCode);
        const lines = r.stderr.split('\n').filter((l) => l.length > 0);
        expect(lines, where).toHaveLength(1);
        expect(lines[0], where).toMatch(/^seglog: warning: /);
        expect(lines[0], where).toContain(`${file}: at byte ${at}`);
        expect(lines[0], where).toMatch(what);
      };
      expectWarning(garbage, 1, 'garbage.seg', '0', /bad segment header/);
      expect(garbage.stdout).toBe('');
      expectWarning(empty, 1, 'empty.seg', '0', /bad segment header/);
      expect(jsonOf(empty)).toEqual({ events: [] });
      expectWarning(flipped, 1, 'flipped-bit/0000000000.seg', '1232', /checksum mismatch/);
      expect(flipped.stdout.trimEnd().split('\n')).toHaveLength(29);
      expectWarning(absurd, 1, 'absurd-length/0000000000.seg', '1425', /impossible frame length/);
      expect(absurd.stdout.trimEnd().split('\n')).toHaveLength(11);
      expectWarning(tornAlone, 0, 'torn-tail/0000000000.seg', '1568', /torn tail/);
      expect(tornAlone.stdout.trimEnd().split('\n')).toHaveLength(7);
    },
    CLI_TEST_TIMEOUT_MS,
  );

  it(
    'a frame length of 0xFFFFFFF0 (or a plausible 32 MiB) at the end of a segment is a torn tail: read bounded by the file, no hang',
    async () => {
      const dir = tempDir();
      const base = readFileSync('test/fixtures/torn-tail/0000000000.seg').subarray(0, 1568);
      const craft = (name: string, length: number): string => {
        const tail = new Uint8Array(40).fill(0x41);
        writeU32(tail, 0, length);
        tail[8] = 1;
        const path = join(dir, name);
        writeFileSync(path, Buffer.concat([base, tail]));
        return path;
      };
      const absurd = craft('absurd.seg', 0xfffffff0);
      const plausible = craft('plausible.seg', 32 * 1024 * 1024);
      const runs = await Promise.all([runCli(['verify', absurd, '--json']), runCli(['verify', plausible, '--json']), runCli(['dump', absurd, '--hex', '--format', 'jsonl'])]);
      for (const r of runs.slice(0, 2)) {
        expect(r.code, describeRun(r)).toBe(0);
        expect(jsonOf<VerifyJson>(r).problems.map((p) => [p.code, p.severity, p.offset])).toEqual([['torn_tail', 'warning', 1568]]);
      }
      expect(runs[2]!.code, describeRun(runs[2]!)).toBe(0);
      expect(runs[2]!.stdout.trimEnd().split('\n')).toHaveLength(7);
    },
    CLI_TEST_TIMEOUT_MS,
  );

  it(
    'a sealed segment cut short is an error (truncated_segment at the cut frame), for verify and for dump',
    async () => {
      const store = copyFixture('clean');
      const seg = join(store, '0000000001.seg');
      const offsets = frameOffsets(seg);
      const cutFrame = offsets[5]!;
      truncateSync(seg, cutFrame + 10);
      const [v, d] = await Promise.all([runCli(['verify', store, '--json']), runCli(['dump', store, '--format', 'jsonl'])]);
      expect(v.code, describeRun(v)).toBe(1);
      const problems = jsonOf<VerifyJson>(v).problems;
      expect(problems, describeRun(v)).toContainEqual(expect.objectContaining({ code: 'truncated_segment', severity: 'error', segment: '0000000001.seg', offset: cutFrame }));
      expect(d.code, describeRun(d)).toBe(1);
      expect(d.stderr).toContain(`0000000001.seg: at byte ${cutFrame}`);
      expect(stackLines(d.stderr)).toEqual([]);
    },
    CLI_TEST_TIMEOUT_MS,
  );

  it(
    'an unknown command or flag is a usage error: exit 2, one line',
    async () => {
      const [cmd, flag] = await Promise.all([runCli(['no-such-command']), runCli(['dump', 'test/fixtures/clean', '--limit', 'many'])]);
      expect(cmd.code, describeRun(cmd)).toBe(2);
      expect(stackLines(cmd.stderr)).toEqual([]);
      expectOneLineError(flag, { exitCode: 2, at: /expected an integer/ });
    },
    CLI_TEST_TIMEOUT_MS,
  );
});
