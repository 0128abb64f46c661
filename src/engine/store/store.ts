/*
 * The store: an open log, as callers see it. A facade over one job per module:
 * api.ts (public types), store-open.ts (directory, recovery at open), write-path.ts
 * (the write state: writer, heads, sequence, clock, footer seed; single appends and
 * batches), raw-write.ts (raw transaction frames), bulk.ts (the bulk session),
 * hash-lanes.ts (bulk hashes four at a time), event-input.ts (checking and encoding an
 * item), read-view.ts (reads), txn.ts (interactive transactions), raw-frames.ts (the raw
 * frame interface).
 */
import { type Blake3, createHasher } from '../../format/hash/blake3.js';
import type { DecodedEvent } from '../../format/event.js';
import type { FrameLocation } from '../log/committed-stream.js';
import { SeglogError } from '../io/errors.js';
import type { FileSystem } from '../io/fs-types.js';
import { RealFs } from '../io/real-fs.js';
import { storePaths } from '../io/layout.js';
import { realLockEnv, StoreLock } from '../io/lock.js';
import type { StoreOptions } from '../io/options.js';
import { compileRegion, type Region } from '../log/region.js';
import type { EntityHead, RecoveryScan } from '../recovery/recovery-scan.js';
import type { ColdStart, ColdStartInfo } from '../index/cold-start.js';
import type { RawFrame, RawFrameWriter, RawWriteResult } from './raw-frames.js';
import type { BatchItem, Coordinate, AppendOptions, OpenOptions, Receipt, Subscriber } from './api.js';
import { BulkAppender } from './bulk.js';
import { ReadView } from './read-view.js';
import { writeRawFrames } from './raw-write.js';
import { prepareDirectory, recoverForOpen } from './store-open.js';
import { Txn } from './txn.js';
import { type OpenedStoreBase, WriteState } from './write-path.js';

export type { AppendOptions, BatchItem, Coordinate, InjectionHooks, OpenOptions, Receipt, Subscriber } from './api.js';
export { BulkAppender, type BulkChunk, type RawBulkItem } from './bulk.js';

/**
 * An open store. All methods are synchronous except `open`, which awaits the hasher.
 * One process writes (it holds the LOCK); readers open read-only and see whole
 * committed batches only.
 */
export class Store implements RawFrameWriter {
  readonly dir: string;
  readonly options: StoreOptions;
  readonly readOnly: boolean;
  private lock: StoreLock | null;
  /** Everything a write advances, and the writes themselves (write-path.ts). */
  private readonly ws: WriteState;
  /** Reads: by region, by id, along a chain (read-view.ts). */
  private readonly reads: ReadView;
  /** The open-time scan (what recovery found), for stats and verify. */
  readonly recovery: RecoveryScan;
  /** How the open got its state: checkpoint used or not, each segment's footer and source. */
  readonly coldStart: ColdStartInfo;
  readonly warnings: string[] = [];

  private constructor(init: OpenedStoreBase & { lock: StoreLock | null; cold: ColdStart; warnings: string[] }) {
    this.dir = init.dir;
    this.options = init.options;
    this.readOnly = init.readOnly;
    const warn = (m: string): void => {
      this.warnings.push(m);
      init.opts.onWarning?.(m);
    };
    this.lock = init.lock;
    this.recovery = init.scan;
    this.coldStart = init.cold.info;
    this.warnings.push(...init.warnings);
    this.reads = new ReadView(init.fs, this.dir);
    this.ws = new WriteState({
      dir: init.dir,
      options: init.options,
      readOnly: init.readOnly,
      fs: init.fs,
      hasher: init.hasher,
      opts: init.opts,
      scan: init.scan,
      coldStart: init.cold.info,
      footerSeed: init.cold.seed,
      reads: this.reads,
      warn,
    });
  }

  static async open(dir: string, opts: OpenOptions = {}): Promise<Store> {
    const hasher = await createHasher();
    return Store.openSync(dir, opts, hasher);
  }

  /** Opens with an already-created hasher (simulations open thousands of times). */
  static openSync(dir: string, opts: OpenOptions, hasher: Blake3): Store {
    const fs = opts.fs ?? new RealFs();
    const paths = storePaths(dir);
    const readOnly = opts.readOnly ?? false;
    const warnings: string[] = [];
    const warn = (m: string): void => {
      warnings.push(m);
      opts.onWarning?.(m);
    };
    const options = prepareDirectory(fs, dir, opts, readOnly);
    const lock = readOnly ? null : StoreLock.acquire(fs, paths.lock, opts.lockEnv ?? realLockEnv(), warn);
    try {
      const cold = recoverForOpen(fs, dir, opts, readOnly, warn);
      const scan = cold.scan;
      const store = new Store({ dir, options, readOnly, fs, hasher, opts, lock, scan, cold, warnings });
      if (!readOnly) store.ws.startWriter(opts.onSeal ?? null);
      return store;
    } catch (err) {
      try {
        lock?.release();
      } catch {
        // keep the original error
      }
      throw err;
    }
  }

  // ---------------------------------------------------------------- writes

