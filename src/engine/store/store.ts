/*
 * The store: an open log, its write path (single appends, batches, raw transaction
 * frames, bulk encoding) and the state that path advances (entity heads, next sequence
 * and transaction id, the active segment's writer). Around it, one job each:
 * api.ts (public types), store-open.ts (directory, recovery at open), event-input.ts
 * (checking and encoding an item), bulk.ts (the bulk session), read-view.ts (reads),
 * txn.ts (interactive transactions), raw-frames.ts (the raw frame interface).
 *
 * One event encoder, `encodeNext` (appends, batches, raw frames, bulk items), plus the
 * byte-level bulk path `bulkEncodeRaw` (JSONL lines encoded from their bytes, CRC in
 * place; `SEGLOG_APPEND_FAST=0` turns it off and the differential suite runs both).
 * Over 500 lines, knowingly: the write path's methods share the writer state above; the
 * next split is a WriteState object the bulk session can own (bulk.ts).
 */
import { randomFillSync } from 'node:crypto';
import { keepBytesBeyondFrames } from '../recovery/beyond-frames-copy.js';
import { type Blake3, createHasher, HASH_BYTES } from '../../format/hash/blake3.js';
import { Blake3Multi, MULTI_CAPACITY, MULTI_MAX_MESSAGE_BYTES } from '../../format/hash/blake3-multi.js';
import { copyBytes, readU32, toHex, utf8, writeU16, writeU32, writeU64 } from '../../format/bytes.js';
import {
  decodeEvent,
  type DecodedEvent,
  encodeEventFrame,
  eventFrameSize,
  EV,
  isValidKind,
  makeUuidV7,
  MAX_ENTITY_BYTES,
  MAX_PAYLOAD_BYTES,
  MAX_SCOPE_BYTES,
  MAX_SAFE_U64,
  ZERO_HASH,
} from '../../format/event.js';
import { FRAME_HEADER_BYTES, FRAME_PREFIX_BYTES, FrameType, MAX_FRAME_LENGTH } from '../../format/frame.js';
import { SEGMENT_HEADER_BYTES } from '../../format/segment-header.js';
import { encodeAbort, encodeBegin, encodeCommit, MARKER_BODY_BYTES, MARKER_FRAME_BYTES } from '../../format/marker.js';
import type { FrameLocation } from '../log/committed-stream.js';
import { ioError, SeglogError } from '../io/errors.js';
import { type FileSystem, isCrash, isFsError } from '../io/fs-types.js';
import { RealFs } from '../io/real-fs.js';
import { storePaths } from '../io/layout.js';
import { realLockEnv, StoreLock } from '../io/lock.js';
import type { StoreOptions } from '../io/options.js';
import { compileRegion, type Region } from '../log/region.js';
import type { EntityHead, RecoveryScan } from '../recovery/recovery-scan.js';
import type { ColdStart, ColdStartInfo } from '../index/cold-start.js';
import { CheckpointSession, deleteCheckpoint, writeCheckpoint } from '../index/checkpoint.js';
import { FooterBuilder, type FooterSeed, sealFooter } from '../index/sidx.js';
import { type SealHook, SegmentWriter } from '../segment/segment-writer.js';
import { MAX_MARKER_COUNT, type RawFrame, type RawFrameWriter, type RawEventResult, type RawWriteResult } from './raw-frames.js';
import type { BatchItem, Coordinate, AppendOptions, InjectionHooks, OpenOptions, Receipt, Subscriber } from './api.js';
import { prepareItem, type PreparedItem } from './event-input.js';
import { addChunkToFooter, BULK_CLOCK_EVERY, BulkAppender, type BulkChunk, type BulkEncoder, copyInto, type RawBulkItem } from './bulk.js';
import { ReadView, readFrameAt } from './read-view.js';
import { prepareDirectory, recoverForOpen } from './store-open.js';
import { Txn } from './txn.js';

export type { AppendOptions, BatchItem, Coordinate, InjectionHooks, OpenOptions, Receipt, Subscriber } from './api.js';
export { BulkAppender, type BulkChunk, type RawBulkItem } from './bulk.js';

