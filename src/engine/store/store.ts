/*
 * Over 500 lines, knowingly (issue 13 asks for a split): the store's open, event
 * encoder, write path, bulk appender and read view still share private state here
 * (heads, next sequence, the encode buffer, the writer); the split into store/open,
 * store/encoder, store/write-path, store/bulk and store/read-view is the next step
 * and was not done in issue 13's time (see its report).
 */
import { randomFillSync } from 'node:crypto';
import { basename, join } from 'node:path';
import { keepBytesBeyondFrames } from '../recovery/beyond-frames-copy.js';
import { type Blake3, createHasher, HASH_BYTES } from '../../format/hash/blake3.js';
import { copyBytes, toHex, utf8, writeU16, writeU32, writeU64 } from '../../format/bytes.js';
import { CrcArena } from '../../format/hash/crc32c.js';
import {
  decodeEvent,
  type DecodedEvent,
  encodeEventFrame,
  eventFrameSize,
  ev,
  EV,
  isValidKind,
  makeUuidV7,
  MAX_ENTITY_BYTES,
  MAX_PAYLOAD_BYTES,
  MAX_SCOPE_BYTES,
  MAX_SAFE_U64,
  uuidFromString,
  ZERO_HASH,
} from '../../format/event.js';
import { FRAME_HEADER_BYTES, FRAME_PREFIX_BYTES, FrameType, MAX_FRAME_LENGTH } from '../../format/frame.js';
import { SEGMENT_HEADER_BYTES } from '../../format/segment-header.js';
import { encodeAbort, encodeBegin, encodeCommit, MARKER_BODY_BYTES, MARKER_FRAME_BYTES } from '../../format/marker.js';
import { streamCommitted, type FrameLocation } from '../log/committed-stream.js';
import { ioError, SeglogError } from '../io/errors.js';
import { type FileSystem, isCrash, isFsError } from '../io/fs-types.js';
import { RealFs } from '../io/real-fs.js';
import { exists, readFully } from '../io/fs-util.js';
import { keepCutTail } from '../recovery/cut-tail-copy.js';
import { LOCK_FILE, storePaths } from '../io/layout.js';
import { type LockEnv, realLockEnv, StoreLock } from '../io/lock.js';
import { DEFAULT_OPTIONS, type StoreOptions, validateOptions } from '../io/options.js';
import { compileRegion, type Region } from '../log/region.js';
import { type EntityHead, type RecoveryScan } from '../recovery/recovery-scan.js';
import { type ColdStart, coldStart, type ColdStartInfo, type ColdStartOptions } from '../index/cold-start.js';
import { CheckpointSession, deleteCheckpoint, writeCheckpoint } from '../index/checkpoint.js';
import { FooterBuilder, type FooterSeed, sealFooter } from '../index/sidx.js';
import { type SealHook, SegmentWriter } from '../segment/segment-writer.js';
import { readMeta, writeMeta } from '../io/store-meta.js';
import { listSegments, type SegmentFile } from '../segment/walker.js';
import { MAX_MARKER_COUNT, type RawFrame, type RawFrameWriter, type RawEventResult, type RawWriteResult } from './raw-frames.js';
import { Txn } from './txn.js';
import { EntityTable } from '../log/entity-table.js';

/** Named points in the writer where tests can fail or crash a batch. */
export interface InjectionHooks {
  afterBeginWritten?(txnId: number): void;
  afterItemWritten?(txnId: number, index: number): void;
  /** COMMIT is in the file but not yet fsynced. */
  afterCommitWritten?(txnId: number): void;
  beforePublish?(txnId: number): void;
}

export interface OpenOptions extends Partial<StoreOptions> {
  readOnly?: boolean;
  /** Create the store when the directory is missing or empty (read-write only; default true). */
  create?: boolean;
  fs?: FileSystem;
  /** Wall clock in ms (injected for determinism and for regressing-clock tests). */
  clock?: () => number;
  /** Fills a buffer with random bytes (for event ids). */
  random?: (out: Uint8Array) => void;
  lockEnv?: LockEnv;
  onWarning?: (message: string) => void;
  inject?: InjectionHooks;
  /** Called when a segment is sealed, after its SIDX footer is written. */
  onSeal?: SealHook;
  /** Which cold-start ways the open may take (all by default; tests and benchmarks turn some off). */
  coldStart?: Pick<ColdStartOptions, 'useCheckpoint' | 'useFooters'>;
  /** Write index.ckpt at a clean close (default true). */
  writeCheckpoint?: boolean;
}

