/**
 * Control/fault pairs for the crash-sensitive operations the other fault files do not
 * reach (faults.test.ts, faults-maintenance.test.ts, faults-ingest.test.ts):
 * - `seglog fixture build` (fixture-build.ts) into a fresh store and onto an existing one
 *   (store create: mkdir + parent fsync, meta, lock and stale-lock takeover, checkpoint
 *   removal, footer strip of a sealed last segment, raw frame writes, rotations, seal,
 *   footers, checkpoint, lock release);
 * - transaction frames written through Store by Txn (txn.ts: BEGIN, items, COMMIT, ABORT);
 * - Cursor.commit (cursor.ts): the cursors/ mkdir and its directory fsync on the first
 *   commit, the temp file's create, write and fsync, the rename, the directory fsync;
 * - the repair executor (repair/*): every operation kind, not only the data writes;
 * - the drill's copy of a real fixture store (drill/crash-explorer.ts prepareStart,
 *   SimFs.loadFromReal): the source is never modified, and an unreadable source fails
 *   with a SeglogError naming the path.
 *
 * The operations are found by recording a probe run on SimFs (as faults-maintenance does),
 * so a new operation in the engine gets its pair without editing this file; each kind of
 * operation (kind + path with segment numbers folded) is failed at its first and its last
 * call. Each pair: the control on RealFs succeeds; the fault on SimFs fails cleanly
 * (SeglogError or FsError; index writes may only warn), nothing of the failed call is
 * half-visible, the store reopens, verifies and accepts an append, and re-running the
 * operation finishes with the clean result.
 */
import { cpSync, mkdirSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Cursor } from '../../src/engine/log/cursor.js';
import { runDrill } from '../../src/tools/drill/drill-runner.js';
import { SimMachine } from '../../src/tools/drill/sim-env.js';
import { SeglogError } from '../../src/engine/io/errors.js';
import { buildFixture, type FixtureOp } from '../../src/tools/fixture-build.js';
import { RealFs } from '../../src/engine/io/real-fs.js';
import { CRASH_MODES, SimFs, type SimSnapshot } from '../../src/sim/sim-fs.js';
import type { FileSystem } from '../../src/engine/io/fs-types.js';
import { exists, writeFileAtomic } from '../../src/engine/io/fs-util.js';
import { storePaths } from '../../src/engine/io/layout.js';
import { StoreLock } from '../../src/engine/io/lock.js';
import { executeRepair } from '../../src/tools/repair/executor.js';
import { planRepair } from '../../src/tools/repair/planner.js';
import { Store } from '../../src/engine/store/store.js';
import type { Txn } from '../../src/engine/store/txn.js';
import { replayWal } from '../../src/engine/wal/wal-replay.js';
import { DIR, expectVerifies, hasher, SCOPE, tempDir, eventHashesOf } from './drill/sim-helpers.js';
import { arm, attempt, isCleanFailure, opClass, pairsOf, type RecordedOp, recordOps, startRecording } from './fault-pairs.js';

const H = await hasher();
const SEGMENT_MAX_BYTES = 4096;

// recording and pairing: fault-pairs.ts

/** A disk with a store directory and a machine whose every `newProcess()` is a new pid. */
interface Disk {
  fs: FileSystem;
  dir: string;
  machine: SimMachine;
  warnings: string[];
}

function simDisk(fs: SimFs, seed: number): Disk {
  // a pid range per seed: a LOCK left by a faulted run belongs to a dead process
  return { fs, dir: DIR, machine: new SimMachine(seed, 60_000 + seed * 1000), warnings: [] };
}

function realDisk(prefix: string): Disk {
  return { fs: new RealFs(), dir: join(tempDir(prefix), 'store'), machine: new SimMachine(1), warnings: [] };
}

function openStore(d: Disk, readOnly = false): Store {
  const m = d.machine;
  return Store.openSync(d.dir, { fs: d.fs, readOnly, segmentMaxBytes: SEGMENT_MAX_BYTES, sync: 'batch', lockEnv: m.newProcess(), clock: m.clock, random: m.random, onWarning: (w) => d.warnings.push(w) }, H);
}

/** Committed events (system ones included), as entity, kind and payload: the same for the same writes whatever ids and hashes. */
function committed(d: Disk): string[] {
  if (!exists(d.fs, storePaths(d.dir).meta)) return [];
  const s = openStore(d, true);
  try {
    return s.query({ includeSystem: true }).map((e) => `${e.entity} ${e.kind.category}:${e.kind.type} ${Buffer.from(e.payload).toString('hex')}`);
  } finally {
    s.close();
  }
}

