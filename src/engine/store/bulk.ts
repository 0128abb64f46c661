/**
 * The bulk append session (Store.bulk()): standalone events (each its own atomic unit)
 * encoded into one large chunk (a CRC arena) and written chunk by chunk. The session
 * owns its chunk and the writer it was started with; the state every write advances
 * (heads, sequence, clock, footer seed, poisoning) is the store's WriteState
 * (write-path.ts), shared with single appends, batches and raw frames.
 *
 * Two encoders: `add` (an item, through the write path's one event encoder
 * `encodeNext`) and `addRaw` (JSONL lines encoded from their bytes, CRC in place, the
 * hash in the SIMD lanes: hash-lanes.ts; `SEGLOG_APPEND_FAST=0` turns the byte-level
 * line path off, `SEGLOG_BLAKE3_SIMD=0` the lanes, and the differential suite runs both).
 * Once the session's chunks go to the write-behind thread (SegmentWriter.writeLater),
 * `addRaw` leaves the hashes to that thread as well (format/chain-hash.ts, chain-slots.ts;
 * `SEGLOG_HASH_BEHIND=0` keeps them in the lanes): it completes each chunk's hashes and
 * CRCs before writing it, and the chunk's footer entries are taken from the written bytes.
 */
import { copyBytes, readU32, writeU16, writeU32, writeU64 } from '../../format/bytes.js';
import { chainHashers, type ChainHashers, fillChainHashes, HASH_DONE } from '../../format/chain-hash.js';
import { eventFrameSize, EV, isValidKind, makeUuidV7, MAX_ENTITY_BYTES, MAX_PAYLOAD_BYTES, MAX_SCOPE_BYTES, ZERO_HASH } from '../../format/event.js';
import { HASH_BYTES } from '../../format/hash/blake3.js';
import { Blake3Multi } from '../../format/hash/blake3-multi.js';
import { crc32c, CrcArena } from '../../format/hash/crc32c.js';
import { FRAME_HEADER_BYTES, FRAME_PREFIX_BYTES, FrameType, MAX_FRAME_LENGTH, sealFrameCrcs } from '../../format/frame.js';
import type { FooterBuilder } from '../index/sidx.js';
import { EntityTable } from '../log/entity-table.js';
import type { SegmentWriter } from '../segment/segment-writer.js';
import type { EntityHead } from '../recovery/recovery-scan.js';
import type { BatchItem } from './api.js';
import { ChainSlots } from './chain-slots.js';
import { prepareItem } from './event-input.js';
import { LANE_MAX_BODY_BYTES } from './hash-lanes.js';
import { ID_RANDOM_BYTES, type WriteState } from './write-path.js';

/** The bulk path reads the real wall clock once per this many events (BulkAppender.now). */
export const BULK_CLOCK_EVERY = 64;
/** Bulk appends are written in chunks of about this size. */
export const BULK_CHUNK_BYTES = 1024 * 1024;
/** Bulk chunks written between two writeback hints (FileSystem.startWritebackOf). */
const WRITEBACK_HINT_BYTES = 16 * 1024 * 1024;

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

/** The bulk session's encode buffer and its entity names cached by bytes. */
export interface BulkChunk {
  /** Where the chunk is encoded: `arena.buf`, or a write-behind slot (startChunk). */
  buf: Uint8Array;
  /** The session's own buffer (CRC in place). */
  arena: CrcArena;
  /** now()'s last reading of the real clock, and how many events asked since the session began */
  now: number;
  clockReads: number;
  /** Entity names by bytes, each with its index in this session (frameEntity, FooterNames). */
  names: EntityTable<number>;
  /** The session's entity index of each frame in the chunk (-1: encoded by `add`). */
  frameEntity: Int32Array;
  /** The chain code of each frame in the chunk (format/chain-hash.ts; HASH_DONE: hashed already). */
  frameHash: Int32Array;
  len: number;
  frames: number;
}