export interface Coordinate {
  entity: string;
  scope: string;
}

export interface AppendOptions {
  kind?: { category: number; type: number };
  correlationId?: string | null;
  causationId?: string | null;
}

export interface BatchItem extends AppendOptions {
  entity: string;
  scope: string;
  payload: Uint8Array | string | object;
  /** Causation pointing at an earlier item of the same batch, by index. */
  causationItem?: number;
}

export interface Receipt {
  eventId: string;
  seq: number;
  clock: number;
  wallMs: number;
  eventHash: string;
  /** Whether the event was fsynced before the call returned. */
  durable: boolean;
}

export type Subscriber = (event: DecodedEvent) => void;

const DEFAULT_KIND = { category: 1, type: 0 };
const RANDOM_POOL_BYTES = 4096;
const ID_RANDOM_BYTES = 10;
/** The bulk path reads the real wall clock once per this many events (Store.bulkNow). */
const BULK_CLOCK_EVERY = 64;
/** Bulk appends are written in chunks of about this size. */
const BULK_CHUNK_BYTES = 1024 * 1024;

interface PreparedItem {
  entity: Uint8Array;
  entityText: string;
  scope: Uint8Array;
  payload: Uint8Array;
  kind: { category: number; type: number };
  correlation: Uint8Array | null;
  causation: Uint8Array | null;
  causationItem: number | undefined;
  frameBytes: number;
}

/**
 * An open store. All methods are synchronous except `open`, which awaits the hasher.
 * One process writes (it holds the LOCK); readers open read-only and see whole
 * committed batches only.
 */
