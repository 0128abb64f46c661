/**
 * Control/fault pairs and a crash sweep for the SIDX maintenance writers
 * (src/tools/sidx-maintenance.ts: `seglog sidx strip` and `seglog sidx rebuild`).
 *
 * Every crash-sensitive operation the maintenance makes (the lock, each temp file's
 * create, write and fsync, each rename over a segment, the directory fsyncs, the
 * checkpoint removal, the lock release) is found by recording the operations of a
 * probe run on SimFs, so a new operation in the engine gets its pair without editing
 * this file. Each pair:
 * - control: strip/rebuild on the real disk (RealFs) succeeds: frames byte-identical,
 *   footers as expected (strip: none; rebuild: exactly the sealed ones), no temp file,
 *   no lock, no stale checkpoint; the store reopens, verifies, accepts an append;
 * - fault: the same operation failed on SimFs (`failNext`) makes the call fail with a
 *   SeglogError or FsError; every segment is byte for byte as before or as after; the
 *   lock is released (or taken over by the next process); the store reopens, verifies
 *   and accepts an append; running the maintenance again finishes with the after state.
 * Then a crash after every mutating operation, in every crash mode, must leave the same.
 * A failure names the operation: look in segment-replacements.ts (SegmentReplacements),
 * sidx-maintenance.ts (withStoreLock) or lock.ts / checkpoint.ts for the call.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SeglogError } from '../../src/engine/io/errors.js';
import { RealFs } from '../../src/engine/io/real-fs.js';
import { CRASH_MODES, SimFs, type SimSnapshot } from '../../src/sim/sim-fs.js';
import { type FileSystem, type FsOpKind, isFsError } from '../../src/engine/io/fs-types.js';
import { exists, readWhole } from '../../src/engine/io/fs-util.js';
import { storePaths } from '../../src/engine/io/layout.js';
import type { LockEnv } from '../../src/engine/io/lock.js';
import { rebuildFooters, showFooter, stripFooters } from '../../src/tools/sidx-maintenance.js';
import { readFooterWithHeader } from '../../src/engine/index/sidx.js';
import { Store } from '../../src/engine/store/store.js';
import { resolveTarget } from '../../src/engine/segment/target.js';
import { listSegments } from '../../src/engine/segment/walker.js';
import { SimMachine } from '../../src/tools/drill/sim-env.js';
import { DIR, expectVerifies, hasher, SCOPE, tempDir } from './drill/sim-helpers.js';

const H = await hasher();

/**
 * The third "verb" is a rebuild that keeps one temp file open at a time
 * (SidxMaintenanceOptions.maxOpenTemps: 1), so each temp file's fsync comes while the next
 * segments are still written, as in a store of more segments than MAX_OPEN_TEMPS.
 */
const ONE_OPEN = 'rebuild, one temp file open';
type Verb = 'strip' | 'rebuild' | typeof ONE_OPEN;
const VERBS: readonly Verb[] = ['strip', 'rebuild', ONE_OPEN];
const isRebuild = (verb: Verb): boolean => verb !== 'strip';
/** ~4 sealed segments of 4 KiB: enough for several temp files, renames and a multi-segment commit. */
const SEGMENT_MAX_BYTES = 4096;
const EVENTS = 11;
const PAYLOAD_PAD = 500;

/** A disk with a store on it and a machine whose every `lockEnv()` is a new process. */
interface Disk {
  fs: FileSystem;
  dir: string;
  machine: SimMachine;
}

function openStore(d: Disk, readOnly = false): Store {
  const m = d.machine;
  return Store.openSync(d.dir, { fs: d.fs, readOnly, segmentMaxBytes: SEGMENT_MAX_BYTES, sync: 'batch', lockEnv: m.newProcess(), clock: m.clock, random: m.random }, H);
}

function maintain(verb: Verb, d: Disk, lockEnv: LockEnv = d.machine.newProcess()): void {
  (verb === 'strip' ? stripFooters : rebuildFooters)(d.fs, resolveTarget(d.fs, d.dir), { lockEnv, ...(verb === ONE_OPEN ? { maxOpenTemps: 1 } : {}) });
}

