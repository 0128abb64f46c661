/**
 * The bulk append session (Store.bulk()): standalone events encoded into one large
 * chunk (a CRC arena) and written chunk by chunk. The encoding itself is the store's
 * (it owns heads, sequence and clock: Store.bulkEncode*); this module holds the session,
 * its chunk, and the byte helpers it needs.
 */
import { CrcArena } from '../../format/hash/crc32c.js';
import { FRAME_HEADER_BYTES, FRAME_PREFIX_BYTES } from '../../format/frame.js';
import type { FooterBuilder } from '../index/sidx.js';
import { EntityTable } from '../log/entity-table.js';
import type { SegmentWriter } from '../segment/segment-writer.js';
import type { BatchItem } from './api.js';

/** The bulk path reads the real wall clock once per this many events (Store.bulkNow). */
export const BULK_CLOCK_EVERY = 64;
/** Bulk appends are written in chunks of about this size. */
export const BULK_CHUNK_BYTES = 1024 * 1024;

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

/** What a bulk session needs of its store (Store implements it: it owns heads, sequence, clock and writer). */
export interface BulkEncoder {
  bulkEncode(w: SegmentWriter, chunk: BulkChunk, item: BatchItem): void;
  /** False (nothing done) when the item breaks a limit. */
  bulkEncodeRaw(w: SegmentWriter, chunk: BulkChunk, raw: RawBulkItem): boolean;
  /** Writes what is pending; returns whether the events were fsynced. */
  bulkFinish(w: SegmentWriter, chunk: BulkChunk): boolean;
}

/** Bulk append session; see Store.bulk(). */
export class BulkAppender {
  private chunk: BulkChunk;
  count = 0;
  firstSeq = -1;
  constructor(
    private readonly store: BulkEncoder,
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
export function addChunkToFooter(b: FooterBuilder, buf: Uint8Array, len: number, segOffset: number): void {
  for (let off = 0; off < len; ) {
    const length = buf[off]! | (buf[off + 1]! << 8) | (buf[off + 2]! << 16) | (buf[off + 3]! << 24);
    b.addEvent(buf, off + FRAME_PREFIX_BYTES, segOffset + off);
    off += FRAME_HEADER_BYTES + (length >>> 0);
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
