/**
 * Damaged inputs: random stores, random byte damage (bit flips, zeroed runs, truncation,
 * inserted bytes, appended garbage, swapped and deleted segment files, a flipped
 * checkpoint byte). Properties:
 *   1. no command crashes: no `internal error`, no stack trace, exit 0/1/2 only (and a
 *      sample spawns the real CLI with a 10 s limit: no hang);
 *   2. verify reports every change the reference reader sees: the same problem list, and
 *      a change the reference finds nothing wrong with is one that leaves a valid store
 *      (a cut at a frame boundary of the last segment, a deleted last segment);
 *   3. every event dump or cursor read prints is one the reference sees intact (CRC,
 *      layout and hash), and dump prints exactly the reference's committed events.
 *
 *   SEGLOG_DIFF_SEED=N, SEGLOG_DIFF_RUNS=N (SEGLOG_DAMAGE_RUNS overrides the
 *   number of damaged inputs). See test/differential/README.md.
 */
import fc from 'fast-check';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import CursorRead from '../../src/commands/cursor/read.js';
import Dump from '../../src/commands/dump.js';
import Repair from '../../src/commands/repair.js';
import SidxShow from '../../src/commands/sidx/show.js';
import Stats from '../../src/commands/stats.js';
import Verify from '../../src/commands/verify.js';
import WalDump from '../../src/commands/wal/dump.js';
import WalReplay from '../../src/commands/wal/replay.js';
import { type Blake3, createHasher } from '../../src/format/hash/blake3.js';
import { expectedRecord, ReferenceReader, type RefStore } from '../support/reference-reader.js';
import { runCli } from '../commands/cli-helpers.js';
import { removeTempDirs, segmentNames, tempDir } from '../engine/test-store.js';
import { comparableProblems, Mismatch, run, selectEvents, useReadChunk } from './harness.js';
import { buildShape, type Shape, shapeArb } from './shapes.js';
import { DAMAGE_REGRESSIONS } from './regressions.js';

const SEED = process.env.SEGLOG_DIFF_SEED !== undefined ? Number(process.env.SEGLOG_DIFF_SEED) : 0xda_3a9e;
const RUNS = process.env.SEGLOG_DAMAGE_RUNS !== undefined ? Number(process.env.SEGLOG_DAMAGE_RUNS) : process.env.SEGLOG_DIFF_RUNS !== undefined ? Number(process.env.SEGLOG_DIFF_RUNS) : 100;
const LONG = RUNS > 1000;
/** A command that takes longer than this in the spawned sample is a hang. */
const HANG_MS = 10_000;

export type Damage =
  | { d: 'flip'; file: number; at: number; bit: number }
  | { d: 'zero'; file: number; at: number; len: number }
  | { d: 'truncate'; file: number; at: number }
  | { d: 'insert'; file: number; at: number; bytes: number[] }
  | { d: 'append'; file: number; bytes: number[] }
  | { d: 'swap'; file: number; other: number }
  | { d: 'delete'; file: number }
  | { d: 'ckpt'; at: number; bit: number };

/** Positions are fractions of the file (0..1), so a damage means the same on any size. */
const frac = fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true });
const damageArb: fc.Arbitrary<Damage> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ d: fc.constant('flip' as const), file: fc.nat(9), at: frac, bit: fc.nat(7) }) },
  { weight: 2, arbitrary: fc.record({ d: fc.constant('zero' as const), file: fc.nat(9), at: frac, len: fc.integer({ min: 1, max: 600 }) }) },
  { weight: 2, arbitrary: fc.record({ d: fc.constant('truncate' as const), file: fc.nat(9), at: frac }) },
  { weight: 1, arbitrary: fc.record({ d: fc.constant('insert' as const), file: fc.nat(9), at: frac, bytes: fc.array(fc.nat(255), { minLength: 1, maxLength: 40 }) }) },
  { weight: 1, arbitrary: fc.record({ d: fc.constant('append' as const), file: fc.nat(9), bytes: fc.array(fc.constantFrom(0, 0, 0x53, 0xff, 7), { minLength: 1, maxLength: 300 }) }) },
  { weight: 1, arbitrary: fc.record({ d: fc.constant('swap' as const), file: fc.nat(9), other: fc.nat(9) }) },
  { weight: 1, arbitrary: fc.record({ d: fc.constant('delete' as const), file: fc.nat(9) }) },
  { weight: 1, arbitrary: fc.record({ d: fc.constant('ckpt' as const), at: frac, bit: fc.nat(7) }) },
);

