/**
 * Parallel verify: worker threads do the per-segment work of verify ahead of its walk.
 * (Over 500 lines, knowingly: the precheck, the claims and the waiting share one control
 * array and its owner slots; the worker's side, `runPrecheckWorker`, is the split.)
 *
 * Hashing every event and checking every sealed segment's SIDX footer are most of
 * verify's time, and both depend on nothing but one segment file's bytes. So `verify`
 * keeps exactly one implementation of its rules (verify.ts walks every segment in
 * order, in this thread) and only that work moves: worker threads walk whole segment
 * files ahead of the walk and report, per segment, up to where its frames were all
 * valid (the walk then skips their CRCs), which of those EVENT frames had a wrong
 * event_hash, and (sealed segments, when FOOTERS_IN_WORKERS) what the footer check found. The walk then takes a frame's hash verdict and the
 * segment's footer problems from there instead of computing them (verify.ts
 * `hashVerdicts`). Each is a pure function of the segment's bytes, computed by the
 * same code, so the report is the sequential one, byte for byte; frames a worker did
 * not cover (after damage, appended since, a segment no worker took in time) are
 * checked by the walk as before.
 *
 * The walk never waits on something that may not come: it claims a segment itself when
 * no worker has started it, and computes a segment itself when the workers stop making
 * progress.
 *
 * With `steal` it does not wait idle either: when the segment it needs is still in a
 * worker's hands, the walk runs the same precheck on the last segment no worker has taken
 * yet (claimed from the back while the workers claim from the front, one compareExchange
 * on a per-segment owner slot, so each segment has exactly one owner), then looks again.
 * `sidx rebuild` of an intact store uses it: its walk has nothing else to do (it waited
 * 0.35 s of a 0.9 s run for its worker). Verify does not: its walk has its own work per
 * segment, and on two vCPUs stealing measured slower (docs/DECISIONS.md, round 3).
 * `SEGLOG_SIDX_STEAL=0` turns it off.
 */