  append(coord: Coordinate, payload: Uint8Array | string | object, opts: AppendOptions = {}): Receipt {
    return this.ws.writeItems([{ ...opts, entity: coord.entity, scope: coord.scope, payload }], false)[0]!;
  }

  /** Appends items atomically: BEGIN, items, COMMIT. Readers see all of them or none. */
  appendBatch(items: BatchItem[]): Receipt[] {
    if (items.length === 0) {
      this.ws.checkWritable();
      return [];
    }
    return this.ws.writeItems(items, true);
  }

  /** A batch whose items all carry the same correlation and causation ids (a reaction). */
  appendReactionBatch(items: BatchItem[], correlationId: string, causationId: string): Receipt[] {
    return this.appendBatch(items.map((i) => ({ ...i, correlationId, causationId })));
  }

  /** Starts an interactive transaction; see txn.ts. Nothing is written until its first operation. */
  beginTxn(): Txn {
    this.ws.checkWritable();
    return new Txn(this, this.ws.allocTxnId());
  }

  /**
   * RawFrameWriter: the version the next key/value operation records: one more than the
   * largest version in the log, whether its transaction committed or not (so a
   * version is never recorded twice). Recovered on open by the scan.
   */
  peekKvVersion(): number {
    return this.ws.peekKvVersion();
  }

  /**
   * RawFrameWriter: writes `frames` in order (in as few writes as segment rotation allows) and,
   * when `sync`, makes them durable per the sync mode (`none` never fsyncs). Validates
   * every frame before writing any; a failed write is rolled back and burns nothing
   * (raw-write.ts).
   */
  writeRaw(frames: readonly RawFrame[], sync: boolean): RawWriteResult {
    return writeRawFrames(this.ws, frames, sync);
  }

  /** RawFrameWriter: a transaction's COMMIT is durable: count its items as committed and publish them. */
  publishTxn(items: readonly FrameLocation[]): void {
    this.ws.publishTxn(items);
  }

  /**
   * Bulk append of standalone events (each its own atomic unit), written in large
   * chunks. Returns a session: `add` validates and encodes one event, `finish` writes
   * what is left and makes it durable per the sync mode. Any write failure makes the
   * store refuse further writes until reopened (recovery then keeps a clean prefix).
   */
  bulk(): BulkAppender {
    return new BulkAppender(this.ws, this.ws.checkWritable());
  }

  /** Committed events and batches (as recovery found them, plus what this store committed since). */
  get committedEvents(): number {
    return this.ws.committedEvents;
  }

  get committedBatches(): number {
    return this.ws.committedBatches;
  }

  // ----------------------------------------------------------------- reads

  /** Committed events matching the region, in commit order. */
  query(region: Region = {}, limit = Number.MAX_SAFE_INTEGER): DecodedEvent[] {
    this.checkOpen();
    return this.reads.query(region, limit);
  }

  /** Streams committed events matching the region; return false from `fn` to stop. */
  scan(region: Region, fn: (e: DecodedEvent) => boolean | void): void {
    this.checkOpen();
    this.reads.scan(region, fn);
  }

  get(eventId: string): DecodedEvent | null {
    this.checkOpen();
    return this.reads.get(eventId);
  }

  /** The event and its ancestors along the entity chain, newest first, at most `limit`. */
  walkAncestors(eventId: string, limit = 1000): DecodedEvent[] {
    this.checkOpen();
    return this.reads.walkAncestors(eventId, limit);
  }

  subscribe(region: Region, fn: Subscriber): () => void {
    const entry = { test: compileRegion(region), fn };
    const subs = this.ws.subscribers;
    subs.add(entry);
    return () => subs.delete(entry);
  }

  private checkOpen(): void {
    if (this.ws.closed) throw new SeglogError('closed', 'store is closed', { file: this.dir });
    this.ws.settleWrites(); // a bulk session's last chunks may still be on their way to the file
  }

  /** Heads and counters, as recovery would rebuild them (used by tests and the checkpoint). */
  snapshotState(): { nextSeq: number; nextTxnId: number; heads: Map<string, EntityHead> } {
    return this.ws.snapshotState();
  }

  /** The filesystem this store runs on (for maintenance code in the engine). */
  get fileSystem(): FileSystem {
    return this.ws.fs;
  }

  get hashFn(): Blake3 {
    return this.ws.hasher;
  }

  /**
   * Clean close: seal (fsync) the active segment and release the lock. On a store
   * whose write failed unrecoverably (or a simulated crash), close only lets go of
   * descriptors and the lock, as a dying process would.
   *
   * `seal: false` (an interrupted writer, issue 15): fsync the active segment and
   * release the lock, but write no SIDX footer and no checkpoint. Sealing reads the whole
   * active segment back to build its footer: 0.3-0.45 s for a 57 MB segment at load 9,
   * the most of a Ctrl-C's latency. A footer-less active segment is what every open
   * after a crash meets (it is scanned; verify finds nothing wrong with it), so the
   * store is as clean, and the next open pays the scan instead.
   */
  close(opts: { seal?: boolean } = {}): void {
    if (this.ws.closed) return;
    this.ws.close(opts);
    if (!this.ws.poisoned) this.lock?.release();
    this.lock = null;
  }
}