/** A fresh process on a copy of the disk reopens, verifies and appends (the original is left for the re-run). */
function expectReopensOnCopy(fs: SimFs, want: string[], where: string): void {
  const d = simDisk(SimFs.fromSnapshot(fs.snapshot(), 99), 99);
  if (!exists(d.fs, storePaths(d.dir).meta)) {
    // the store was never created: the directory, if any, may hold only creation debris
    if (exists(d.fs, d.dir)) expect(d.fs.readdir(d.dir).filter((n) => !n.endsWith('.tmp') && n !== 'LOCK'), `${where}: a store that was never created left files behind`).toEqual([]);
    expect(want, `${where}: events were acknowledged but the store does not exist`).toEqual([]);
    return;
  }
  expect(committed(d), `${where}: the events visible after the failure`).toEqual(want);
  // read-write first: recovery cuts what a dead process left unfinished, then verify
  const s = openStore(d);
  const next = s.snapshotState().nextSeq;
  expect(s.append({ entity: 'acct:0', scope: SCOPE }, 'after the fault').seq, `${where}: the append after the fault must continue the sequence`).toBe(next);
  s.close();
  expectVerifies(d.fs, H, d.dir);
}

// ------------------------------------------------------------------ 1. fixture build

const WALL_MS = 1_700_000_000_000;
const pad = (i: number, n = 300): string => 'x'.repeat(n + (i % 5) * 7);

/** Events, interleaved committed transactions (put, delete, an item event), an aborted one, more events. */
const SPEC: FixtureOp[] = [
  ...Array.from({ length: 6 }, (_, i): FixtureOp => ({ type: 'event', entity: `acct:${i % 3}`, scope: SCOPE, payload: { i, pad: pad(i) } })),
  { type: 'begin', txn: 1 },
  { type: 'put', txn: 1, key: 'k1', value: { v: 1, pad: pad(1) } },
  { type: 'begin', txn: 2 },
  { type: 'event', entity: 'acct:9', scope: SCOPE, payload: 'in txn 2', txn: 2 },
  { type: 'put', txn: 2, key: 'k2', value: [2, pad(2)] },
  { type: 'commit', txn: 1 },
  { type: 'delete', txn: 2, key: 'k1' },
  { type: 'commit', txn: 2 },
  { type: 'begin', txn: 3 },
  { type: 'put', txn: 3, key: 'k3', value: pad(3, 900) },
  { type: 'abort', txn: 3 },
  ...Array.from({ length: 6 }, (_, i): FixtureOp => ({ type: 'event', entity: `acct:${i % 2}`, scope: SCOPE, payload: { j: i, pad: pad(i) } })),
  { type: 'begin', txn: 4 },
  { type: 'put', txn: 4, key: 'k4', value: { v: 4 } },
  { type: 'commit', txn: 4 },
];
/** What the existing store of the "onto an existing store" variant starts with. */
const BASE_SPEC: FixtureOp[] = Array.from({ length: 4 }, (_, i): FixtureOp => ({ type: 'event', entity: `base:${i}`, scope: SCOPE, payload: { base: i, pad: pad(i, 200) } }));
const specText = (ops: readonly FixtureOp[]): string => ops.map((o) => JSON.stringify(o)).join('\n') + '\n';
const SIM_SPEC = '/spec.jsonl';
const SIM_BASE_SPEC = '/base.jsonl';

type BuildStart = 'fresh' | 'existing';
const BUILD_STARTS: readonly BuildStart[] = ['fresh', 'existing'];

function build(d: Disk, spec: string, seed: number): Promise<unknown> {
  return buildFixture(d.dir, spec, { fs: d.fs, lockEnv: d.machine.newProcess(), seed, wallMs: WALL_MS, segmentMaxBytes: SEGMENT_MAX_BYTES, sync: 'batch', onWarning: (w) => d.warnings.push(w) });
}

/**
 * "existing": a store built from BASE_SPEC and closed cleanly (its last segment sealed with
 * room left: the build strips the footer; a checkpoint: the build removes it), then a process
 * that took the lock and died (the build takes the lock over).
 */
async function prepareBuild(start: BuildStart, d: Disk, baseSpec: string): Promise<void> {
  if (start === 'fresh') return;
  await build(d, baseSpec, 11);
  expect(exists(d.fs, storePaths(d.dir).checkpoint), 'the existing store must have a checkpoint for the build to remove').toBe(true);
  StoreLock.acquire(d.fs, storePaths(d.dir).lock, d.machine.newProcess(), () => undefined);
}

interface BuildControl {
  before: string[];
  after: string[];
}
const buildControls = new Map<BuildStart, BuildControl>();