/** Applies `d`; returns a description, or null when it changed nothing. */
function applyDamage(dir: string, d: Damage): string | null {
  const segs = segmentNames(dir);
  if (d.d === 'ckpt') {
    const p = join(dir, 'index.ckpt');
    if (!existsSync(p)) return null;
    const b = readFileSync(p);
    const at = 'at' in d ? Math.floor(d.at * b.length) : b.length;
    b[at]! ^= 1 << d.bit;
    writeFileSync(p, b);
    return `index.ckpt: bit ${d.bit} of byte ${at} flipped`;
  }
  if (segs.length === 0) return null;
  const name = segs[d.file % segs.length]!;
  const p = join(dir, name);
  const b = readFileSync(p);
  const at = 'at' in d ? Math.floor(d.at * b.length) : b.length;
  switch (d.d) {
    case 'flip':
      if (b.length === 0) return null;
      b[at]! ^= 1 << d.bit;
      writeFileSync(p, b);
      return `${name}: bit ${d.bit} of byte ${at} flipped`;
    case 'zero': {
      const end = Math.min(b.length, at + d.len);
      if (b.subarray(at, end).every((x) => x === 0)) return null;
      b.fill(0, at, end);
      writeFileSync(p, b);
      return `${name}: bytes ${at}..${end} zeroed`;
    }
    case 'truncate':
      if (at >= b.length) return null;
      writeFileSync(p, b.subarray(0, at));
      return `${name}: truncated to ${at} bytes (was ${b.length})`;
    case 'insert':
      writeFileSync(p, Buffer.concat([b.subarray(0, at), Buffer.from(d.bytes), b.subarray(at)]));
      return `${name}: ${d.bytes.length} bytes inserted at ${at}`;
    case 'append':
      writeFileSync(p, Buffer.concat([b, Buffer.from(d.bytes)]));
      return `${name}: ${d.bytes.length} bytes appended at ${b.length}`;
    case 'swap': {
      const other = segs[d.other % segs.length]!;
      if (other === name) return null;
      const o = readFileSync(join(dir, other));
      if (o.equals(b)) return null;
      renameSync(join(dir, other), `${p}.swap`);
      renameSync(p, join(dir, other));
      renameSync(`${p}.swap`, p);
      return `${name} and ${other} swapped`;
    }
    case 'delete':
      rmSync(p);
      return `${name} deleted`;
  }
}

/** Every file of the store (top level), as one string: names and bytes. */
function filesOf(dir: string): string {
  return readdirSync(dir)
    .sort()
    .filter((n) => n.endsWith('.seg') || n === 'index.ckpt')
    .map((n) => `${n}:${readFileSync(join(dir, n)).toString('hex')}`)
    .join('|');
}

let hasher: Blake3;
let reader: ReferenceReader;
let scratch: string;
let tried = 0;
let started = 0;
let cpuAtStart = process.cpuUsage();

beforeAll(async () => {
  hasher = await createHasher();
  reader = await ReferenceReader.create();
  scratch = tempDir('seglog-damage-');
  started = performance.now();
  cpuAtStart = process.cpuUsage();
});
afterAll(() => {
  if (tried > 0) {
    const cpu = process.cpuUsage(cpuAtStart);
    process.stderr.write(`differential damage: ${tried} damaged inputs in ${((performance.now() - started) / 1000).toFixed(1)} s (${((cpu.user + cpu.system) / 1e6).toFixed(1)} s CPU of this process), ${(tried / ((performance.now() - started) / 1000)).toFixed(1)} inputs/s\n`);
  }
  removeTempDirs();
});

const fail = (what: string, detail: string): never => {
  throw new Mismatch(`${what}\n${detail}`);
};
const key = (o: unknown): string => JSON.stringify(o);

/** The kinds of damage that can leave a store the reference finds nothing wrong with. */
function mayBeInvisible(d: Damage, segCount: number, fileIndex: number): boolean {
  const last = fileIndex % segCount === segCount - 1;
  return (d.d === 'truncate' && last) || (d.d === 'delete' && last);
}