import { availableParallelism } from 'node:os';
import { basename } from 'node:path';
import { type MessagePort, MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { type Blake3, HASH_BYTES } from '../../format/hash/blake3.js';
import { Blake3Multi, MULTI_MAX_MESSAGE_BYTES } from '../../format/hash/blake3-multi.js';
import { isCanonicalJson } from '../../format/canonical-json.js';
import { ev } from '../../format/event.js';
import { FrameType } from '../../format/frame.js';
import { SEGMENT_HEADER_BYTES } from '../../format/segment-header.js';
import type { FileSystem } from '../io/fs-types.js';
import { RealFs } from '../io/real-fs.js';
import { parseSegmentFileName } from '../io/layout.js';
import type { SegmentReader } from '../segment/segment-reader.js';
import { type FooterProblem, FooterVerifier } from '../index/sidx.js';
import type { FooterChecks, HashVerdicts } from './verify.js';
import { type SegmentFile, walkSegment } from '../segment/walker.js';
import { dropWarmPrecheck, takeWarmPrecheck } from './warm-precheck.js';
import type { WarmHandle } from '../io/warm-worker.js';

/** What a worker found in one segment file. */
export interface SegmentPrecheck {
  segIndex: number;
  path: string;
  /** Every frame from the segment header up to this file offset was valid and checked. */
  checkedEnd: number;
  /** File offsets of the EVENT frames before `checkedEnd` whose event_hash does not match. */
  mismatches: number[];
  /** What the walk's footer check reports for this (sealed) segment; null: not checked. */
  footerProblems: FooterProblem[] | null;
  /** The file's size when the worker opened it: its verdicts are for those bytes only. */
  fileSizeBytes: number;
  /**
   * Dump prechecks with `canonical`: file offsets of the EVENT frames before `checkedEnd`
   * whose payload is not canonical JSON (the check ui/render/event-jsonl.ts makes); else null.
   */
  nonCanonical: number[] | null;
  /** No frame of the segment is damaged (no fault met by the walk). */
  framesIntact: boolean;
}

/**
 * What a dump precheck computes instead of verify's hashes and footers (dump-verdicts.ts):
 * the frames' CRCs (`checkedEnd`) and, with `canonical`, each event payload's canonical-JSON test.
 */
export interface DumpPrecheck {
  canonical: boolean;
}

/** Below this many bytes of segments, starting workers costs more than it saves. */
export const PARALLEL_MIN_BYTES = 16 * 1024 * 1024;
/** Most worker threads verify uses, whatever the core count. */
export const MAX_VERIFY_WORKERS = 4;
/** The walk gives up on the workers after this long without any of them making progress. */
export const WORKER_STALL_MS = 10_000;
/**
 * Whether workers also run the footer check of sealed segments (exact either way: tests
 * run both). On: the walk's thread is the one every other check waits on, and the footer
 * check was a fifth of its time. It used to be off because the check then built each
 * segment's whole footer (~70 MB per 64 MiB segment; 265-277 MB peak RSS with two
 * workers); the streaming FooterVerifier holds a 1 MiB window, and the peak RSS with it
 * on measured 140 MB (docs/DECISIONS.md, Performance log).
 *
 * Verify with streamed progress (`stream`) keeps the footer check in the walk instead: the
 * walk no longer waits per segment, the worker (CRCs and hashes) is the critical path, and
 * the footer check (~35 ms of CPU per 64 MiB segment) is what balances the two threads:
 * on the 1M-event store 1.37-1.58 s with it in the walk, 1.58-1.67 s in the worker
 * (docs/DECISIONS.md, round five). `SEGLOG_VERIFY_STREAM=0` restores both as they were.
 */
export const FOOTERS_IN_WORKERS = true;
/** A worker bumps the shared progress counter every this many frames. */
const HEARTBEAT_FRAMES = 1024;
/** A dump precheck publishes its streamed progress every this many frames (`stream`; ~20 KB of the bench store). */
const DUMP_PROGRESS_FRAMES = 64;

let multiHasher: Blake3Multi | null | undefined;

/**
 * The 4-lane SIMD BLAKE3 (blake3-multi.ts) the precheck hashes event bodies of up to
 * one chunk with, ~2x hash-wasm per event (docs/DECISIONS.md, Performance log); null
 * without WebAssembly SIMD or with SEGLOG_BLAKE3_SIMD=0 (hash-wasm alone, for comparison).
 */
function simdHasher(): Blake3Multi | null {
  if (process.env.SEGLOG_BLAKE3_SIMD === '0') return null;
  multiHasher ??= Blake3Multi.create();
  return multiHasher;
}

/** Compiles and instantiates the SIMD hasher ahead of the first segment (a warm worker, warm-precheck.ts). */
export function prepareSimdHasher(): void {
  simdHasher();
}

/**
 * Walks one segment file exactly as verify's walk does (walker.ts walkSegment, the same
 * `isActive`), hashing the EVENT frames of its leading run of valid frames and, for a
 * sealed segment, running the footer check. `hasher` null: footers only. Runs in the
 * workers; exported so tests (and the walk's fallback) run it in-process.
 */
export function precheckSegment(
  fs: FileSystem,
  path: string,
  segIndex: number,
  segmentCount: number,
  hasher: Blake3 | null,
  heartbeat?: () => void,
  checkFooter = true,
  dump?: DumpPrecheck,
  progress?: (checkedEnd: number) => void,
): SegmentPrecheck {
  const name = basename(path);
  const seg: SegmentFile = { id: parseSegmentFileName(name) ?? segIndex, path, name };
  const sealed = segIndex < segmentCount - 1;
  const footers = sealed && checkFooter ? footerVerifierFor(fs, segmentCount) : null;
  const mismatches: number[] = [];
  let footerProblems: FooterProblem[] | null = null;
  const nonCanonical: number[] | null = dump?.canonical ? [] : null;
  let fileSizeBytes = 0;
  let contiguous = true;
  let checkedEnd = SEGMENT_HEADER_BYTES;
  let frames = 0;
  // events queued for the SIMD hasher (copied into it), hashed 64 at a time; their frame
  // offsets in file order, so mismatches are reported in the order one-by-one hashing gives
  const multi = hasher ? simdHasher() : null;
  const queued: number[] = [];
  // where the last queued event ends: once its batch is hashed, every frame before it is settled
  let queuedEnd = 0;
  const flush = (): void => {
    if (!multi || multi.count === 0) return;
    if (multi.run() !== 0) for (let i = 0; i < multi.count; i++) if (!multi.matches(i)) mismatches.push(queued[i]!);
    multi.clear();
    queued.length = 0;
    // progress is only ever "all valid, all hashes matching so far" (see ParallelVerdicts.stream)
    if (progress && contiguous && mismatches.length === 0) progress(queuedEnd);
  };
  multi?.clear();
  walkSegment(fs, seg, segIndex, !sealed, {
    onSegment(_s, _i, r: SegmentReader) {
      footers?.onSegment(r);
      fileSizeBytes = r.fileSize;
      checkedEnd = r.pos;
    },
    onFrame(r: SegmentReader) {
      footers?.onFrame(r);
      if (contiguous) {
        if (r.type === FrameType.EVENT && hasher) {
          // a valid EVENT frame's lengths add up (checkFrame), so its hash is its last 32 bytes
          const hs = r.bodyOff + r.bodyBytes - HASH_BYTES;
          if (multi && hs - r.bodyOff <= MULTI_MAX_MESSAGE_BYTES) {
            if (multi.full) flush();
            queued.push(r.frameOffset);
            multi.pushChecked(r.buf, r.bodyOff, hs);
            queuedEnd = r.pos;
          } else {
            flush();
            if (!hasher.matches(r.buf, r.bodyOff, hs, r.buf, hs)) mismatches.push(r.frameOffset);
          }
        } else if (nonCanonical && r.type === FrameType.EVENT && !isCanonicalJson(r.buf, ev.payloadStart(r.buf, r.bodyOff), ev.hashStart(r.buf, r.bodyOff))) {
          nonCanonical.push(r.frameOffset);
        }
        checkedEnd = r.pos;
      }
      ++frames;
      // dump: progress is only ever "all valid, every payload canonical so far" (ParallelVerdicts.stream)
      if (progress && dump && frames % DUMP_PROGRESS_FRAMES === 0 && contiguous && !nonCanonical?.length) progress(checkedEnd);
      if (frames % HEARTBEAT_FRAMES === 0) heartbeat?.();
    },
    onFault() {
      footers?.onFault();
      contiguous = false;
    },
    onDamagedFooter(d) {
      footers?.onDamagedFooter(d.offset);
    },
    onSegmentEnd(s, i, r) {
      if (footers) footerProblems = footers.onSegmentEnd(s, i, r);
    },
  });
  flush();
  return { segIndex, path, checkedEnd: hasher || dump ? checkedEnd : SEGMENT_HEADER_BYTES, mismatches, footerProblems, fileSizeBytes, nonCanonical, framesIntact: contiguous };
}

let lastVerifier: { fs: FileSystem; segmentCount: number; v: FooterVerifier } | null = null;

/**
 * One FooterVerifier per thread, for segment after segment, as verify's walk keeps one
 * (`onSegment` starts each segment afresh): a new one per segment left its compare
 * window (~1 MiB, outside the JS heap) for the collector each time, which rarely came,
 * as the heap stayed small: +75 MB of peak RSS for a store of 48 segments of 8 MiB.
 */
function footerVerifierFor(fs: FileSystem, segmentCount: number): FooterVerifier {
  if (lastVerifier === null || lastVerifier.fs !== fs || lastVerifier.segmentCount !== segmentCount) {
    lastVerifier = { fs, segmentCount, v: new FooterVerifier(fs, segmentCount, false) };
  }
  return lastVerifier.v;
}

/** The walk prechecks segments itself while it would wait (see the top of this file); `hasher` null: footers only, as the footers-only workers. */
export interface StealOptions {
  hasher: Blake3 | null;
}

/** Where the walk gets prechecks from: in hand (tests) or from workers. */
export interface PrecheckSource {
  /** At the start of segment k: whether a precheck with its footer result will be there. */
  footersComing(k: number): boolean;
  /** The precheck of segment k (waiting for it if a worker has it), or null. */
  precheck(k: number): SegmentPrecheck | null;
  indexOf(path: string): number;
}

/**
 * Stands in for the walk's FooterVerifier: a segment whose footer result comes from a
 * precheck is not fed frame by frame; its problems are taken at its end (or computed
 * by walking it again here, should the precheck not come after all).
 */
export class PrecheckedFooters implements FooterChecks {
  private useLocal = true;
  private k = -1;
  constructor(
    private readonly src: PrecheckSource,
    private readonly local: FooterChecks,
    private readonly fs: FileSystem,
    private readonly segmentCount: number,
  ) {}

  onSegment(r: SegmentReader): void {
    this.k = this.src.indexOf(r.path);
    this.useLocal = this.k < 0 || !this.src.footersComing(this.k);
    if (this.useLocal) this.local.onSegment(r);
  }
  onFrame(r: SegmentReader): void {
    if (this.useLocal) this.local.onFrame(r);
  }
  onFault(): void {
    if (this.useLocal) this.local.onFault();
  }
  onDamagedFooter(offset: number): void {
    if (this.useLocal) this.local.onDamagedFooter(offset);
  }
  onSegmentEnd(seg: SegmentFile, segIndex: number, r: SegmentReader): FooterProblem[] {
    if (this.useLocal) return this.local.onSegmentEnd(seg, segIndex, r);
    const p = this.src.precheck(this.k)?.footerProblems;
    return p ?? precheckSegment(this.fs, seg.path, segIndex, this.segmentCount, null).footerProblems ?? [];
  }
}

/** Hash verdicts of one segment, for quick lookups. */
export class SegmentVerdicts {
  readonly bad: Set<number>;
  constructor(readonly checkedEnd: number, mismatches: number[]) {
    this.bad = new Set(mismatches);
  }
  verdict(frameOffset: number): boolean | undefined {
    return frameOffset < this.checkedEnd ? !this.bad.has(frameOffset) : undefined;
  }
}

/**
 * Layout of the shared control array (Int32 slots): four fixed slots, then one state slot
 * per segment, one owner slot per segment, and one progress and one want slot per segment (`stream`).
 */
const CTRL_NEXT = 0; // next segment index a worker looks at (a hint: the owner slot decides)
const CTRL_ABORT = 1; // set to 1: workers stop claiming
const CTRL_PROGRESS = 2; // bumped by workers as they go
const CTRL_STATE = 3; // then one slot per segment: 0 pending, 1 result posted, 2 failed
const STATE_DONE = 1;
const STATE_FAILED = 2;
/** Owner slot values: set once, by compareExchange from OWNER_NONE. */
const OWNER_NONE = 0;
const OWNER_WORKER = 1;
const OWNER_WALK = 2;

/** A progress slot's value once its segment's result is posted (the walk takes that instead). */
const PROGRESS_FINAL = -1;
/** Progress is an Int32 slot: offsets beyond it are not published (the walk waits for the result). */
const PROGRESS_MAX_OFFSET = 0x7fffffff;

/** Index of segment k's progress slot in a control array for `segments` segments. */
function progressSlot(segments: number, k: number): number {
  return CTRL_STATE + 2 * segments + k;
}

/** Index of segment k's "wake me past this offset" slot, set by the walk when it waits on the progress slot. */
function wantSlot(segments: number, k: number): number {
  return CTRL_STATE + 3 * segments + k;
}

/**
 * Once the walk has caught up with a streaming worker, it sleeps until the worker is this
 * far ahead, not just one hash batch (64 events, ~20 KB): waking per batch cost a futex
 * wake-up and a context switch per 64 events on both threads (~16k per 1M events).
 */
const FOLLOW_LEAD_BYTES = 256 * 1024;

/** Index of segment k's owner slot in a control array for `segments` segments. */
function ownerSlot(segments: number, k: number): number {
  return CTRL_STATE + segments + k;
}

/** Claims segment k for `who`; false when someone else owns it. */
function claimSlot(ctrl: Int32Array, segments: number, k: number, who: number): boolean {
  return Atomics.compareExchange(ctrl, ownerSlot(segments, k), OWNER_NONE, who) === OWNER_NONE;
}

export interface WorkerJob {
  paths: string[];
  /** Run the footer check of sealed segments too. */
  footers: boolean;
  /** Dump's precheck (no hashes, no footers) instead of verify's. */
  dump?: DumpPrecheck;
  /** Footer checks only, no event hashes (sidx rebuild, sidx-maintenance.ts). */
  footersOnly?: boolean;
  /** Publish each segment's progress as hashes are settled (ParallelVerdicts `stream`). */
  stream?: boolean;
  control: SharedArrayBuffer;
  port: MessagePort;
}

export interface WorkerResult {
  precheck?: SegmentPrecheck;
  segIndex: number;
  error?: string;
}

/**
 * Prechecks computed by worker threads, consumed in segment order by the walk.
 * Waiting for a segment's result blocks (Atomics.wait), so the walk stays the plain
 * synchronous code.
 */
export class ParallelVerdicts implements HashVerdicts, PrecheckSource {
  private readonly ctrl: Int32Array;
  private readonly ports: MessagePort[] = [];
  private readonly workers: WarmHandle[] = [];
  private readonly arrived = new Map<number, SegmentPrecheck>();
  private readonly owner = new Map<number, 'walk' | 'worker'>();
  private readonly results = new Map<number, SegmentPrecheck | null>();
  private readonly pathIndex: Map<string, number>;
  private current = -1;
  private currentVerdicts: SegmentVerdicts | null = null;
  /**
   * Streamed progress (`stream`): a worker publishes, per segment, an offset below which
   * every frame was valid (CRC checked) and every EVENT frame's hash matched, each time a
   * batch of hashes is settled and while that holds; at the segment's end it posts its
   * result as before and sets the slot to PROGRESS_FINAL. The walk follows the worker
   * through a segment instead of waiting for the whole of it: segments are 64 MiB and
   * there are few (6 in the 1M-event store), so waiting per segment left the walk idle
   * for the first and the worker idle for the last (docs/DECISIONS.md, round five).
   * Exact for the same reason as whole-segment results: the worker's frames are the walk's
   * frames up to the first fault, and nothing past a fault or a mismatch is ever published.
   * `SEGLOG_VERIFY_STREAM=0` turns it off.
   */
  private readonly stream: boolean;
  /** The current segment's verdicts come from its worker's progress (its final result has not come yet). */
  private streaming = false;
  private streamedEnd = 0;
  private gaveUp = false;
  private closed = false;
  /** Segments the walk checked itself (claimed first, or the workers failed or stalled). */
  selfChecked = 0;
  /** Segments the walk prechecked itself while waiting for a worker (`steal`). */
  stolen = 0;
  /** Times the walk went on from a streaming worker's progress, before its segment's result (`stream`). */
  followed = 0;

  private readonly footers: boolean;
  /** How the walk prechecks a later segment itself instead of waiting; null: it waits. */
  private readonly steal: StealOptions | null;

  /** `opts.footers`: workers run the footer check of sealed segments too (default FOOTERS_IN_WORKERS). */
  constructor(
    workerUrl: URL,
    private readonly fs: FileSystem,
    private readonly paths: string[],
    workerCount: number,
    opts: { footers?: boolean; dump?: DumpPrecheck; footersOnly?: boolean; steal?: StealOptions; stream?: boolean } = {},
  ) {
    this.steal = opts.steal ?? null;
    this.stream = opts.stream === true && !opts.footersOnly;
    const footers = opts.footers ?? FOOTERS_IN_WORKERS;
    const dump = opts.dump;
    const footersOnly = opts.footersOnly ?? false;
    this.footers = footers;
    this.pathIndex = new Map(paths.map((p, i) => [p, i]));
    this.ctrl = new Int32Array(new SharedArrayBuffer(4 * (CTRL_STATE + 4 * paths.length)));
    for (let i = 0; i < workerCount; i++) {
      const { port1, port2 } = new MessageChannel();
      const job: WorkerJob = { paths, control: this.ctrl.buffer as SharedArrayBuffer, port: port2, footers, dump, footersOnly, stream: this.stream };
      // a worker already booted (warm-precheck.ts) gets the job as a message; else a new one
      const warm = takeWarmPrecheck(dump ? 'dump' : 'verify');
      if (warm !== null) {
        // it is up already: segment 0 is the workers' (the walk would claim it before the
        // job reaches the worker, and check it alone, hashing one event at a time)
        if (paths.length > 0) Atomics.store(this.ctrl, ownerSlot(paths.length, 0), OWNER_WORKER);
        warm.postMessage(job, [port2]);
      }
      const w = warm ?? new Worker(workerUrl, { workerData: job, transferList: [port2] });
      w.unref();
      // a failing worker only means the walk does more itself
      w.on('error', () => undefined);
      this.workers.push(w);
      this.ports.push(port1);
    }
  }

  verdict(segIndex: number, frameOffset: number): boolean | undefined {
    if (segIndex !== this.current) this.select(segIndex);
    if (this.streaming) {
      if (frameOffset < this.streamedEnd) return true;
      this.follow(frameOffset);
      if (this.streaming) return true;
    }
    return this.currentVerdicts?.verdict(frameOffset);
  }

  checkedEnd(segIndex: number): number {
    if (segIndex !== this.current) this.select(segIndex);
    return this.streaming ? this.streamedEnd : (this.currentVerdicts?.checkedEnd ?? 0);
  }

  /** The reader's next CRC-trust bound past `pos` (verify.ts sets it as `extendCrcTrust`): waits for the worker's progress while it streams. */
  extendCheckedEnd(segIndex: number, pos: number): number {
    if (segIndex !== this.current) this.select(segIndex);
    if (this.streaming && pos >= this.streamedEnd) this.follow(pos);
    return this.checkedEnd(segIndex);
  }

  /**
   * Dump's walk (dump-verdicts.ts) at the start of segment k: whether its verdicts come as
   * the worker's streamed progress (`streamedPast`); else `precheck(k)` has its final result.
   */
  streams(k: number): boolean {
    if (k !== this.current) this.select(k);
    return this.streaming;
  }

  /**
   * While segment k streams: the worker's published offset, below which every frame was
   * valid and every payload canonical, without waiting for it (it may not be past `pos`
   * yet: dump then checks that frame itself); -1 once it no longer streams (its final
   * result, or none, is then `precheck(k)`'s).
   */
  streamedPast(k: number, pos: number): number {
    if (k !== this.current || !this.streaming) return -1;
    if (pos >= this.streamedEnd) this.follow(pos, false);
    return this.streaming ? this.streamedEnd : -1;
  }

  /** Segment k becomes the walk's current one: its final result (waiting for it), or its worker's streamed progress. */
  private select(k: number): void {
    this.current = k;
    this.currentVerdicts = null;
    this.streamedEnd = 0;
    this.streaming = this.stream && this.claim(k) === 'worker' && !this.results.has(k);
    if (!this.streaming) this.load(k);
  }

  private load(k: number): void {
    this.streaming = false;
    const p = this.precheck(k);
    this.currentVerdicts = p ? new SegmentVerdicts(p.checkedEnd, p.mismatches) : null;
  }

  /**
   * Waits until the worker of the current segment has settled past `offset` (its progress
   * slot, see `stream`), or has finished the segment (its final result then replaces the
   * progress: `load`). Gives up as `waitFor` does when the workers stop making progress.
   * `wait` false: looks once, and returns with nothing changed when the worker is not past `offset` yet.
   */
  private follow(offset: number, wait = true): void {
    const k = this.current;
    const slot = progressSlot(this.paths.length, k);
    const watch = this.heartbeat();
    // anything past `offset` will do if it is there; once the walk must wait, it waits for a lead
    let need = offset;
    for (;;) {
      const end = Atomics.load(this.ctrl, slot);
      if (end > need) {
        this.streamedEnd = end;
        this.followed++;
        return;
      }
      const state = Atomics.load(this.ctrl, CTRL_STATE + k);
      if (end === PROGRESS_FINAL || state !== 0 || this.gaveUp || this.closed) {
        this.load(k);
        return;
      }
      if (!wait) return;
      need = Math.min(offset + FOLLOW_LEAD_BYTES, PROGRESS_MAX_OFFSET - 1);
      Atomics.store(this.ctrl, wantSlot(this.paths.length, k), need);
      Atomics.wait(this.ctrl, slot, end, 100);
      this.stalled(watch);
    }
  }

  /** The workers' heartbeat (CTRL_PROGRESS) as a waiting walk first sees it. */
  private heartbeat(): { beats: number; since: number } {
    return { beats: Atomics.load(this.ctrl, CTRL_PROGRESS), since: Date.now() };
  }

  /**
   * Whether the workers have stopped making progress: their heartbeat has not moved for
   * WORKER_STALL_MS since `watch` last saw it move. The walk then gives up on them and does
   * the rest itself.
   */
  private stalled(watch: { beats: number; since: number }): boolean {
    const now = Atomics.load(this.ctrl, CTRL_PROGRESS);
    if (now !== watch.beats) {
      watch.beats = now;
      watch.since = Date.now();
      return false;
    }
    if (Date.now() - watch.since <= WORKER_STALL_MS) return false;
    this.gaveUp = true;
    Atomics.store(this.ctrl, CTRL_ABORT, 1);
    return true;
  }

  footerChecks(local: FooterChecks): FooterChecks {
    return new PrecheckedFooters(this, local, this.fs, this.paths.length);
  }

  footersComing(k: number): boolean {
    return this.footers && k < this.paths.length - 1 && this.claim(k) === 'worker';
  }

  indexOf(path: string): number {
    return this.pathIndex.get(path) ?? -1;
  }

  /** Who checks segment k: decided once, the first time the walk asks. */
  private claim(k: number): 'walk' | 'worker' {
    let o = this.owner.get(k);
    if (o !== undefined) return o;
    // no worker has taken segment k yet: the walk checks it itself rather than wait
    const mine = this.gaveUp || this.closed || k >= this.paths.length || (this.walkClaims() && claimSlot(this.ctrl, this.paths.length, k, OWNER_WALK));
    o = mine ? 'walk' : 'worker';
    if (mine) this.selfChecked++;
    this.owner.set(k, o);
    return o;
  }

  /**
   * Whether the walk takes a segment no worker has started (it does, rather than wait);
   * a test subclass (test/support/workers-only-verdicts.ts) says no, to see every result
   * come from a worker.
   */
  protected walkClaims(): boolean {
    return true;
  }

  precheck(k: number): SegmentPrecheck | null {
    if (this.claim(k) === 'walk') return null;
    if (this.results.has(k)) return this.results.get(k)!;
    const got = this.waitFor(k);
    if (!got) this.selfChecked++;
    this.results.set(k, got);
    return got;
  }

  private waitFor(k: number): SegmentPrecheck | null {
    const watch = this.heartbeat();
    for (;;) {
      this.drain();
      const got = this.arrived.get(k);
      if (got) {
        this.arrived.delete(k);
        return got;
      }
      if (this.gaveUp || this.closed) return null;
      const state = Atomics.load(this.ctrl, CTRL_STATE + k);
      // a result is posted before its state is set: DONE with nothing received is a lost message
      if (state === STATE_FAILED || state === STATE_DONE) return null;
      // rather than wait, do a later segment's precheck here (see the top of this file)
      if (this.stealOne(k)) continue;
      Atomics.wait(this.ctrl, CTRL_STATE + k, 0, 100);
      if (this.stalled(watch)) return null;
    }
  }

  /**
   * Prechecks the last segment after k that no worker has taken, in this thread, with the
   * code a worker runs; its result is then used as a worker's. False: none left to take.
   */
  private stealOne(k: number): boolean {
    const steal = this.steal;
    if (steal === null || this.gaveUp) return false;
    const n = this.paths.length;
    // footers only: the last segment (unsealed) has no footer to check, nothing to take
    for (let j = steal.hasher === null ? n - 2 : n - 1; j > k; j--) {
      if (this.owner.has(j) || this.results.has(j) || !claimSlot(this.ctrl, n, j, OWNER_WALK)) continue;
      let got: SegmentPrecheck | null = null;
      try {
        got = precheckSegment(this.fs, this.paths[j]!, j, n, steal.hasher, undefined, this.footers);
      } catch {
        // the walk checks it frame by frame when it gets there
      }
      this.owner.set(j, got ? 'worker' : 'walk');
      if (got) this.results.set(j, got);
      else this.selfChecked++;
      this.stolen++;
      return true;
    }
    return false;
  }

  private drain(): void {
    for (const port of this.ports) {
      for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) {
        const r = m.message as WorkerResult;
        if (r.precheck) this.arrived.set(r.segIndex, r.precheck);
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
export function runPrecheckWorker(job: WorkerJob, fs: FileSystem, hasher: Blake3 | null): void {
  const ctrl = new Int32Array(job.control);
  const beat = (): void => void Atomics.add(ctrl, CTRL_PROGRESS, 1);
  for (;;) {
    if (Atomics.load(ctrl, CTRL_ABORT) !== 0) break;
    const k = Atomics.add(ctrl, CTRL_NEXT, 1);
    if (k >= job.paths.length) break;
    // the walk took it (checking it itself, or prechecking it while it waited); a slot
    // already OWNER_WORKER was given to the workers up front, and CTRL_NEXT gave k to this one
    if (Atomics.compareExchange(ctrl, ownerSlot(job.paths.length, k), OWNER_NONE, OWNER_WORKER) === OWNER_WALK) continue;
    beat();
    const slot = progressSlot(job.paths.length, k);
    const want = wantSlot(job.paths.length, k);
    const progress = job.stream && (hasher || job.dump)
      ? (end: number): void => {
          if (end > PROGRESS_MAX_OFFSET) return;
          Atomics.store(ctrl, slot, end);
          if (end > Atomics.load(ctrl, want)) Atomics.notify(ctrl, slot);
        }
      : undefined;
    let msg: WorkerResult;
    try {
      msg = {
        segIndex: k,
        precheck: job.dump
          ? precheckSegment(fs, job.paths[k]!, k, job.paths.length, null, beat, false, job.dump, progress)
          : precheckSegment(fs, job.paths[k]!, k, job.paths.length, hasher, beat, job.footers, undefined, progress),
      };
    } catch (err) {
      msg = { segIndex: k, error: (err as Error).message };
    }
    job.port.postMessage(msg);
    Atomics.store(ctrl, CTRL_STATE + k, msg.precheck ? STATE_DONE : STATE_FAILED);
    Atomics.notify(ctrl, CTRL_STATE + k);
    Atomics.store(ctrl, slot, PROGRESS_FINAL);
    Atomics.notify(ctrl, slot);
  }
  job.port.close();
}

/**
 * Footer-check workers `sidx rebuild` starts without SEGLOG_SIDX_WORKERS: none on two cores
 * or fewer. Its walk has nothing to do but the footer check, so a worker pays only with a
 * core to itself, and on two cores the other is rarely free: on the project's 2-vCPU VM
 * under other sessions' load (4-11), intact footers took 1.13-1.43 s and 2.0-2.2 s CPU with
 * the worker, 0.78-0.99 s and 1.0 s CPU without (two busy threads ran at ~40% of one each:
 * the worker only doubled the CPU). Round two (load 3.6) had measured the worker ~0.2 s
 * faster, when the walk did more of its own work; on two quiet cores it may still be: there
 * SEGLOG_SIDX_WORKERS=1 brings it back (docs/DECISIONS.md, "Performance, round five (issue
 * 18): sidx rebuild").
 */
export function sidxWorkersByDefault(cores: number): number {
  return cores <= 2 ? 0 : Math.min(MAX_VERIFY_WORKERS, cores - 1);
}

/**
 * Starts workers for a store's segments when that pays (enough bytes, more than one
 * segment, more than one core) and the built worker file is there; else null and the
 * walk does everything itself. `SEGLOG_VERIFY_WORKERS` (with `dump`: `SEGLOG_DUMP_WORKERS`)
 * overrides the worker count (0 turns the workers off). `stream`: the walk follows the
 * workers' progress (see ParallelVerdicts; verify's walk sets the reader's `extendCrcTrust`).
 */
export function startParallelVerdicts(
  fs: FileSystem,
  segments: SegmentFile[],
  opts: { loneFile?: boolean; dump?: DumpPrecheck; footersOnly?: boolean; steal?: StealOptions; stream?: boolean } = {},
): ParallelVerdicts | null {
  const pv = createParallelVerdicts(fs, segments, opts);
  // a warm precheck worker (warm-precheck.ts) the verdicts did not adopt is not needed
  dropWarmPrecheck();
  return pv;
}

function createParallelVerdicts(
  fs: FileSystem,
  segments: SegmentFile[],
  opts: { loneFile?: boolean; dump?: DumpPrecheck; footersOnly?: boolean; steal?: StealOptions; stream?: boolean },
): ParallelVerdicts | null {
  // workers read the real disk: a simulated filesystem is checked by the walk alone
  if (opts.loneFile || segments.length < 2 || !(fs instanceof RealFs)) return null;
  const url = new URL('./verify-worker.js', import.meta.url);
  // under vitest the sources are .ts: no worker file to load, the walk does all the work
  if (!import.meta.url.endsWith('.js')) return null;
  const env = opts.dump ? process.env.SEGLOG_DUMP_WORKERS : opts.footersOnly ? process.env.SEGLOG_SIDX_WORKERS : process.env.SEGLOG_VERIFY_WORKERS;
  // one core stays with the walk (frame and chain checks: the critical path); on two
  // cores one worker beat two: 2.21-2.31 s vs 2.72-3.01 s wall, 3.4 vs 4.1-4.5 s CPU, 112 vs
  // 140 MB on the 1M-event store (docs/DECISIONS.md, Performance log)
  let count = env !== undefined && /^\d+$/.test(env) ? Number(env) : opts.footersOnly ? sidxWorkersByDefault(availableParallelism()) : Math.min(MAX_VERIFY_WORKERS, Math.max(1, availableParallelism() - 1));
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
    const steal = opts.steal !== undefined && process.env.SEGLOG_SIDX_STEAL !== '0' ? opts.steal : undefined;
    // verify's walk and dump's (verify-job.ts, dump-verdicts.ts ask): repair's analyzer takes whole-segment results
    const stream = opts.stream === true && !opts.footersOnly && process.env[opts.dump ? 'SEGLOG_DUMP_STREAM' : 'SEGLOG_VERIFY_STREAM'] !== '0';
    const footers = opts.footersOnly ? true : FOOTERS_IN_WORKERS && !stream;
    return new ParallelVerdicts(url, fs, segments.map((s) => s.path), count, { footers, dump: opts.dump, footersOnly: opts.footersOnly ?? false, steal, stream });
  } catch {
    return null;
  }
}