/** Bulk append session; see Store.bulk(). Any write failure makes the store refuse further writes until reopened. */
export class BulkAppender {
  private readonly chunk: BulkChunk;
  count = 0;
  firstSeq = -1;
  /**
   * The chunk's frames get their CRCs from the write-behind thread (SegmentWriter.writeLater),
   * not here: decided when a chunk starts, once that thread runs; a chunk that ends up
   * written here after all is sealed here first (flush).
   */
  private crcLater = false;
  /**
   * The chunk's hashes are completed by the write-behind thread too (chain codes in
   * chunk.frameHash): decided with `crcLater`, unless `SEGLOG_HASH_BEHIND=0`.
   */
  private hashBehind = false;
  private readonly hashBehindAllowed = process.env.SEGLOG_HASH_BEHIND !== '0';
  private readonly slots = new ChainSlots();
  /** For the hashes completed on this thread (syncHashes, a chunk written here). */
  private hashers: ChainHashers | null = null;
  /** Entities this session has seen (the indexes of chunk.names). */
  private entities = 0;
  private readonly footerNames = new FooterNames();
  constructor(
    private readonly ws: WriteState,
    private readonly w: SegmentWriter,
  ) {
    w.startWarmWriteBehind(); // one booted for this session's job: its chunks go to it from the first
    const arena = new CrcArena(BULK_CHUNK_BYTES);
    this.chunk = { buf: arena.buf, arena, names: new EntityTable<number>(), frameEntity: new Int32Array(4096), frameHash: new Int32Array(4096), len: 0, frames: 0, now: 0, clockReads: 0 };
  }

  /** Checks and encodes one item into the chunk, advancing heads and sequence. */
  add(item: BatchItem): void {
    const ws = this.ws;
    const w = this.w;
    const chunk = this.chunk;
    const p = prepareItem(item, 0, false);
    ws.settleLanes(); // encodeNext reads the heads
    this.takeTurn();
    if (chunk.len + p.frameBytes > chunk.buf.length || w.active.sizeBytes + chunk.len + p.frameBytes > ws.options.segmentMaxBytes) this.flush(true);
    if (chunk.len === 0) this.startChunk(p.frameBytes, false);
    const head = ws.heads.get(p.entityText);
    const off = chunk.len;
    this.room(chunk.len + p.frameBytes);
    // the one encoder of single appends and batches (encodeNext), into the chunk
    const size = ws.encodeNext(chunk.buf, off, head, ws.clock(), ws.nextSeq, 0, p.kind, p.correlation, p.causation, p.entity, p.scope, p.payload, new Uint8Array(16));
    const wallMs = ws.encoded.wallMs;
    const hashAt = off + size - HASH_BYTES;
    const buf = chunk.buf;
    if (head) {
      head.clock++;
      head.wallMs = wallMs;
      head.hash.set(buf.subarray(hashAt, hashAt + HASH_BYTES));
    } else {
      // a copy: buf may be a Buffer (the arena's), whose slice() would alias the chunk
      ws.heads.set(p.entityText, { clock: 0, wallMs, hash: copyBytes(buf, hashAt, hashAt + HASH_BYTES) });
    }
    ws.nextSeq++;
    chunk.len += size;
    noteFrame(chunk, -1, HASH_DONE);
    ws.pendingBulk = this;
    this.count++;
  }

