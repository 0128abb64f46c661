/**
 * Issue 12, item 6: a store whose files are not what they should be (a segment that is a
 * directory, a FIFO, a dangling symlink, a seglog.json that is a directory, a LOCK that
 * is a directory, ...) is never an `internal error`, never a stack trace and never a
 * hang, for any command, with or without --json. The CLI contract (docs/CLI.md) holds:
 * exit 2 when the command could not run, with one `seglog: <file>: ...` line naming the
 * file at fault; 1 when it is data damage; under --json exactly one JSON document on
 * stdout.
 *
 * Table-driven: every case is a small store (a copy of the `clean` fixture: 4 segments,
 * a checkpoint) with one thing broken, and every command runs on its own fresh copy,
 * through the built CLI, once as text and once with --json. The expected exit status of
 * each (case, command) pair is in the table (`exit`); a command the table leaves out
 * must exit 2 naming the case's file.
 *
 * Root cannot be denied by permissions (chmod), so EACCES is not among the cases; every
 * errno takes the same path: RealFs throws an FsError naming the file, and
 * src/ui/errors.ts turns whatever no engine path wrapped into `io`.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RealFs } from '../../src/engine/io/real-fs.js';
import { frameEndOf } from '../../src/engine/segment/segment-end.js';
import { assertBuilt, copyFixture, type CliResult, describeRun, errorLines, removeTempDirs, runCli, stackLines, tempDir } from './cli-helpers.js';

beforeAll(assertBuilt);
afterAll(removeTempDirs);

type CommandName =
  | 'init'
  | 'append'
  | 'append-file'
  | 'dump'
  | 'verify'
  | 'stats'
  | 'sidx-show'
  | 'sidx-strip'
  | 'sidx-rebuild'
  | 'wal-dump'
  | 'wal-replay'
  | 'repair-dry-run'
  | 'repair'
  | 'cursor-read'
  | 'fixture-build'
  | 'drill';

interface Inputs {
  jsonl: string;
  spec: string;
}

/** Every command, on `path`; --json is added by the sweep. */
const COMMANDS: Record<CommandName, (path: string, inputs: Inputs) => string[]> = {
  init: (p) => ['init', p],
  append: (p) => ['append', p, '--entity', 'e', '--scope', 's', '--payload', '1'],
  'append-file': (p, i) => ['append', p, '--file', i.jsonl, '--batch-size', '2'],
  dump: (p) => ['dump', p],
  verify: (p) => ['verify', p],
  stats: (p) => ['stats', p],
  'sidx-show': (p) => ['sidx', 'show', p],
  'sidx-strip': (p) => ['sidx', 'strip', p, '--yes'],
  'sidx-rebuild': (p) => ['sidx', 'rebuild', p, '--yes'],
  'wal-dump': (p) => ['wal', 'dump', p],
  'wal-replay': (p) => ['wal', 'replay', p],
  'repair-dry-run': (p) => ['repair', p, '--dry-run'],
  repair: (p) => ['repair', p, '--yes'],
  'cursor-read': (p) => ['cursor', 'read', p, 'c1', '--commit'],
  'fixture-build': (p, i) => ['fixture', 'build', p, '--spec', i.spec],
  drill: (p) => ['drill', p, '--workload', 'singles', '--points', '2', '--recovery-points', '0', '--workers', '1'],
};
const ALL_COMMANDS = Object.keys(COMMANDS) as CommandName[];
const READERS: CommandName[] = ['dump', 'verify', 'stats', 'sidx-show', 'wal-dump', 'wal-replay', 'repair-dry-run'];

type Exit = 0 | 1 | 2;

interface IoCase {
  name: string;
  /** What the case protects, for the test name. */
  what: string;
  /** Breaks a fresh copy of the `clean` store; returns the path the commands are given. */
  make: (store: string) => string;
  /** The file (or directory) a one-line error of this case must name (a substring of the line). */
  file: string;
  /** Expected exit status per command; commands left out must exit 2 naming `file`. */
  exit: Partial<Record<CommandName, Exit>>;
  /** The file a command's error names when it is not the case's (init names the store). */
  fileOf?: Partial<Record<CommandName, string>>;
  /** Whether `seglog drill` (the costliest command) runs in the default sweep. */
  drill?: boolean;
  /** A case that takes the same path as another runs these commands only in the default sweep. */
  sample?: CommandName[];
}

const SEG1 = '0000000001.seg';
const SEG3 = '0000000003.seg';

