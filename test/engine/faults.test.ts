/**
 * Every crash-sensitive operation goes through the FileSystem interface, and fails
 * cleanly when the disk fails it. Each case pairs
 * - a control: the operation on the real file system (RealFs, a temp directory) succeeds;
 * - a fault: the same operation on SimFs with `failNext` armed on the same call fails
 *   with a SeglogError or an FsError (or, for pure indexes such as footers and the
 *   checkpoint, succeeds with a warning and leaves no partial file), nothing of it is
 *   half visible, and the store reopens, verifies and accepts an append.
 * A case that fails on the fault side means an operation bypasses the interface or
 * leaves debris; look at the engine file named in the case.
 */
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Cursor } from '../../src/engine/log/cursor.js';
import { SeglogError } from '../../src/engine/io/errors.js';
import { RealFs } from '../../src/engine/io/real-fs.js';
import { type FaultOptions, SimFs } from '../../src/sim/sim-fs.js';
import { type FileSystem, type FsOpKind, isFsError } from '../../src/engine/io/fs-types.js';
import { exists } from '../../src/engine/io/fs-util.js';
import { storePaths } from '../../src/engine/io/layout.js';
import type { StoreOptions } from '../../src/engine/io/options.js';
import { executeRepair } from '../../src/tools/repair/executor.js';
import { planRepair } from '../../src/tools/repair/planner.js';
import { readFooterWithHeader } from '../../src/engine/index/sidx.js';
import { type OpenOptions, Store } from '../../src/engine/store/store.js';
import { SimMachine } from '../../src/tools/drill/sim-env.js';
import { crashError, DIR, expectVerifies, hasher, SCOPE, TestMachine, tempDir, eventHashesOf } from './drill/sim-helpers.js';

const H = await hasher();

/** One side of a pair: the real disk or the simulated one, with a way to open the store as a new process. */
interface Side {
  fs: FileSystem;
  dir: string;
  open(opts?: Partial<StoreOptions> & Partial<OpenOptions>): Store;
  /** Arms the fault (no-op on the control side). */
  arm(): void;
  warnings: string[];
  /** Payloads acknowledged by the operation so far (a failing call may come after some). */
  acked: string[];
}

interface FaultCase {
  /** The crash-sensitive operation, and where it lives in the engine. */
  name: string;
  fault: { kind: FsOpKind } & FaultOptions;
  /** Builds the state before the operation. */
  prepare?(side: Side): void;
  /** The operation; calls side.arm() right before the call under test, records acknowledged payloads in side.acked. */
  run(side: Side): void;
  /** Index files (footer, checkpoint): a failure only warns, the call itself succeeds. */
  warnsOnly?: boolean;
  /** Extra checks on the faulted side after the failure, before the reopen. */
  after?(side: Side): void;
}

const SMALL = { segmentMaxBytes: 4096, sync: 'batch', syncEveryNEvents: 1 } as const;
const pad = (i: number): string => JSON.stringify({ i, pad: 'x'.repeat(300) });

/** Appends `count` events (stopping at the first failure), recording each acknowledged payload. */
function appendMany(s: Store, count: number, from = 0, acked: string[] = []): void {
  for (let i = from; i < from + count; i++) {
    const p = pad(i);
    s.append({ entity: `acct:${i % 3}`, scope: SCOPE }, p);
    acked.push(p);
  }
}

/** Runs `fn` on a store and always lets go of it (close on a failed store only releases descriptors). */
function withStore<T>(s: Store, fn: (s: Store) => T): T {
  try {
    return fn(s);
  } finally {
    try {
      s.close();
    } catch {
      // the faulted call may be close itself; the case decides what that means
    }
  }
}

/** A store whose active segment ends in an incomplete batch (a process died mid-batch). */
function prepareIncompleteTail(side: Side): void {
  withStore(side.open(SMALL), (s) => appendMany(s, 2));
  const s = side.open({ ...SMALL, inject: { afterItemWritten: (_t, i) => { if (i === 1) throw crashError('mid-batch'); } } });
  expect(() => s.appendBatch([0, 1, 2].map((i) => ({ entity: 'acct:0', scope: SCOPE, payload: `batch ${i}` })))).toThrow();
  s.close();
}

