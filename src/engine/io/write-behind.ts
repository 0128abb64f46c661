/**
 * Write-behind (issue 18, round five): the chunk writes of a bulk append handed to a
 * thread of their own, so the appending thread encodes the next chunk meanwhile.
 * `append --file` of 1M events writes ~443 MB in 1 MiB write(2) calls: ~0.45 s of the
 * appending thread, most of it the kernel copying into the page cache.
 *
 * RealFs.writeBehind() makes one (built JS only: the worker is `write-behind-worker.js`);
 * SimFs has none, so every simulated crash path still sees synchronous writes.
 *
 * - Writes are queued in order into SLOTS shared buffers (the bytes are copied: the
 *   caller reuses its buffer at once) and done in that order, each with one write call,
 *   so a killed process leaves a prefix of them, as with synchronous writes.
 * - Whichever thread gets to a queued write first does it: the caller, needing a slot
 *   back or draining, takes a write the thread has not started (a slot's state word
 *   holds its ticket, so a compare-exchange cannot take a later write for an earlier
 *   one). A thread slow to start, or gone, costs the overlap, never a write.
 * - A failed write is thrown by the next `write` or `drain` as the FsError a
 *   synchronous write would have thrown (short writes too), and no queued write after
 *   it is done: the caller's store is poisoned, as after a failed synchronous write.
 * - `close` waits for the write in progress and does every queued one (`abandon`: none)
 *   before the caller may close the descriptor, so no write can land on a reused one.
 *
 * `SEGLOG_WRITE_BEHIND=0` turns it off (the differential suite runs both).
 */