  /**
   * Appends the event `add` would append for {entity, scope, kind, payload} given as
   * byte ranges, encoded straight into the chunk (no strings, no intermediate arrays,
   * the CRC computed in place). Returns false, having done nothing, when a limit is
   * exceeded: call `add` for the exact error.
   */
  addRaw(raw: RawBulkItem): boolean {
    const ws = this.ws;
    const w = this.w;
    const chunk = this.chunk;
    const eLen = raw.entityEnd - raw.entityStart;
    const sLen = raw.scopeEnd - raw.scopeStart;
    const pLen = raw.payloadEnd - raw.payloadStart;
    const cat = raw.kindCategory;
    const type = raw.kindType;
    if (eLen < 1 || eLen > MAX_ENTITY_BYTES || sLen > MAX_SCOPE_BYTES || pLen > MAX_PAYLOAD_BYTES) return false;
    if (!isValidKind(cat, type, false)) return false;
    const frameBytes = eventFrameSize(eLen, sLen, pLen);
    if (frameBytes - FRAME_HEADER_BYTES > MAX_FRAME_LENGTH) return false;
    this.takeTurn();
    if (chunk.len + frameBytes > chunk.buf.length || w.active.sizeBytes + chunk.len + frameBytes > ws.options.segmentMaxBytes) this.flush(true);
    if (chunk.len === 0) this.startChunk(frameBytes, true);
    const names = chunk.names;
    let entityIndex = names.lookup(raw.entity, raw.entityStart, eLen);
    if (entityIndex === undefined) names.insert((entityIndex = this.entities++));
    const name = names.name;
    const head = ws.heads.get(name);
    let code = HASH_DONE;
    if (this.hashBehind) {
      // the chain table's slot of this entity (its prev_hash taken from there), or the head's hash now
      code = this.slots.code(entityIndex);
      if (code === HASH_DONE) {
        this.syncHashes(); // the table is full: every slot to its head, a fresh start
        code = this.slots.code(entityIndex);
      }
    }
    // this event's prev_hash is its head's hash: when that is still being hashed, finish the lanes first
    const lanes = this.hashBehind ? null : ws.hashLanes();
    if (lanes !== null && lanes.mustSettleFor(head, chunk.arena)) lanes.settle();
    const wallMs = Math.max(this.now(), head ? head.wallMs : 0);
    this.room(chunk.len + frameBytes);
    const buf = chunk.buf;
    const off = chunk.len;
    const b = off + FRAME_PREFIX_BYTES;
    // the EVENT body, field by field as encodeEventFrame writes it (format/event.ts)
    makeUuidV7(buf, b + EV.ID, wallMs, ws.randomBytes(ID_RANDOM_BYTES), ws.randomPos - ID_RANDOM_BYTES);
    writeU64(buf, b + EV.SEQ, ws.nextSeq);
    writeU64(buf, b + EV.CLOCK, head ? head.clock + 1 : 0);
    writeU64(buf, b + EV.WALL, wallMs);
    writeU64(buf, b + EV.TXN, 0);
    writeU16(buf, b + EV.KIND_CAT, cat);
    writeU16(buf, b + EV.KIND_TYPE, type);
    for (let i = b + EV.CORRELATION; i < b + EV.PREV_HASH; i++) buf[i] = 0; // no correlation, no causation
    if (code === HASH_DONE || (code & 1) === 0) buf.set(head ? head.hash : ZERO_HASH, b + EV.PREV_HASH); // else from the chain table, later
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
    if (code !== HASH_DONE) {
      // hashed by the write-behind thread (format/chain-hash.ts), or here by syncHashes:
      // the head's hash when the session synchronises
      this.slots.bind(code, advanceHead(ws, name, head, wallMs));
      ws.pendingHashes = this;
    } else if (lanes !== null && q - b <= LANE_MAX_BODY_BYTES) {
      // hashed later, side by side with events of other entities (HashLanes.settle writes
      // the event_hash, the CRC and the head's hash)
      lanes.push(chunk.arena, b, q, off, advanceHead(ws, name, head, wallMs), !this.crcLater);
    } else {
      ws.hasher.hashInto(buf, b, q, buf, q);
      if (!this.crcLater) writeU32(buf, off + 4, chunk.arena.crc(off + FRAME_HEADER_BYTES, off + FRAME_HEADER_BYTES + length));
      if (head) {
        head.clock++;
        head.wallMs = wallMs;
        const h = head.hash;
        for (let i = 0; i < HASH_BYTES; i++) h[i] = buf[q + i]!;
      } else {
        ws.heads.set(name, { clock: 0, wallMs, hash: copyBytes(buf, q, q + HASH_BYTES) });
      }
    }
    ws.nextSeq++;
    chunk.len += frameBytes;
    noteFrame(chunk, entityIndex, code);
    ws.pendingBulk = this;
    this.count++;
    return true;
  }

  /**
   * A chunk begins with an event of `frameBytes`: `raw` (addRaw) chunks have their CRCs,
   * and their hashes, completed by the write-behind thread once it runs (crcLater,
   * hashBehind); a hashBehind chunk is encoded straight into the write-behind slot it
   * will be written from (no copy of it at writeLater), unless the event is larger.
   */
  private startChunk(frameBytes: number, raw: boolean): void {
    const w = this.w;
    const chunk = this.chunk;
    this.crcLater = raw && w.writesBehind && this.ws.options.sync !== 'always';
    this.hashBehind = this.crcLater && this.hashBehindAllowed && w.chainTable !== null;
    let slot: Uint8Array | null = null;
    if (this.hashBehind) {
      try {
        slot = w.nextChunkBuffer(); // waits for that slot's previous write, which may have failed
      } catch (err) {
        this.ws.failBulk(err, w.active.path);
      }
    }
    if (slot !== null && frameBytes <= slot.length) chunk.buf = slot;
    else {
      chunk.arena.grow(frameBytes);
      chunk.buf = chunk.arena.buf;
    }
  }

