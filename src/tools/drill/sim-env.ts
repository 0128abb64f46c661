/**
 * The simulated machine a drill runs on: process incarnations (each with its own pid,
 * so a crashed writer's LOCK is taken over), a deterministic wall clock and a seeded
 * random source. Everything here derives from the seed, so a drill's receipts, file
 * bytes and digest are the same on every run.
 */
import type { Blake3 } from '../../format/hash/blake3.js';
import { Prng } from '../../sim/sim-fs.js';
import type { FileSystem } from '../../engine/io/fs-types.js';
import type { LockEnv } from '../../engine/io/lock.js';
import type { StoreOptions } from '../../engine/io/options.js';
import { type OpenOptions, Store } from '../../engine/store/store.js';

/** Host name every simulated process claims: locks are judged by pid on this one host. */
export const SIM_HOST = 'sim';
/** Simulated wall time starts here (2023-11-14T22:13:20Z), far from 0 so ids look real. */
export const SIM_EPOCH_MS = 1_700_000_000_000;
/** The directory of the store inside the simulated disk. */
export const SIM_STORE_DIR = '/store';

/** Mixes numbers into one 32-bit seed (splitmix-like), for per-point and per-mode seeds. */
export function mixSeed(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x85ebca6b) >>> 0;
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
    h = (h ^ (h >>> 16)) >>> 0;
    // Numbers above 32 bits (points of long runs) still contribute their high part.
    const high = Math.floor(p / 0x1_0000_0000);
    if (high !== 0) h = Math.imul(h ^ (high >>> 0), 0x27d4eb2f) >>> 0;
  }
  return h >>> 0;
}

/**
 * One simulated machine: hands out process incarnations. `isAlive` is true only for the
 * current incarnation, as after a crash every earlier process is dead.
 */
export class SimMachine {
  private currentPid = 0;
  private nowMs: number;
  private readonly rng: Prng;

  constructor(
    seed: number,
    /** First pid handed out; checkers use a different range from workloads. */
    private nextPid = 1000,
    startMs = SIM_EPOCH_MS,
  ) {
    this.rng = new Prng(mixSeed(seed, 0x5eed));
    this.nowMs = startMs;
  }

  /** A clock that advances 1 ms per reading: deterministic and never standing still. */
  readonly clock = (): number => ++this.nowMs;

  /** Seeded bytes for event ids. */
  readonly random = (out: Uint8Array): void => this.rng.fill(out);

  /** Starts a new process: a new pid, the only one alive from now on. */
  newProcess(): LockEnv {
    this.currentPid = this.nextPid++;
    const pid = this.currentPid;
    return { pid, host: SIM_HOST, nowMs: () => this.nowMs, isAlive: (p) => p === this.currentPid };
  }

  /** Opens the store read-write as a fresh process (recovery runs here). */
  openStore(fs: FileSystem, hasher: Blake3, storeOptions: Partial<StoreOptions>, extra: Partial<OpenOptions> = {}): Store {
    return Store.openSync(
      SIM_STORE_DIR,
      { ...storeOptions, ...extra, fs, lockEnv: this.newProcess(), clock: this.clock, random: this.random },
      hasher,
    );
  }
}