async function buildControl(start: BuildStart): Promise<BuildControl> {
  const known = buildControls.get(start);
  if (known) return known;
  const d = realDisk('seglog-fixture-faults-');
  const spec = join(dirname(d.dir), 'spec.jsonl');
  const baseSpec = join(dirname(d.dir), 'base.jsonl');
  writeFileSync(spec, specText(SPEC));
  writeFileSync(baseSpec, specText(BASE_SPEC));
  await prepareBuild(start, d, baseSpec);
  const before = committed(d);
  await build(d, spec, 7);
  const after = committed(d);
  expect(after.length, `control fixture build (${start}): the build must add its committed events`).toBeGreaterThan(before.length);
  expect(after.slice(0, before.length), `control fixture build (${start}): earlier events changed`).toEqual(before);
  expect(d.warnings.filter((w) => /failed|not written|cannot/.test(w)), `control fixture build (${start}): no write may fail on the real disk`).toEqual([]);
  expect(d.fs.readdir(d.dir).filter((n) => n.endsWith('.tmp') || n === 'LOCK'), `control fixture build (${start}): temp files or the lock left behind`).toEqual([]);
  expectVerifies(d.fs, H, d.dir);
  const s = openStore(d);
  s.append({ entity: 'acct:0', scope: SCOPE }, 'after the build');
  s.close();
  const c = { before, after };
  buildControls.set(start, c);
  return c;
}

interface SimBuildStart {
  snapshot: SimSnapshot;
  before: string[];
  after: string[];
  ops: RecordedOp[];
}

async function simBuildStart(start: BuildStart): Promise<SimBuildStart> {
  const fs = new SimFs(5);
  writeFileAtomic(fs, SIM_SPEC, new TextEncoder().encode(specText(SPEC)));
  writeFileAtomic(fs, SIM_BASE_SPEC, new TextEncoder().encode(specText(BASE_SPEC)));
  await prepareBuild(start, simDisk(fs, 1), SIM_BASE_SPEC);
  const snapshot = fs.snapshot();
  const probe = SimFs.fromSnapshot(snapshot, 2);
  const d = simDisk(probe, 2);
  const before = committed(d);
  const ops = await recordOps(probe, () => build(d, SIM_SPEC, 7));
  return { snapshot, before, after: committed(d), ops };
}

const BUILD_SIM = new Map<BuildStart, SimBuildStart>();
for (const start of BUILD_STARTS) BUILD_SIM.set(start, await simBuildStart(start));

describe.each(BUILD_STARTS)('control/fault pairs for `fixture build` (%s store; fixture-build.ts through store.ts): every operation kind fails cleanly', (start) => {
  const sim = BUILD_SIM.get(start)!;
  const added = sim.after.slice(sim.before.length);

  it(`${start}: the probe build made the operations the pairs cover (store create or takeover, segment writes, rotation, footers, checkpoint, lock)`, async () => {
    const control = await buildControl(start);
    expect(sim.after, `the simulated build must write what the real one writes (${start})`).toEqual(control.after);
    const classes = new Set(sim.ops.map(opClass));
    const must =
      start === 'fresh'
        ? ['mkdir /store', 'fsyncDir /', 'rename /store/seglog.json.tmp', 'open(wx) /store/LOCK', 'open(wx) /store/N.seg', 'write /store/N.seg', 'fsync /store/N.seg', 'rename /store/index.ckpt.tmp', 'unlink /store/LOCK']
        : ['unlink /store/LOCK', 'unlink /store/index.ckpt', 'open(r+) /store/N.seg', 'truncate /store/N.seg', 'open(wx) /store/N.seg', 'write /store/N.seg'];
    for (const m of must) expect(classes, `the probe build (${start}) never made "${m}": has fixture-build.ts or store.ts changed how it writes?`).toContain(m);
  });

  for (const { name, op } of pairsOf(sim.ops)) {
    it(`${start}: ${name}: builds on RealFs; on SimFs fails cleanly, all of the build or none visible, reopen + verify + append, and a re-run finishes`, async () => {
      const control = await buildControl(start);
      const fs = SimFs.fromSnapshot(sim.snapshot, 3);
      const d = simDisk(fs, 3);
      arm(fs, op);
      const error = await attempt(() => build(d, SIM_SPEC, 7));
      fs.clearFaults();
      const where = `fixture build (${start}), fault on ${name}`;
      if (error === undefined) {
        // only index writes (footer, checkpoint) may fail without failing the build, and then they warn
        expect(d.warnings.filter((w) => /not written|failed|cannot/i.test(w)).length, `${where}: the fault was swallowed without a warning; does the operation bypass the FileSystem interface?`).toBeGreaterThan(0);
      } else {
        expect(isCleanFailure(error), `${where}: must fail with a SeglogError or FsError, got ${String(error)}`).toBe(true);
      }
      const now = committed(d);
      // the build hands all its frames to the store in one group: a failure rolls all of them back, or comes after
      expect([sim.before, sim.after], `${where}: part of the build is visible (store.ts writeRaw / failWrite rollback)`).toContainEqual(now);
      if (error === undefined) expect(now, `${where}: a build that succeeded must have written everything`).toEqual(control.after);
      expectReopensOnCopy(fs, now, where);
      // the build again (as a new process) finishes: over the same store when none of it
      // landed; when all of it did (the failure came at close), a second copy would repeat
      // the spec's transaction ids, so it goes to a fresh store on the same disk
      const rerun = now.length === sim.before.length ? simDisk(fs, 4) : { ...simDisk(fs, 4), dir: '/again' };
      await build(rerun, SIM_SPEC, 8);
      expect(committed(rerun), `${where}: the re-run must write exactly the build's events`).toEqual(rerun.dir === DIR ? sim.after : added);
      expectVerifies(fs, H, rerun.dir);
      expect(fs.readdir(rerun.dir).filter((n) => n === 'LOCK'), `${where}: the re-run must release the lock`).toEqual([]);
    });
  }
});