const RANDOM_POOL_BYTES = 4096;
/** Bulk chunks written between two writeback hints (FileSystem.startWriteback). */
const WRITEBACK_HINT_BYTES = 16 * 1024 * 1024;
const ID_RANDOM_BYTES = 10;

/**
 * An open store. All methods are synchronous except `open`, which awaits the hasher.
 * One process writes (it holds the LOCK); readers open read-only and see whole
 * committed batches only.
 */
export class Store implements RawFrameWriter, BulkEncoder {
  readonly dir: string;
  readonly options: StoreOptions;
  readonly readOnly: boolean;
  private readonly fs: FileSystem;
  private readonly hasher: Blake3;
  private readonly clock: () => number;
  private readonly random: (out: Uint8Array) => void;
  private readonly inject: InjectionHooks;
  private readonly warn: (m: string) => void;
  private lock: StoreLock | null;
  private writer: SegmentWriter | null = null;
  private heads: Map<string, EntityHead>;
  private nextSeq: number;
  private nextTxnId: number;
  private unsyncedSingles = 0;
  /** Bulk bytes written since the last writeback hint. */
  private unhintedBytes = 0;
  private closed = false;
  private poisoned: Error | null = null;
  private encodeBuf = new Uint8Array(64 * 1024);
  private randomPool = new Uint8Array(RANDOM_POOL_BYTES);
  private randomPos = RANDOM_POOL_BYTES;
  /** What the last encodeNext used (one object, no allocation per event). */
  private readonly encoded = { clock: 0, wallMs: 0 };
  private subscribers = new Set<{ test: (b: Uint8Array, o: number) => boolean; fn: Subscriber }>();
  /** Reads: by region, by id, along a chain (read-view.ts). */
  private readonly reads: ReadView;
  /** The open-time scan (what recovery found), for stats and verify. */
  readonly recovery: RecoveryScan;
  /** How the open got its state: checkpoint used or not, each segment's footer and source. */
  readonly coldStart: ColdStartInfo;
  private footerSeed: FooterSeed | null;
  /** The SIMD hasher of bulk events (hashLanes; undefined until first asked). */
  private lanes: Blake3Multi | null | undefined = undefined;
  /** Bulk events encoded into `chunk` but not yet hashed: frame offsets and heads, in the lanes' order (settleLanes). */
  private readonly pending = { count: 0, chunk: null as BulkChunk | null, at: new Int32Array(MULTI_CAPACITY), headOf: [] as EntityHead[], heads: new Set<EntityHead>() };
  /** The last sealed segment's footer builder, whose buffers the next live footer takes over. */
  private spareFooter: FooterBuilder | null = null;
  private ckptSession: CheckpointSession | null = null;
  private readonly keepCheckpoint: boolean;
  readonly warnings: string[] = [];
  committedEvents: number;
  committedBatches: number;

