/**
 * Control/fault pairs and a crash sweep for the ingest path: `seglog append --file`,
 * which runs src/tools/ingest/ingest-file.ts (ingestJsonl) on an open store, then
 * closes it. The input file is read with node:fs (input, not the store); every store
 * call of the session (bulk chunk writes, fsyncs, rotations: seal, footer, new segment
 * and its directory fsync, the checkpoint at close) goes through the FileSystem.
 *
 * The operations are found by recording a probe session on SimFs; for each kind of
 * operation (first and last call) a pair:
 * - control: the same ingest on RealFs appends every line, durable; the store
 *   reopens, verifies and accepts an append;
 * - fault: that call fails on SimFs. The session fails with a SeglogError or FsError
 *   (footer and checkpoint writes only warn); what it acknowledged (IngestResult.appended,
 *   kept up to date while it runs) survives a reopen; what is visible is a prefix of the
 *   input made of whole batches (nothing of a failed batch); the store verifies and
 *   accepts an append.
 * Then a power cut after every mutating operation of the session, in every mode: the
 * acknowledged prefix survives, nothing partial is visible, the store verifies and
 * accepts an append. A failure names the operation: look at store.ts (bulk*, writeItems),
 * segment-writer.ts, or ingest-file.ts.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SimMachine } from '../../src/tools/drill/sim-env.js';
import { SeglogError } from '../../src/engine/io/errors.js';
import { RealFs } from '../../src/engine/io/real-fs.js';
import { CRASH_MODES, type FaultOptions, SimFs, type SimSnapshot } from '../../src/sim/sim-fs.js';
import { type FileSystem, type FsOpKind, isFsError } from '../../src/engine/io/fs-types.js';
import { emptyIngestResult, ingestJsonl, type IngestResult } from '../../src/tools/ingest/ingest-file.js';
import { Store } from '../../src/engine/store/store.js';
import { DIR, expectVerifies, hasher, SCOPE, TestMachine, tempDir } from './drill/sim-helpers.js';

const H = await hasher();

/** A few hundred lines over small segments: many rotations, seals, footers. */
const LINES = 160;
const SEGMENT_MAX_BYTES = 8192;
const BATCH_SIZE = 16;
/**
 * Batch mode makes ~4x the operations of bulk mode (an fsync per batch): its sweep takes
 * every third crash point (all modes) to stay within the suite's time budget; bulk mode
 * takes every one. Set to 1 for the full sweep.
 */
const BATCH_SWEEP_STRIDE = 3;

const payloadOf = (i: number): string => JSON.stringify({ i, pad: 'p'.repeat(40 + (i % 7) * 9) });
const INPUT = join(tempDir('seglog-ingest-'), 'events.jsonl');
writeFileSync(INPUT, Array.from({ length: LINES }, (_, i) => JSON.stringify({ entity: `acct:${i % 5}`, scope: SCOPE, payload: JSON.parse(payloadOf(i)) })).join('\n') + '\n');
const WANT = Array.from({ length: LINES }, (_, i) => payloadOf(i));

type Mode = 'bulk' | 'batches';
const MODES: readonly Mode[] = ['bulk', 'batches'];

interface Disk {
  fs: FileSystem;
  dir: string;
  machine: SimMachine;
  warnings: string[];
}

function openStore(d: Disk, readOnly = false): Store {
  const m = d.machine;
  return Store.openSync(d.dir, { fs: d.fs, readOnly, segmentMaxBytes: SEGMENT_MAX_BYTES, sync: 'batch', lockEnv: m.newProcess(), clock: m.clock, random: m.random, onWarning: (w) => d.warnings.push(w) }, H);
}

/** What `seglog append --file` does with an open store: ingest, then close (also on failure). */
function appendSession(d: Disk, mode: Mode, result: IngestResult, onOpened?: () => void): void {
  const store = openStore(d);
  onOpened?.();
  try {
    ingestJsonl(store, INPUT, { defaults: {}, batchSize: mode === 'batches' ? BATCH_SIZE : undefined }, result);
  } finally {
    store.close();
  }
}

function payloads(d: Disk): string[] {
  const s = openStore(d, true);
  try {
    return s.query().map((e) => Buffer.from(e.payload).toString('utf8'));
  } finally {
    s.close();
  }
}