/**
 * The state before each verb: strip starts from a cleanly closed store (footers on every
 * segment, a checkpoint); rebuild from a stripped store reopened and closed once (sealed
 * segments without footers, the last one with a footer, a checkpoint that the rebuild
 * makes stale).
 */
function buildStart(verb: Verb, d: Disk): void {
  const s = openStore(d);
  for (let i = 0; i < EVENTS; i++) s.append({ entity: `acct:${i % 3}`, scope: SCOPE }, JSON.stringify({ i, pad: 'x'.repeat(PAYLOAD_PAD) }));
  s.close();
  if (isRebuild(verb)) {
    maintain('strip', d);
    openStore(d).close();
  }
}

function segmentBytes(d: Disk): Map<string, Buffer> {
  return new Map(listSegments(d.fs, d.dir).map((s) => [s.name, Buffer.from(readWhole(d.fs, s.path))]));
}

/** Every committed event, byte for byte as far as the API shows: hash (covers every field) and payload. */
function events(d: Disk): string[] {
  const s = openStore(d, true);
  try {
    return s.query().map((e) => `${e.seq} ${e.eventHash} ${Buffer.from(e.payload).toString('hex')}`);
  } finally {
    s.close();
  }
}

/** Names in the store directory that are neither data nor index: temp files and the lock. */
function debris(d: Disk): string[] {
  return d.fs.readdir(d.dir).filter((n) => n.endsWith('.tmp') || n === 'LOCK');
}

/** Footers may be absent or valid, and a valid one must be exactly what the frames call for (never a wrong footer accepted). */
function expectFootersSound(d: Disk, where: string): void {
  for (const seg of listSegments(d.fs, d.dir)) {
    const r = showFooter(d.fs, seg);
    if (readFooterWithHeader(d.fs, seg.path).status === 'absent' && !r.present) continue;
    expect(r.valid, `${where}: ${seg.name} has a footer that is not the one its frames call for (${r.message}); see segment-replacements.ts`).toBe(true);
  }
}

/**
 * Reopens read-write as a new process (takes over a dead process's lock) and appends;
 * `thorough` also checks the events and verifies before and after the append.
 */
function expectReopensAndAppends(d: Disk, want: string[], where: string, thorough = true): void {
  if (thorough) {
    expect(events(d), `${where}: the events changed`).toEqual(want);
    expectVerifies(d.fs, H, d.dir);
  }
  const s = openStore(d);
  expect(s.snapshotState().nextSeq, `${where}: the reopened store lost or invented events`).toBe(want.length);
  const r = s.append({ entity: 'acct:0', scope: SCOPE }, 'after maintenance');
  expect(r.seq, `${where}: the append after maintenance must continue the sequence`).toBe(want.length);
  s.close();
  if (thorough) {
    expectVerifies(d.fs, H, d.dir);
    expect(events(d).slice(0, want.length), `${where}: an append after maintenance changed earlier events`).toEqual(want);
  }
}

function isCleanFailure(err: unknown): boolean {
  return err instanceof SeglogError || isFsError(err);
}

// ------------------------------------------------------------------ control (RealFs)

interface Control {
  before: Map<string, Buffer>;
  after: Map<string, Buffer>;
  events: string[];
}

const controls = new Map<Verb, Control>();

