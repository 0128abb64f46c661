/**
 * Helpers for tests that run stores on the simulated disk: a deterministic machine per
 * test (pids, clock, random), opening as a fresh process, and the checks every
 * recovery test ends with (verify clean, committed events as expected).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { type Blake3, createHasher } from '../../../src/format/hash/blake3.js';
import { SIM_STORE_DIR, SimMachine } from '../../../src/tools/drill/sim-env.js';
import { CRASH_MODES, SimFs } from '../../../src/sim/sim-fs.js';
import type { DrillReport } from '../../../src/tools/drill/drill-runner.js';
import type { FileSystem } from '../../../src/engine/io/fs-types.js';
import type { StoreOptions } from '../../../src/engine/io/options.js';
import { type OpenOptions, Store } from '../../../src/engine/store/store.js';
import { verifySegments } from '../../../src/engine/verify/verify.js';
import { listSegments } from '../../../src/engine/segment/walker.js';

export const DIR = SIM_STORE_DIR;
export const SCOPE = 'tenant:test';
const PID_RANGE = 10_000;

let hasherPromise: Promise<Blake3> | undefined;
export function hasher(): Promise<Blake3> {
  hasherPromise ??= createHasher();
  return hasherPromise;
}

/** A simulated machine whose processes open stores on `fs`, each as a new pid. */
export class TestMachine {
  readonly machine: SimMachine;
  constructor(
    readonly fs: SimFs,
    readonly h: Blake3,
    seed = 1,
    readonly dir = DIR,
  ) {
    // each machine its own pid range: a LOCK left by another machine's process is stale here
    this.machine = new SimMachine(seed, PID_RANGE * (seed + 1));
  }

  open(options: Partial<StoreOptions> & Partial<OpenOptions> = {}): Store {
    return Store.openSync(this.dir, { ...options, fs: this.fs, lockEnv: this.machine.newProcess(), clock: this.machine.clock, random: this.machine.random }, this.h);
  }
}

export async function simMachine(seed = 1): Promise<TestMachine> {
  return new TestMachine(new SimFs(seed), await hasher(), seed);
}

/** A crashed copy of `fs` (the original is left as it is, for the next mode). */
export function crashedCopy(fs: SimFs, mode: Parameters<SimFs['crash']>[0], seed = 7): SimFs {
  const fork = SimFs.fromSnapshot(fs.snapshot(), seed);
  fork.crash(mode, seed);
  return fork;
}

/** Verify must find no error, and recovery must have left no torn tail. */
export function expectVerifies(fs: FileSystem, h: Blake3, dir = DIR): void {
  const report = verifySegments(fs, listSegments(fs, dir), h);
  const bad = report.problems.filter((p) => p.severity === 'error' || p.code === 'torn_tail');
  expect(bad, `verify after recovery found problems (see src/engine/verify/verify.ts): ${JSON.stringify(bad)}`).toEqual([]);
}

/** Payload texts of the committed events, in commit order. */
export function payloads(store: Store): string[] {
  return store.query().map((e) => Buffer.from(e.payload).toString('utf8'));
}

export function tempDir(prefix = 'seglog-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Thrown from an injection hook: the store treats it like a power cut (leaves the bytes, poisons itself). */
export function crashError(where: string): Error {
  return Object.assign(new Error(`simulated crash ${where}`), { crash: true });
}

/** Every crash mode, for drills that explore them all. */
export const ALL_MODES = [...CRASH_MODES];

/** The first few failures of a drill report, for an assertion message. */
export function failuresOf(r: DrillReport): string {
  return JSON.stringify(r.failures.slice(0, 5), null, 1);
}

/** The event hashes of the committed events of the store at `dir`, in commit order (read-only open). */
export function eventHashesOf(fs: FileSystem, h: Blake3, dir = DIR): string[] {
  const s = Store.openSync(dir, { fs, readOnly: true }, h);
  try {
    return s.query().map((e) => e.eventHash);
  } finally {
    s.close();
  }
}