async function checkDamaged(shape: Shape, damages: Damage[], n: number): Promise<void> {
  const dir = join(scratch, 'store');
  await buildShape(shape, hasher, dir, n + 1, async (d) => {
    await run(Repair, [d, '--yes', '--no-backup', '--json'], {});
  });
  const before = reader.readStore(dir);
  const segCount = before.segments.length;
  const applied: string[] = [];
  const snapshot = filesOf(dir);
  for (const d of damages) {
    const what = applyDamage(dir, d);
    if (what) applied.push(what);
  }
  // damages may cancel out (the same bit flipped twice): only a changed store counts
  if (applied.length === 0 || filesOf(dir) === snapshot) return;
  tried++;
  if (LONG && tried % 250 === 0) process.stderr.write(`differential damage: ${tried} damaged inputs, ${(tried / ((performance.now() - started) / 1000)).toFixed(1)} inputs/s\n`);
  if (process.env.SEGLOG_DIFF_DEBUG) process.stderr.write(`#${n} ${JSON.stringify(shape)} ${applied.join('; ')}\n`);
  const ref = reader.readStore(dir);
  const env = await useReadChunk(shape.readChunkBytes);
  const where = `damage: ${applied.join('; ')}`;
  try {
    await checkAfterDamage(dir, before, ref, env, damages, segCount, n);
  } catch (err) {
    if (err instanceof Mismatch) throw new Mismatch(`${where}\n${err.message}`);
    throw err;
  }
  rmSync(dir, { recursive: true, force: true });
}

