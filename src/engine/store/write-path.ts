/**
 * The store's write path: the state every write advances and the code that advances it
 * (issue 13: out of store.ts). `WriteState` owns the active segment's writer (rotation,
 * sealing with its SIDX footer, the checkpoint at close), the entity heads, the next
 * sequence and transaction id, the clock and random source of event ids, the footer
 * seed taken while appending, and a failed write's poisoning. Single appends and batches
 * are written here (`writeItems`); the store's facade (store.ts), the raw frames of
 * transactions and fixtures (raw-write.ts) and the bulk session (bulk.ts) all go
 * through this one object, so each sees what the others advanced.
 *
 * One event encoder, `encodeNext` (appends, batches, raw frames, bulk items), plus the
 * byte-level bulk path (bulk.ts, BulkAppender.addRaw) whose hashes wait in the SIMD
 * lanes (hash-lanes.ts): `checkWritable`, `snapshotState` and `close` settle them first,
 * so no one reads a head whose hash is not there yet.
 */
import { randomFillSync } from 'node:crypto';
import { keepBytesBeyondFrames } from '../recovery/beyond-frames-copy.js';
import type { Blake3 } from '../../format/hash/blake3.js';
import { HASH_BYTES } from '../../format/hash/blake3.js';
import { copyBytes, toHex } from '../../format/bytes.js';
import { decodeEvent, encodeEventFrame, makeUuidV7, MAX_SAFE_U64, ZERO_HASH } from '../../format/event.js';
import { FRAME_PREFIX_BYTES } from '../../format/frame.js';
import { SEGMENT_HEADER_BYTES } from '../../format/segment-header.js';
import { encodeBegin, encodeCommit, MARKER_FRAME_BYTES } from '../../format/marker.js';
import type { FrameLocation } from '../log/committed-stream.js';
import { ioError, SeglogError } from '../io/errors.js';
import { type FileSystem, isCrash, isFsError } from '../io/fs-types.js';
import { storePaths } from '../io/layout.js';
import type { StoreOptions } from '../io/options.js';
import type { EntityHead, RecoveryScan } from '../recovery/recovery-scan.js';
import type { ColdStartInfo } from '../index/cold-start.js';
import { CheckpointSession, deleteCheckpoint, writeCheckpoint } from '../index/checkpoint.js';
import { FooterBuilder, type FooterSeed, sealFooter } from '../index/sidx.js';
import { type SealHook, SegmentWriter } from '../segment/segment-writer.js';
import type { BatchItem, InjectionHooks, OpenOptions, Receipt, Subscriber } from './api.js';
import { prepareItem, type PreparedItem } from './event-input.js';
import { HashLanes } from './hash-lanes.js';
import { type ReadView, readFrameAt } from './read-view.js';

const RANDOM_POOL_BYTES = 4096;
/** Random bytes of an event id (UUIDv7). */
export const ID_RANDOM_BYTES = 10;

/** A subscription: its compiled region test and its callback. */
export interface SubscriberEntry {
  test: (b: Uint8Array, o: number) => boolean;
  fn: Subscriber;
}

/** What an opened store hands its write path (store.ts `Store`, which keeps the same first six). */
export interface OpenedStoreBase {
  dir: string;
  options: StoreOptions;
  readOnly: boolean;
  fs: FileSystem;
  hasher: Blake3;
  opts: OpenOptions;
  scan: RecoveryScan;
}

export interface WriteStateInit extends OpenedStoreBase {
  coldStart: ColdStartInfo;
  footerSeed: FooterSeed | null;
  reads: ReadView;
  warn: (m: string) => void;
}

