/** Shared helpers for the engine tests: temp stores, fixture copies, deterministic clocks. */
import { cpSync, mkdtempSync, readdirSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SeglogError } from '../../src/engine/io/errors.js';
import { RealFs } from '../../src/engine/io/real-fs.js';
import { CHECKPOINT_FILE } from '../../src/engine/io/layout.js';
import { frameEndOf } from '../../src/engine/segment/segment-end.js';
import { type OpenOptions, Store } from '../../src/engine/store/store.js';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const FIXTURES_DIR = join(REPO_ROOT, 'test', 'fixtures');

const made: string[] = [];

/** A fresh empty temp directory (removed by `removeTempDirs`). */
export function tempDir(prefix = 'seglog-test-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  made.push(d);
  return d;
}

/** A path for a store that does not exist yet, inside a fresh temp directory. */
export function freshStorePath(): string {
  return join(tempDir(), 'store');
}

/** A writable copy of a committed fixture (fixtures themselves are never opened read-write). */
export function copyFixture(name: string): string {
  const dest = join(tempDir('seglog-fixture-'), name);
  cpSync(join(FIXTURES_DIR, name), dest, { recursive: true });
  return dest;
}

export function removeTempDirs(): void {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** A clock that starts at `startMs` and moves `stepMs` per reading (negative: regressing). */
export function steppingClock(startMs = 1_700_000_000_000, stepMs = 1): () => number {
  let t = startMs - stepMs;
  return () => (t += stepMs);
}

/** Deterministic random bytes (xorshift32) for event ids. */
export function seededRandom(seed = 42): (out: Uint8Array) => void {
  let x = seed >>> 0 || 1;
  return (out) => {
    for (let i = 0; i < out.length; i++) {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      out[i] = x & 0xff;
    }
  };
}

/** Opens a store with a deterministic clock and random source, collecting warnings. */
export async function openStore(dir: string, opts: OpenOptions = {}): Promise<{ store: Store; warnings: string[] }> {
  const warnings: string[] = [];
  const store = await Store.open(dir, { clock: steppingClock(), random: seededRandom(), onWarning: (m) => warnings.push(m), ...opts });
  return { store, warnings };
}

/** Runs `fn` and returns the SeglogError it throws (fails the test if it throws anything else or nothing). */
export async function seglogErrorOf(fn: () => unknown): Promise<SeglogError> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof SeglogError) return err;
    throw new Error(`expected a SeglogError, got ${String(err)}`, { cause: err });
  }
  throw new Error('expected a SeglogError, but nothing was thrown');
}

export function segmentNames(dir: string): string[] {
  return readdirSync(dir).filter((n) => /^\d{10}\.seg$/.test(n)).sort();
}

/** Where a segment file's frames end: its size, or the start of its SIDX footer. */
export function frameEndOfFile(path: string): number {
  const fs = new RealFs();
  const fd = fs.open(path, 'r');
  try {
    return frameEndOf(fs, fd, fs.fstat(fd).sizeBytes);
  } finally {
    fs.close(fd);
  }
}

/**
 * Leaves a store as an unclean shutdown would have: no footers, no index.ckpt. An open
 * then has to scan every segment's frames (the path where sealed damage is found).
 */
export function stripFootersAndCheckpoint(dir: string): void {
  for (const name of segmentNames(dir)) truncateSync(join(dir, name), frameEndOfFile(join(dir, name)));
  rmSync(join(dir, CHECKPOINT_FILE), { force: true });
}