/** A cleanly closed store (its last segment sealed with a footer) with bytes appended after the footer. */
const GARBAGE = Buffer.from('garbage appended after the footer by someone else\n');
function prepareGarbageAfterFooter(side: Side): void {
  withStore(side.open(SMALL), (s) => appendMany(s, 2));
  const seg = `${side.dir}/0000000000.seg`;
  const fd = side.fs.open(seg, 'r+');
  try {
    side.fs.write(fd, GARBAGE, 0, GARBAGE.length, side.fs.fstat(fd).sizeBytes);
    side.fs.fsync(fd);
  } finally {
    side.fs.close(fd);
  }
}

const CASES: FaultCase[] = [
  {
    name: 'segment write (SegmentWriter.write)',
    fault: { kind: 'write', path: /\.seg$/ },
    prepare: (side) => void withStore(side.open(SMALL), (s) => appendMany(s, 2)),
    run: (side) => withStore(side.open(), (s) => {
      side.arm();
      appendMany(s, 1, 10, side.acked);
    }),
  },
  {
    name: 'segment short write (SegmentWriter.write: fails, never completed by a second write)',
    fault: { kind: 'write', path: /\.seg$/, code: 'SHORT' },
    prepare: (side) => void withStore(side.open(SMALL), (s) => appendMany(s, 2)),
    run: (side) => withStore(side.open(), (s) => {
      side.arm();
      appendMany(s, 1, 10, side.acked);
    }),
  },
  {
    name: 'segment fsync at the end of a batch (SegmentWriter.fsync)',
    fault: { kind: 'fsync', path: /\.seg$/ },
    prepare: (side) => void withStore(side.open(SMALL), (s) => appendMany(s, 2)),
    run: (side) => withStore(side.open(), (s) => {
      side.arm();
      const items = [0, 1, 2].map((i) => ({ entity: 'acct:0', scope: SCOPE, payload: `batch ${i}` }));
      s.appendBatch(items);
      side.acked.push(...items.map((i) => i.payload));
    }),
  },
  {
    name: 'segment create at rotation (SegmentWriter.createSegment: open wx)',
    fault: { kind: 'open', path: /0000000001\.seg$/ },
    run: (side) => withStore(side.open(SMALL), (s) => {
      side.arm();
      appendMany(s, 20, 0, side.acked);
    }),
  },
  {
    name: 'directory fsync of a new segment at rotation (SegmentWriter.createSegment: fsyncDir)',
    fault: { kind: 'fsyncDir', path: DIR },
    prepare: (side) => void withStore(side.open(SMALL), (s) => appendMany(s, 1)),
    run: (side) => withStore(side.open(), (s) => {
      side.arm();
      appendMany(s, 20, 1, side.acked);
    }),
  },
  {
    name: 'seal of the old segment at rotation (SegmentWriter.seal: fsync)',
    fault: { kind: 'fsync', path: /0000000000\.seg$/ },
    prepare: (side) => void withStore(side.open({ ...SMALL, sync: 'none' }), (s) => appendMany(s, 1)),
    run: (side) => withStore(side.open(), (s) => {
      side.arm();
      appendMany(s, 20, 1, side.acked);
    }),
  },
  ...(['mkdir', 'write', 'rename', 'fsyncDir'] as const).map(
    (kind): FaultCase => ({
      name: `tail cut: copy into lost+found (store.ts cutTail: ${kind})`,
      fault: { kind, path: kind === 'fsyncDir' ? /lost\+found$/ : /lost\+found/ },
      prepare: prepareIncompleteTail,
      run: (side) => {
        side.arm();
        withStore(side.open(), () => undefined);
      },
    }),
  ),
  ...(['mkdir', 'write', 'rename', 'fsyncDir'] as const).map(
    (kind): FaultCase => ({
      name: `bytes after a sealed last segment's footer: copy into lost+found before the writer cuts them (beyond-frames-copy.ts: ${kind})`,
      fault: { kind, path: kind === 'fsyncDir' ? /lost\+found$/ : /lost\+found/ },
      prepare: prepareGarbageAfterFooter,
      run: (side) => {
        side.arm();
        withStore(side.open(), () => undefined);
      },
    }),
  ),
  ...(['truncate', 'fsync'] as const).map(
    (kind): FaultCase => ({
      name: `tail cut: truncate of the segment (store.ts cutTail: ${kind})`,
      fault: { kind, path: /0000000000\.seg$/ },
      prepare: prepareIncompleteTail,
      run: (side) => {
        side.arm();
        withStore(side.open(), () => undefined);
      },
    }),
  ),
  ...(['open', 'write', 'fsync', 'fsyncDir'] as const).map(
    (kind): FaultCase => ({
      name: `lock create (lock.ts StoreLock.tryCreate: ${kind})`,
      fault: { kind, path: kind === 'fsyncDir' ? DIR : /LOCK$/ },
      prepare: (side) => void withStore(side.open(SMALL), (s) => appendMany(s, 2)),
      run: (side) => {
        side.arm();
        withStore(side.open(), () => undefined);
      },
    }),
  ),
  {
    name: 'lock unlink at close (lock.ts StoreLock.release)',
    fault: { kind: 'unlink', path: /LOCK$/ },
    prepare: (side) => void withStore(side.open(SMALL), (s) => appendMany(s, 2)),
    run: (side) => {
      const s = side.open();
      appendMany(s, 1, 5, side.acked);
      side.arm();
      s.close();
    },
  },
  ...(['write', 'fsync', 'rename'] as const).map(
    (kind): FaultCase => ({
      name: `store meta write at create (store-meta.ts writeMeta: ${kind})`,
      fault: { kind, path: /seglog\.json(\.tmp)?$/ },
      run: (side) => {
        side.arm();
        withStore(side.open(SMALL), () => undefined);
      },
    }),
  ),
  {
    name: 'SIDX footer write at seal (sidx.ts sealFooter)',
    fault: { kind: 'write', path: /0000000000\.seg$/ },
    warnsOnly: true,
    prepare: (side) => void withStore(side.open(SMALL), (s) => appendMany(s, 2)),
    run: (side) => {
      const s = side.open();
      appendMany(s, 1, 5, side.acked);
      side.arm();
      s.close();
    },
    after: (side) => {
      const footer = readFooterWithHeader(side.fs, join(side.dir, '0000000000.seg'));
      expect(['absent', 'valid'], `a failed footer write must leave no partial footer (sidx.ts sealFooter), got ${footer.status}`).toContain(footer.status);
    },
  },
  {
    name: 'checkpoint write at close (checkpoint.ts writeCheckpoint)',
    fault: { kind: 'write', path: /index\.ckpt\.tmp$/ },
    warnsOnly: true,
    prepare: (side) => void withStore(side.open(SMALL), (s) => appendMany(s, 2)),
    run: (side) => {
      const s = side.open();
      appendMany(s, 1, 5, side.acked);
      side.arm();
      s.close();
    },
    after: (side) => {
      expect(exists(side.fs, storePaths(side.dir).checkpoint), 'a failed checkpoint write must not leave index.ckpt behind').toBe(false);
    },
  },
  ...(['write', 'rename'] as const).map(
    (kind): FaultCase => ({
      name: `cursor commit (cursor.ts Cursor.commit: ${kind})`,
      fault: { kind, path: /cursors\// },
      prepare: (side) => void withStore(side.open(SMALL), (s) => appendMany(s, 3)),
      run: (side) => {
        const c = Cursor.open(side.fs, side.dir, 'reader');
        const read = c.read(2);
        side.arm();
        c.commit(read.next);
      },
      after: (side) => {
        expect(Cursor.open(side.fs, side.dir, 'reader').state().delivered, 'a failed cursor commit keeps the old position').toBe(0);
      },
    }),
  ),
];

function realSide(): Side {
  const dir = join(tempDir('seglog-faults-'), 'store');
  const fs = new RealFs();
  const warnings: string[] = [];
  // simulated pids on the real disk too: a "process" that died mid-batch left a LOCK that the next one takes over
  const machine = new SimMachine(1);
  const open = (opts = {}): Store => Store.openSync(dir, { ...opts, fs, lockEnv: machine.newProcess(), onWarning: (m) => warnings.push(m) }, H);
  return { fs, dir, warnings, acked: [], arm: () => undefined, open };
}

function simSide(fault: FaultCase['fault'], seed: number): Side & { sim: SimFs; machine: TestMachine } {
  const sim = new SimFs(seed);
  const machine = new TestMachine(sim, H, seed);
  const warnings: string[] = [];
  const { kind, ...opts } = fault;
  return { fs: sim, sim, machine, dir: DIR, warnings, acked: [], arm: () => sim.failNext(kind, opts), open: (o = {}) => machine.open({ ...o, onWarning: (m) => warnings.push(m) }) };
}

function isCleanFailure(err: unknown): boolean {
  return err instanceof SeglogError || isFsError(err);
}

describe('control/fault pairs: every crash-sensitive operation goes through the FileSystem interface and fails cleanly', () => {
  CASES.forEach((c, index) => {
    it(`${c.name}: succeeds on RealFs; on SimFs fails cleanly, nothing half-visible, the store reopens and verifies`, () => {
      const real = realSide();
      c.prepare?.(real);
      const before = committedPayloads(real);
      c.run(real);
      const ackedReal = real.acked;
      expect(real.warnings.filter((w) => /failed|cannot/.test(w)), `control: ${c.name} must not warn on the real disk`).toEqual([]);
      expect(committedPayloads(real), `control: ${c.name} must succeed on the real disk`).toEqual([...before, ...ackedReal]);

      const sim = simSide(c.fault, 100 + index);
      c.prepare?.(sim);
      const beforeSim = committedPayloads(sim);
      let error: unknown;
      try {
        c.run(sim);
      } catch (err) {
        error = err;
      }
      const acked = sim.acked;
      if (c.warnsOnly) {
        expect(error, `${c.name}: an index write failure must not fail the call`).toBeUndefined();
        expect(sim.warnings.length, `${c.name}: the failure must be reported as a warning`).toBeGreaterThan(0);
      } else {
        expect(error, `${c.name}: the SimFs fault did not surface; does the operation bypass the FileSystem interface?`).toBeDefined();
        expect(isCleanFailure(error), `${c.name}: must fail with a SeglogError or FsError, got ${String(error)}`).toBe(true);
      }
      c.after?.(sim);
      sim.sim.clearFaults();
      // a new process (the faulted one may have died holding the lock) reopens the store
      const store = sim.open();
      const after = store.query().map((e) => Buffer.from(e.payload).toString('utf8'));
      expect(after.slice(0, beforeSim.length), `${c.name}: events from before the operation must survive`).toEqual(beforeSim);
      expect(after.slice(beforeSim.length, beforeSim.length + acked.length), `${c.name}: acknowledged appends must survive`).toEqual(acked);
      expect(after.length - beforeSim.length - acked.length, `${c.name}: nothing of the failed call may be visible: ${JSON.stringify(after.slice(beforeSim.length + acked.length))}`).toBe(0);
      const next = store.append({ entity: 'acct:0', scope: SCOPE }, 'after the fault');
      expect(next.seq, `${c.name}: the store must accept an append continuing the sequence`).toBe(store.snapshotState().nextSeq - 1);
      store.close();
      expectVerifies(sim.fs, H, sim.dir);
    });
  });
});

function committedPayloads(side: Side): string[] {
  if (!exists(side.fs, storePaths(side.dir).meta)) return [];
  const s = Store.openSync(side.dir, { fs: side.fs, readOnly: true }, H);
  try {
    return s.query().map((e) => Buffer.from(e.payload).toString('utf8'));
  } finally {
    s.close();
  }
}

describe('control/fault pairs for repair writes (repair/executor.ts): a failed repair leaves every segment as it was or as repaired', () => {
  const FIXTURE = fileURLToPath(new URL('../fixtures/flipped-bit', import.meta.url));
  const REPAIR_MS = 1_700_000_500_000;
  const repairFaults: { name: string; fault: { kind: FsOpKind } & FaultOptions }[] = [
    { name: 'backup copy', fault: { kind: 'write', path: /backups\// } },
    { name: 'lost+found record', fault: { kind: 'write', path: /lost\+found\// } },
    { name: 'repaired segment temp file', fault: { kind: 'write', path: /\.repair\.tmp$/ } },
    { name: 'temp file fsync', fault: { kind: 'fsync', path: /\.repair\.tmp$/ } },
    { name: 'rename over the segment', fault: { kind: 'rename', path: /\.repair\.tmp$/ } },
    { name: 'directory fsync after the renames', fault: { kind: 'fsyncDir', path: DIR } },
  ];
  const repair = (fs: FileSystem, dir: string, backups: string): void => {
    executeRepair(fs, planRepair(fs, dir, { hasher: H }), { backupRoot: backups, nowMs: REPAIR_MS });
  };
  const events = (fs: FileSystem, dir: string): string[] => eventHashesOf(fs, H, dir);

  for (const c of repairFaults) {
    it(`${c.name}: repairs on RealFs; on SimFs fails cleanly, the store is as before or repaired, and a second repair finishes`, () => {
      const realDir = join(tempDir('seglog-repair-'), 'store');
      cpSync(FIXTURE, realDir, { recursive: true });
      const real = new RealFs();
      const damaged = events(real, realDir);
      repair(real, realDir, join(realDir, '..', 'backups'));
      const repaired = events(real, realDir);
      expectVerifies(real, H, realDir);

      const sim = new SimFs(31);
      sim.loadFromReal(FIXTURE, DIR);
      const { kind, ...opts } = c.fault;
      const plan = planRepair(sim, DIR, { hasher: H });
      sim.failNext(kind, opts);
      let error: unknown;
      try {
        executeRepair(sim, plan, { backupRoot: '/backups', nowMs: REPAIR_MS });
      } catch (err) {
        error = err;
      }
      expect(error, `${c.name}: the fault did not surface; does the repair bypass the FileSystem interface?`).toBeDefined();
      expect(isCleanFailure(error), `${c.name}: must fail with a SeglogError or FsError, got ${String(error)}`).toBe(true);
      const between = events(sim, DIR);
      expect([damaged, repaired], `${c.name}: after a failed repair the store must be as before or as repaired`).toContainEqual(between);
      sim.clearFaults();
      repair(sim, DIR, '/backups');
      expect(events(sim, DIR), `${c.name}: repairing again must give what one repair gives`).toEqual(repaired);
      expectVerifies(sim, H, DIR);
      const store = new TestMachine(sim, H, 32).open();
      store.append({ entity: 'acct:0', scope: SCOPE }, 'after repair');
      store.close();
    });
  }
});

describe('nothing a read-write open cuts is dropped uncopied', () => {
  it("bytes appended after the last segment's footer are in lost+found/ after the next writer's open, byte for byte; a valid footer alone is not copied", () => {
    const real = realSide();
    prepareGarbageAfterFooter(real);
    withStore(real.open(), (s) => s.append({ entity: 'acct:0', scope: SCOPE }, 'next'));
    const lf = storePaths(real.dir).lostFound;
    const names = real.fs.readdir(lf).filter((n) => n.endsWith('.after-frames'));
    expect(names, 'one copy, named after the segment, offset and reason (cut-tail-copy.ts)').toHaveLength(1);
    const copy = readWholeFile(real.fs, `${lf}/${names[0]}`);
    expect(Buffer.from(copy.subarray(copy.length - GARBAGE.length)).toString()).toBe(GARBAGE.toString());
    // a clean close and reopen: the footer is cut again, but it is derived data: no new copy
    withStore(real.open(), () => undefined);
    expect(real.fs.readdir(lf).filter((n) => n.endsWith('.after-frames'))).toHaveLength(1);
    expectVerifies(real.fs, H, real.dir);
  });
});

function readWholeFile(fs: FileSystem, path: string): Uint8Array {
  const size = fs.stat(path).sizeBytes;
  const buf = new Uint8Array(size);
  const fd = fs.open(path, 'r');
  try {
    fs.read(fd, buf, 0, size, 0);
  } finally {
    fs.close(fd);
  }
  return buf;
}