/** The write side of an open store (store.ts creates one; read-only stores never start its writer). */
export class WriteState {
  readonly dir: string;
  readonly options: StoreOptions;
  readonly readOnly: boolean;
  readonly fs: FileSystem;
  readonly hasher: Blake3;
  readonly clock: () => number;
  readonly inject: InjectionHooks;
  readonly warn: (m: string) => void;
  private readonly random: (out: Uint8Array) => void;
  private readonly recovery: RecoveryScan;
  private readonly coldStart: ColdStartInfo;
  /** Reads (read-view.ts): told when committed events change, and of each new event's location. */
  readonly reads: ReadView;
  readonly subscribers = new Set<SubscriberEntry>();
  writer: SegmentWriter | null = null;
  heads: Map<string, EntityHead>;
  nextSeq: number;
  nextTxnId: number;
  committedEvents: number;
  committedBatches: number;
  unsyncedSingles = 0;
  /** Bulk bytes written since the last writeback hint (bulk.ts). */
  unhintedBytes = 0;
  closed = false;
  /** The failure that made the store refuse writes until reopened. */
  poisoned: Error | null = null;
  private encodeBuf = new Uint8Array(64 * 1024);
  private randomPool = new Uint8Array(RANDOM_POOL_BYTES);
  /** Where the last `randomBytes` ended in the pool it returned. */
  randomPos = RANDOM_POOL_BYTES;
  /** What the last encodeNext used (one object, no allocation per event). */
  readonly encoded = { clock: 0, wallMs: 0 };
  /** The active segment's footer as far as it is built (bulk chunks add to it: liveFooter). */
  footerSeed: FooterSeed | null;
  /** The last sealed segment's footer builder, whose buffers the next live footer takes over. */
  private spareFooter: FooterBuilder | null = null;
  private ckptSession: CheckpointSession | null = null;
  private readonly keepCheckpoint: boolean;
  /** Largest key/value version in the log (-1 until first needed: taken from the open-time scan). */
  kvVersionMax = -1;
  /**
   * The bulk session (bulk.ts) whose chunk holds frames not yet written. Their sequences
   * were taken when they were encoded, so any other write (another session's included)
   * writes them first (`checkWritable`): frames reach the file in sequence order. Two
   * bulk sessions used in turn used to leave a sequence gap (a store needing repair).
   */
  pendingBulk: { flushPending(): void } | null = null;
  /**
   * The bulk session whose events' hashes are still being completed by the write-behind
   * thread (bulk.ts, format/chain-hash.ts): their entity heads' hashes are not known until
   * it synchronises (`settleLanes`, before anything reads a head or writes otherwise).
   */
  pendingHashes: { syncHashes(): void } | null = null;
  /** The bulk events' SIMD hash lanes (hashLanes; undefined until first asked). */
  private lanes: HashLanes | null | undefined = undefined;

  constructor(init: WriteStateInit) {
    this.dir = init.dir;
    this.options = init.options;
    this.readOnly = init.readOnly;
    this.fs = init.fs;
    this.hasher = init.hasher;
    this.clock = init.opts.clock ?? Date.now;
    this.random = init.opts.random ?? ((b) => randomFillSync(b));
    this.inject = init.opts.inject ?? {};
    this.warn = init.warn;
    this.recovery = init.scan;
    this.coldStart = init.coldStart;
    this.footerSeed = init.footerSeed;
    this.keepCheckpoint = init.opts.writeCheckpoint ?? true;
    this.heads = init.scan.heads;
    this.nextSeq = init.scan.nextSeq;
    this.nextTxnId = init.scan.nextTxnId;
    this.committedEvents = init.scan.committedEvents;
    this.committedBatches = init.scan.committedBatches;
    this.reads = init.reads;
  }

