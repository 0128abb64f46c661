import { MAX_ENTITY_BYTES, MAX_PAYLOAD_BYTES, MAX_SCOPE_BYTES, parseKind } from '../format/event.js';
import {
  checkKvKey,
  checkKvVersion,
  encodeKvDeletePayload,
  encodeKvPutPayload,
  encodeKvValue,
  KV_KIND_CATEGORY,
  KV_SCOPE,
  kvEntity,
  KvKind,
} from '../format/kv.js';
import { utf8 } from '../format/bytes.js';
import { ioError, SeglogError } from '../engine/io/errors.js';
import type { FileSystem } from '../engine/io/fs-types.js';
import { RealFs } from '../engine/io/real-fs.js';
import { MAX_MARKER_COUNT, type RawFrame } from '../engine/store/raw-frames.js';
import { type OpenOptions, Store } from '../engine/store/store.js';
import { SnapshotScheduler } from '../engine/wal/snapshot.js';

/**
 * `seglog fixture build`: writes frames exactly as a JSONL spec says, one frame per line,
 * including what the normal API never produces (incomplete, aborted, interleaved and
 * orphaned transactions, stray markers). It is a test tool for fixtures and drills.
 * The store still assigns sequences, entity clocks, wall times and hash chains, so
 * `verify` reports only what the spec made on purpose (docs/CLI.md, "fixture build").
 *
 * Spec lines (unknown types or fields are errors):
 *   {"type":"begin","txn":N[,"count":C]}            BEGIN (count default 0 = not known)
 *   {"type":"put","txn":N,"key":K,"value":V[,"version":X]}
 *   {"type":"delete","txn":N,"key":K[,"version":X]}
 *   {"type":"commit","txn":N[,"count":C]}           COMMIT (count default: items of N since its BEGIN)
 *   {"type":"abort","txn":N}
 *   {"type":"event","entity":E,"scope":S,"payload":P[,"kind":"C:T"][,"txn":N]}
 * txn: 1..2^53-1 for markers, 0..2^53-1 for put/delete/event (0 = outside any
 * transaction; default 0 for event). version: default one above the largest so far.
 * payload: a string is stored as its UTF-8 text, anything else as JSON (like `append`).
 */

export type FixtureOp =
  | { type: 'begin' | 'commit'; txn: number; count?: number }
  | { type: 'abort'; txn: number }
  | { type: 'put'; txn: number; key: string; value: unknown; version?: number }
  | { type: 'delete'; txn: number; key: string; version?: number }
  | { type: 'event'; entity: string; scope: string; payload: unknown; kind?: string; txn?: number };

export interface FixtureBuildOptions extends Pick<OpenOptions, 'segmentMaxBytes' | 'sync' | 'fs' | 'lockEnv' | 'onWarning' | 'onSeal' | 'clock' | 'random'> {
  /** Seed for event ids (deterministic fixtures); overrides `random`. Default: random. */
  seed?: number;
  /** Fixed wall time in ms for every event (deterministic fixtures); overrides `clock`. */
  wallMs?: number;
  /** Write a key/value snapshot after every N COMMIT lines (engine/snapshot.ts). */
  snapshotEvery?: number;
  /**
   * Asked every STOP_CHECK_EVERY_LINES spec lines, in both passes (Ctrl-C): once true the
   * build stops there: the lines read so far are written (none if still checking), the
   * store is closed without sealing (fsync, lock released) and the result says what
   * was written, with `stopped: true`.
   */
  shouldStop?: () => boolean;
  /** Spec lines done, in the check pass then in the write pass, every STOP_CHECK_EVERY_LINES lines. */
  onProgress?: (pass: 'check' | 'write', lines: number, bytes: number) => void;
}

export interface FixtureBuildResult {
  lines: number;
  frames: number;
  events: number;
  markers: number;
  /** Snapshots written (with `snapshotEvery`). */
  snapshots?: number;
  /** Set when `shouldStop` stopped the build: the counts are of what was written. */
  stopped?: boolean;
}

/** How often a build asks `shouldStop` and reports progress: a few milliseconds of lines. */
export const STOP_CHECK_EVERY_LINES = 1024;

/** Thrown out of the line loop when `shouldStop` says so; never leaves buildFixture. */
class BuildStopped extends Error {}

/** Longest spec line accepted (a 16 MiB payload as JSON text, escaped, fits). */
export const MAX_SPEC_LINE_BYTES = 64 * 1024 * 1024;
/** Frames are handed to the store in groups of about this many bytes (one write each). */
const WRITE_GROUP_BYTES = 1024 * 1024;
const WRITE_GROUP_FRAMES = 8192;
const READ_CHUNK_BYTES = 1024 * 1024;
const MAX_CACHED_ENTITIES = 65536;
const FIELDS: Record<FixtureOp['type'], { required: string[]; optional: string[] }> = {
  begin: { required: ['txn'], optional: ['count'] },
  commit: { required: ['txn'], optional: ['count'] },
  abort: { required: ['txn'], optional: [] },
  put: { required: ['txn', 'key', 'value'], optional: ['version'] },
  delete: { required: ['txn', 'key'], optional: ['version'] },
  event: { required: ['entity', 'scope', 'payload'], optional: ['kind', 'txn'] },
};