import { receiveMessageOnPort, MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import * as nodeFs from 'node:fs';
import { CHAIN_TABLE_BYTES, chainHashers, type ChainHashers, fillChainHashes } from '../../format/chain-hash.js';
import { Blake3Multi } from '../../format/hash/blake3-multi.js';
import { CrcArena } from '../../format/hash/crc32c.js';
import { sealFrameCrcs } from '../../format/frame.js';
import { type BackgroundWriter, type ChunkFrames, FsError, shortWrite, toFsError } from './fs-types.js';
import { type WarmHandle, WarmWorker } from './warm-worker.js';

const WORKER_URL = new URL('./write-behind-worker.js', import.meta.url);

const writeBehindOn = (env: NodeJS.ProcessEnv): boolean => env.SEGLOG_WRITE_BEHIND !== '0' && import.meta.url.endsWith('.js');

/**
 * The thread started warm (engine/io/warm-worker.ts): by the job worker of an `append` of
 * a large input (ui/job/job-worker.ts), so that its boot (a thread, hash-wasm, the SIMD
 * kernel) overlaps the job's start-up, and the bulk session hands it its chunks from the
 * first one (BulkAppender: `SegmentWriter.startWarmWriteBehind`), instead of encoding
 * the first chunk's hashes itself and doing the thread's first writes while it boots.
 * `SEGLOG_APPEND_PREWARM=0` turns this off.
 */
const warmWriter = new WarmWorker();

export function startWarmWriteBehind(env: NodeJS.ProcessEnv = process.env): void {
  if (env.SEGLOG_APPEND_PREWARM !== '0' && writeBehindOn(env)) warmWriter.start(WORKER_URL);
}

/** Stops a warm write-behind thread no bulk session took (`append --batch-size`, a failed open). */
export function dropWarmWriteBehind(): void {
  warmWriter.drop();
}

/** Shared buffers: writes in flight. A slot is 1 MiB, bulk.ts's chunk. */
export const SLOTS = 4;
export const SLOT_BYTES = 1024 * 1024;
/** Frames a slot's metadata holds (an EVENT frame is at least 166 bytes: ~6.3k per slot). */
export const SLOT_FRAMES = SLOT_BYTES / 128;

/** Control words: tickets queued, a failure seen, stop; then per slot its state, length, descriptor and result. */
const C_QUEUED = 0;
const C_FAILED = 1;
const C_STOP = 2;
const HEAD_INTS = 3;
const SLOT_INTS = 6;
const S_STATE = 0;
const S_LEN = 1;
const S_FD = 2;
const S_RESULT = 3;
/** Non-zero: the slot holds whole frames whose CRCs are still to be written (sealFrameCrcs). */
const S_CRC = 4;
/** Non-zero: the slot's first S_FRAMES frames have chain codes to complete first (format/chain-hash.ts). */
const S_FRAMES = 5;
/** A state word is ticket * 4 + phase (the ticket modulo 2^28: at most SLOTS are ever in flight). */
const TICKET_MASK = 0x0fffffff;
const QUEUED = 1;
const WRITING = 2;
const DONE = 3;
/** Results. */
const OK = 0;
const FAILED = 1;

export interface WriteBehindJob {
  control: SharedArrayBuffer;
  positions: SharedArrayBuffer;
  slots: SharedArrayBuffer[];
  /** Per slot: its frames' chain codes, then their tags (SLOT_FRAMES each). */
  metas: SharedArrayBuffer[];
  /** The chain table (format/chain-hash.ts). */
  table: SharedArrayBuffer;
  port: MessagePort;
}

/** What one thread needs to do a queued write: the shared buffers' views and its own scratch. */
interface Side {
  ctl: Int32Array;
  pos: Float64Array;
  slots: Uint8Array[];
  codes: Int32Array[];
  table: Uint8Array;
  /** Frames whose CRCs are still to be written are copied here (the kernel works in its own memory). */
  arena: CrcArena | null;
  hashers: ChainHashers | null;
}

function sideOf(job: WriteBehindJob, hashers: ChainHashers | null): Side {
  return {
    ctl: new Int32Array(job.control),
    pos: new Float64Array(job.positions),
    slots: job.slots.map((x) => new Uint8Array(x)),
    codes: job.metas.map((x) => new Int32Array(x, 0, SLOT_FRAMES)),
    table: new Uint8Array(job.table),
    arena: null,
    hashers,
  };
}

/** What a failed write sends back (the raw error's fields; the owner makes the FsError). */
interface WriteFailure {
  code: string;
  message: string;
  written?: number;
}

const at = (k: number, field: number): number => HEAD_INTS + k * SLOT_INTS + field;
const tag = (ticket: number): number => (ticket & TICKET_MASK) * 4;

/**
 * Does the queued write in slot k; the failure, if any. First the frames' chain hashes
 * where the slot has codes (fillChainHashes, in the slot: the caller's `written` reads
 * them there), then their CRCs where still to be written: copied into the side's arena
 * (the CRC kernel works in its own memory), sealed and written from there.
 */
function doWrite(s: Side, k: number): WriteFailure | null {
  const ctl = s.ctl;
  const len = ctl[at(k, S_LEN)]!;
  let src = s.slots[k]!;
  const frames = ctl[at(k, S_FRAMES)]!;
  if (frames > 0) fillChainHashes(src, len, s.codes[k]!, frames, s.table, s.hashers!);
  if (ctl[at(k, S_CRC)] !== 0) {
    const arena = (s.arena ??= new CrcArena(SLOT_BYTES));
    arena.buf.set(src.subarray(0, len));
    sealFrameCrcs(arena.buf, len, (a, e) => arena.crc(a, e));
    src = arena.buf;
  }
  try {
    const n = nodeFs.writeSync(ctl[at(k, S_FD)]!, src, 0, len, s.pos[k]!);
    return n === len ? null : { code: 'EIO', message: 'short write', written: n };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { code: typeof e?.code === 'string' ? e.code : 'EIO', message: typeof e?.message === 'string' ? e.message : String(err) };
  }
}

/** The worker's loop: the queued writes in ticket order, each unless the caller took it first. */
export function runWriteBehindWorker(job: WriteBehindJob, hashers: ChainHashers): void {
  const side = sideOf(job, hashers);
  const ctl = side.ctl;
  for (let t = 0; ; t++) {
    while (Atomics.load(ctl, C_QUEUED) <= t) {
      if (Atomics.load(ctl, C_STOP) !== 0) return;
      Atomics.wait(ctl, C_QUEUED, t, 1000);
    }
    const k = t % SLOTS;
    const st = at(k, S_STATE);
    const failure = takeQueued(side, k, t, job.port);
    if (failure === false) {
      // the caller took it: the next write waits until this one is done (writes stay a prefix)
      for (let v = Atomics.load(ctl, st); v === tag(t) + WRITING; v = Atomics.load(ctl, st)) Atomics.wait(ctl, st, v, 1000);
    }
  }
}

/**
 * Takes ticket t in slot k if no one has (its state QUEUED -> WRITING), does its write
 * unless a write before it failed, and marks it DONE: by the thread, or by the caller when
 * the thread has not started it. Returns the write's failure, null, or false when the
 * ticket was not there to take. `port`: the thread's, where a failure is posted before the
 * write is marked done (the caller reads it once it sees that).
 */
function takeQueued(s: Side, k: number, t: number, port: MessagePort | null): WriteFailure | null | false {
  const ctl = s.ctl;
  const st = at(k, S_STATE);
  if (Atomics.compareExchange(ctl, st, tag(t) + QUEUED, tag(t) + WRITING) !== tag(t) + QUEUED) return false;
  const failure = Atomics.load(ctl, C_FAILED) !== 0 ? null : doWrite(s, k);
  if (failure) {
    Atomics.store(ctl, C_FAILED, 1);
    port?.postMessage(failure);
  }
  Atomics.store(ctl, at(k, S_RESULT), failure ? FAILED : OK);
  Atomics.store(ctl, st, tag(t) + DONE);
  Atomics.notify(ctl, st);
  return failure;
}

export class WriteBehind implements BackgroundWriter {
  private readonly side: Side;
  private readonly tags: Int32Array[];
  private readonly paths: string[] = new Array<string>(SLOTS).fill('');
  /** Per slot: what to call once its write is done (ChunkFrames.written). */
  private readonly written: (ChunkFrames['written'] | null)[] = new Array<ChunkFrames['written'] | null>(SLOTS).fill(null);
  private readonly port: MessagePort;
  private readonly worker: WarmHandle;
  /** Tickets queued and tickets the caller has seen finished (every one below is). */
  private queued = 0;
  private settled = 0;
  private failure: FsError | null = null;
  private closed = false;
  readonly chainTable: Uint8Array;

  private constructor(workerUrl: URL, booted: WarmHandle | null) {
    const slotSabs = Array.from({ length: SLOTS }, () => new SharedArrayBuffer(SLOT_BYTES));
    const metas = Array.from({ length: SLOTS }, () => new SharedArrayBuffer(SLOT_FRAMES * 2 * 4));
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    const job: WriteBehindJob = {
      control: new SharedArrayBuffer((HEAD_INTS + SLOTS * SLOT_INTS) * 4),
      positions: new SharedArrayBuffer(SLOTS * 8),
      slots: slotSabs,
      metas,
      table: new SharedArrayBuffer(CHAIN_TABLE_BYTES),
      port: port2,
    };
    this.side = sideOf(job, null);
    this.tags = metas.map((x) => new Int32Array(x, SLOT_FRAMES * 4, SLOT_FRAMES));
    this.chainTable = this.side.table;
    // one booted already (startWarmWriteBehind) gets the job as a message; else a new one
    booted?.postMessage(job, [port2]);
    this.worker = booted ?? new Worker(workerUrl, { workerData: job, transferList: [port2] });
    this.worker.unref();
    this.worker.on('error', () => undefined); // a dead worker only means the caller does the writes
  }

  /**
   * A write-behind thread, or null: off (`SEGLOG_WRITE_BEHIND=0`) or under vitest's .ts
   * sources (no worker file); `warmOnly`: null unless one was started warm.
   */
  static start(warmOnly = false): WriteBehind | null {
    if (!writeBehindOn(process.env)) return null;
    const booted = warmWriter.take('append write-behind');
    if (booted === null && warmOnly) return null;
    return new WriteBehind(WORKER_URL, booted);
  }

  /**
   * Queues buf[off, off + len) to be written at `position` of `fd` (`path` names it in
   * errors), or returns false, every earlier write done, when it is larger than a slot
   * (or has more frames than a slot's metadata holds): the caller then writes it itself.
   * `crcFrames`: the bytes are whole frames whose CRCs are still to be written, here
   * (sealFrameCrcs) before the write. `frames`: their chain hashes to complete first and
   * what to call once written (BackgroundWriter.write). Throws an earlier queued write's
   * failure, having queued nothing.
   */
  write(fd: number, path: string, buf: Uint8Array, off: number, len: number, position: number, crcFrames = false, frames?: ChunkFrames): boolean {
    if (this.closed) throw new Error('write-behind is closed');
    const t = this.queued;
    const k = t % SLOTS;
    if (t - this.settled >= SLOTS) this.settle(t - SLOTS + 1); // slot k's previous write, and all before it
    this.throwFailure();
    if (len > SLOT_BYTES || (frames !== undefined && frames.count > SLOT_FRAMES)) {
      // larger than a slot (a chunk grown for a large frame): every queued write first, then the caller writes it
      this.drain();
      return false;
    }
    const side = this.side;
    if (buf !== side.slots[k] || off !== 0) side.slots[k]!.set(buf.subarray(off, off + len)); // else filled in place (nextBuffer)
    const ctl = side.ctl;
    ctl[at(k, S_LEN)] = len;
    ctl[at(k, S_FD)] = fd;
    ctl[at(k, S_RESULT)] = OK;
    ctl[at(k, S_CRC)] = crcFrames ? 1 : 0;
    ctl[at(k, S_FRAMES)] = 0;
    this.written[k] = null;
    if (frames !== undefined) {
      if (frames.codes !== null) {
        side.codes[k]!.set(frames.codes.subarray(0, frames.count));
        ctl[at(k, S_FRAMES)] = frames.count;
        // this thread hashes only the writes it takes from the thread: the kernel if it has one
        side.hashers ??= chainHashers(Blake3Multi.createIfCompiled(), frames.single);
      }
      this.tags[k]!.set(frames.tags.subarray(0, frames.count));
      this.written[k] = frames.written;
    }
    side.pos[k] = position;
    this.paths[k] = path;
    Atomics.store(ctl, at(k, S_STATE), tag(t) + QUEUED);
    this.queued = t + 1;
    Atomics.store(ctl, C_QUEUED, this.queued);
    Atomics.notify(ctl, C_QUEUED);
    return true;
  }

  /** BackgroundWriter.nextBuffer: the slot of the next ticket, once its previous write is done. */
  nextBuffer(): Uint8Array {
    if (this.closed) throw new Error('write-behind is closed');
    const t = this.queued;
    if (t - this.settled >= SLOTS) this.settle(t - SLOTS + 1);
    this.throwFailure();
    return this.side.slots[t % SLOTS]!;
  }

  /** Waits until every queued write is done; throws the first failure. */
  drain(): void {
    this.settle(this.queued);
    this.throwFailure();
  }

  /** Drains, then lets the thread go. The caller may close its descriptors after this. */
  close(): void {
    if (this.closed) return;
    try {
      this.drain();
    } finally {
      this.stop();
    }
  }

  /** A dying store: waits for a write in progress, does no queued one, lets the thread go. */
  abandon(): void {
    if (this.closed) return;
    Atomics.store(this.side.ctl, C_FAILED, 1); // no queued write is done after this, by either thread
    try {
      this.settle(this.queued);
    } finally {
      this.stop();
    }
  }

  private stop(): void {
    this.closed = true;
    Atomics.store(this.side.ctl, C_STOP, 1);
    Atomics.notify(this.side.ctl, C_QUEUED);
    void this.worker.terminate().catch(() => undefined);
    this.port.close();
  }

  /**
   * Sees tickets [settled, upTo) finished, in order: each done by the thread, or here when
   * the thread has not started it; calls each written chunk's `written`, in order, while no
   * write has failed.
   */
  private settle(upTo: number): void {
    const side = this.side;
    const ctl = side.ctl;
    for (let t = this.settled; t < upTo; t++) {
      const k = t % SLOTS;
      const st = at(k, S_STATE);
      for (;;) {
        const v = Atomics.load(ctl, st);
        if (v === tag(t) + DONE) break;
        if (v === tag(t) + QUEUED) {
          // not started by the thread: done here (or not at all after a failure)
          const failure = takeQueued(side, k, t, null);
          if (failure === false) continue; // the thread took it meanwhile
          if (failure) this.fail(failure, k);
          break;
        }
        Atomics.wait(ctl, st, v, 1000); // the thread is writing it
      }
      if (ctl[at(k, S_RESULT)] === FAILED && this.failure === null) {
        const m = receiveMessageOnPort(this.port);
        this.fail((m?.message as WriteFailure | undefined) ?? { code: 'EIO', message: 'write failed' }, k);
      }
      this.settled = t + 1;
      const written = this.written[k];
      this.written[k] = null;
      // a write skipped after a failure reports OK too: nothing is called once one failed
      if (written && this.failure === null && Atomics.load(ctl, C_FAILED) === 0) written(side.slots[k]!.subarray(0, ctl[at(k, S_LEN)]), this.tags[k]!);
    }
  }

  private fail(f: WriteFailure, k: number): void {
    const path = this.paths[k]!;
    this.failure ??= f.written !== undefined ? shortWrite(f.written, this.side.ctl[at(k, S_LEN)]!, path) : toFsError(f, 'write', path);
  }

  private throwFailure(): void {
    if (this.failure) throw this.failure;
  }
}