  startWriter(onSeal: SealHook | null): void {
    const segs = this.recovery.segments;
    const last = segs[segs.length - 1];
    // the checkpoint describes the files as they are now; the writer is about to change
    // the last one, so it goes first (a crash after this finds no checkpoint, not a stale one)
    deleteCheckpoint(this.fs, this.dir);
    this.ckptSession = new CheckpointSession(
      this.recovery,
      this.coldStart.segments.map((s) => s.footer),
      last ? { id: last.id, index: segs.length - 1, frameEnd: last.frameEnd } : { id: 0, index: 0, frameEnd: SEGMENT_HEADER_BYTES },
    );
    const hook: SealHook = (fs, seg) => {
      const seed = this.footerSeed !== null && this.footerSeed.segmentId === seg.id ? this.footerSeed : null;
      if (seed) this.footerSeed = null;
      const { sealed, builder } = sealFooter(fs, seg, seed, this.warn);
      this.ckptSession?.onSealed(builder, sealed, seg.path);
      // nothing keeps the builder after this: the next segment's footer reuses its buffers (liveFooter)
      if (builder) this.spareFooter = builder;
      onSeal?.(fs, seg);
    };
    let active;
    if (!last) {
      active = SegmentWriter.createSegment(this.fs, this.dir, 0, this.nextSeq);
    } else {
      const fd = this.fs.open(last.path, 'r+');
      if (last.frameEnd < last.fileSizeBytes) {
        // a sealed last segment with room left: its footer goes, exactly as an
        // unclean shutdown would have left it, and appends continue in it
        // bytes there that are not that footer go to lost+found/ first (beyond-frames-copy.ts)
        keepBytesBeyondFrames(this.fs, this.dir, last, fd, last.frameEnd, this.clock, this.warn);
        this.fs.truncate(fd, last.frameEnd);
      }
      // The segment may hold bytes a dead process wrote and never fsynced, its header
      // included (a rotation whose fsync failed): make them durable before appending, or
      // a power cut can keep later frames without the header, and the next open refuses
      // a store that only ever lost unsynced data (found by the seeded simulation, seed 5279).
      this.fs.fsync(fd);
      active = { id: last.id, path: last.path, fd, sizeBytes: last.frameEnd, firstSeq: last.headerFirstSeq, hasFrames: last.eventFrames > 0 || last.frameEnd > SEGMENT_HEADER_BYTES };
    }
    this.writer = new SegmentWriter(this.fs, this.dir, this.options.segmentMaxBytes, active, hook);
    if (last && last.frameEnd >= this.options.segmentMaxBytes) this.writer.rotate(this.nextSeq);
  }

  /**
   * The writer, or why there may be no write now (closed, read-only, poisoned). Settles
   * the hash lanes first (and, unless `settleHashes` is false: a bulk session writing its
   * own chunk, the hashes still being completed), and writes a bulk session's pending
   * frames (`pendingBulk`).
   */
  checkWritable(settleHashes = true): SegmentWriter {
    if (settleHashes) this.settleLanes();
    else this.lanes?.settle();
    if (this.closed) throw new SeglogError('closed', 'store is closed', { file: this.dir });
    if (this.readOnly || !this.writer) throw new SeglogError('read_only', 'store is open read-only', { file: this.dir });
    if (this.poisoned) {
      throw new SeglogError('poisoned', `an earlier write failed and could not be undone (${this.poisoned.message}); reopen the store`, {
        file: this.dir,
      });
    }
    const pending = this.pendingBulk;
    if (pending !== null) {
      this.pendingBulk = null;
      pending.flushPending();
    }
    return this.writer;
  }

  /**
   * Waits for bulk chunk writes still on their way to the file (SegmentWriter.writeLater):
   * before a read of the segments. A failed one poisons the store, as a failed bulk write does.
   */
  settleWrites(): void {
    const w = this.writer;
    if (w === null || this.poisoned) return;
    try {
      w.settle();
    } catch (err) {
      this.failBulk(err, w.active.path);
    }
  }

  /** A bulk write failed (bulk.ts, settleWrites): the store refuses writes until reopened; an I/O error names `path`. */
  failBulk(err: unknown, path: string): never {
    this.poisoned = err as Error;
    if (isFsError(err)) throw ioError(err, path, 'bulk append');
    throw err;
  }

  /** Reserves a transaction id: ids stay unique over the log (largest seen + 1). */
  allocTxnId(): number {
    this.checkWritable();
    if (this.nextTxnId >= MAX_SAFE_U64) throw new SeglogError('validation', 'transaction ids exhausted');
    return this.nextTxnId++;
  }

  /**
   * The version the next key/value operation records (Store.peekKvVersion): one more than the
   * largest version in the log, whether its transaction committed or not (so a
   * version is never recorded twice). Recovered on open by the scan.
   */
  peekKvVersion(): number {
    if (this.kvVersionMax < 0) this.kvVersionMax = this.recovery.maxKvVersion;
    return this.kvVersionMax + 1;
  }