/** The checks after any failure or crash: acknowledged survive, a whole-batch prefix is visible, verify, append. */
function expectAcknowledgedPrefix(d: Disk, mode: Mode, acked: number, where: string): void {
  const got = payloads(d);
  expect(got.length, `${where}: ${acked} events were acknowledged, ${got.length} survived (ingest-file.ts must not report more than the store made durable)`).toBeGreaterThanOrEqual(acked);
  expect(got, `${where}: what is visible must be a prefix of the input, in order, byte for byte`).toEqual(WANT.slice(0, got.length));
  if (mode === 'batches' && got.length < LINES) {
    expect(got.length % BATCH_SIZE, `${where}: ${got.length} events visible: part of a batch is visible (store.ts writeItems / recovery)`).toBe(0);
  }
  // a read-write open recovers (cuts a torn tail); then the log verifies and takes an append
  const s = openStore(d);
  const r = s.append({ entity: 'acct:0', scope: SCOPE }, 'after ingest');
  expect(r.seq, `${where}: the store must accept an append continuing the sequence`).toBe(got.length);
  s.close();
  expectVerifies(d.fs, H, d.dir);
}

function isCleanFailure(err: unknown): boolean {
  return err instanceof SeglogError || isFsError(err);
}

// ------------------------------------------------------------------ control (RealFs)

const controlled = new Set<Mode>();

function control(mode: Mode): void {
  if (controlled.has(mode)) return;
  const d: Disk = { fs: new RealFs(), dir: join(tempDir('seglog-ingest-real-'), 'store'), machine: new SimMachine(1), warnings: [] };
  const result = emptyIngestResult();
  appendSession(d, mode, result);
  expect(result, `control ${mode}: the ingest must append every line, durably`).toMatchObject({ appended: LINES, firstSeq: 0, lastSeq: LINES - 1, durable: true });
  expect(d.warnings, `control ${mode}: no warning on the real disk`).toEqual([]);
  expect(payloads(d), `control ${mode}: every line, in order`).toEqual(WANT);
  expect(d.fs.readdir(d.dir).filter((n) => n.endsWith('.seg')).length, `control ${mode}: the input must span several segments`).toBeGreaterThan(3);
  expectAcknowledgedPrefix(d, mode, LINES, `control ${mode}`);
  controlled.add(mode);
}

// ------------------------------------------------------------- the simulated side

interface Op {
  kind: FsOpKind;
  path: string;
  occurrence: number;
  /** The operation, its path's segment number replaced by N: one pair per class and call position. */
  cls: string;
}

interface SimStart {
  snapshot: SimSnapshot;
  ops: Op[];
  /** Mutating operations of the open (lock, recovery), which faults.test.ts covers; the sweep starts after them. */
  openOps: number;
  mutatingOps: number;
}

const SENSITIVE = new Set<FsOpKind>(['open', 'write', 'fsync', 'truncate', 'rename', 'unlink', 'mkdir', 'fsyncDir']);

function simDisk(fs: SimFs, seed: number): Disk {
  return { fs, dir: DIR, machine: new SimMachine(seed, 50_000 + seed * 1000), warnings: [] };
}

/** An empty store (created and closed), and the crash-sensitive operations of one ingest session on it. */
function simStart(mode: Mode): SimStart {
  const fs = new SimFs(11);
  openStore(simDisk(fs, 1)).close();
  const snapshot = fs.snapshot();
  const probe = SimFs.fromSnapshot(snapshot);
  const ops: Op[] = [];
  // counted over the whole session (so `after` counts the open's calls too), recorded from the ingest on
  const seen = new Map<string, number>();
  let recording = false;
  probe.onOp = (_i, kind, path) => {
    if (!SENSITIVE.has(kind)) return;
    const key = `${kind} ${path}`;
    const occurrence = seen.get(key) ?? 0;
    seen.set(key, occurrence + 1);
    if (recording) ops.push({ kind, path, occurrence, cls: `${kind} ${path.replace(/\d{10}/, 'N')}` });
  };
  const m0 = probe.mutatingOpCount;
  let openOps = 0;
  appendSession(simDisk(probe, 2), mode, emptyIngestResult(), () => {
    recording = true;
    openOps = probe.mutatingOpCount - m0;
  });
  probe.onOp = undefined;
  return { snapshot, ops, openOps, mutatingOps: probe.mutatingOpCount - m0 - openOps };
}

const STARTS = new Map(MODES.map((m) => [m, simStart(m)]));

/** One pair per operation class: its first call and its last (mid-ingest rotations and the final seal differ). */
function pairOps(ops: Op[]): { op: Op; position: string }[] {
  const byClass = new Map<string, Op[]>();
  for (const op of ops) byClass.set(op.cls, [...(byClass.get(op.cls) ?? []), op]);
  const out: { op: Op; position: string }[] = [];
  for (const list of byClass.values()) {
    out.push({ op: list[0]!, position: 'first' });
    if (list.length > 1) out.push({ op: list[list.length - 1]!, position: `last of ${list.length}` });
  }
  return out;
}