function replaceWith(path: string, make: (path: string) => void): void {
  rmSync(path, { recursive: true, force: true });
  make(path);
}

function mkfifo(path: string): void {
  execFileSync('mkfifo', [path]);
}

/** A torn tail on the last segment: its footer gone and its last frame cut short. */
function tearLastSegment(store: string): void {
  const path = join(store, SEG3);
  const fs = new RealFs();
  const fd = fs.open(path, 'r');
  const frameEnd = frameEndOf(fs, fd, fs.fstat(fd).sizeBytes);
  fs.close(fd);
  truncateSync(path, frameEnd - 7);
}

/** Readers exit 0 (the broken file is not theirs to read), writers as `extra` says, others 2. */
const readersOk = (extra: Partial<Record<CommandName, Exit>> = {}): Partial<Record<CommandName, Exit>> => ({
  ...Object.fromEntries(READERS.map((c) => [c, 0])),
  ...extra,
});
const STORE_EXISTS = { init: 'a store already exists' };
/** A writer, the readers that walk every frame, and repair: enough for a case that repeats another's path. */
const SAMPLE: CommandName[] = ['append', 'dump', 'verify', 'wal-replay', 'repair'];

const CASES: IoCase[] = [
  {
    name: 'segment-is-directory',
    what: 'a sealed segment path that is a directory (EISDIR)',
    make: (s) => (replaceWith(join(s, SEG1), mkdirSync), s),
    file: SEG1,
    exit: {},
    fileOf: STORE_EXISTS,
    drill: true,
  },
  {
    name: 'last-segment-is-directory',
    what: 'the active segment path that is a directory (EISDIR)',
    make: (s) => (replaceWith(join(s, SEG3), mkdirSync), s),
    file: SEG3,
    exit: {},
    fileOf: STORE_EXISTS,
    sample: SAMPLE,
  },
  {
    name: 'segment-symlink-to-directory',
    what: 'a segment replaced by a symlink to a directory',
    make: (s) => {
      const target = join(s, '..', 'elsewhere');
      mkdirSync(target);
      replaceWith(join(s, SEG1), (p) => symlinkSync(target, p));
      return s;
    },
    file: SEG1,
    exit: {},
    fileOf: STORE_EXISTS,
    sample: SAMPLE,
  },
  {
    name: 'segment-is-fifo',
    what: 'a FIFO named like a segment (must not block open)',
    make: (s) => (replaceWith(join(s, SEG1), mkfifo), s),
    file: SEG1,
    exit: {},
    fileOf: STORE_EXISTS,
  },
  {
    name: 'segment-dangling-symlink',
    what: 'a segment that is a dangling symlink (ENOENT on open after readdir listed it)',
    make: (s) => (replaceWith(join(s, SEG1), (p) => symlinkSync(join(s, 'nowhere'), p)), s),
    file: SEG1,
    exit: {},
    fileOf: STORE_EXISTS,
    sample: SAMPLE,
  },
  {
    name: 'segment-symlink-loop',
    what: 'a segment that is a symlink to itself (ELOOP)',
    make: (s) => (replaceWith(join(s, SEG1), (p) => symlinkSync(SEG1, p)), s),
    file: SEG1,
    exit: {},
    fileOf: STORE_EXISTS,
    sample: SAMPLE,
  },
  {
    name: 'segment-empty',
    what: 'a sealed segment that is a 0-byte file (data damage: exit 1, repaired by repair)',
    make: (s) => (truncateSync(join(s, SEG1), 0), s),
    file: SEG1,
    // a writer's open and the readers that walk every frame meet it (1); stats, sidx show
    // and strip, and a cursor reading the first 100 events do not need its frames (0)
    exit: { append: 1, 'append-file': 1, dump: 1, verify: 1, stats: 0, 'sidx-show': 0, 'sidx-strip': 0, 'sidx-rebuild': 1, 'wal-dump': 1, 'wal-replay': 1, 'repair-dry-run': 1, repair: 0, 'cursor-read': 0, 'fixture-build': 1, drill: 1 },
    fileOf: STORE_EXISTS,
  },
  {
    name: 'last-segment-empty',
    what: 'the active segment as a 0-byte file (a crash right after creating it: a torn tail)',
    make: (s) => (truncateSync(join(s, SEG3), 0), s),
    file: SEG3,
    // recovery removes it; sidx rebuild skips it (1) and repair plans its removal (a dry run: 1)
    exit: { ...Object.fromEntries(ALL_COMMANDS.map((c) => [c, 0])), init: 2, 'sidx-rebuild': 1, 'repair-dry-run': 1 },
    fileOf: STORE_EXISTS,
  },
  {
    name: 'meta-is-directory',
    what: 'seglog.json that is a directory',
    make: (s) => (replaceWith(join(s, 'seglog.json'), mkdirSync), s),
    file: 'seglog.json',
    // commands that read the options refuse (2); the rest read only segments
    exit: readersOk({ 'sidx-strip': 0, 'sidx-rebuild': 0, repair: 0, stats: 2 }),
    fileOf: STORE_EXISTS,
  },
  {
    name: 'meta-garbage',
    what: 'seglog.json that is not JSON',
    make: (s) => (writeFileSync(join(s, 'seglog.json'), 'xx{not json'), s),
    file: 'seglog.json',
    // damaged metadata is data damage (1) for commands that read the options
    exit: readersOk({ 'sidx-strip': 0, 'sidx-rebuild': 0, repair: 0, stats: 1, append: 1, 'append-file': 1, 'cursor-read': 1, 'fixture-build': 1, drill: 1 }),
    fileOf: STORE_EXISTS,
  },
  {
    name: 'lock-is-directory',
    what: 'a LOCK that is a directory (writers refuse naming it; readers take no lock)',
    make: (s) => (mkdirSync(join(s, 'LOCK')), s),
    file: 'LOCK',
    // a dry run reads the LOCK to say who holds it; a cursor takes its own lock
    exit: readersOk({ 'repair-dry-run': 2, 'cursor-read': 0 }),
    drill: true,
    fileOf: STORE_EXISTS,
  },
  {
    name: 'checkpoint-is-directory',
    what: 'index.ckpt that is a directory',
    make: (s) => (replaceWith(join(s, 'index.ckpt'), mkdirSync), s),
    file: 'index.ckpt',
    // a writer removes a checkpoint it cannot use (2: it cannot); a rebuild that changes nothing leaves it
    exit: readersOk({ 'sidx-rebuild': 0, 'repair-dry-run': 1, 'cursor-read': 0 }),
    fileOf: STORE_EXISTS,
  },
  {
    name: 'cursors-is-file',
    what: 'cursors/ that is a regular file',
    make: (s) => (writeFileSync(join(s, 'cursors'), 'not a directory'), s),
    file: 'cursors',
    // only the cursor and repair (which lists the cursors a rewrite moves) look at cursors/
    exit: { ...Object.fromEntries(ALL_COMMANDS.map((c) => [c, 0])), init: 2, 'repair-dry-run': 2, repair: 2, 'cursor-read': 2 },
    fileOf: STORE_EXISTS,
  },
  {
    name: 'lost-found-is-file',
    what: 'lost+found/ that is a regular file when recovery must cut a torn tail into it',
    make: (s) => {
      tearLastSegment(s);
      writeFileSync(join(s, 'lost+found'), 'not a directory');
      return s;
    },
    file: 'lost+found',
    // readers only report the torn tail; sidx rebuild skips the torn segment (1), a dry run plans its cut (1)
    exit: readersOk({ 'sidx-strip': 0, 'sidx-rebuild': 1, 'repair-dry-run': 1, 'cursor-read': 0 }),
    fileOf: STORE_EXISTS,
  },
  {
    name: 'store-is-file',
    what: 'a store path that is a regular file',
    make: (s) => {
      rmSync(s, { recursive: true });
      writeFileSync(s, 'not a store');
      return s;
    },
    file: 'store-is-file',
    // commands that take a segment file read it as one: a bad header (1); sidx refuses a file that is not a segment (2, issue 15)
    exit: { dump: 1, verify: 1 },
  },
  {
    name: 'store-under-file',
    what: 'a store path whose parent is a regular file (ENOTDIR)',
    make: (s) => {
      rmSync(s, { recursive: true });
      writeFileSync(s, 'not a directory');
      return join(s, 'store');
    },
    file: 'store-under-file',
    exit: {},
  },
];