// ------------------------------------------------------------------ 2. transactions through Store

type TxnStep =
  | { do: 'begin'; t: number }
  | { do: 'put'; t: number; key: string; value: unknown }
  | { do: 'delete'; t: number; key: string }
  | { do: 'commit' | 'abort'; t: number };

/** Interleaved transactions, values big enough to rotate segments inside them. */
const TXN_STEPS: TxnStep[] = [
  { do: 'begin', t: 1 },
  { do: 'put', t: 1, key: 'a', value: { v: 'a1', pad: pad(0, 700) } },
  { do: 'begin', t: 2 },
  { do: 'put', t: 2, key: 'b', value: { v: 'b2', pad: pad(1, 900) } },
  { do: 'delete', t: 1, key: 'c' },
  { do: 'put', t: 1, key: 'c2', value: pad(2, 1200) },
  { do: 'commit', t: 1 },
  { do: 'put', t: 2, key: 'd', value: pad(3, 1500) },
  { do: 'abort', t: 2 },
  { do: 'begin', t: 3 },
  { do: 'put', t: 3, key: 'a', value: { v: 'a3', pad: pad(4, 1100) } },
  { do: 'delete', t: 3, key: 'c2' },
  { do: 'put', t: 3, key: 'e', value: pad(5, 1300) },
  { do: 'commit', t: 3 },
];

/** Runs steps from `from` on; returns the index of the step that threw (and the error), or null. */
function runTxnSteps(s: Store, txns: Map<number, Txn>, from = 0): { failedAt: number; error: unknown } | null {
  for (let i = from; i < TXN_STEPS.length; i++) {
    const step = TXN_STEPS[i]!;
    try {
      if (step.do === 'begin') {
        if (!txns.has(step.t)) txns.set(step.t, s.beginTxn());
        continue;
      }
      const t = txns.get(step.t)!;
      if (step.do === 'put') t.put(step.key, step.value);
      else if (step.do === 'delete') t.delete(step.key);
      else if (step.do === 'commit') t.commit();
      else t.abort();
    } catch (error) {
      return { failedAt: i, error };
    }
  }
  return null;
}

/** The key/value state replay gives (values only: versions depend on the store's counter). */
function kvState(fs: FileSystem, dir: string): Record<string, unknown> {
  const r = replayWal(dir, { fs, keepValues: true });
  expect(r.corruption, 'replay must not meet corruption (wal-replay.ts)').toBeNull();
  return Object.fromEntries([...r.state.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([k, e]) => [k, JSON.parse(e.value!)]));
}

/** The state the steps before `n` committed (the model: commits apply in commit order). */
function modelState(n: number): Record<string, unknown> {
  const pending = new Map<number, TxnStep[]>();
  const state = new Map<string, unknown>();
  for (const step of TXN_STEPS.slice(0, n)) {
    if (step.do === 'begin') pending.set(step.t, []);
    else if (step.do === 'put' || step.do === 'delete') pending.get(step.t)!.push(step);
    else {
      if (step.do === 'commit') for (const op of pending.get(step.t)!) op.do === 'put' ? state.set(op.key, op.value) : op.do === 'delete' && state.delete(op.key);
      pending.delete(step.t);
    }
  }
  return Object.fromEntries([...state.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)));
}

interface TxnSim {
  snapshot: SimSnapshot;
  ops: RecordedOp[];
}

async function txnSimStart(): Promise<TxnSim> {
  const fs = new SimFs(21);
  const d = simDisk(fs, 21);
  const base = openStore(d);
  base.append({ entity: 'acct:0', scope: SCOPE }, 'before the transactions');
  base.close();
  const snapshot = fs.snapshot();
  const probe = SimFs.fromSnapshot(snapshot, 22);
  const pd = simDisk(probe, 22);
  const s = openStore(pd);
  // only the transaction calls: open and close have their pairs elsewhere
  const ops = await recordOps(probe, () => expect(runTxnSteps(s, new Map()), 'the probe transactions must run').toBeNull());
  s.close();
  return { snapshot, ops };
}

const TXN_SIM = await txnSimStart();