/** The control side, run once per verb on a real temp directory and checked in every pair. */
function control(verb: Verb): Control {
  const known = controls.get(verb);
  if (known) return known;
  const d: Disk = { fs: new RealFs(), dir: join(tempDir('seglog-maint-'), 'store'), machine: new SimMachine(1) };
  buildStart(verb, d);
  const before = segmentBytes(d);
  const want = events(d);
  const hadCheckpoint = exists(d.fs, storePaths(d.dir).checkpoint);
  expect(hadCheckpoint, `control ${verb}: the start state must have a checkpoint for the maintenance to remove`).toBe(true);
  maintain(verb, d);
  const after = segmentBytes(d);
  expect([...after.keys()], `control ${verb}: the segment names changed`).toEqual([...before.keys()]);
  for (const seg of listSegments(d.fs, d.dir)) {
    const r = readFooterWithHeader(d.fs, seg.path);
    const frameEnd = showFooter(d.fs, seg).frameEnd;
    expect(after.get(seg.name)!.subarray(0, frameEnd).equals(before.get(seg.name)!.subarray(0, frameEnd)), `control ${verb}: ${seg.name}: frames must be byte-identical`).toBe(true);
    if (verb === 'strip') expect(r.status, `control strip: ${seg.name} still has a footer`).toBe('absent');
    else expect(showFooter(d.fs, seg).valid, `control rebuild: ${seg.name} must end in the footer its frames call for`).toBe(true);
  }
  expect(debris(d), `control ${verb}: temp files or the lock were left behind`).toEqual([]);
  expect(exists(d.fs, storePaths(d.dir).checkpoint), `control ${verb}: the checkpoint describes the old files and must be removed`).toBe(false);
  expect(events(d), `control ${verb}: the events changed`).toEqual(want);
  if (isRebuild(verb)) {
    // a rebuild gives back exactly the bytes a clean seal writes: strip again, rebuild again, same bytes
    maintain('strip', d);
    maintain('rebuild', d);
    expect(segmentBytes(d), 'control rebuild: strip + rebuild must give back the same bytes').toEqual(after);
  }
  expectReopensAndAppends(d, want, `control ${verb}`);
  const c = { before, after, events: want };
  controls.set(verb, c);
  return c;
}

// ------------------------------------------------------------- the simulated side

interface SimStart {
  snapshot: SimSnapshot;
  before: Map<string, Buffer>;
  after: Map<string, Buffer>;
  events: string[];
  /** The crash-sensitive operations of one run, in order. */
  ops: { kind: FsOpKind; path: string; occurrence: number; touchesLock: boolean }[];
  /** How many mutating operations one run makes (the crash points). */
  mutatingOps: number;
}

/** Kinds that change the disk or make it durable; opens count when they create or write a file the maintenance owns. */
const SENSITIVE = new Set<FsOpKind>(['write', 'fsync', 'truncate', 'rename', 'unlink', 'mkdir', 'fsyncDir']);
const OWNED = /(\.tmp|LOCK)$/;
const LOCK_PATH = storePaths(DIR).lock;

function simDisk(fs: SimFs, seed: number): Disk {
  // a pid range of its own per seed: any LOCK a faulted run left is a dead process's
  return { fs, dir: DIR, machine: new SimMachine(seed, 50_000 + seed * 1000) };
}

function simStart(verb: Verb): SimStart {
  const fs = new SimFs(7);
  buildStart(verb, simDisk(fs, 1));
  const snapshot = fs.snapshot();
  const probe = SimFs.fromSnapshot(snapshot);
  const d = simDisk(probe, 2);
  const before = segmentBytes(d);
  const want = events(d);
  const ops: SimStart['ops'] = [];
  const seen = new Map<string, number>();
  const lockEnv = d.machine.newProcess();
  const mut0 = probe.mutatingOpCount;
  probe.onOp = (_i, kind, path) => {
    if (!SENSITIVE.has(kind) && !(kind === 'open' && OWNED.test(path))) return;
    const key = `${kind} ${path}`;
    const occurrence = seen.get(key) ?? 0;
    seen.set(key, occurrence + 1);
    // the lock's own calls: on LOCK, and the directory fsync that makes its create or unlink durable
    const touchesLock = path === LOCK_PATH || (kind === 'fsyncDir' && ops.at(-1)?.path === LOCK_PATH);
    ops.push({ kind, path, occurrence, touchesLock });
  };
  maintain(verb, d, lockEnv);
  probe.onOp = undefined;
  return { snapshot, before, after: segmentBytes(d), events: want, ops, mutatingOps: probe.mutatingOpCount - mut0 };
}

const STARTS = new Map(VERBS.map((v) => [v, simStart(v)]));

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function expectOldOrNew(d: Disk, start: SimStart, where: string): void {
  const now = segmentBytes(d);
  expect([...now.keys()], `${where}: segment names changed`).toEqual([...start.before.keys()]);
  for (const [name, bytes] of now) {
    const ok = bytes.equals(start.before.get(name)!) || bytes.equals(start.after.get(name)!);
    expect(ok, `${where}: ${name} is neither the file before the maintenance nor the one after (half-visible replacement)`).toBe(true);
  }
}