/** Footer and checkpoint writes are indexes: their failure is a warning, the ingest succeeds. */
const INDEX_ONLY = /index\.ckpt/;

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe.each(MODES)('control/fault pairs for `append --file` (%s): every store operation of an ingest fails cleanly', (mode) => {
  const start = STARTS.get(mode)!;

  it(`${mode}: the probe session made writes, fsyncs, rotations (new segment + directory fsync) and the checkpoint`, () => {
    const classes = new Set(start.ops.map((o) => o.cls));
    for (const must of ['write /store/N.seg', 'fsync /store/N.seg', 'open /store/N.seg', 'fsyncDir /store', 'write /store/index.ckpt.tmp', 'rename /store/index.ckpt.tmp']) {
      expect(classes, `the ingest session never made "${must}": has the ingest path changed how it writes?`).toContain(must);
    }
  });

  const faults: { op: Op; position: string; code?: FaultOptions['code'] }[] = pairOps(start.ops);
  // the second write to segment 1: its first frames (the first is its header, which writeFully completes)
  const firstSegWrite = start.ops.find((o) => o.cls === 'write /store/N.seg' && o.path.endsWith('0000000001.seg') && o.occurrence === 1);
  if (firstSegWrite) faults.push({ op: firstSegWrite, position: 'a chunk, short', code: 'SHORT' });

  for (const { op, position, code } of faults) {
    const name = `${op.kind} ${op.path} (${position}${code ? `, ${code}` : ''})`;
    it(`${mode}: ${name}: ingests on RealFs; on SimFs fails cleanly, the acknowledged prefix survives, nothing partial is visible, the store reopens, verifies, appends`, () => {
      control(mode);
      const fs = SimFs.fromSnapshot(start.snapshot, 3);
      const d = simDisk(fs, 3);
      fs.failNext(op.kind, { path: new RegExp(`^${escape(op.path)}$`), after: op.occurrence, code });
      const result = emptyIngestResult();
      let error: unknown;
      try {
        appendSession(d, mode, result);
      } catch (err) {
        error = err;
      }
      const where = `${mode}, fault on ${name}`;
      // a failed footer write at a seal is a warning too: the segment is whole, only its index is missing
      const warned = d.warnings.some((w) => /not written|footer|checkpoint/i.test(w));
      if (error === undefined) {
        expect(warned || INDEX_ONLY.test(op.path), `${where}: the fault neither failed the ingest nor was reported as a warning: does the call bypass the FileSystem interface?`).toBe(true);
        expect(result.appended, `${where}: a warning-only fault must not lose lines`).toBe(LINES);
      } else {
        expect(isCleanFailure(error), `${where}: must fail with a SeglogError or FsError, got ${String(error)}`).toBe(true);
        if (error instanceof SeglogError) expect(error.file, `${where}: a store failure must name the store file, not the input (ingest-file.ts readLinesOrFail)`).not.toBe(INPUT);
      }
      fs.clearFaults();
      expectAcknowledgedPrefix(d, mode, result.appended, where);
    });
  }
});

describe.each(MODES)('crash sweep over `append --file` (%s): a power cut after any operation of the session', (mode) => {
  const start = STARTS.get(mode)!;
  it(`${mode}: crash after ${mode === 'batches' ? `every ${BATCH_SWEEP_STRIDE}rd of its` : 'each of its'} ${start.mutatingOps} mutating operations x ${CRASH_MODES.length} modes: the acknowledged prefix survives, nothing partial is visible, verify clean, reopen + append`, () => {
    expect(start.mutatingOps, `${mode}: too few operations to sweep`).toBeGreaterThan(20);
    let states = 0;
    const stride = mode === 'batches' ? BATCH_SWEEP_STRIDE : 1;
    for (let k = 0; k < start.mutatingOps; k += stride) {
      for (const crashMode of CRASH_MODES) {
        const fs = SimFs.fromSnapshot(start.snapshot, 100 + k);
        const d = simDisk(fs, 6);
        const result = emptyIngestResult();
        // the crash point counts from the end of the open: the ingest and the close
        expect(() => appendSession(d, mode, result, () => fs.crashAfter(fs.mutatingOpCount + k)), `${mode}: crash point ${k} was not reached`).toThrow(/simulated power cut/);
        fs.crash(crashMode, k);
        expectAcknowledgedPrefix(d, mode, result.appended, `${mode}: crash after operation ${k} (${crashMode})`);
        states++;
      }
    }
    expect(states).toBe(Math.ceil(start.mutatingOps / stride) * CRASH_MODES.length);
  });
});