interface Outcome {
  command: CommandName;
  json: boolean;
  run: CliResult;
}

/** Everything a run must show whatever the case: the contract of docs/CLI.md. */
function contractProblems(c: IoCase, o: Outcome): string[] {
  const { run: r } = o;
  const problems: string[] = [];
  if (r.timedOut) return ['hung (killed after the CLI timeout)'];
  if (/internal error/.test(r.stderr)) problems.push('an internal error');
  if (stackLines(r.stderr).length > 0) problems.push('a stack trace on stderr');
  const want = c.exit[o.command] ?? 2;
  if (r.code !== want) problems.push(`exit ${r.code}, the table says ${want}`);
  const lines = errorLines(r).filter((l) => l.startsWith('seglog: '));
  if (r.code === 2) {
    const file = c.fileOf?.[o.command] ?? c.file;
    if (lines.length !== 1) problems.push(`${lines.length} error lines on stderr, expected 1`);
    else if (!lines[0]!.includes(file)) problems.push(`the error line does not name ${file}`);
  } else if (r.code === 0 && lines.length > 0) problems.push('exit 0 with an error line on stderr');
  else if (lines.length > 1) problems.push(`${lines.length} error lines on stderr`);
  else if (lines.length === 1 && !lines[0]!.includes(c.file)) problems.push(`the error line does not name ${c.file}`);
  if (o.json) {
    let doc: unknown;
    try {
      doc = JSON.parse(r.stdout);
    } catch {
      problems.push('--json: stdout is not exactly one JSON document');
    }
    if (r.code === 2 && doc !== undefined) {
      const err = (doc as { error?: { code?: string } }).error;
      if (err === undefined) problems.push('--json: exit 2 without an error document');
      else if (err.code === 'internal') problems.push('--json: error code internal');
    }
  }
  return problems;
}