describe('control/fault pairs for transaction frames (txn.ts through store.ts writeRaw): every operation kind fails cleanly', () => {
  const FINAL = modelState(TXN_STEPS.length);

  it('control: the transactions on RealFs commit what the model says; the probe made BEGIN/item/COMMIT writes, fsyncs and rotations', () => {
    const d = realDisk('seglog-txn-faults-');
    const s = openStore(d);
    expect(runTxnSteps(s, new Map()), 'control: every transaction call must succeed on the real disk').toBeNull();
    s.close();
    expect(kvState(d.fs, d.dir), 'control: the replayed state').toEqual(FINAL);
    expectVerifies(d.fs, H, d.dir);
    const classes = new Set(TXN_SIM.ops.map(opClass));
    for (const m of ['write /store/N.seg', 'fsync /store/N.seg', 'open(wx) /store/N.seg', 'fsyncDir /store']) {
      expect(classes, `the probe transactions never made "${m}": has txn.ts or store.ts changed how it writes?`).toContain(m);
    }
  });

  for (const { name, op } of pairsOf(TXN_SIM.ops)) {
    it(`${name}: on SimFs the transaction call fails cleanly, no failed or uncommitted transaction is visible, the store reopens, and retrying the call finishes`, () => {
      const fs = SimFs.fromSnapshot(TXN_SIM.snapshot, 23);
      const d = simDisk(fs, 23);
      const s = openStore(d);
      arm(fs, op);
      const txns = new Map<number, Txn>();
      const failed = runTxnSteps(s, txns);
      fs.clearFaults();
      const where = `transactions, fault on ${name}`;
      if (failed === null) {
        // only an index write (a footer at a rotation's seal) may fail without failing the call, and then it warns
        expect(d.warnings.filter((w) => /footer failed|not written/.test(w)).length, `${where}: the fault was swallowed without a warning; does the write bypass the FileSystem interface?`).toBeGreaterThan(0);
        s.close();
        expect(kvState(fs, DIR), `${where}: the state must be the clean run's`).toEqual(FINAL);
        expectReopensOnCopy(fs, committed(simDisk(SimFs.fromSnapshot(fs.snapshot(), 26), 26)), where);
        return;
      }
      const { failedAt, error } = failed;
      expect(isCleanFailure(error), `${where}: step ${failedAt} must fail with a SeglogError or FsError, got ${String(error)}`).toBe(true);
      // what a process dying right now leaves: exactly the commits acknowledged so far
      const copy = SimFs.fromSnapshot(fs.snapshot(), 24);
      expect(kvState(copy, DIR), `${where}: after a failure at step ${failedAt}, the state must be what the acknowledged commits made`).toEqual(modelState(failedAt));
      expectReopensOnCopy(fs, committed(simDisk(copy, 25)), where);
      // a failed write is rolled back and leaves the transaction open: retrying it and going on finishes
      expect(runTxnSteps(s, txns, failedAt), `${where}: retrying step ${failedAt} and the rest must succeed (txn.ts: a failed write leaves the transaction as it was)`).toBeNull();
      s.close();
      expect(kvState(fs, DIR), `${where}: after the retry the state must be the clean run's`).toEqual(FINAL);
      expectVerifies(fs, H, DIR);
    });
  }
});

// ------------------------------------------------------------------ 3. cursor commits

const CURSOR_EVENTS = 6;

function prepareCursorStore(d: Disk): void {
  const s = openStore(d);
  for (let i = 0; i < CURSOR_EVENTS; i++) s.append({ entity: `acct:${i % 2}`, scope: SCOPE }, `cursor event ${i}`);
  s.close();
}

const readPayloads = (c: Cursor, max: number): string[] => c.read(max).events.map((e) => Buffer.from(e.payload).toString('utf8'));

interface CursorSim {
  snapshot: SimSnapshot;
  /** Ops of the first commit (no cursors/ yet) and of the second. */
  first: RecordedOp[];
  second: RecordedOp[];
  /** Mutating operations of the first commit (its crash points). */
  firstMutating: number;
}

async function cursorSimStart(): Promise<CursorSim> {
  const fs = new SimFs(41);
  prepareCursorStore(simDisk(fs, 41));
  const snapshot = fs.snapshot();
  const probe = SimFs.fromSnapshot(snapshot, 42);
  const c = Cursor.open(probe, DIR, 'reader');
  const mut0 = probe.mutatingOpCount;
  const first = await recordOps(probe, () => c.commit(c.read(2).next));
  const firstMutating = probe.mutatingOpCount - mut0;
  const second = await recordOps(probe, () => c.commit(c.read(2).next));
  return { snapshot, first, second, firstMutating };
}

const CURSOR_SIM = await cursorSimStart();