  /** Writes what is pending and makes it durable per the sync mode; returns whether the events were fsynced. */
  finish(): boolean {
    const ws = this.ws;
    const w = this.w;
    this.flush();
    ws.checkWritable();
    if (ws.options.sync === 'none') return false;
    try {
      w.fsync();
    } catch (err) {
      // after a failed fsync the page cache can no longer be trusted to reach the disk
      ws.failBulk(err, w.active.path);
    }
    return true;
  }

  /**
   * Completes every hash the write-behind thread was left (WriteState.pendingHashes):
   * waits for the queued chunks, completes the current chunk's hashes here (it stays
   * unwritten), and gives each entity head its hash. Before anything reads the heads.
   */
  syncHashes(): void {
    const ws = this.ws;
    const w = this.w;
    const chunk = this.chunk;
    if (ws.pendingHashes === this) ws.pendingHashes = null;
    const table = w.chainTable;
    if (ws.poisoned || table === null) return; // a failed store's heads no longer matter
    try {
      w.settle();
    } catch (err) {
      ws.failBulk(err, w.active.path);
    }
    // a chunk at most, usually the last: the SIMD kernel only if this thread has one already
    fillChainHashes(chunk.buf, chunk.len, chunk.frameHash, chunk.frames, table, (this.hashers ??= chainHashers(Blake3Multi.createIfCompiled(), ws.hasher)));
    chunk.frameHash.fill(HASH_DONE, 0, chunk.frames);
    this.slots.release(table);
  }

  /** Before encoding: another session's pending frames took their sequences first, so they are written first. */
  private takeTurn(): void {
    const other = this.ws.pendingBulk;
    if (other !== null && other !== this) this.ws.checkWritable();
  }

  /** WriteState.pendingBulk: another write comes; this session's encoded frames go to the file first. */
  flushPending(): void {
    this.flush();
  }

  /**
   * The wall clock for a bulk event. The real clock is read once every
   * BULK_CLOCK_EVERY events (reading it cost ~0.1 µs, a tenth of an event's encoding);
   * the events between share a reading at most a fraction of a millisecond old, which
   * millisecond timestamps cannot tell apart anyway. An injected clock is read every time.
   */
  private now(): number {
    const chunk = this.chunk;
    if (this.ws.clock !== Date.now) return this.ws.clock();
    if (chunk.clockReads++ % BULK_CLOCK_EVERY === 0) chunk.now = Date.now();
    return chunk.now;
  }

  /**
   * Room for `bytes` more in the active segment: a rotation may seal the segment and
   * create the next one. A failure there leaves the writer between segments, so like a
   * failed chunk write it makes the store refuse further writes (reopen recovers).
   */
  private room(bytes: number): void {
    const w = this.w;
    try {
      w.ensureRoom(bytes, this.ws.nextSeq);
    } catch (err) {
      this.ws.failBulk(err, w.active.path);
    }
  }

  /**
   * Writes the chunk's frames to the active segment: when the chunk is full (`later`: the
   * write may be done by another thread while the next chunk is encoded,
   * SegmentWriter.writeLater), and at finish (at once: a small append never starts a thread).
   */
  private flush(later = false): void {
    const ws = this.ws;
    const w = this.w;
    const chunk = this.chunk;
    if (ws.pendingBulk === this) ws.pendingBulk = null;
    if (chunk.len === 0) return;
    // a failed store never gets a chunk written again (BulkAppender.finish after a failure);
    // checkWritable also completes the events still in the hash lanes
    ws.checkWritable(false);
    // the footer entries of these frames, taken from memory (from the bytes written, for a
    // queued chunk: `written` below): sealing then has nothing to read back
    const live = ws.liveFooter(w);
    const segOffset = w.active.sizeBytes;
    const names = this.footerNames;
    const crcLater = this.crcLater;
    const hashBehind = this.hashBehind;
    this.crcLater = false;
    this.hashBehind = false;
    try {
      const queued =
        later &&
        ws.options.sync !== 'always' &&
        w.writeLater(chunk.buf, 0, chunk.len, crcLater, {
          count: chunk.frames,
          codes: hashBehind ? chunk.frameHash : null,
          tags: chunk.frameEntity,
          single: ws.hasher,
          // in write order, with the hashes in the bytes: the footer's entries follow the file
          written: live ? (bytes, tags) => addChunkToFooter(live.builder, bytes, bytes.length, tags, segOffset, names) : null,
        });
      if (!queued) {
        // the queued chunks (their footer entries) first, then this one's hashes, here
        if (hashBehind) this.syncHashes();
        else w.settle();
        const buf = chunk.buf;
        if (live) addChunkToFooter(live.builder, buf, chunk.len, chunk.frameEntity, segOffset, names);
        if (crcLater) sealFrameCrcs(buf, chunk.len, buf === chunk.arena.buf ? (s, e) => chunk.arena.crc(s, e) : (s, e) => crc32c(buf, s, e));
        w.write(buf, 0, chunk.len, chunk.frames);
      }
      if (live) live.frameEnd = w.active.sizeBytes;
      if (ws.options.sync === 'always') w.fsync();
      else if (ws.options.sync !== 'none' && (ws.unhintedBytes += chunk.len) >= WRITEBACK_HINT_BYTES) {
        // the final fsync (and each rotation's) then finds most of the data on the disk already
        ws.unhintedBytes = 0;
        w.startWriteback();
      }
    } catch (err) {
      if (live) ws.footerSeed = null; // it may index frames that were not written
      ws.failBulk(err, w.active.path);
    }
    ws.committedEvents += chunk.frames;
    ws.reads.invalidate();
    chunk.len = 0;
    chunk.frames = 0;
  }
}