describe('regressions found by these pairs', () => {
  it('bug: a batch whose rotation failed (directory fsync) after the old segment was sealed burned its sequence numbers: recovery now cuts the empty new segment, then the batch', () => {
    const fs = SimFs.fromSnapshot(STARTS.get('batches')!.snapshot, 12);
    const d = simDisk(fs, 12);
    const result = emptyIngestResult();
    expect(() => appendSession(d, 'batches', result, () => fs.failNext('fsyncDir', { path: DIR }))).toThrow(/EIO/);
    const s = openStore(d);
    expect(s.snapshotState().nextSeq, 'recovery-scan.ts onSegmentEnd must cut an incomplete batch that ends the segment before an empty last one (sequences are never burned by a failed batch)').toBe(result.appended);
    s.close();
  });

  it('bug: after a failed chunk write, append --file wrote the chunk again (finish in a finally) into the failed store', () => {
    const start = STARTS.get('bulk')!;
    const chunk = start.ops.find((o) => o.cls === 'write /store/N.seg' && o.path.endsWith('0000000001.seg') && o.occurrence === 1)!;
    const fs = SimFs.fromSnapshot(start.snapshot, 13);
    const writes: string[] = [];
    fs.onOp = (_i, kind, path) => {
      if (kind === 'write' && path.endsWith('.seg')) writes.push(path);
    };
    expect(() => appendSession(simDisk(fs, 13), 'bulk', emptyIngestResult(), () => fs.failNext('write', { path: chunk.path, after: chunk.occurrence }))).toThrow();
    const after = writes.slice(writes.lastIndexOf(chunk.path) + 1);
    expect(writes.filter((p) => p === chunk.path).length, 'ingest-file.ts must not call bulk.finish() after the store failed: the chunk was written twice').toBe(chunk.occurrence + 1);
    expect(after, 'nothing may be written to a segment after a failed chunk write').toEqual([]);
  });

  it('bug: a store failure at a rotation inside the line loop was reported as "cannot read input" naming the input file', () => {
    const fs = SimFs.fromSnapshot(STARTS.get('bulk')!.snapshot, 14);
    let error: unknown;
    try {
      appendSession(simDisk(fs, 14), 'bulk', emptyIngestResult(), () => fs.failNext('fsync', { path: /0000000000\.seg$/ }));
    } catch (err) {
      error = err;
    }
    expect(String(error), 'ingest-file.ts readLinesOrFail must pass the store\'s FsError through').not.toMatch(/cannot read input/);
    expect(isCleanFailure(error)).toBe(true);
  });
});

describe('bulk appends after a failure (store.ts bulkRoom / bulkFlush / bulkFinish)', () => {
  it('a rotation failing inside a bulk append poisons the store: finish() refuses instead of writing the chunk again, close() does not throw, the next process recovers a clean prefix', () => {
    const sim = new SimFs(404);
    const machine = new TestMachine(sim, H, 404);
    const s = machine.open({ segmentMaxBytes: 4096, sync: 'batch' });
    const bulk = s.bulk();
    sim.failNext('fsyncDir', { path: DIR });
    let failed: unknown;
    let added = 0;
    try {
      for (let i = 0; i < 200; i++) {
        bulk.add({ entity: `acct:${i % 3}`, scope: SCOPE, payload: JSON.stringify({ i, pad: 'x'.repeat(200) }) });
        added++;
      }
    } catch (err) {
      failed = err;
    }
    expect(failed, 'the directory fsync of the rotation must fail the bulk add (a rotation bypassing bulkRoom?)').toBeDefined();
    expect(added, 'the fault must hit a rotation, not the first event').toBeGreaterThan(0);
    expect(() => bulk.finish(), 'finish() after a failure must refuse (poisoned), never write the chunk into the failed store').toThrow(/earlier write failed/);
    expect(() => s.close(), 'close() of a poisoned store only lets go of descriptors').not.toThrow();
    const again = machine.open();
    const payloads = again.query().map((e) => JSON.parse(Buffer.from(e.payload).toString('utf8')) as { i: number });
    expect(payloads.map((p) => p.i), 'what survives is an in-order prefix of what was added').toEqual(payloads.map((_p, i) => i));
    again.append({ entity: 'acct:0', scope: SCOPE }, '"after"');
    again.close();
    expectVerifies(sim, H, DIR);
  });
});