describe('control/fault pairs for cursor commits (cursor.ts Cursor.commit, fs/util.ts ensureDir + writeFileAtomic)', () => {
  it('control: two commits on RealFs move the cursor; the first commit made the cursors/ mkdir and every step of the atomic write', () => {
    const d = realDisk('seglog-cursor-faults-');
    prepareCursorStore(d);
    const c = Cursor.open(d.fs, d.dir, 'reader');
    expect(readPayloads(c, 2)).toEqual(['cursor event 0', 'cursor event 1']);
    c.commit(c.read(2).next);
    c.commit(c.read(2).next);
    expect(readPayloads(Cursor.open(d.fs, d.dir, 'reader'), 10), 'control: the cursor resumes after its last commit').toEqual(['cursor event 4', 'cursor event 5']);
    const classes = CURSOR_SIM.first.map(opClass);
    for (const m of ['mkdir /store/cursors', 'fsyncDir /store', 'open(w) /store/cursors/reader.cur.tmp', 'write /store/cursors/reader.cur.tmp', 'fsync /store/cursors/reader.cur.tmp', 'rename /store/cursors/reader.cur.tmp', 'fsyncDir /store/cursors']) {
      expect(classes, `the first cursor commit never made "${m}": has cursor.ts changed how it commits?`).toContain(m);
    }
  });

  const cases = [...CURSOR_SIM.first.map((op) => ({ commit: 1, op })), ...CURSOR_SIM.second.map((op) => ({ commit: 2, op }))];
  for (const { commit, op } of cases) {
    it(`commit ${commit}: ${opClass(op)}: fails cleanly, the cursor keeps its old position (none half-written), a retry commits, and the position survives a power cut`, () => {
      const fs = SimFs.fromSnapshot(CURSOR_SIM.snapshot, 43);
      const c = Cursor.open(fs, DIR, 'reader');
      if (commit === 2) c.commit(c.read(2).next);
      const old = c.state();
      const next = c.read(2).next;
      // each commit's calls were recorded (and counted) from its own start, after the setup above
      arm(fs, op);
      const where = `cursor commit ${commit}, fault on ${opClass(op)}`;
      let error: unknown;
      try {
        c.commit(next);
      } catch (err) {
        error = err;
      }
      fs.clearFaults();
      expect(error, `${where}: the fault did not surface; does cursor.ts bypass the FileSystem interface?`).toBeDefined();
      expect(isCleanFailure(error), `${where}: must fail with a SeglogError or FsError, got ${String(error)}`).toBe(true);
      const seen = Cursor.open(fs, DIR, 'reader').state();
      // a failure after the rename (the directory fsync) leaves the new position visible but not durable; before it, the old one
      expect([old, next], `${where}: the cursor file is neither the old position nor the new one`).toContainEqual(seen);
      if (op.kind !== 'fsyncDir') expect(seen, `${where}: a commit that failed before its rename must keep the old position`).toEqual(old);
      // the store is untouched: it reopens, verifies and appends
      expectReopensOnCopy(fs, committed(simDisk(SimFs.fromSnapshot(fs.snapshot(), 44), 44)), where);
      // retry, then a power cut that keeps only what was made durable
      c.commit(next);
      expect(c.state(), `${where}: the retried commit must take`).toEqual(next);
      const cut = SimFs.fromSnapshot(fs.snapshot(), 45);
      cut.crash('lose-unsynced');
      expect(Cursor.open(cut, DIR, 'reader').state(), `${where}: a retried commit must be durable (fs/util.ts ensureDir must make the cursors/ name durable even when an earlier try created it)`).toEqual(next);
    });
  }

  it('a power cut after any operation of the first commit, in any mode, leaves the cursor at its start or at the committed position', () => {
    let states = 0;
    const opsOfFirst = CURSOR_SIM.firstMutating;
    expect(opsOfFirst, 'the first commit: mkdir, its fsyncDir, temp open, write, fsync, rename, fsyncDir').toBeGreaterThanOrEqual(7);
    for (let k = 0; k < opsOfFirst; k++) {
      for (const mode of CRASH_MODES) {
        const fs = SimFs.fromSnapshot(CURSOR_SIM.snapshot, 50 + k);
        const c = Cursor.open(fs, DIR, 'reader');
        const start = c.state();
        const next = c.read(2).next;
        fs.crashAfter(fs.mutatingOpCount + k);
        expect(() => c.commit(next), `crash point ${k} was not reached`).toThrow(/simulated power cut/);
        fs.crash(mode, k);
        const where = `cursor commit, crash after operation ${k} (${mode})`;
        let seen;
        try {
          seen = Cursor.open(fs, DIR, 'reader').state();
        } catch (err) {
          throw new Error(`${where}: the cursor cannot be read after the crash: ${String(err)}`);
        }
        expect([start, next], `${where}: half a cursor file is visible`).toContainEqual(seen);
        c.commit(next);
        expect(Cursor.open(fs, DIR, 'reader').state(), `${where}: committing again after the crash`).toEqual(next);
        states++;
      }
    }
    expect(states).toBe(opsOfFirst * CRASH_MODES.length);
  });
});

// ------------------------------------------------------------------ 4. every repair operation kind