/**
 * The head of entity `name` advanced by an event at `wallMs` whose hash comes later
 * (clock and wall time now; a new head, of a hash still zero, for a new entity).
 */
function advanceHead(ws: WriteState, name: string, head: EntityHead | undefined, wallMs: number): EntityHead {
  if (head) {
    head.clock++;
    head.wallMs = wallMs;
    return head;
  }
  const h = { clock: 0, wallMs, hash: new Uint8Array(HASH_BYTES) };
  ws.heads.set(name, h);
  return h;
}

/** Records the session entity index and the chain code of the frame just added to the chunk (and counts it). */
function noteFrame(chunk: BulkChunk, entityIndex: number, code: number): void {
  if (chunk.frames === chunk.frameEntity.length) {
    const n = chunk.frameEntity.length * 2;
    const entities = new Int32Array(n);
    entities.set(chunk.frameEntity);
    chunk.frameEntity = entities;
    const codes = new Int32Array(n);
    codes.set(chunk.frameHash);
    chunk.frameHash = codes;
  }
  chunk.frameHash[chunk.frames] = code;
  chunk.frameEntity[chunk.frames++] = entityIndex;
}

/**
 * The footer string index of each session entity, for one footer builder at a time: the
 * builder interns an entity's name (a hash and a compare of its bytes) once per footer,
 * not once per event (issue 18, round five: ~3% of append's appending thread).
 */
class FooterNames {
  private builder: FooterBuilder | null = null;
  private index = new Int32Array(1024).fill(-1);

  /** The string index of `entity` in `b`, or -1 when `b` has not interned it through here. */
  get(b: FooterBuilder, entity: number): number {
    if (b !== this.builder) {
      this.builder = b;
      this.index.fill(-1);
    }
    return entity < this.index.length ? this.index[entity]! : -1;
  }

  set(entity: number, stringIndex: number): void {
    if (entity >= this.index.length) {
      const bigger = new Int32Array(Math.max(entity + 1, this.index.length * 2)).fill(-1);
      bigger.set(this.index);
      this.index = bigger;
    }
    this.index[entity] = stringIndex;
  }
}

/**
 * Adds the EVENT frames of a bulk chunk buf[0, len), hashed and written (or about to be)
 * at `segOffset`, to a footer; frameEntity: each frame's session entity index (-1: none).
 */
function addChunkToFooter(b: FooterBuilder, buf: Uint8Array, len: number, frameEntity: Int32Array, segOffset: number, names: FooterNames): void {
  for (let off = 0, f = 0; off < len; f++) {
    const length = readU32(buf, off);
    const entity = frameEntity[f]!;
    if (entity < 0) b.addEvent(buf, off + FRAME_PREFIX_BYTES, segOffset + off);
    else {
      const known = names.get(b, entity);
      const si = b.addEvent(buf, off + FRAME_PREFIX_BYTES, segOffset + off, known);
      if (known < 0) names.set(entity, si);
    }
    off += FRAME_HEADER_BYTES + length;
  }
}

/** Copies src[start, end) to dst at `at` (a native copy for long ranges); returns the end. */
export function copyInto(dst: Uint8Array, at: number, src: Uint8Array, start: number, end: number): number {
  if (end - start < 64) {
    for (let i = start; i < end; i++) dst[at++] = src[i]!;
    return at;
  }
  dst.set(new Uint8Array(src.buffer, src.byteOffset + start, end - start), at);
  return at + end - start;
}