  /**
   * A transaction's COMMIT is durable per the sync mode (Store.publishTxn): count its items as
   * committed and hand them to subscribers (read back from the log: the transaction's
   * frames were written, and may have left the encode buffer, long before).
   */
  publishTxn(items: readonly FrameLocation[]): void {
    this.committedEvents += items.length;
    this.committedBatches++;
    if (this.subscribers.size === 0) return;
    for (const loc of items) {
      const frame = readFrameAt(this.fs, loc);
      for (const sub of this.subscribers) if (sub.test(frame, FRAME_PREFIX_BYTES)) sub.fn(decodeEvent(frame, FRAME_PREFIX_BYTES));
    }
  }

  /** A single append (`batch` false: one item) or an atomic batch: checked, encoded, written, published. */
  writeItems(items: BatchItem[], batch: boolean): Receipt[] {
    const w = this.checkWritable();
    if (batch && items.length > this.options.batchMaxSize) {
      throw new SeglogError('validation', `batch of ${items.length} items is over batchMaxSize ${this.options.batchMaxSize}`);
    }
    const prepared = items.map((it, i) => prepareItem(it, i, batch));
    if (batch) {
      let total = 2 * MARKER_FRAME_BYTES;
      for (const p of prepared) total += p.frameBytes;
      if (total > this.options.batchMaxBytes) {
        throw new SeglogError('validation', `batch of ${total} bytes is over batchMaxBytes ${this.options.batchMaxBytes}`);
      }
    }
    const txnId = batch ? this.nextTxnId : 0;
    return this.writeFrames(w, prepared, txnId, batch, true);
  }

  /**
   * Encodes and writes the frames of one append or batch. Nothing is published (heads,
   * sequence, subscribers) until every byte is written and the durability holds; a
   * failure rolls the file back so a failed append burns no sequence.
   */
  private writeFrames(w: SegmentWriter, items: PreparedItem[], txnId: number, batch: boolean, publish: boolean): Receipt[] {
    const n = items.length;
    let total = batch ? 2 * MARKER_FRAME_BYTES : 0;
    for (const p of items) total += p.frameBytes;
    const buf = this.scratch(total);
    const starts: number[] = [];
    const ids: Uint8Array[] = [];
    const pendingHeads = new Map<string, EntityHead>();
    const receipts: Receipt[] = [];
    const now = this.clock();
    let off = 0;
    if (batch) off += encodeBegin(buf, off, txnId, n);
    for (let i = 0; i < n; i++) {
      const p = items[i]!;
      const head = pendingHeads.get(p.entityText) ?? this.heads.get(p.entityText);
      const id = new Uint8Array(16);
      ids.push(id);
      const seq = this.nextSeq + i;
      const causation = p.causationItem !== undefined ? ids[p.causationItem]! : p.causation;
      starts.push(off);
      const size = this.encodeNext(buf, off, head, now, seq, txnId, p.kind, p.correlation, causation, p.entity, p.scope, p.payload, id);
      const { clock, wallMs } = this.encoded;
      const hashAt = off + size - HASH_BYTES;
      pendingHeads.set(p.entityText, { clock, wallMs, hash: copyBytes(buf, hashAt, hashAt + HASH_BYTES) });
      receipts.push({ eventId: '', seq, clock, wallMs, eventHash: toHex(buf, hashAt, hashAt + HASH_BYTES), durable: false });
      off += size;
    }
    const commitAt = off;
    if (batch) off += encodeCommit(buf, off, txnId, n);

    const mark = w.mark();
    const locations: FrameLocation[] = [];
    try {
      if (batch) {
        w.ensureRoom(MARKER_FRAME_BYTES, this.nextSeq);
        w.write(buf, 0, MARKER_FRAME_BYTES, 1);
        this.inject.afterBeginWritten?.(txnId);
      }
      for (let i = 0; i < n; i++) {
        const start = starts[i]!;
        const size = items[i]!.frameBytes;
        w.ensureRoom(size, this.nextSeq + i);
        locations.push({ segIndex: -1, path: w.active.path, offset: w.active.sizeBytes });
        w.write(buf, start, size, 1);
        if (batch) this.inject.afterItemWritten?.(txnId, i);
      }
      if (batch) {
        w.ensureRoom(MARKER_FRAME_BYTES, this.nextSeq + n);
        w.write(buf, commitAt, MARKER_FRAME_BYTES, 1);
        this.inject.afterCommitWritten?.(txnId);
      }
      const durable = this.syncAfter(w, batch, n);
      for (const r of receipts) r.durable = durable;
      if (batch) this.inject.beforePublish?.(txnId);
    } catch (err) {
      this.failWrite(w, mark, err);
    }
    for (const [k, h] of pendingHeads) this.heads.set(k, h);
    this.nextSeq += n;
    if (txnId >= this.nextTxnId) this.nextTxnId = txnId + 1;
    if (publish) {
      this.committedEvents += n;
      if (batch) this.committedBatches++;
    }
    for (let i = 0; i < n; i++) {
      receipts[i]!.eventId = decodeEvent(buf, starts[i]! + FRAME_PREFIX_BYTES).eventId;
      this.reads.indexNew(buf, starts[i]! + FRAME_PREFIX_BYTES, locations[i]!);
    }
    if (publish) this.notify(buf, starts);
    return receipts;
  }

