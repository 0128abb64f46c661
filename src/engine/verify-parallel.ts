/**
 * Parallel verify: worker threads check event hashes ahead of the sequential walk.
 *
 * Hashing every event is the larger half of verify's time, and it is the half that
 * depends on nothing but each frame's own bytes. So `verify` keeps exactly one
 * implementation of its rules (verify.ts walks every segment in order, in this
 * thread) and only the BLAKE3 work moves: worker threads walk whole segment files
 * ahead of it and report, per segment, up to where its frames were all valid and
 * which of those EVENT frames had a wrong event_hash. The walk then takes a frame's
 * hash verdict from there instead of hashing (verify.ts `hashVerdicts`). A verdict is
 * a pure function of the frame's bytes, so the report is the sequential one, byte for
 * byte; frames a worker did not cover (after damage, appended since, a segment no
 * worker took in time) are hashed by the walk as before.
 *
 * The main thread never waits on something that may not come: it claims a segment
 * itself when no worker has started it, and computes a segment itself when the
 * workers stop making progress.
 */
import { availableParallelism } from 'node:os';
import { type MessagePort, MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads';
import type { Blake3 } from '../format/blake3.js';
import { FrameStatus, FrameType } from '../format/frame.js';
import { HASH_BYTES } from '../format/blake3.js';
import type { FileSystem } from './fs/types.js';
import { RealFs } from './fs/real-fs.js';
import { frameEndOf } from './segment-end.js';
import { SegmentReader } from './segment-reader.js';
import type { HashVerdicts } from './verify.js';
import type { SegmentFile } from './walker.js';

/** What a worker found in one segment file. */
export interface SegmentPrecheck {
  segIndex: number;
  /** Every frame from the segment header up to this file offset was valid and checked. */
  checkedEnd: number;
  /** File offsets of the EVENT frames before `checkedEnd` whose event_hash does not match. */
  mismatches: number[];
}

/** Below this many bytes of segments, starting workers costs more than it saves. */
export const PARALLEL_MIN_BYTES = 16 * 1024 * 1024;
/** Most worker threads verify uses, whatever the core count. */
export const MAX_VERIFY_WORKERS = 4;
/** The walk gives up on the workers after this long without any of them making progress. */
export const WORKER_STALL_MS = 10_000;
/** A worker bumps the shared progress counter every this many frames. */
const HEARTBEAT_FRAMES = 1024;

/**
 * Checks the frames of one segment file from its header to the first frame that is not
 * valid, hashing every EVENT body. Runs in the workers; exported so tests can check it
 * in-process. `heartbeat` is called every HEARTBEAT_FRAMES frames.
 */
export function precheckSegment(fs: FileSystem, path: string, segIndex: number, hasher: Blake3, heartbeat?: () => void): SegmentPrecheck {
  const r = SegmentReader.open(fs, path, { frameEnd: frameEndOf });
  const mismatches: number[] = [];
  try {
    let frames = 0;
    while (r.next() === FrameStatus.Valid) {
      if (r.type === FrameType.EVENT) {
        // a valid EVENT frame's lengths add up (checkFrame), so its hash is its last 32 bytes
        const hs = r.bodyOff + r.bodyBytes - HASH_BYTES;
        if (!hasher.matches(r.buf, r.bodyOff, hs, r.buf, hs)) mismatches.push(r.frameOffset);
      }
      if (++frames % HEARTBEAT_FRAMES === 0) heartbeat?.();
    }
    return { segIndex, checkedEnd: r.pos, mismatches };
  } finally {
    r.close();
  }
}

/** Verdicts from prechecks already in hand (tests; and the core of `ParallelVerdicts`). */
export class StaticVerdicts implements HashVerdicts {
  private readonly bySeg = new Map<number, { checkedEnd: number; bad: Set<number> }>();

  add(p: SegmentPrecheck): void {
    this.bySeg.set(p.segIndex, { checkedEnd: p.checkedEnd, bad: new Set(p.mismatches) });
  }

  verdict(segIndex: number, frameOffset: number): boolean | undefined {
    const s = this.bySeg.get(segIndex);
    if (!s || frameOffset >= s.checkedEnd) return undefined;
    return !s.bad.has(frameOffset);
  }
}

/** Layout of the shared control array (Int32 slots). */
const CTRL_NEXT = 0; // next segment index to claim
const CTRL_ABORT = 1; // set to 1: workers stop claiming
const CTRL_PROGRESS = 2; // bumped by workers as they go
const CTRL_STATE = 3; // then one slot per segment: 0 pending, 1 result posted, 2 failed
const STATE_DONE = 1;
const STATE_FAILED = 2;

export interface WorkerJob {
  paths: string[];
  control: SharedArrayBuffer;
  port: MessagePort;
}

export interface WorkerResult {
  precheck?: SegmentPrecheck;
  segIndex: number;
  error?: string;
}

/**
 * Hash verdicts computed by worker threads, consumed in segment order by the walk.
 * `verdict()` blocks (Atomics.wait) until the segment's result is in, so the walk
 * stays the plain synchronous code.
 */
export class ParallelVerdicts implements HashVerdicts {
  private readonly ctrl: Int32Array;
  private readonly ports: MessagePort[] = [];
  private readonly workers: Worker[] = [];
  private readonly results = new Map<number, SegmentPrecheck>();
  private readonly known = new StaticVerdicts();
  private current = -1;
  private readonly loaded = new Set<number>();
  private gaveUp = false;
  private closed = false;
  /** Segments the walk checked itself (claimed first, or the workers stalled). */
  selfChecked = 0;

  /**
   * `mainClaims`: the walk checks a segment itself when no worker has taken it yet
   * (false only in tests that must see every verdict come from a worker).
   */
  constructor(workerUrl: URL, paths: string[], workerCount: number, private readonly mainClaims = true) {
    this.ctrl = new Int32Array(new SharedArrayBuffer(4 * (CTRL_STATE + paths.length)));
    for (let i = 0; i < workerCount; i++) {
      const { port1, port2 } = new MessageChannel();
      const job: WorkerJob = { paths, control: this.ctrl.buffer as SharedArrayBuffer, port: port2 };
      const w = new Worker(workerUrl, { workerData: job, transferList: [port2] });
      w.unref();
      // a failing worker only means the walk hashes more itself
      w.on('error', () => undefined);
      this.workers.push(w);
      this.ports.push(port1);
    }
  }

  verdict(segIndex: number, frameOffset: number): boolean | undefined {
    if (segIndex !== this.current) this.load(segIndex);
    return this.known.verdict(segIndex, frameOffset);
  }

  private load(k: number): void {
    this.current = k;
    if (this.gaveUp || this.closed || k + CTRL_STATE >= this.ctrl.length || this.loaded.has(k)) return;
    this.loaded.add(k);
    // no worker has taken segment k yet: the walk checks it itself rather than wait
    if (this.mainClaims && Atomics.compareExchange(this.ctrl, CTRL_NEXT, k, k + 1) === k) {
      this.selfChecked++;
      return;
    }
    let progress = Atomics.load(this.ctrl, CTRL_PROGRESS);
    let since = Date.now();
    for (;;) {
      this.drain();
      const got = this.results.get(k);
      if (got) {
        this.results.delete(k);
        this.known.add(got);
        return;
      }
      const state = Atomics.load(this.ctrl, CTRL_STATE + k);
      // a result is posted before its state is set: DONE with nothing received is a lost message
      if (state === STATE_FAILED || state === STATE_DONE) break;
      Atomics.wait(this.ctrl, CTRL_STATE + k, 0, 100);
      const now = Atomics.load(this.ctrl, CTRL_PROGRESS);
      if (now !== progress) {
        progress = now;
        since = Date.now();
      } else if (Date.now() - since > WORKER_STALL_MS) {
        this.gaveUp = true;
        Atomics.store(this.ctrl, CTRL_ABORT, 1);
        break;
      }
    }
    this.selfChecked++;
  }

  private drain(): void {
    for (const port of this.ports) {
      for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) {
        const r = m.message as WorkerResult;
        if (r.precheck) this.results.set(r.segIndex, r.precheck);
      }
    }
  }

  /** Stops the workers (they may still be ahead of a walk that stopped early). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    Atomics.store(this.ctrl, CTRL_ABORT, 1);
    for (const p of this.ports) p.close();
    for (const w of this.workers) void w.terminate();
  }
}

/** The worker's side: claim segments until none is left, post each one's precheck. */
export function runPrecheckWorker(job: WorkerJob, fs: FileSystem, hasher: Blake3): void {
  const ctrl = new Int32Array(job.control);
  const beat = (): void => void Atomics.add(ctrl, CTRL_PROGRESS, 1);
  for (;;) {
    if (Atomics.load(ctrl, CTRL_ABORT) !== 0) break;
    const k = Atomics.add(ctrl, CTRL_NEXT, 1);
    if (k >= job.paths.length) break;
    beat();
    let msg: WorkerResult;
    try {
      msg = { segIndex: k, precheck: precheckSegment(fs, job.paths[k]!, k, hasher, beat) };
    } catch (err) {
      msg = { segIndex: k, error: (err as Error).message };
    }
    job.port.postMessage(msg);
    Atomics.store(ctrl, CTRL_STATE + k, msg.precheck ? STATE_DONE : STATE_FAILED);
    Atomics.notify(ctrl, CTRL_STATE + k);
  }
  job.port.close();
}

/**
 * Starts workers for a store's segments when that pays (enough bytes, more than one
 * segment, more than one core) and the built worker file is there; else null and the
 * walk hashes everything itself. `SEGLOG_VERIFY_WORKERS` overrides the worker count
 * (0 turns the workers off).
 */
export function startParallelVerdicts(fs: FileSystem, segments: SegmentFile[], opts: { loneFile?: boolean } = {}): ParallelVerdicts | null {
  // workers read the real disk: a simulated filesystem is checked by the walk alone
  if (opts.loneFile || segments.length < 2 || !(fs instanceof RealFs)) return null;
  const url = new URL('./verify-worker.js', import.meta.url);
  // under vitest the sources are .ts: no worker file to load, the walk does all the work
  if (!import.meta.url.endsWith('.js')) return null;
  const env = process.env.SEGLOG_VERIFY_WORKERS;
  let count = env !== undefined && /^\d+$/.test(env) ? Number(env) : Math.min(MAX_VERIFY_WORKERS, availableParallelism());
  count = Math.min(count, segments.length);
  if (count < 1) return null;
  let bytes = 0;
  for (const s of segments) {
    try {
      bytes += fs.stat(s.path).sizeBytes;
    } catch {
      // the walk reports a missing file
    }
  }
  if (bytes < PARALLEL_MIN_BYTES && env === undefined) return null;
  try {
    return new ParallelVerdicts(url, segments.map((s) => s.path), count);
  } catch {
    return null;
  }
}