describe('control/fault pairs for every operation kind of a repair (repair/executor.ts, backup.ts, lost-found.ts, segment-rewrite.ts, file-copy.ts)', () => {
  const FIXTURE = fileURLToPath(new URL('../fixtures/flipped-bit', import.meta.url));
  const REPAIR_MS = 1_700_000_500_000;
  const events = (fs: FileSystem, dir: string): string[] => eventHashesOf(fs, H, dir);
  const repair = (fs: FileSystem, dir: string, backups: string): void => {
    executeRepair(fs, planRepair(fs, dir, { hasher: H }), { backupRoot: backups, nowMs: REPAIR_MS });
  };
  const loaded = (): SimFs => {
    const sim = new SimFs(61);
    sim.loadFromReal(FIXTURE, DIR);
    return sim;
  };
  const damaged = events(loaded(), DIR);
  // recorded at collection time (synchronously), so every operation gets its own test
  const sim = loaded();
  const stop = startRecording(sim);
  executeRepair(sim, planRepair(sim, DIR, { hasher: H }), { backupRoot: '/backups', nowMs: REPAIR_MS });
  const ops = stop();
  const repaired = events(sim, DIR);

  it('control: the repair on RealFs repairs; the probe repair made backup, lost+found, temp file, rename and directory fsync operations', () => {
    const realDir = join(tempDir('seglog-repair-misc-'), 'store');
    cpSync(FIXTURE, realDir, { recursive: true });
    repair(new RealFs(), realDir, join(realDir, '..', 'backups'));
    expectVerifies(new RealFs(), H, realDir);
    expect(events(new RealFs(), realDir), 'control: the real repair must give what the simulated one gives').toEqual(repaired);
    const classes = new Set(ops.map(opClass));
    for (const m of ['mkdir /backups', 'rename /store/N.seg.repair.tmp', 'fsyncDir /store']) {
      expect(classes, `the probe repair never made "${m}": has repair/ changed how it writes?`).toContain(m);
    }
  });

  for (const { name, op } of pairsOf(ops)) {
    it(`${name}: on SimFs the repair fails cleanly, the store is as before or repaired, and a second repair finishes`, () => {
      const fs = loaded();
      const p = planRepair(fs, DIR, { hasher: H });
      arm(fs, op);
      let error: unknown;
      try {
        executeRepair(fs, p, { backupRoot: '/backups', nowMs: REPAIR_MS });
      } catch (err) {
        error = err;
      }
      fs.clearFaults();
      const where = `repair, fault on ${name}`;
      expect(error, `${where}: the fault did not surface; does the repair bypass the FileSystem interface or swallow the error?`).toBeDefined();
      expect(isCleanFailure(error), `${where}: must fail with a SeglogError or FsError, got ${String(error)}`).toBe(true);
      expect([damaged, repaired], `${where}: after a failed repair the store must be as before or as repaired`).toContainEqual(events(fs, DIR));
      repair(fs, DIR, '/backups');
      expect(events(fs, DIR), `${where}: repairing again must give what one repair gives`).toEqual(repaired);
      expectVerifies(fs, H, DIR);
      const d = simDisk(fs, 62);
      const s = openStore(d);
      s.append({ entity: 'acct:0', scope: SCOPE }, 'after repair');
      s.close();
    });
  }
});

// ------------------------------------------------------------------ 5. the drill's copy of a fixture

/** Every file under `dir` with its bytes (hex of a hash would do; the trees are small). */
function treeBytes(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string, rel: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p, `${rel}${e.name}/`);
      else if (statSync(p).size < 1 << 24) out[`${rel}${e.name}`] = readFileSync(p).toString('base64');
      else out[`${rel}${e.name}`] = `size ${statSync(p).size}`;
    }
  };
  walk(dir, '');
  return out;
}

function realStore(): string {
  const dir = join(tempDir('seglog-drill-src-'), 'store');
  const d: Disk = { fs: new RealFs(), dir, machine: new SimMachine(3), warnings: [] };
  const s = openStore(d);
  for (let i = 0; i < 8; i++) s.append({ entity: `acct:${i % 3}`, scope: SCOPE }, { i, pad: pad(i, 200) });
  s.close();
  return dir;
}

const drill = (fromStore: string): Promise<unknown> => runDrill({ seed: 3, workload: 'default', fromStore, modes: ['cut'], canary: false, points: 2, workers: 1 });