describe.each(VERBS)('control/fault pairs for `sidx %s` (sidx-maintenance.ts): every crash-sensitive operation fails cleanly', (verb) => {
  const start = STARTS.get(verb)!;

  it(`${verb} makes the operations the pairs below fail (the probe saw the lock, temp files, renames, directory fsyncs and the checkpoint)`, () => {
    const kinds = new Set(start.ops.map((o) => `${o.kind} ${o.path.replace(/\d{10}/, 'N')}`));
    for (const must of ['open /store/LOCK', 'open /store/N.seg.tmp', 'write /store/N.seg.tmp', 'fsync /store/N.seg.tmp', 'rename /store/N.seg.tmp', 'fsyncDir /store', 'unlink /store/index.ckpt', 'unlink /store/LOCK']) {
      expect(kinds, `the probe run of ${verb} never made "${must}": has sidx-maintenance.ts changed how it writes?`).toContain(must);
    }
    expect(start.ops.filter((o) => o.kind === 'rename').length, `${verb} must replace several segments (a multi-file commit)`).toBeGreaterThanOrEqual(2);
    // every temp file is fsynced before the first rename: an fsync error must fail the run with every segment as it was
    const firstRename = start.ops.findIndex((o) => o.kind === 'rename');
    const tmpFsyncs = start.ops.map((o, i) => (o.kind === 'fsync' && o.path.endsWith('.tmp') ? i : -1)).filter((i) => i >= 0);
    expect(tmpFsyncs.length, `${verb}: one fsync per temp file`).toBe(start.ops.filter((o) => o.kind === 'rename').length);
    expect(Math.max(...tmpFsyncs), `${verb}: a temp file was fsynced after a rename (SegmentReplacements.commit)`).toBeLessThan(firstRename);
    if (verb === ONE_OPEN) {
      const lastTmpCreate = start.ops.map((o) => o.kind === 'open' && o.path.endsWith('.tmp')).lastIndexOf(true);
      expect(tmpFsyncs[0]!, `${verb}: with one temp file open, the first fsync must come before the last temp file is created (SegmentReplacements.syncOldest)`).toBeLessThan(lastTmpCreate);
    }
  });

  for (const op of start.ops) {
    const name = `${op.kind} ${op.path}${op.occurrence > 0 ? ` (call ${op.occurrence + 1})` : ''}`;
    it(`${verb}: ${name}: succeeds on RealFs; on SimFs fails cleanly, each segment old or new, the store reopens, verifies, appends, and ${verb} again finishes`, () => {
      control(verb);
      const fs = SimFs.fromSnapshot(start.snapshot, 3);
      const d = simDisk(fs, 3);
      fs.failNext(op.kind, { path: new RegExp(`^${escape(op.path)}$`), after: op.occurrence });
      let error: unknown;
      try {
        maintain(verb, d);
      } catch (err) {
        error = err;
      }
      const where = `${verb}, fault on ${name}`;
      expect(error, `${where}: the fault did not surface; does the operation bypass the FileSystem interface or swallow the error?`).toBeDefined();
      expect(isCleanFailure(error), `${where}: must fail with a SeglogError or FsError, got ${String(error)}`).toBe(true);
      fs.clearFaults();
      expectOldOrNew(d, start, where);
      expectFootersSound(d, where);
      expect(fs.readdir(DIR).filter((n) => n.endsWith('.tmp')), `${where}: a failed ${verb} must remove its temp files (SegmentReplacements.abandon)`).toEqual([]);
      // a fault on the lock's own calls may leave a LOCK naming this (dead) process: the next one takes it over
      if (!op.touchesLock) expect(exists(fs, LOCK_PATH), `${where}: the lock must be released after a failed ${verb}`).toBe(false);
      // a fresh process on a copy: reopen and append (without the second run)
      expectReopensAndAppends(simDisk(SimFs.fromSnapshot(fs.snapshot(), 4), 4), start.events, where, false);
      // the maintenance again finishes, with exactly the state one clean run gives
      maintain(verb, d);
      expect(segmentBytes(d), `${where}: ${verb} again must give what one ${verb} gives`).toEqual(start.after);
      expect(debris(d), `${where}: ${verb} again must leave no temp file or lock`).toEqual([]);
      expect(exists(fs, storePaths(DIR).checkpoint), `${where}: no stale checkpoint may survive ${verb} again`).toBe(false);
      expectReopensAndAppends(d, start.events, where);
    });
  }

  it(`${verb}: a short write of a temp file is completed by a second write (the temp file is fsynced whole before its rename)`, () => {
    const fs = SimFs.fromSnapshot(start.snapshot, 5);
    const d = simDisk(fs, 5);
    fs.failNext('write', { path: /\.seg\.tmp$/, code: 'SHORT' });
    maintain(verb, d);
    expect(segmentBytes(d), `${verb}: a short temp write must not change the result (fs/util.ts writeFully)`).toEqual(start.after);
    expectReopensAndAppends(d, start.events, `${verb} with a short temp write`);
  });
});