/** Parses and checks one spec line; throws a validation error naming the problem. */
export function parseSpecLine(text: string): FixtureOp {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new SeglogError('bad_input', `not JSON: ${(err as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new SeglogError('bad_input', 'a spec line must be a JSON object');
  const o = v as Record<string, unknown>;
  const type = o.type;
  if (typeof type !== 'string' || !(type in FIELDS)) {
    throw new SeglogError('bad_input', `"type" must be one of ${Object.keys(FIELDS).join(', ')}`);
  }
  const op = o as unknown as FixtureOp;
  checkFixtureOp(op);
  return op;
}

/** Checks an op's fields (what parseSpecLine checks after JSON parsing). */
export function checkFixtureOp(op: FixtureOp): void {
  const o = op as unknown as Record<string, unknown>;
  const f = FIELDS[op.type];
  if (f === undefined) throw new SeglogError('bad_input', `unknown type ${JSON.stringify(op.type)}`);
  for (const k of f.required) if (!(k in o)) throw new SeglogError('bad_input', `${op.type}: "${k}" is required`);
  for (const k of Object.keys(o)) {
    if (k !== 'type' && !f.required.includes(k) && !f.optional.includes(k)) throw new SeglogError('bad_input', `${op.type}: unknown field "${k}"`);
  }
  const bad = (m: string): never => {
    throw new SeglogError('bad_input', `${op.type}: ${m}`);
  };
  const markerOp = op.type === 'begin' || op.type === 'commit' || op.type === 'abort';
  if ('txn' in o && o.txn !== undefined) {
    const min = markerOp ? 1 : 0;
    if (!Number.isSafeInteger(o.txn) || (o.txn as number) < min) bad(`"txn" must be an integer from ${min} to ${Number.MAX_SAFE_INTEGER}`);
  }
  if ('count' in o && o.count !== undefined && (!Number.isInteger(o.count) || (o.count as number) < 0 || (o.count as number) > MAX_MARKER_COUNT)) {
    bad(`"count" must be an integer from 0 to ${MAX_MARKER_COUNT}`);
  }
  if (op.type === 'put' || op.type === 'delete') {
    const kp = checkKvKey(op.key);
    if (kp) bad(kp);
    if (op.version !== undefined) {
      const vp = checkKvVersion(op.version);
      if (vp) bad(vp);
    }
    if (op.type === 'put') {
      try {
        encodeKvValue(op.value);
      } catch (err) {
        bad((err as Error).message);
      }
    }
  }
  if (op.type === 'event') {
    if (typeof op.entity !== 'string' || op.entity.length === 0) bad('"entity" must be a non-empty string');
    if (typeof op.scope !== 'string') bad('"scope" must be a string');
    if (Buffer.byteLength(op.entity, 'utf8') > MAX_ENTITY_BYTES) bad(`"entity" is over ${MAX_ENTITY_BYTES} bytes`);
    if (Buffer.byteLength(op.scope, 'utf8') > MAX_SCOPE_BYTES) bad(`"scope" is over ${MAX_SCOPE_BYTES} bytes`);
    if (op.kind !== undefined && (typeof op.kind !== 'string' || parseKind(op.kind) === null)) bad('"kind" must be "category:type" (0..65535 each)');
    if (eventPayload(op.payload).length > MAX_PAYLOAD_BYTES) bad(`"payload" is over ${MAX_PAYLOAD_BYTES} bytes`);
  }
}

function eventPayload(p: unknown): Uint8Array {
  if (typeof p === 'string') return utf8.encode(p);
  const text = JSON.stringify(p);
  if (text === undefined) throw new SeglogError('bad_input', 'event: "payload" cannot be encoded as JSON');
  return utf8.encode(text);
}

/**
 * Turns checked ops into raw frames and writes them through the store, in groups.
 * Tracks, per open transaction id, the items written since its BEGIN (for the default
 * COMMIT count); memory grows with the transactions open at once.
 */
export class FixtureWriter {
  private readonly itemsSinceBegin = new Map<number, number>();
  private pending: RawFrame[] = [];
  private pendingBytes = 0;
  readonly result: FixtureBuildResult = { lines: 0, frames: 0, events: 0, markers: 0 };

  constructor(
    private readonly store: Store,
    private readonly snapshots: SnapshotScheduler | null = null,
  ) {}

  add(op: FixtureOp): void {
    this.result.lines++;
    const frame = this.toFrame(op);
    this.pending.push(frame);
    this.pendingBytes += frame.type === 'event' ? frame.payload.length + 200 : 24;
    if (this.pendingBytes >= WRITE_GROUP_BYTES || this.pending.length >= WRITE_GROUP_FRAMES) this.flush();
    if (op.type === 'commit' && this.snapshots !== null) {
      // the snapshot reads the log: the COMMIT must be written first
      if (this.snapshots.due) this.flush();
      if (this.snapshots.committed() !== null) this.result.snapshots = (this.result.snapshots ?? 0) + 1;
    }
  }

  flush(): void {
    if (this.pending.length === 0) return;
    this.store.writeRaw(this.pending, false);
    for (const f of this.pending) {
      if (f.type === 'event') this.result.events++;
      else this.result.markers++;
    }
    this.result.frames += this.pending.length;
    this.pending = [];
    this.pendingBytes = 0;
  }

  private toFrame(op: FixtureOp): RawFrame {
    switch (op.type) {
      case 'begin':
        this.itemsSinceBegin.set(op.txn, 0);
        return { type: 'begin', txnId: op.txn, count: op.count ?? 0 };
      case 'commit': {
        const items = this.itemsSinceBegin.get(op.txn) ?? 0;
        this.itemsSinceBegin.delete(op.txn);
        return { type: 'commit', txnId: op.txn, count: op.count ?? items };
      }
      case 'abort':
        this.itemsSinceBegin.delete(op.txn);
        return { type: 'abort', txnId: op.txn, count: 0 };
      case 'put':
      case 'delete': {
        this.countItem(op.txn);
        const version = op.version ?? this.nextVersion();
        const payload = op.type === 'put' ? encodeKvPutPayload(version, encodeKvValue(op.value)) : encodeKvDeletePayload(version);
        this.noteVersion(version);
        const entity = kvEntity(op.key);
        return {
          type: 'event',
          txnId: op.txn,
          entity,
          entityBytes: this.entityBytes(entity),
          scope: KV_SCOPE,
          kind: { category: KV_KIND_CATEGORY, type: op.type === 'put' ? KvKind.PUT : KvKind.DELETE },
          payload,
          kvVersion: version,
        };
      }
      case 'event': {
        const txn = op.txn ?? 0;
        this.countItem(txn);
        const kind = op.kind !== undefined ? parseKind(op.kind)! : { category: 1, type: 0 };
        return { type: 'event', txnId: txn, entity: op.entity, entityBytes: this.entityBytes(op.entity), scope: op.scope, kind, payload: eventPayload(op.payload) };
      }
    }
  }

  /** Entities repeat (a key is written many times): encode each once, within a bound. */
  private readonly entityCache = new Map<string, Uint8Array>();
  private entityBytes(entity: string): Uint8Array {
    let b = this.entityCache.get(entity);
    if (b === undefined) {
      if (this.entityCache.size >= MAX_CACHED_ENTITIES) this.entityCache.clear();
      b = utf8.encode(entity);
      this.entityCache.set(entity, b);
    }
    return b;
  }

  /** Versions of frames still pending are not in the store's counter yet. */
  private pendingVersionMax = 0;
  private nextVersion(): number {
    return Math.max(this.store.peekKvVersion(), this.pendingVersionMax + 1);
  }
  private noteVersion(v: number): void {
    if (v > this.pendingVersionMax) this.pendingVersionMax = v;
  }

  private countItem(txn: number): void {
    const n = this.itemsSinceBegin.get(txn);
    if (n !== undefined) this.itemsSinceBegin.set(txn, n + 1);
  }
}

/** Calls `fn(text, lineNo)` for every non-blank line of a file, streaming it in chunks. */
export function forEachSpecLine(fs: FileSystem, path: string, fn: (text: string, lineNo: number) => void): number {
  let fd: number;
  try {
    fd = fs.open(path, 'r');
  } catch (err) {
    throw ioError(err, path, 'open the spec');
  }
  let buf = Buffer.allocUnsafe(READ_CHUNK_BYTES);
  let len = 0;
  let pos = 0;
  let lineNo = 0;
  try {
    for (;;) {
      if (len === buf.length) {
        if (buf.length >= MAX_SPEC_LINE_BYTES) throw new SeglogError('bad_input', `line longer than ${MAX_SPEC_LINE_BYTES} bytes`, { file: path, line: lineNo + 1 });
        const bigger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(bigger, 0, 0, len);
        buf = bigger;
      }
      const got = fs.read(fd, buf, len, buf.length - len, pos);
      pos += got;
      len += got;
      let start = 0;
      for (;;) {
        const nl = buf.indexOf(10, start);
        if (nl < 0 || nl >= len) break;
        lineNo++;
        emit(buf, start, nl, lineNo);
        start = nl + 1;
      }
      if (got === 0) {
        if (start < len) emit(buf, start, len, ++lineNo);
        return lineNo;
      }
      buf.copy(buf, 0, start, len);
      len -= start;
    }
  } finally {
    fs.close(fd);
  }

  function emit(b: Buffer, s: number, e: number, n: number): void {
    const text = b.toString('utf8', s, e);
    if (text.trim().length === 0) return;
    try {
      fn(text, n);
    } catch (err) {
      if (err instanceof SeglogError && err.line === undefined && err.code === 'bad_input') {
        throw new SeglogError('bad_input', err.message, { file: path, line: n });
      }
      throw err;
    }
  }
}

/**
 * Builds (or appends to) the store at `dir` from the spec file. The spec is read twice:
 * once to check every line (nothing is written if any line is bad), once to write.
 */
export async function buildFixture(dir: string, specPath: string, opts: FixtureBuildOptions = {}): Promise<FixtureBuildResult> {
  const fs = opts.fs ?? new RealFs();
  let bytes = 0;
  const boundary = (pass: 'check' | 'write', text: string, lineNo: number): void => {
    bytes += Buffer.byteLength(text) + 1;
    if (lineNo % STOP_CHECK_EVERY_LINES !== 0) return;
    opts.onProgress?.(pass, lineNo, bytes);
    if (opts.shouldStop?.()) throw new BuildStopped();
  };
  try {
    forEachSpecLine(fs, specPath, (text, lineNo) => {
      parseSpecLine(text);
      boundary('check', text, lineNo);
    });
  } catch (err) {
    if (err instanceof BuildStopped) return { lines: 0, frames: 0, events: 0, markers: 0, stopped: true };
    throw err;
  }
  const snapshots = opts.snapshotEvery !== undefined ? await SnapshotScheduler.create(dir, opts.snapshotEvery, { fs }) : null;
  const store = await Store.open(dir, storeOptions(opts, fs));
  const w = new FixtureWriter(store, snapshots);
  let stopped = false;
  try {
    bytes = 0;
    forEachSpecLine(fs, specPath, (text, lineNo) => {
      w.add(parseSpecLine(text));
      boundary('write', text, lineNo);
    });
    w.flush();
    return w.result;
  } catch (err) {
    if (!(err instanceof BuildStopped)) throw err;
    // the lines read so far are written whole (one more write group at most); the store
    // is then closed unsealed (fsync, lock released; Store.close says why)
    stopped = true;
    w.flush();
    return { ...w.result, stopped: true };
  } finally {
    store.close({ seal: !stopped });
  }
}

/** Same as buildFixture, from ops in memory (tests and generators). */
export async function buildFixtureFromOps(dir: string, ops: readonly FixtureOp[], opts: FixtureBuildOptions = {}): Promise<FixtureBuildResult> {
  ops.forEach((op, i) => {
    try {
      checkFixtureOp(op);
    } catch (err) {
      throw new SeglogError('bad_input', `op ${i}: ${(err as Error).message}`);
    }
  });
  const snapshots = opts.snapshotEvery !== undefined ? await SnapshotScheduler.create(dir, opts.snapshotEvery, opts.fs ? { fs: opts.fs } : {}) : null;
  const store = await Store.open(dir, storeOptions(opts, opts.fs));
  try {
    const w = new FixtureWriter(store, snapshots);
    for (const op of ops) w.add(op);
    w.flush();
    return w.result;
  } finally {
    store.close();
  }
}

function storeOptions(opts: FixtureBuildOptions, fs: FileSystem | undefined): OpenOptions {
  const o: OpenOptions = { create: true };
  if (fs !== undefined) o.fs = fs;
  if (opts.segmentMaxBytes !== undefined) o.segmentMaxBytes = opts.segmentMaxBytes;
  if (opts.sync !== undefined) o.sync = opts.sync;
  if (opts.lockEnv !== undefined) o.lockEnv = opts.lockEnv;
  if (opts.onWarning !== undefined) o.onWarning = opts.onWarning;
  if (opts.onSeal !== undefined) o.onSeal = opts.onSeal;
  if (opts.clock !== undefined) o.clock = opts.clock;
  if (opts.random !== undefined) o.random = opts.random;
  if (opts.wallMs !== undefined) {
    const t = opts.wallMs;
    o.clock = () => t;
  }
  if (opts.seed !== undefined) o.random = seededRandom(opts.seed);
  return o;
}

/** mulberry32 filling event-id randomness, so a seeded build writes the same bytes. */
function seededRandom(seed: number): (out: Uint8Array) => void {
  let state = seed >>> 0;
  return (out) => {
    for (let i = 0; i < out.length; i++) {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      out[i] = ((t ^ (t >>> 14)) >>> 0) & 0xff;
    }
  };
}