  private syncAfter(w: SegmentWriter, batch: boolean, n: number): boolean {
    const mode = this.options.sync;
    if (mode === 'always' || (mode === 'batch' && batch)) {
      w.fsync();
      this.unsyncedSingles = 0;
      return true;
    }
    if (mode === 'batch') {
      this.unsyncedSingles += n;
      if (this.unsyncedSingles >= this.options.syncEveryNEvents) {
        w.fsync();
        this.unsyncedSingles = 0;
        return true;
      }
    }
    return false;
  }

  /**
   * Encodes the next EVENT of an entity at `buf[off]`, chained to `head` (undefined: the
   * entity's first event): a fresh UUIDv7 into `id`, a wall time never before the head's,
   * clock head + 1, prev_hash the head's hash. Returns the frame's size; `this.encoded`
   * holds the clock and wall time it used (batches and raw transaction frames).
   */
  encodeNext(
    buf: Uint8Array,
    off: number,
    head: EntityHead | undefined,
    nowMs: number,
    seq: number,
    txnId: number,
    kind: { category: number; type: number },
    correlationId: Uint8Array | null,
    causationId: Uint8Array | null,
    entity: Uint8Array,
    scope: Uint8Array,
    payload: Uint8Array,
    id: Uint8Array,
  ): number {
    const wallMs = Math.max(nowMs, head ? head.wallMs : 0);
    makeUuidV7(id, 0, wallMs, this.randomBytes(ID_RANDOM_BYTES), this.randomPos - ID_RANDOM_BYTES);
    const clock = head ? head.clock + 1 : 0;
    this.encoded.clock = clock;
    this.encoded.wallMs = wallMs;
    return encodeEventFrame(
      buf,
      off,
      { id, seq, clock, wallMs, txnId, kindCategory: kind.category, kindType: kind.type, correlationId, causationId, prevHash: head ? head.hash : ZERO_HASH, entity, scope, payload },
      this.hasher,
    );
  }

  /** A write failed: undo it, or, if undoing fails too, refuse further writes. */
  failWrite(w: SegmentWriter, mark: ReturnType<SegmentWriter['mark']>, err: unknown): never {
    const crashed = isCrash(err);
    if (crashed) {
      this.poisoned = err as Error;
      throw err;
    }
    try {
      w.rollback(mark);
    } catch (rollbackErr) {
      this.poisoned = rollbackErr as Error;
    }
    if (err instanceof SeglogError) throw err;
    if (isFsError(err)) throw ioError(err, w.active.path, 'append');
    throw err;
  }

  scratch(bytes: number): Uint8Array {
    if (this.encodeBuf.length < bytes) this.encodeBuf = new Uint8Array(Math.max(bytes, this.encodeBuf.length * 2));
    return this.encodeBuf;
  }

  randomBytes(n: number): Uint8Array {
    if (this.randomPos + n > this.randomPool.length) {
      this.random(this.randomPool);
      this.randomPos = 0;
    }
    this.randomPos += n;
    return this.randomPool;
  }