describe("the drill's copy of a fixture store (drill/crash-explorer.ts prepareStart, fs/sim-fs.ts loadFromReal): the source is only read", () => {
  it('control: a drill from a real store finishes and leaves the source byte-identical (and its parent without new files)', async () => {
    const dir = realStore();
    const before = treeBytes(dirname(dir));
    const r = (await drill(dir)) as { violations: number };
    expect(r.violations).toBe(0);
    expect(treeBytes(dirname(dir)), 'the drill changed its source store').toEqual(before);
  }, 30_000);

  const unreadable: { name: string; make(dir: string): string; file: RegExp }[] = [
    { name: 'the source directory is missing', make: (dir) => join(dir, 'no-such-store'), file: /no-such-store/ },
    { name: 'the source is a file, not a directory', make: (dir) => join(dir, '0000000000.seg'), file: /0000000000\.seg/ },
    {
      // a file Node cannot read whole (over 2 GiB; sparse, so it costs nothing), after the segments: the copy fails midway
      name: 'a file of the source cannot be read (fails midway through the copy)',
      make: (dir) => {
        mkdirSync(join(dir, 'zz-extra'));
        writeFileSync(join(dir, 'zz-extra', 'huge.bin'), '');
        truncateSync(join(dir, 'zz-extra', 'huge.bin'), 3 * 1024 ** 3);
        return dir;
      },
      file: /huge\.bin|store/,
    },
  ];
  for (const c of unreadable) {
    it(`fault: ${c.name}: a SeglogError with exit code 2 naming the path, and the source unchanged`, async () => {
      const dir = realStore();
      const from = c.make(dir);
      const before = treeBytes(dirname(dir));
      const error = await attempt(() => drill(from));
      expect(error, `${c.name}: the drill must fail`).toBeInstanceOf(SeglogError);
      const e = error as SeglogError;
      expect(e.exitCode, `${c.name}: an unreadable source is an operational failure (exit 2), got ${e.code}: ${e.message}`).toBe(2);
      expect(e.oneLine(), `${c.name}: the error must name the path (crash-explorer.ts prepareStart)`).toMatch(c.file);
      expect(treeBytes(dirname(dir)), `${c.name}: the drill changed its source`).toEqual(before);
    }, 30_000);
  }

  it('fault: a source that needs repair stops the drill midway (after the copy) with exit 1, and the source is unchanged', async () => {
    const dir = join(tempDir('seglog-drill-src-'), 'store');
    cpSync(fileURLToPath(new URL('../fixtures/absurd-length', import.meta.url)), dir, { recursive: true });
    const before = treeBytes(dirname(dir));
    const error = await attempt(() => drill(dir));
    expect(error).toBeInstanceOf(SeglogError);
    expect((error as SeglogError).exitCode).toBe(1);
    expect((error as SeglogError).oneLine()).toContain(dir);
    expect(treeBytes(dirname(dir)), 'the drill changed its source').toEqual(before);
  }, 30_000);
});

// ------------------------------------------------------------------ regressions

describe('regressions found by these pairs', () => {
  it('bug: a segment create that failed at a rotation inside one multi-frame write left the frames before it visible (segment-writer.ts rotate: the rollback truncated the closed descriptor of the sealed segment and failed)', () => {
    const fs = SimFs.fromSnapshot(TXN_SIM.snapshot, 71);
    const d = simDisk(fs, 71);
    const s = openStore(d);
    const before = committed(simDisk(SimFs.fromSnapshot(fs.snapshot(), 72), 72));
    // frames enough to rotate in the middle of one raw write, the next segment's create failing
    fs.failNext('open', { path: /0000000001\.seg$/ });
    const frames = Array.from({ length: 12 }, (_, i) => ({ type: 'event' as const, txnId: 0, entity: `acct:${i}`, scope: SCOPE, kind: { category: 1, type: 0 }, payload: new TextEncoder().encode(pad(i, 600)) }));
    let error: unknown;
    try {
      s.writeRaw(frames, false);
    } catch (err) {
      error = err;
    }
    expect(isCleanFailure(error), `the failed write must fail cleanly, got ${String(error)}`).toBe(true);
    expect(committed(simDisk(SimFs.fromSnapshot(fs.snapshot(), 73), 73)), 'no frame of the failed write may be visible (segment-writer.ts rotate must keep the old segment writable for the rollback)').toEqual(before);
    // the store is not poisoned: the same write again succeeds
    s.writeRaw(frames, false);
    s.close();
    expect(committed(simDisk(fs, 74)).length).toBe(before.length + frames.length);
    expectVerifies(fs, H, DIR);
  });

  it('bug: a first cursor commit whose cursors/ directory fsync failed, retried, was lost by a power cut (fs/util.ts ensureDir skipped the fsync when the directory existed)', () => {
    const fs = SimFs.fromSnapshot(CURSOR_SIM.snapshot, 75);
    const c = Cursor.open(fs, DIR, 'reader');
    const next = c.read(2).next;
    fs.failNext('fsyncDir', { path: DIR });
    expect(() => c.commit(next)).toThrow(/EIO/);
    c.commit(next);
    fs.crash('lose-unsynced');
    expect(Cursor.open(fs, DIR, 'reader').state(), 'the retried commit must survive a power cut').toEqual(next);
  });

  it('bug: a drill from a missing store died with a raw Node ENOENT (drill/crash-explorer.ts prepareStart must wrap the copy)', async () => {
    const missing = join(tempDir('seglog-drill-src-'), 'gone');
    await expect(drill(missing)).rejects.toMatchObject({ name: 'SeglogError', code: 'not_found', file: missing });
  });
});