const FULL = process.env.SEGLOG_IO_FULL === '1';

async function sweep(c: IoCase, caseIndex: number): Promise<Outcome[]> {
  const aux = tempDir('seglog-io-inputs-');
  const inputs: Inputs = { jsonl: join(aux, 'in.jsonl'), spec: join(aux, 'spec.jsonl') };
  writeFileSync(inputs.jsonl, '{"entity":"a","scope":"s","payload":1}\n{"entity":"a","scope":"s","payload":2}\n');
  writeFileSync(inputs.spec, '{"type":"event","entity":"e","scope":"s","payload":1}\n');
  const jobs: (() => Promise<Outcome>)[] = [];
  for (const command of ALL_COMMANDS) {
    if (command === 'drill' && c.drill !== true && !FULL) continue;
    if (c.sample !== undefined && !c.sample.includes(command) && !FULL) continue;
    for (const json of [false, true]) {
      // the default sweep runs each pair once, text or --json alternating over the table
      // (every case and every command meet both); SEGLOG_IO_FULL=1 runs both
      if (!FULL && json !== ((caseIndex + ALL_COMMANDS.indexOf(command)) % 2 === 1)) continue;
      jobs.push(async () => {
        // the store copy is named after the case so an error line naming the store can be matched
        const dir = tempDir('seglog-io-');
        const store = copyFixture('clean');
        const path = c.make(renameTo(store, join(dir, c.name)));
        const args = [...COMMANDS[command](path, inputs), ...(json ? ['--json'] : [])];
        return { command, json, run: await runCli(args) };
      });
    }
  }
  return runLimited(jobs, 4);
}

function renameTo(from: string, to: string): string {
  execFileSync('mv', [from, to]);
  return to;
}

/** Runs the jobs `limit` at a time (CLI processes on a shared two-core machine). */
async function runLimited<T>(jobs: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const out: T[] = new Array(jobs.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const i = next++;
      out[i] = await jobs[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
  return out;
}

describe('every command on a store with a file that is not what it should be: no internal error, no stack, no hang; exit 2 naming the file (1 for data damage); one JSON document under --json', () => {
  for (const [caseIndex, c] of CASES.entries()) {
    it(`${c.name}: ${c.what}`, { timeout: 240_000 }, async () => {
      const outcomes = await sweep(c, caseIndex);
      const failures = outcomes
        .map((o) => ({ o, problems: contractProblems(c, o) }))
        .filter((f) => f.problems.length > 0)
        .map((f) => `[${f.o.command}${f.o.json ? ' --json' : ''}] ${f.problems.join('; ')}\n${describeRun(f.o.run)}`);
      if (process.env.SEGLOG_IO_TABLE === '1') {
        for (const o of outcomes) console.log(`${c.name}\t${o.command}${o.json ? ' --json' : ''}\t${o.run.code}\t${errorLines(o.run)[0] ?? ''}`);
      }
      expect(failures, `${failures.length} of ${outcomes.length} runs break the CLI contract (look at the file the case breaks and how RealFs / src/ui/errors.ts / the command's open path report it):\n\n${failures.join('\n\n')}`).toEqual([]);
    });
  }
});