  /**
   * The 4-lane SIMD hasher of bulk events (hash-lanes.ts), created on first use; null
   * without WebAssembly SIMD or with `SEGLOG_BLAKE3_SIMD=0`.
   */
  hashLanes(): HashLanes | null {
    if (this.lanes === undefined) this.lanes = HashLanes.create();
    return this.lanes;
  }

  /** Completes the bulk events still waiting in the hash lanes or the write-behind thread: before anything reads the heads. */
  settleLanes(): void {
    if (this.lanes) this.lanes.settle();
    const p = this.pendingHashes;
    if (p !== null) {
      this.pendingHashes = null;
      p.syncHashes();
    }
  }

  /**
   * The footer seed of the active segment when it covers every frame written so far
   * (a fresh segment gets one), so bulk frames are indexed as they are written and
   * sealing continues from there (sidx.ts sealFooter); null when the seed lags behind
   * (frames written by other paths since): sealing then reads those frames back.
   */
  liveFooter(w: SegmentWriter): FooterSeed | null {
    const a = w.active;
    const s = this.footerSeed;
    if (s !== null) return s.segmentId === a.id && s.frameEnd === a.sizeBytes ? s : null;
    if (a.sizeBytes !== SEGMENT_HEADER_BYTES) return null;
    const spare = this.spareFooter;
    this.spareFooter = null;
    this.footerSeed = { segmentId: a.id, frameEnd: a.sizeBytes, builder: spare ? spare.recycle(a.id) : new FooterBuilder(a.id) };
    return this.footerSeed;
  }

  private notify(buf: Uint8Array, starts: number[]): void {
    if (this.subscribers.size === 0) return;
    for (const s of starts) {
      const b = s + FRAME_PREFIX_BYTES;
      for (const sub of this.subscribers) if (sub.test(buf, b)) sub.fn(decodeEvent(buf, b));
    }
  }

  /** Heads and counters, as recovery would rebuild them (used by tests and the checkpoint). */
  snapshotState(): { nextSeq: number; nextTxnId: number; heads: Map<string, EntityHead> } {
    this.settleLanes();
    return { nextSeq: this.nextSeq, nextTxnId: this.nextTxnId, heads: new Map([...this.heads].map(([k, h]) => [k, { ...h, hash: copyBytes(h.hash) }])) };
  }

  private saveCheckpoint(): void {
    if (!this.keepCheckpoint) return;
    saveCheckpointOf({ fs: this.fs, dir: this.dir, session: this.ckptSession, heads: this.heads, nextSeq: this.nextSeq, warn: this.warn });
  }

  /**
   * The write side of Store.close (which says what `seal: false` is for): seal the active
   * segment and write the checkpoint; after a failed write only let go of the descriptor;
   * `seal: false` fsyncs without sealing.
   */
  close(opts: { seal?: boolean }): void {
    try {
      this.settleLanes();
    } catch (err) {
      if (!this.poisoned) throw err; // a failed chunk write: the writer is abandoned below
    }
    this.pendingBulk = null; // a session never finished: its last chunk is not written (nothing of it was acknowledged)
    this.closed = true;
    if (this.writer) {
      if (this.poisoned) this.writer.abandon();
      else if (opts.seal === false) {
        this.writer.fsync();
        this.writer.abandon();
      } else {
        this.writer.close();
        this.saveCheckpoint();
      }
    }
  }
}

/**
 * Writes index.ckpt after a clean seal. A checkpoint only speeds up the next open, so
 * failing to write one is a warning; a simulated crash still ends the process.
 */
function saveCheckpointOf(store: { fs: FileSystem; dir: string; session: CheckpointSession | null; heads: Map<string, EntityHead>; nextSeq: number; warn: (m: string) => void }): void {
  const session = store.session;
  if (!session) return;
  try {
    const r = session.build(store.fs, store.dir, store.heads, store.nextSeq);
    if ('reason' in r) {
      store.warn(`${storePaths(store.dir).checkpoint}: not written (${r.reason}); the next open reads footers instead`);
      return;
    }
    writeCheckpoint(store.fs, store.dir, r.checkpoint);
  } catch (err) {
    if (isCrash(err)) throw err;
    store.warn(`${storePaths(store.dir).checkpoint}: not written (${(err as { code?: string }).code ?? (err as Error).message})`);
  }
}