describe.each(VERBS)('crash sweep over `sidx %s`: a power cut after any operation, in any mode, leaves each segment old or new', (verb) => {
  const start = STARTS.get(verb)!;
  it(`${verb}: crash after each of its ${start.mutatingOps} mutating operations x ${CRASH_MODES.length} modes: events byte-identical, verify clean, no wrong footer, reopen + append, ${verb} again finishes`, () => {
    expect(start.mutatingOps, `${verb} made too few operations to sweep`).toBeGreaterThan(10);
    let states = 0;
    for (let k = 0; k < start.mutatingOps; k++) {
      for (const mode of CRASH_MODES) {
        const fs = SimFs.fromSnapshot(start.snapshot, 100 + k);
        const d = simDisk(fs, 6);
        fs.crashAfter(fs.mutatingOpCount + k);
        expect(() => maintain(verb, d), `${verb}: the crash point ${k} was not reached`).toThrow(/simulated power cut/);
        fs.crash(mode, k);
        const where = `${verb}: crash after operation ${k} (${mode})`;
        expectOldOrNew(d, start, where);
        expectFootersSound(d, where);
        expect(events(d), `${where}: the events changed`).toEqual(start.events);
        expectVerifies(fs, H, DIR);
        maintain(verb, d);
        expect(segmentBytes(d), `${where}: ${verb} again must give what one ${verb} gives`).toEqual(start.after);
        expect(exists(fs, storePaths(DIR).checkpoint), `${where}: a checkpoint describing the old files survived ${verb} again`).toBe(false);
        expectReopensAndAppends(d, start.events, where, false);
        states++;
      }
    }
    expect(states).toBe(start.mutatingOps * CRASH_MODES.length);
  });
});

describe('regressions found by these pairs', () => {
  it('bug: a rebuild whose directory fsync failed after the renames kept a stale index.ckpt for good (the rerun changed nothing, so removed nothing)', () => {
    const start = STARTS.get('rebuild')!;
    const fs = SimFs.fromSnapshot(start.snapshot, 9);
    const d = simDisk(fs, 9);
    expect(exists(fs, storePaths(DIR).checkpoint), 'the rebuild start state has a checkpoint').toBe(true);
    // the second directory fsync: the one after the renames (the first is the lock's)
    fs.failNext('fsyncDir', { path: DIR, after: 1 });
    expect(() => maintain('rebuild', d)).toThrow(/EIO|fsyncDir/);
    maintain('rebuild', d);
    expect(segmentBytes(d)).toEqual(start.after);
    expect(exists(fs, storePaths(DIR).checkpoint), 'sidx-maintenance.ts must remove the checkpoint before the first rename (removeCheckpointBeforeCommit)').toBe(false);
  });

  it('bug: a rename that failed midway through the commit left the later temp files behind', () => {
    const start = STARTS.get('strip')!;
    const fs = SimFs.fromSnapshot(start.snapshot, 10);
    fs.failNext('rename', { path: /0000000000\.seg\.tmp$/ });
    expect(() => maintain('strip', simDisk(fs, 10))).toThrow();
    expect(fs.readdir(DIR).filter((n) => n.endsWith('.tmp')), 'SegmentReplacements.commit must abandon the temp files it did not rename').toEqual([]);
  });
});