export class Store implements RawFrameWriter {
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
  private closed = false;
  private poisoned: Error | null = null;
  private encodeBuf = new Uint8Array(64 * 1024);
  private randomPool = new Uint8Array(RANDOM_POOL_BYTES);
  private randomPos = RANDOM_POOL_BYTES;
  /** What the last encodeNext used (one object, no allocation per event). */
  private readonly encoded = { clock: 0, wallMs: 0 };
  private subscribers = new Set<{ test: (b: Uint8Array, o: number) => boolean; fn: Subscriber }>();
  private idIndex: Map<string, FrameLocation> | null = null;
  private hashIndex: Map<string, FrameLocation> | null = null;
  /** The open-time scan (what recovery found), for stats and verify. */
  readonly recovery: RecoveryScan;
  /** How the open got its state: checkpoint used or not, each segment's footer and source. */
  readonly coldStart: ColdStartInfo;
  private footerSeed: FooterSeed | null;
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
      let cold = coldStart(fs, dir, listSegments(fs, dir), { ...opts.coldStart, wantSeed: !readOnly, warn });
      let scan = cold.scan;
      const damage = describeDamage(scan);
      if (damage) {
        if (!readOnly) {
          throw new SeglogError('needs_repair', `${damage.message}; the store needs \`seglog repair ${dir}\` before it can be written`, {
            file: damage.file,
            offset: damage.offset,
          });
        }
        warn(`${damage.file}: at byte ${damage.offset}: ${damage.message}`);
      }
      // A batch can span segments: once its part in the last segment is cut (a segment
      // left with nothing is removed), the rest of it may end the segment before, so cut
      // until no incomplete tail is left. Cutting once left a second open to cut again:
      // recovery was not idempotent (found by `seglog drill`, cut mode). Each cut
      // truncates a segment to its header or removes a segment with no frame
      // (recovery-scan.ts), so twice the segment count bounds the loop; a bound of one
      // cut per segment stopped halfway when open transactions spanned several segments
      // and left the rest to the next open (drill seed 1, point 56: nextSeq 10 then 8).
      for (let cuts = 2 * scan.segments.length + 2; !readOnly && scan.tail && cuts > 0; cuts--) {
        cutTail(fs, dir, scan, warn, opts.clock ?? Date.now);
        const again = coldStart(fs, dir, listSegments(fs, dir), { ...opts.coldStart, useCheckpoint: false, wantSeed: true });
        cold = { ...again, info: { ...again.info, checkpoint: cold.info.checkpoint, checkpointMessage: cold.info.checkpointMessage } };
        scan = cold.scan;
      }
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
    if (this.closed) throw new SeglogError('closed', 'store is closed', { file: this.dir });
    if (this.readOnly || !this.writer) throw new SeglogError('read_only', 'store is open read-only', { file: this.dir });
    if (this.poisoned) {
      throw new SeglogError('poisoned', `an earlier write failed and could not be undone (${this.poisoned.message}); reopen the store`, {
        file: this.dir,
      });
    }
    return this.writer;
  }

  private prepare(item: BatchItem, index: number, batch: boolean): PreparedItem {
    const where = batch ? `batch item ${index}: ` : '';
    if (typeof item.entity !== 'string' || item.entity.length === 0) throw new SeglogError('validation', `${where}entity must be a non-empty string`);
    if (typeof item.scope !== 'string') throw new SeglogError('validation', `${where}scope must be a string`);
    // Buffer.from: ~6x faster than TextEncoder.encode for short strings (docs/DECISIONS.md, Performance log)
    const entity = Buffer.from(item.entity, 'utf8');
    const scope = Buffer.from(item.scope, 'utf8');
    if (entity.length > MAX_ENTITY_BYTES) throw new SeglogError('validation', `${where}entity is ${entity.length} bytes, over ${MAX_ENTITY_BYTES}`);
    if (scope.length > MAX_SCOPE_BYTES) throw new SeglogError('validation', `${where}scope is ${scope.length} bytes, over ${MAX_SCOPE_BYTES}`);
    const payload = encodePayload(item.payload, where);
    if (payload.length > MAX_PAYLOAD_BYTES) throw new SeglogError('validation', `${where}payload is ${payload.length} bytes, over ${MAX_PAYLOAD_BYTES}`);
    const kind = item.kind ?? DEFAULT_KIND;
    if (!isValidKind(kind.category, kind.type, false)) {
      throw new SeglogError('validation', `${where}kind must be category 1..65535 : type 0..65535 (category 0 is reserved)`);
    }
    const correlation = parseId(item.correlationId, `${where}correlationId`);
    const causation = parseId(item.causationId, `${where}causationId`);
    if (item.causationItem !== undefined) {
      if (!batch || !Number.isInteger(item.causationItem) || item.causationItem < 0 || item.causationItem >= index) {
        throw new SeglogError('validation', `${where}causationItem must name an earlier item of the same batch`);
      }
    }
    const frameBytes = eventFrameSize(entity.length, scope.length, payload.length);
    if (frameBytes - FRAME_HEADER_BYTES > MAX_FRAME_LENGTH) throw new SeglogError('validation', `${where}event is too large to frame`);
    return { entity, entityText: item.entity, scope, payload, kind, correlation, causation, causationItem: item.causationItem, frameBytes };
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
      this.idIndex = null;
      this.hashIndex = null;
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
      const frame = this.readFrameBytes(loc);
      for (const sub of this.subscribers) if (sub.test(frame, FRAME_PREFIX_BYTES)) sub.fn(decodeEvent(frame, FRAME_PREFIX_BYTES));
    }
  }

  private readFrameBytes(loc: FrameLocation): Uint8Array {
    const fd = this.fs.open(loc.path, 'r');
    try {
      const head = new Uint8Array(FRAME_PREFIX_BYTES);
      readFully(this.fs, fd, head, 0, head.length, loc.offset);
      const length = head[0]! | (head[1]! << 8) | (head[2]! << 16) | (head[3]! << 24);
      const frame = new Uint8Array(FRAME_HEADER_BYTES + Math.min(length >>> 0, MAX_FRAME_LENGTH));
      readFully(this.fs, fd, frame, 0, frame.length, loc.offset);
      return frame;
    } finally {
      this.fs.close(fd);
    }
  }

  // ========================================================== end of raw transaction frames

  private writeItems(items: BatchItem[], batch: boolean): Receipt[] {
    const w = this.checkWritable();
    if (batch && items.length > this.options.batchMaxSize) {
      throw new SeglogError('validation', `batch of ${items.length} items is over batchMaxSize ${this.options.batchMaxSize}`);
    }
    const prepared = items.map((it, i) => this.prepare(it, i, batch));
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
      this.indexNew(buf, starts[i]! + FRAME_PREFIX_BYTES, locations[i]!);
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

  /** @internal used by BulkAppender */
  bulkEncode(w: SegmentWriter, chunk: BulkChunk, item: BatchItem): void {
    const p = this.prepare(item, 0, false);
    if (chunk.len + p.frameBytes > chunk.arena.buf.length || w.active.sizeBytes + chunk.len + p.frameBytes > this.options.segmentMaxBytes) {
      this.bulkFlush(w, chunk);
      chunk.arena.grow(p.frameBytes);
    }
    const head = this.heads.get(p.entityText);
    const wallMs = Math.max(this.clock(), head ? head.wallMs : 0);
    const id = new Uint8Array(16);
    makeUuidV7(id, 0, wallMs, this.randomBytes(ID_RANDOM_BYTES), this.randomPos - ID_RANDOM_BYTES);
    const off = chunk.len;
    this.bulkRoom(w, chunk.len + p.frameBytes);
    const size = encodeEventFrame(
      chunk.arena.buf,
      off,
      {
        id,
        seq: this.nextSeq,
        clock: head ? head.clock + 1 : 0,
        wallMs,
        txnId: 0,
        kindCategory: p.kind.category,
        kindType: p.kind.type,
        correlationId: p.correlation,
        causationId: p.causation,
        prevHash: head ? head.hash : ZERO_HASH,
        entity: p.entity,
        scope: p.scope,
        payload: p.payload,
      },
      this.hasher,
    );
    const hashAt = off + size - HASH_BYTES;
    const buf = chunk.arena.buf;
    if (head) {
      head.clock++;
      head.wallMs = wallMs;
      head.hash.set(buf.subarray(hashAt, hashAt + HASH_BYTES));
    } else {
      // a copy: buf is a Buffer (the arena's), whose slice() would alias the chunk
      this.heads.set(p.entityText, { clock: 0, wallMs, hash: copyOf(buf, hashAt, hashAt + HASH_BYTES) });
    }
    this.nextSeq++;
    chunk.len += size;
    chunk.frames++;
  }

  /**
   * @internal used by BulkAppender.addRaw: the same event as `bulkEncode` of the item
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
    this.hasher.hashInto(buf, b, q, buf, q);
    const length = q + HASH_BYTES - b + 1; // type byte + body
    writeU32(buf, off, length);
    buf[off + 8] = FrameType.EVENT;
    writeU32(buf, off + 4, chunk.arena.crc(off + FRAME_HEADER_BYTES, off + FRAME_HEADER_BYTES + length));
    if (head) {
      head.clock++;
      head.wallMs = wallMs;
      const h = head.hash;
      for (let i = 0; i < HASH_BYTES; i++) h[i] = buf[q + i]!;
    } else {
      this.heads.set(name, { clock: 0, wallMs, hash: copyOf(buf, q, q + HASH_BYTES) });
    }
    this.nextSeq++;
    chunk.len += frameBytes;
    chunk.frames++;
    return true;
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

  /** @internal */
  bulkFlush(w: SegmentWriter, chunk: BulkChunk): void {
    if (chunk.len === 0) return;
    // a failed store never gets a chunk written again (BulkAppender.finish after a failure)
    this.checkWritable();
    // the footer entries of these frames, taken from memory: sealing then has nothing to read back
    const live = this.liveFooter(w);
    if (live) addChunkToFooter(live.builder, chunk.arena.buf, chunk.len, w.active.sizeBytes);
    try {
      w.write(chunk.arena.buf, 0, chunk.len, chunk.frames);
      if (live) live.frameEnd = w.active.sizeBytes;
      if (this.options.sync === 'always') w.fsync();
    } catch (err) {
      if (live) this.footerSeed = null; // it may index frames that were not written
      this.poisoned = err as Error;
      if (isFsError(err)) throw ioError(err, w.active.path, 'bulk append');
      throw err;
    }
    this.committedEvents += chunk.frames;
    this.idIndex = null;
    this.hashIndex = null;
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
    this.footerSeed = { segmentId: a.id, frameEnd: a.sizeBytes, builder: new FooterBuilder(a.id) };
    return this.footerSeed;
  }

  /** @internal */
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

  private segmentFiles(): SegmentFile[] {
    return listSegments(this.fs, this.dir);
  }

  /** Committed events matching the region, in commit order. */
  query(region: Region = {}, limit = Number.MAX_SAFE_INTEGER): DecodedEvent[] {
    const out: DecodedEvent[] = [];
    this.scan(region, (e) => {
      out.push(e);
      return out.length < limit;
    });
    return out;
  }

  /** Streams committed events matching the region; return false from `fn` to stop. */
  scan(region: Region, fn: (e: DecodedEvent) => boolean | void): void {
    this.checkOpen();
    const test = compileRegion(region);
    let stop = false;
    streamCommitted(
      this.fs,
      this.segmentFiles(),
      (buf, b) => {
        if (stop) return;
        if (fn(decodeEvent(buf, b)) === false) stop = true;
      },
      { filter: test, shouldStop: () => stop, lastIsActive: true },
    );
  }

  get(eventId: string): DecodedEvent | null {
    this.checkOpen();
    const loc = this.indexes().ids.get(eventId.toLowerCase());
    return loc ? this.readAt(loc) : null;
  }

  /** The event and its ancestors along the entity chain, newest first, at most `limit`. */
  walkAncestors(eventId: string, limit = 1000): DecodedEvent[] {
    const out: DecodedEvent[] = [];
    let cur = this.get(eventId);
    const { hashes } = this.indexes();
    while (cur && out.length < limit) {
      out.push(cur);
      if (/^0+$/.test(cur.prevHash)) break;
      const loc = hashes.get(cur.prevHash);
      cur = loc ? this.readAt(loc) : null;
    }
    return out;
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

  private indexes(): { ids: Map<string, FrameLocation>; hashes: Map<string, FrameLocation> } {
    if (!this.idIndex || !this.hashIndex) {
      const ids = new Map<string, FrameLocation>();
      const hashes = new Map<string, FrameLocation>();
      streamCommitted(this.fs, this.segmentFiles(), (buf, b, _n, loc) => {
        ids.set(decodeEventId(buf, b), loc);
        const hs = ev.hashStart(buf, b);
        hashes.set(toHex(buf, hs, hs + HASH_BYTES), loc);
      }, { filter: () => true });
      this.idIndex = ids;
      this.hashIndex = hashes;
    }
    return { ids: this.idIndex, hashes: this.hashIndex };
  }

  private indexNew(buf: Uint8Array, b: number, loc: FrameLocation): void {
    if (!this.idIndex || !this.hashIndex) return;
    this.idIndex.set(decodeEventId(buf, b), loc);
    const hs = ev.hashStart(buf, b);
    this.hashIndex.set(toHex(buf, hs, hs + HASH_BYTES), loc);
  }

  private readAt(loc: FrameLocation): DecodedEvent {
    const fd = this.fs.open(loc.path, 'r');
    try {
      const head = new Uint8Array(FRAME_PREFIX_BYTES);
      readFully(this.fs, fd, head, 0, head.length, loc.offset);
      const length = head[0]! | (head[1]! << 8) | (head[2]! << 16) | (head[3]! << 24);
      const frame = new Uint8Array(FRAME_HEADER_BYTES + Math.min(length >>> 0, MAX_FRAME_LENGTH));
      readFully(this.fs, fd, frame, 0, frame.length, loc.offset);
      return decodeEvent(frame, FRAME_PREFIX_BYTES);
    } finally {
      this.fs.close(fd);
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new SeglogError('closed', 'store is closed', { file: this.dir });
  }

  /** Heads and counters, as recovery would rebuild them (used by tests and the checkpoint). */
  snapshotState(): { nextSeq: number; nextTxnId: number; heads: Map<string, EntityHead> } {
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

/**
 * One bulk event as byte ranges (each field may sit in a different buffer): what
 * `BulkAppender.addRaw` encodes. Entity, scope and payload are the UTF-8 bytes
 * `BulkAppender.add` would have made of the item's strings.
 */
export interface RawBulkItem {
  entity: Uint8Array;
  entityStart: number;
  entityEnd: number;
  scope: Uint8Array;
  scopeStart: number;
  scopeEnd: number;
  payload: Uint8Array;
  payloadStart: number;
  payloadEnd: number;
  kindCategory: number;
  kindType: number;
}

/** The bulk session's encode buffer (an arena: CRC in place) and its entity names cached by bytes. */
export interface BulkChunk {
  arena: CrcArena;
  /** bulkNow's last reading of the real clock, and how many events asked since the session began */
  now: number;
  clockReads: number;
  names: EntityTable<true>;
  len: number;
  frames: number;
}

/** Bulk append session; see Store.bulk(). */
export class BulkAppender {
  private chunk: BulkChunk;
  count = 0;
  firstSeq = -1;
  constructor(
    private readonly store: Store,
    private readonly w: SegmentWriter,
  ) {
    this.chunk = { arena: new CrcArena(BULK_CHUNK_BYTES), names: new EntityTable<true>(), len: 0, frames: 0, now: 0, clockReads: 0 };
  }
  add(item: BatchItem): void {
    this.store.bulkEncode(this.w, this.chunk, item);
    this.count++;
  }
  /**
   * Appends the event `add` would append for {entity, scope, kind, payload} given as
   * bytes; false (nothing done) when it breaks a limit: call `add` for the exact error.
   */
  addRaw(raw: RawBulkItem): boolean {
    if (!this.store.bulkEncodeRaw(this.w, this.chunk, raw)) return false;
    this.count++;
    return true;
  }
  /** Writes what is pending; returns whether the events were fsynced. */
  finish(): boolean {
    return this.store.bulkFinish(this.w, this.chunk);
  }
}

/** Adds the EVENT frames of a bulk chunk, about to be written at `segOffset`, to a footer. */
function addChunkToFooter(b: FooterBuilder, buf: Uint8Array, len: number, segOffset: number): void {
  for (let off = 0; off < len; ) {
    const length = buf[off]! | (buf[off + 1]! << 8) | (buf[off + 2]! << 16) | (buf[off + 3]! << 24);
    b.addEvent(buf, off + FRAME_PREFIX_BYTES, segOffset + off);
    off += FRAME_HEADER_BYTES + (length >>> 0);
  }
}

/** A fresh array holding src[start, end) (Buffer's own slice() would share memory). */
function copyOf(src: Uint8Array, start: number, end: number): Uint8Array {
  const out = new Uint8Array(end - start);
  for (let i = start; i < end; i++) out[i - start] = src[i]!;
  return out;
}

/** Copies src[start, end) to dst at `at` (a native copy for long ranges); returns the end. */
function copyInto(dst: Uint8Array, at: number, src: Uint8Array, start: number, end: number): number {
  if (end - start < 64) {
    for (let i = start; i < end; i++) dst[at++] = src[i]!;
    return at;
  }
  dst.set(new Uint8Array(src.buffer, src.byteOffset + start, end - start), at);
  return at + end - start;
}

function decodeEventId(buf: Uint8Array, b: number): string {
  const h = toHex(buf, b + EV.ID, b + EV.ID + 16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function encodePayload(p: BatchItem['payload'], where: string): Uint8Array {
  if (p instanceof Uint8Array) return p;
  if (typeof p === 'string') return Buffer.from(p, 'utf8');
  let json: string | undefined;
  try {
    json = JSON.stringify(p);
  } catch (err) {
    throw new SeglogError('validation', `${where}payload cannot be encoded as JSON: ${(err as Error).message}`);
  }
  if (json === undefined) throw new SeglogError('validation', `${where}payload cannot be encoded as JSON`);
  return Buffer.from(json, 'utf8');
}

function parseId(id: string | null | undefined, what: string): Uint8Array | null {
  if (id === null || id === undefined) return null;
  const b = uuidFromString(id);
  if (!b) throw new SeglogError('validation', `${what} is not a UUID: ${id}`);
  return b;
}

/** Makes sure `dir` is a store (creating it when allowed) and returns its options. */
function prepareDirectory(fs: FileSystem, dir: string, opts: OpenOptions, readOnly: boolean): StoreOptions {
  const paths = storePaths(dir);
  let isDir: boolean;
  try {
    isDir = fs.stat(dir).isDirectory;
  } catch (err) {
    if (!isFsError(err, 'ENOENT')) throw ioError(err, dir, 'stat');
    if (readOnly || opts.create === false) throw new SeglogError('not_found', 'no such store directory', { file: dir });
    fs.mkdir(dir);
    isDir = true;
  }
  if (!isDir) throw new SeglogError('not_a_store', 'not a directory (give a store directory, or a segment file to commands that take one)', { file: dir });
  if (exists(fs, paths.meta)) {
    let options: StoreOptions;
    try {
      options = readMeta(fs, paths.meta).options;
    } catch (err) {
      if (err instanceof SeglogError) throw err;
      throw ioError(err, paths.meta, 'read store metadata');
    }
    if (!readOnly) syncStoreName(fs, dir);
    return options;
  }
  // a crash while creating the store can leave a temp file or a lock: still an empty directory
  const entries = fs.readdir(dir).filter((n) => !n.endsWith('.tmp') && n !== LOCK_FILE);
  if (readOnly || opts.create === false || entries.length > 0) {
    throw new SeglogError('not_a_store', `not a seglog store (no ${basename(paths.meta)})`, { file: dir });
  }
  const options = validateOptions({
    segmentMaxBytes: opts.segmentMaxBytes ?? DEFAULT_OPTIONS.segmentMaxBytes,
    batchMaxSize: opts.batchMaxSize ?? DEFAULT_OPTIONS.batchMaxSize,
    batchMaxBytes: opts.batchMaxBytes ?? DEFAULT_OPTIONS.batchMaxBytes,
    sync: opts.sync ?? DEFAULT_OPTIONS.sync,
    syncEveryNEvents: opts.syncEveryNEvents ?? DEFAULT_OPTIONS.syncEveryNEvents,
  });
  writeMeta(fs, paths.meta, options);
  syncStoreName(fs, dir);
  return options;
}

/**
 * Makes the store directory's own name durable (fsync of its parent) on every read-write
 * open: the directory may come from an earlier attempt whose fsync failed after mkdir or
 * after writing seglog.json (a retry then finds it and would never fsync again), or from
 * the user. Without it a power cut can take the whole store, durable appends included
 * (found by the seeded simulation, seeds 6306 and 9066).
 */
function syncStoreName(fs: FileSystem, dir: string): void {
  fs.fsyncDir(join(dir, '..'));
}

/** The first damage that forbids writing, if any: corruption in sealed data or a broken chain. */
function describeDamage(scan: RecoveryScan): { file: string; offset: number; message: string } | null {
  const f = scan.faults.find((x) => x.kind !== 'torn');
  if (f) return { file: f.path, offset: f.offset, message: f.kind === 'bad_header' ? `bad segment header: ${f.detail}` : `corrupt frame: ${f.detail}` };
  const s = scan.semanticFaults[0];
  if (s) return { file: s.path, offset: s.offset, message: `${s.code.replace('_', ' ')}: ${s.message}` };
  return null;
}

/**
 * Cuts the active segment's torn or incomplete tail. The cut bytes are first copied
 * to lost+found/ (fsynced, name made durable), then the segment is truncated and
 * fsynced: a crash in between leaves a copy and an uncut file, and the next open
 * simply cuts again.
 */
function cutTail(fs: FileSystem, dir: string, scan: RecoveryScan, warn: (m: string) => void, clock: () => number): void {
  const tail = scan.tail!;
  const seg = scan.segments[tail.segIndex]!;
  const paths = storePaths(dir);
  const fd = fs.open(seg.path, 'r+');
  try {
    const size = fs.fstat(fd).sizeBytes;
    const keep = tail.offset < SEGMENT_HEADER_BYTES ? 0 : tail.offset;
    if (size > keep) {
      const bytes = new Uint8Array(size - keep);
      readFully(fs, fd, bytes, 0, bytes.length, keep);
      // idempotent: a recovery that crashed after its copy leaves the copy to reuse (cut-tail-copy.ts)
      const kept = keepCutTail(fs, paths.lostFound, seg.name, keep, tail.reason === 'torn' ? 'torn-tail' : 'incomplete-batch', bytes, clock);
      warn(`${seg.path}: at byte ${keep}: cut ${bytes.length} bytes of ${tail.reason === 'torn' ? 'torn tail' : 'incomplete batch'}; kept in ${kept}`);
    }
    if (keep === 0) {
      fs.close(fd);
      fs.unlink(seg.path);
      fs.fsyncDir(dir);
      return;
    }
    fs.truncate(fd, keep);
    fs.fsync(fd);
  } catch (err) {
    try {
      fs.close(fd);
    } catch {
      // already closed
    }
    throw err;
  }
  fs.close(fd);
}