async function checkAfterDamage(dir: string, before: RefStore, ref: RefStore, env: Record<string, string | undefined>, damages: Damage[], segCount: number, n: number): Promise<void> {
  // 2. verify sees what the reference sees
  const v = await run(Verify, [dir, '--json'], env);
  type VProblem = { code: string; severity: string; segment: string; offset: number; causedBy?: VProblem[] };
  const vo = JSON.parse(v.stdout) as { ok: boolean; problems: VProblem[] };
  // the CLI groups consequences under their root (causedBy, src/engine/verify/verify-causes.ts): every one still counts
  const { got, want, wantOk, gotOk } = comparableProblems(ref, vo.problems.flatMap((p) => [p, ...(p.causedBy ?? [])]));
  const beforeProblems = before.problems.filter((p) => p.severity !== 'info').length;
  if (ref.problems.filter((p) => p.severity !== 'info').length === 0 && beforeProblems === 0) {
    // the reference finds a valid store: only a cut at the end can do that
    if (!damages.some((d) => d.d !== 'ckpt' && mayBeInvisible(d, segCount, d.file))) {
      fail('the reference reader finds nothing wrong after damage that cannot leave a valid store (a reference-reader bug, or a damage that changed nothing)', want.join(', '));
    }
  }
  if (key(got) !== key(want)) fail('verify --json: problems after damage differ from the reference (code/severity segment@offset)', `got      ${got.join(', ')}\nexpected ${want.join(', ')}`);
  if (gotOk !== wantOk) fail(`verify: ok ${vo.ok}, the reference says ${wantOk}`, v.stdout.slice(0, 800));

  // 3. what readers print is intact, and exactly the committed events
  const intact = new Set<string>();
  for (const f of ref.frames) if (f.event && f.event.hashOk && f.event.layoutOk) intact.add(key(expectedRecord(f.event)));
  const dump = await run(Dump, [dir, '--format', 'jsonl', '--system'], env);
  const printed = dump.stdout.split('\n').filter((l) => l.length > 0);
  for (const line of printed) {
    const rec = key(JSON.parse(line));
    if (!intact.has(rec)) fail('dump printed an event the reference does not see intact (a damaged frame got through, or bytes were mixed up)', rec.slice(0, 1500));
  }
  const wantEvents = selectEvents(ref.committed, { system: true }).filter((e) => e.hashOk && e.layoutOk).map((e) => key(expectedRecord(e)));
  const gotEvents = printed.map((l) => key(JSON.parse(l)));
  if (key(gotEvents) !== key(wantEvents) && ref.committed.every((e) => e.hashOk && e.layoutOk)) {
    fail(`dump after damage: ${gotEvents.length} events printed, the reference's committed events are ${wantEvents.length}`, `first difference at #${gotEvents.findIndex((g, i) => g !== wantEvents[i])}`);
  }
  const cur = await run(CursorRead, [dir, `dmg${n}`, '--max', '1000000', '--json'], env);
  if (cur.exitCode === 0) {
    for (const e of (JSON.parse(cur.stdout) as { events: unknown[] }).events) {
      if (!intact.has(key(e))) fail('cursor read printed an event the reference does not see intact', key(e).slice(0, 1500));
    }
  }

  // 1. nothing crashes (run() fails on internal error, stack traces, odd exit codes)
  await run(Dump, [dir], env);
  await run(Dump, [dir, '--markers', '--hex', '--format', 'jsonl'], env);
  await run(WalReplay, [dir, '--json'], env);
  await run(WalDump, [dir, '--json'], env);
  await run(Stats, [dir, '--json'], env);
  await run(SidxShow, [dir, '--json'], env);
  const rp = await run(Repair, [dir, '--dry-run', '--json'], env);
  if (wantOk && ref.problems.every((p) => p.severity === 'info') && rp.exitCode !== 0) fail('repair --dry-run finds work on a store the reference finds clean', rp.stdout.slice(0, 1000));
  for (const seg of segmentNames(dir).slice(0, 1)) await run(Verify, [join(dir, seg), '--json'], env);
  if (n % 40 === 5) {
    for (const args of [['verify', dir, '--json'], ['dump', dir, '--format', 'jsonl'], ['repair', dir, '--yes', '--no-backup', '--json']]) {
      const r = await runCli(args, { env, timeoutMs: HANG_MS });
      if (r.timedOut) fail(`seglog ${args.join(' ')} hung (over ${HANG_MS} ms)`, '');
      if (/internal error/i.test(r.stdout + r.stderr) || /^\s{4}at /m.test(r.stderr)) fail(`seglog ${args.join(' ')} crashed`, r.stderr.slice(0, 1500));
    }
    // after a repair the store verifies clean of errors, or the repair said what it could not fix
    const after = await run(Verify, [dir, '--json'], env);
    if (JSON.parse(after.stdout).ok !== true) {
      const plan = await run(Repair, [dir, '--dry-run', '--json'], env);
      if ((JSON.parse(plan.stdout) as { unfixable: unknown[] }).unfixable.length === 0) fail('after `seglog repair --yes`, verify still finds errors and repair lists nothing unfixable', after.stdout.slice(0, 1500));
    }
  }
}

describe('differential: damaged stores', () => {
  it('regression damages (each found a bug once) stay fixed', async () => {
    for (const [i, r] of DAMAGE_REGRESSIONS.entries()) {
      try {
        await checkDamaged(r.shape, r.damages as Damage[], i);
      } catch (err) {
        throw new Error(`damage regression "${r.name}" (${r.bug}) fails again:\n${(err as Error).message}`);
      }
    }
  });

  it('random damage: no command crashes, verify reports exactly what the reference sees, readers print only intact events', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(shapeArb({ maxOps: 14, big: false, raw: true }), fc.array(damageArb, { minLength: 1, maxLength: 3 }), async (shape, damages) => {
        await checkDamaged(shape, damages, n++);
      }),
      {
        seed: SEED,
        numRuns: RUNS,
        // shrinking a damaged input takes hundreds of store builds: report the first failure as found
        endOnFailure: process.env.SEGLOG_DIFF_SHRINK !== '1',
        reporter: (out) => {
          if (out.failed) {
            const err = out.errorInstance;
            const detail = err instanceof Mismatch ? err.message : String((err as Error)?.stack ?? err);
            throw new Error(`damage mismatch: replay with SEGLOG_DIFF_SEED=${out.seed} (path ${out.counterexamplePath})\nshape: ${JSON.stringify(out.counterexample?.[0])}\ndamages: ${JSON.stringify(out.counterexample?.[1])}\n${detail}`);
          }
        },
      },
    );
    expect(tried).toBeGreaterThan(0);
  }, LONG ? 24 * 3600_000 : 300_000);
});