  private constructor(init: {
    dir: string;
    options: StoreOptions;
    readOnly: boolean;
    fs: FileSystem;
    hasher: Blake3;
    opts: OpenOptions;
    lock: StoreLock | null;
    scan: RecoveryScan;
    cold: ColdStart;
    warnings: string[];
  }) {
    this.dir = init.dir;
    this.options = init.options;
    this.readOnly = init.readOnly;
    this.fs = init.fs;
    this.hasher = init.hasher;
    this.clock = init.opts.clock ?? Date.now;
    this.random = init.opts.random ?? ((b) => randomFillSync(b));
    this.inject = init.opts.inject ?? {};
    this.warn = (m) => {
      this.warnings.push(m);
      init.opts.onWarning?.(m);
    };
    this.lock = init.lock;
    this.recovery = init.scan;
    this.coldStart = init.cold.info;
    this.footerSeed = init.cold.seed;
    this.keepCheckpoint = init.opts.writeCheckpoint ?? true;
    this.heads = init.scan.heads;
    this.nextSeq = init.scan.nextSeq;
    this.nextTxnId = init.scan.nextTxnId;
    this.committedEvents = init.scan.committedEvents;
    this.committedBatches = init.scan.committedBatches;
    this.warnings.push(...init.warnings);
    this.reads = new ReadView(this.fs, this.dir);
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
      if (!readOnly) store.startWriter(opts.onSeal ?? null);
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

  private startWriter(onSeal: SealHook | null): void {
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

  // ---------------------------------------------------------------- writes

  append(coord: Coordinate, payload: Uint8Array | string | object, opts: AppendOptions = {}): Receipt {
    return this.writeItems([{ ...opts, entity: coord.entity, scope: coord.scope, payload }], false)[0]!;
  }

  /** Appends items atomically: BEGIN, items, COMMIT. Readers see all of them or none. */
  appendBatch(items: BatchItem[]): Receipt[] {
    if (items.length === 0) {
      this.checkWritable();
      return [];
    }
    return this.writeItems(items, true);
  }

  /** A batch whose items all carry the same correlation and causation ids (a reaction). */
  appendReactionBatch(items: BatchItem[], correlationId: string, causationId: string): Receipt[] {
    return this.appendBatch(items.map((i) => ({ ...i, correlationId, causationId })));
  }

  private checkWritable(): SegmentWriter {
    if (this.pending.count > 0) this.settleLanes();
    if (this.closed) throw new SeglogError('closed', 'store is closed', { file: this.dir });
    if (this.readOnly || !this.writer) throw new SeglogError('read_only', 'store is open read-only', { file: this.dir });
    if (this.poisoned) {
      throw new SeglogError('poisoned', `an earlier write failed and could not be undone (${this.poisoned.message}); reopen the store`, {
        file: this.dir,
      });
    }
    return this.writer;
  }

  // ================================================================================
  // Raw transaction frames (issue 4; used by txn.ts and fixture-build.ts).
  // Interactive transactions write their frames as they go, interleaved with other
  // writes; the fixture builder writes sequences the normal API never produces. Both
  // come through `writeRaw`, which still assigns sequences, entity clocks and hash
  // chains in file order, so the log's invariants hold whatever the frames say about
  // transactions. Heads and the sequence advance when the bytes are written (the next
  // frame's chain depends on them), never on a failed write; readers see nothing of a
  // transaction until `publishTxn` after its COMMIT.
  // ================================================================================

  private static readonly EMPTY_BYTES = new Uint8Array(0);
  /** Largest key/value version in the log (-1 until first needed: taken from the open-time scan). */
  private kvVersionMax = -1;

  /** Starts an interactive transaction; see txn.ts. Nothing is written until its first operation. */
  beginTxn(): Txn {
    this.checkWritable();
    return new Txn(this, this.allocTxnId());
  }

  /** Reserves a transaction id: ids stay unique over the log (largest seen + 1). */
  private allocTxnId(): number {
    this.checkWritable();
    if (this.nextTxnId >= MAX_SAFE_U64) throw new SeglogError('validation', 'transaction ids exhausted');
    return this.nextTxnId++;
  }

  /**
   * RawFrameWriter: the version the next key/value operation records: one more than the
   * largest version in the log, whether its transaction committed or not (so a
   * version is never recorded twice). Recovered on open by the scan.
   */
  peekKvVersion(): number {
    if (this.kvVersionMax < 0) this.kvVersionMax = this.recovery.maxKvVersion;
    return this.kvVersionMax + 1;
  }

  /**
   * RawFrameWriter: writes `frames` in order (in as few writes as segment rotation allows) and,
   * when `sync`, makes them durable per the sync mode (`none` never fsyncs). Validates
   * every frame before writing any; a failed write is rolled back and burns nothing.
   */
  writeRaw(frames: readonly RawFrame[], sync: boolean): RawWriteResult {
    const w = this.checkWritable();
    const n = frames.length;
    const entities: (Uint8Array | null)[] = new Array(n);
    const scopes: (Uint8Array | null)[] = new Array(n);
    const sizes: number[] = new Array(n);
    let total = 0;
    let maxTxn = -1;
    let kvMax = -1;
    let touchesCommitted = false;
    for (let i = 0; i < n; i++) {
      const f = frames[i]!;
      const where = `raw frame ${i}: `;
      if (!Number.isSafeInteger(f.txnId) || f.txnId < (f.type === 'event' ? 0 : 1)) {
        throw new SeglogError('validation', `${where}transaction id must be an integer from ${f.type === 'event' ? 0 : 1} to ${MAX_SAFE_U64}`);
      }
      maxTxn = Math.max(maxTxn, f.txnId);
      if (f.type !== 'event') {
        if (!Number.isInteger(f.count) || f.count < 0 || f.count > MAX_MARKER_COUNT) throw new SeglogError('validation', `${where}count must be an integer from 0 to ${MAX_MARKER_COUNT}`);
        entities[i] = null;
        scopes[i] = null;
        sizes[i] = f.type === 'abort' ? FRAME_PREFIX_BYTES + MARKER_BODY_BYTES.ABORT : MARKER_FRAME_BYTES;
        if (f.type === 'commit') touchesCommitted = true;
      } else {
        const entity = f.entityBytes ?? utf8.encode(f.entity);
        const scope = f.scope.length === 0 ? Store.EMPTY_BYTES : utf8.encode(f.scope);
        if (entity.length === 0 || entity.length > MAX_ENTITY_BYTES) throw new SeglogError('validation', `${where}entity must be 1 to ${MAX_ENTITY_BYTES} bytes`);
        if (scope.length > MAX_SCOPE_BYTES) throw new SeglogError('validation', `${where}scope is ${scope.length} bytes, over ${MAX_SCOPE_BYTES}`);
        if (f.payload.length > MAX_PAYLOAD_BYTES) throw new SeglogError('validation', `${where}payload is ${f.payload.length} bytes, over ${MAX_PAYLOAD_BYTES}`);
        const k = f.kind;
        if (!isValidKind(k.category, k.type, true)) {
          throw new SeglogError('validation', `${where}kind must be category 0..65535 : type 0..65535`);
        }
        if (f.kvVersion !== undefined) {
          if (!Number.isSafeInteger(f.kvVersion) || f.kvVersion < 1) throw new SeglogError('validation', `${where}key/value version must be a positive integer`);
          kvMax = Math.max(kvMax, f.kvVersion);
        }
        entities[i] = entity;
        scopes[i] = scope;
        sizes[i] = eventFrameSize(entity.length, scope.length, f.payload.length);
        if (f.txnId === 0) touchesCommitted = true;
      }
      total += sizes[i]!;
    }
    const buf = this.scratch(total);
    const starts: number[] = new Array(n);
    const seqOf: number[] = new Array(n);
    const pendingHeads = new Map<string, EntityHead>();
    const events: RawEventResult[] = [];
    const now = this.clock();
    let seq = this.nextSeq;
    let off = 0;
    for (let i = 0; i < n; i++) {
      const f = frames[i]!;
      starts[i] = off;
      seqOf[i] = seq;
      if (f.type !== 'event') {
        if (f.type === 'begin') off += encodeBegin(buf, off, f.txnId, f.count);
        else if (f.type === 'commit') off += encodeCommit(buf, off, f.txnId, f.count);
        else off += encodeAbort(buf, off, f.txnId);
      } else {
        const head = pendingHeads.get(f.entity) ?? this.heads.get(f.entity);
        const size = this.encodeNext(buf, off, head, now, seq, f.txnId, f.kind, null, null, entities[i]!, scopes[i]!, f.payload, new Uint8Array(16));
        const { clock, wallMs } = this.encoded;
        const hashAt = off + size - HASH_BYTES;
        pendingHeads.set(f.entity, { clock, wallMs, hash: copyBytes(buf, hashAt, hashAt + HASH_BYTES) });
        events.push({ seq, clock, wallMs, location: { segIndex: -1, path: '', offset: 0 } });
        seq++;
        off += size;
      }
    }
    const mark = w.mark();
    let durable = false;
    try {
      let i = 0;
      let e = 0;
      while (i < n) {
        w.ensureRoom(sizes[i]!, seqOf[i]!);
        let j = i + 1;
        let run = sizes[i]!;
        while (j < n && w.active.sizeBytes + run + sizes[j]! <= this.options.segmentMaxBytes) run += sizes[j++]!;
        let at = w.active.sizeBytes;
        let eventFrames = 0;
        for (let k = i; k < j; k++) {
          if (frames[k]!.type === 'event') {
            events[e++]!.location = { segIndex: -1, path: w.active.path, offset: at };
            eventFrames++;
          }
          at += sizes[k]!;
        }
        w.write(buf, starts[i]!, run, j - i);
        for (let k = i; k < j; k++) {
          const f = frames[k]!;
          if (f.type === 'begin') this.inject.afterBeginWritten?.(f.txnId);
          else if (f.type === 'commit') this.inject.afterCommitWritten?.(f.txnId);
        }
        i = j;
      }
      if (sync && this.options.sync !== 'none') {
        w.fsync();
        this.unsyncedSingles = 0;
        durable = true;
      }
      for (const f of frames) if (f.type === 'commit') this.inject.beforePublish?.(f.txnId);
    } catch (err) {
      this.failWrite(w, mark, err);
    }
    for (const [k, h] of pendingHeads) this.heads.set(k, h);
    this.nextSeq = seq;
    if (maxTxn >= this.nextTxnId) this.nextTxnId = maxTxn + 1;
    if (kvMax > this.peekKvVersion() - 1) this.kvVersionMax = kvMax;
    if (touchesCommitted) {
      // standalone events and COMMITs change what readers see: id/hash indexes are rebuilt lazily
      this.reads.invalidate();
    }
    return { events, durable };
  }

  /**
   * RawFrameWriter: a transaction's COMMIT is durable per the sync mode: count its items as
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

  // ========================================================== end of raw transaction frames

  private writeItems(items: BatchItem[], batch: boolean): Receipt[] {
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
  private encodeNext(
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
  private failWrite(w: SegmentWriter, mark: ReturnType<SegmentWriter['mark']>, err: unknown): never {
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

  private scratch(bytes: number): Uint8Array {
    if (this.encodeBuf.length < bytes) this.encodeBuf = new Uint8Array(Math.max(bytes, this.encodeBuf.length * 2));
    return this.encodeBuf;
  }

  private randomBytes(n: number): Uint8Array {
    if (this.randomPos + n > this.randomPool.length) {
      this.random(this.randomPool);
      this.randomPos = 0;
    }
    this.randomPos += n;
    return this.randomPool;
  }

  /**
   * Bulk append of standalone events (each its own atomic unit), written in large
   * chunks. Returns a session: `add` validates and encodes one event, `finish` writes
   * what is left and makes it durable per the sync mode. Any write failure makes the
   * store refuse further writes until reopened (recovery then keeps a clean prefix).
   */
  bulk(): BulkAppender {
    return new BulkAppender(this, this.checkWritable());
  }

  /** BulkEncoder (bulk.ts): checks and encodes one item into the chunk, advancing heads and sequence. */
  bulkEncode(w: SegmentWriter, chunk: BulkChunk, item: BatchItem): void {
    const p = prepareItem(item, 0, false);
    if (this.pending.count > 0) this.settleLanes(); // encodeNext reads the heads
    if (chunk.len + p.frameBytes > chunk.arena.buf.length || w.active.sizeBytes + chunk.len + p.frameBytes > this.options.segmentMaxBytes) {
      this.bulkFlush(w, chunk);
      chunk.arena.grow(p.frameBytes);
    }
    const head = this.heads.get(p.entityText);
    const off = chunk.len;
    this.bulkRoom(w, chunk.len + p.frameBytes);
    // the one encoder of single appends and batches (encodeNext), into the chunk
    const size = this.encodeNext(chunk.arena.buf, off, head, this.clock(), this.nextSeq, 0, p.kind, p.correlation, p.causation, p.entity, p.scope, p.payload, new Uint8Array(16));
    const wallMs = this.encoded.wallMs;
    const hashAt = off + size - HASH_BYTES;
    const buf = chunk.arena.buf;
    if (head) {
      head.clock++;
      head.wallMs = wallMs;
      head.hash.set(buf.subarray(hashAt, hashAt + HASH_BYTES));
    } else {
      // a copy: buf is a Buffer (the arena's), whose slice() would alias the chunk
      this.heads.set(p.entityText, { clock: 0, wallMs, hash: copyBytes(buf, hashAt, hashAt + HASH_BYTES) });
    }
    this.nextSeq++;
    chunk.len += size;
    chunk.frames++;
  }

  /**
   * BulkEncoder (bulk.ts, BulkAppender.addRaw): the same event as `bulkEncode` of the item
   * {entity, scope, kind, payload} given as byte ranges, encoded straight into the chunk
   * (no strings, no intermediate arrays, the CRC computed in place). Returns false,
   * having done nothing, when a limit is exceeded: `bulkEncode` then gives the error.
   */
  bulkEncodeRaw(w: SegmentWriter, chunk: BulkChunk, raw: RawBulkItem): boolean {
    const eLen = raw.entityEnd - raw.entityStart;
    const sLen = raw.scopeEnd - raw.scopeStart;
    const pLen = raw.payloadEnd - raw.payloadStart;
    const cat = raw.kindCategory;
    const type = raw.kindType;
    if (eLen < 1 || eLen > MAX_ENTITY_BYTES || sLen > MAX_SCOPE_BYTES || pLen > MAX_PAYLOAD_BYTES) return false;
    if (!isValidKind(cat, type, false)) return false;
    const frameBytes = eventFrameSize(eLen, sLen, pLen);
    if (frameBytes - FRAME_HEADER_BYTES > MAX_FRAME_LENGTH) return false;
    if (chunk.len + frameBytes > chunk.arena.buf.length || w.active.sizeBytes + chunk.len + frameBytes > this.options.segmentMaxBytes) {
      this.bulkFlush(w, chunk);
      chunk.arena.grow(frameBytes);
    }
    const names = chunk.names;
    if (names.lookup(raw.entity, raw.entityStart, eLen) === undefined) names.insert(true);
    const name = names.name;
    const head = this.heads.get(name);
    // this event's prev_hash is its head's hash: when that is still being hashed, finish the lanes first
    const pend = this.pending;
    if (pend.count > 0 && ((head !== undefined && pend.heads.has(head)) || pend.chunk !== chunk)) this.settleLanes();
    const wallMs = Math.max(this.bulkNow(chunk), head ? head.wallMs : 0);
    this.bulkRoom(w, chunk.len + frameBytes);
    const buf = chunk.arena.buf;
    const off = chunk.len;
    const b = off + FRAME_PREFIX_BYTES;
    // the EVENT body, field by field as encodeEventFrame writes it (format/event.ts)
    makeUuidV7(buf, b + EV.ID, wallMs, this.randomBytes(ID_RANDOM_BYTES), this.randomPos - ID_RANDOM_BYTES);
    writeU64(buf, b + EV.SEQ, this.nextSeq);
    writeU64(buf, b + EV.CLOCK, head ? head.clock + 1 : 0);
    writeU64(buf, b + EV.WALL, wallMs);
    writeU64(buf, b + EV.TXN, 0);
    writeU16(buf, b + EV.KIND_CAT, cat);
    writeU16(buf, b + EV.KIND_TYPE, type);
    for (let i = b + EV.CORRELATION; i < b + EV.PREV_HASH; i++) buf[i] = 0; // no correlation, no causation
    buf.set(head ? head.hash : ZERO_HASH, b + EV.PREV_HASH);
    writeU16(buf, b + EV.ENTITY_LEN, eLen);
    writeU16(buf, b + EV.SCOPE_LEN, sLen);
    writeU32(buf, b + EV.PAYLOAD_LEN, pLen);
    let q = b + EV.VAR;
    q = copyInto(buf, q, raw.entity, raw.entityStart, raw.entityEnd);
    q = copyInto(buf, q, raw.scope, raw.scopeStart, raw.scopeEnd);
    q = copyInto(buf, q, raw.payload, raw.payloadStart, raw.payloadEnd);
    const length = q + HASH_BYTES - b + 1; // type byte + body
    writeU32(buf, off, length);
    buf[off + 8] = FrameType.EVENT;
    const lanes = this.hashLanes();
    if (lanes !== null && q - b <= MULTI_MAX_MESSAGE_BYTES) {
      // hashed later, with up to MULTI_CAPACITY - 1 other events of other entities (settleLanes
      // writes the event_hash, the CRC and the head's hash); the head's clock and wall time now
      let h = head;
      if (h) {
        h.clock++;
        h.wallMs = wallMs;
      } else {
        h = { clock: 0, wallMs, hash: new Uint8Array(HASH_BYTES) };
        this.heads.set(name, h);
      }
      lanes.push(buf, b, q);
      pend.chunk = chunk;
      pend.at[pend.count++] = off;
      pend.headOf.push(h);
      pend.heads.add(h);
      if (lanes.full) this.settleLanes();
    } else {
      this.hasher.hashInto(buf, b, q, buf, q);
      writeU32(buf, off + 4, chunk.arena.crc(off + FRAME_HEADER_BYTES, off + FRAME_HEADER_BYTES + length));
      if (head) {
        head.clock++;
        head.wallMs = wallMs;
        const h = head.hash;
        for (let i = 0; i < HASH_BYTES; i++) h[i] = buf[q + i]!;
      } else {
        this.heads.set(name, { clock: 0, wallMs, hash: copyBytes(buf, q, q + HASH_BYTES) });
      }
    }
    this.nextSeq++;
    chunk.len += frameBytes;
    chunk.frames++;
    return true;
  }

  /**
   * The 4-lane SIMD BLAKE3 kernel (format/hash/blake3-multi.ts) bulk events of at most one
   * chunk are hashed with, created on first use; null without WebAssembly SIMD or with
   * `SEGLOG_BLAKE3_SIMD=0` (each event hashed at once by hash-wasm, as before issue 18;
   * the differential suite runs both).
   */
  private hashLanes(): Blake3Multi | null {
    if (this.lanes === undefined) this.lanes = process.env.SEGLOG_BLAKE3_SIMD === '0' ? null : Blake3Multi.create();
    return this.lanes;
  }

  /**
   * Hashes the bulk events waiting in the lanes and completes them: each event_hash
   * written into its frame (the chunk), the frame's CRC, and the entity head's hash.
   * The chain only orders the events of one entity, so events of distinct entities
   * are hashed side by side; an event whose entity's head is waiting settles the lanes
   * first (bulkEncodeRaw), and so does every other write path and every read of the
   * heads (checkWritable, snapshotState, close), so no one ever sees a head unhashed.
   */
  private settleLanes(): void {
    const pend = this.pending;
    const n = pend.count;
    if (n === 0) return;
    const lanes = this.lanes!;
    const chunk = pend.chunk!;
    lanes.run();
    const buf = chunk.arena.buf;
    for (let i = 0; i < n; i++) {
      const off = pend.at[i]!;
      const length = readU32(buf, off);
      const q = off + FRAME_HEADER_BYTES + length - HASH_BYTES;
      lanes.digestInto(i, buf, q);
      writeU32(buf, off + 4, chunk.arena.crc(off + FRAME_HEADER_BYTES, off + FRAME_HEADER_BYTES + length));
      const h = pend.headOf[i]!.hash;
      for (let k = 0; k < HASH_BYTES; k++) h[k] = buf[q + k]!;
    }
    lanes.clear();
    pend.count = 0;
    pend.chunk = null;
    pend.headOf.length = 0;
    pend.heads.clear();
  }

  /**
   * The wall clock for a bulk event. The real clock is read once every
   * BULK_CLOCK_EVERY events (reading it cost ~0.1 µs, a tenth of an event's encoding);
   * the events between share a reading at most a fraction of a millisecond old, which
   * millisecond timestamps cannot tell apart anyway. An injected clock is read every time.
   */
  private bulkNow(chunk: BulkChunk): number {
    if (this.clock !== Date.now) return this.clock();
    if (chunk.clockReads++ % BULK_CLOCK_EVERY === 0) chunk.now = Date.now();
    return chunk.now;
  }

  /**
   * Room for `bytes` more in the active segment: a rotation may seal the segment and
   * create the next one. A failure there leaves the writer between segments, so like a
   * failed chunk write it makes the store refuse further writes (reopen recovers).
   */
  private bulkRoom(w: SegmentWriter, bytes: number): void {
    try {
      w.ensureRoom(bytes, this.nextSeq);
    } catch (err) {
      this.poisoned = err as Error;
      if (isFsError(err)) throw ioError(err, w.active.path, 'bulk append');
      throw err;
    }
  }

  /** Writes the chunk's frames to the active segment (used by bulkEncode* when the chunk is full, and bulkFinish). */
  private bulkFlush(w: SegmentWriter, chunk: BulkChunk): void {
    if (chunk.len === 0) return;
    // a failed store never gets a chunk written again (BulkAppender.finish after a failure);
    // checkWritable also completes the events still in the hash lanes
    this.checkWritable();
    // the footer entries of these frames, taken from memory: sealing then has nothing to read back
    const live = this.liveFooter(w);
    if (live) addChunkToFooter(live.builder, chunk.arena.buf, chunk.len, w.active.sizeBytes);
    try {
      w.write(chunk.arena.buf, 0, chunk.len, chunk.frames);
      if (live) live.frameEnd = w.active.sizeBytes;
      if (this.options.sync === 'always') w.fsync();
      else if (this.options.sync !== 'none' && (this.unhintedBytes += chunk.len) >= WRITEBACK_HINT_BYTES) {
        // the final fsync (and each rotation's) then finds most of the data on the disk already
        this.unhintedBytes = 0;
        w.startWriteback();
      }
    } catch (err) {
      if (live) this.footerSeed = null; // it may index frames that were not written
      this.poisoned = err as Error;
      if (isFsError(err)) throw ioError(err, w.active.path, 'bulk append');
      throw err;
    }
    this.committedEvents += chunk.frames;
    this.reads.invalidate();
    chunk.len = 0;
    chunk.frames = 0;
  }

  /**
   * The footer seed of the active segment when it covers every frame written so far
   * (a fresh segment gets one), so bulk frames are indexed as they are written and
   * sealing continues from there (sidx.ts sealFooter); null when the seed lags behind
   * (frames written by other paths since): sealing then reads those frames back.
   */
  private liveFooter(w: SegmentWriter): FooterSeed | null {
    const a = w.active;
    const s = this.footerSeed;
    if (s !== null) return s.segmentId === a.id && s.frameEnd === a.sizeBytes ? s : null;
    if (a.sizeBytes !== SEGMENT_HEADER_BYTES) return null;
    const spare = this.spareFooter;
    this.spareFooter = null;
    this.footerSeed = { segmentId: a.id, frameEnd: a.sizeBytes, builder: spare ? spare.recycle(a.id) : new FooterBuilder(a.id) };
    return this.footerSeed;
  }

  /** BulkEncoder (bulk.ts): writes what is pending; returns whether the events were fsynced. */
  bulkFinish(w: SegmentWriter, chunk: BulkChunk): boolean {
    this.bulkFlush(w, chunk);
    this.checkWritable();
    if (this.options.sync === 'none') return false;
    try {
      w.fsync();
    } catch (err) {
      // after a failed fsync the page cache can no longer be trusted to reach the disk
      this.poisoned = err as Error;
      if (isFsError(err)) throw ioError(err, w.active.path, 'bulk append');
      throw err;
    }
    return true;
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
    this.subscribers.add(entry);
    return () => this.subscribers.delete(entry);
  }

  private notify(buf: Uint8Array, starts: number[]): void {
    if (this.subscribers.size === 0) return;
    for (const s of starts) {
      const b = s + FRAME_PREFIX_BYTES;
      for (const sub of this.subscribers) if (sub.test(buf, b)) sub.fn(decodeEvent(buf, b));
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new SeglogError('closed', 'store is closed', { file: this.dir });
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

  /** The filesystem this store runs on (for maintenance code in the engine). */
  get fileSystem(): FileSystem {
    return this.fs;
  }

  get hashFn(): Blake3 {
    return this.hasher;
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
    if (this.closed) return;
    this.settleLanes();
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
    if (!this.poisoned) this.lock?.release();
    this.lock = null;
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

