/**
 * The reference reader: the slow, obvious engine the differential tests compare every
 * read path with (SQLite's sqllogictest in spirit: a fast path is trusted because a slow
 * obvious one agrees with it).
 *
 * Written from docs/FORMAT.md, not from src/engine: it reads each segment file whole
 * (readFileSync), decodes frame by frame with its own CRC-32C and its own frame checks,
 * and applies the rules of FORMAT.md sections 2-8 as the document states them. It
 * imports nothing from src/ but the BLAKE3 it gets from hash-wasm directly; every
 * constant below is quoted from FORMAT.md. It never allocates per byte of a length
 * field: every length is bounded by the bytes the file has.
 *
 * Where FORMAT.md is silent or ambiguous, the choice made here is marked "DOC:" and
 * listed in test/differential/README.md.
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { createBLAKE3, type IHasher } from 'hash-wasm';

// ------------------------------------------------------------------ constants (FORMAT.md)

const SEGMENT_HEADER_BYTES = 32; // 2.1
const SEGMENT_MAGIC = [0x53, 0x47, 0x4c, 0x47]; // "SGLG"
const FRAME_PREFIX_BYTES = 9; // 2.2: length u32, crc u32, type u8
const MAX_FRAME_LENGTH = 32 * 1024 * 1024;
const T_EVENT = 1;
const T_BEGIN = 2;
const T_COMMIT = 3;
const T_ABORT = 4;
const T_GAP = 5;
/** 2.2: markers have an exact length, EVENT at least 158, GAP 23 or 66..1089. */
const EXACT_LENGTH: Record<number, number> = { [T_BEGIN]: 13, [T_COMMIT]: 13, [T_ABORT]: 9 };
const EVENT_MIN_LENGTH = 158;
const EVENT_FIXED_BODY = 156; // 2.3: 124 fixed + 32 hash
const MAX_ENTITY_BYTES = 1024;
const MAX_SCOPE_BYTES = 1024;
const MAX_PAYLOAD_BYTES = 16 * 1024 * 1024;
const GAP_SEQ_BODY = 22; // 5.1
const GAP_ENTITY_FIXED_BODY = 64;
const SIDX_HEAD_BYTES = 24; // 2.5
const SIDX_ENTRY_BYTES = 80;
const SIDX_MARKER_BYTES = 24;
const SIDX_TRAILER_BYTES = 32;
const SIDX_MAGIC = [0x53, 0x49, 0x44, 0x58]; // "SIDX"
const CKPT_MAGIC = [0x53, 0x47, 0x43, 0x4b]; // "SGCK" (6)
const CKPT_HEADER_BYTES = 32;
const CKPT_STATE_BYTES = 40;
const CKPT_SEGMENT_BYTES = 64;
const CKPT_TAIL_CHECK_BYTES = 4096;
const KV_PREFIX = [0x6b, 0x76, 0x3a]; // "kv:" (8.1)
const SEGMENT_FILE = /^(\d{10})\.seg$/;

// ------------------------------------------------------------------ primitives

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/** CRC-32C (Castagnoli, reflected, init and xorout 0xFFFFFFFF): FORMAT.md 2.2. */
export function refCrc32c(b: Uint8Array, start = 0, end = b.length): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = CRC_TABLE[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const u16 = (b: Uint8Array, o: number): number => b[o]! | (b[o + 1]! << 8);
const u32 = (b: Uint8Array, o: number): number => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)) + b[o + 3]! * 0x1000000;
/** u64 as a number; NaN when over 2^53 - 1 (FORMAT.md: a reader treats that as corrupt). */
const u64 = (b: Uint8Array, o: number): number => {
  const hi = u32(b, o + 4);
  return hi > 0x1fffff ? Number.NaN : u32(b, o) + hi * 0x1_0000_0000;
};
const hex = (b: Uint8Array, s: number, e: number): string => Buffer.from(b.buffer, b.byteOffset + s, e - s).toString('hex');
const same = (a: Uint8Array, ao: number, b: Uint8Array, bo: number, n: number): boolean => {
  for (let i = 0; i < n; i++) if (a[ao + i] !== b[bo + i]) return false;
  return true;
};
const allZero = (b: Uint8Array, s: number, e: number): boolean => {
  for (let i = s; i < e; i++) if (b[i] !== 0) return false;
  return true;
};
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const lenientUtf8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
const uuid = (b: Uint8Array, o: number): string => {
  const h = hex(b, o, o + 16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
};
const optionalUuid = (b: Uint8Array, o: number): string | null => (allZero(b, o, o + 16) ? null : uuid(b, o));

// ------------------------------------------------------------------ results

export type Severity = 'error' | 'warning' | 'info';

export interface RefProblem {
  code: string;
  severity: Severity;
  segment: string;
  offset: number;
  seq?: number;
  entity?: string;
}

/** One EVENT frame whose CRC checked out, decoded (FORMAT.md 2.3). */
export interface RefEvent {
  segment: string;
  segIndex: number;
  offset: number;
  /** The whole frame: prefix and body (a copy). */
  frame: Uint8Array;
  eventId: string;
  seq: number;
  clock: number;
  wallMs: number;
  txnId: number;
  kindCategory: number;
  kindType: number;
  correlationId: string | null;
  causationId: string | null;
  prevHash: string;
  eventHash: string;
  entity: string;
  scope: string;
  payload: Uint8Array;
  /** The fields are in range (u64s ≤ 2^53 - 1, lengths within their caps). */
  layoutOk: boolean;
  /** event_hash is BLAKE3-256 of the body minus its last 32 bytes. */
  hashOk: boolean;
}

export interface RefFrame {
  segment: string;
  segIndex: number;
  offset: number;
  type: number;
  /** prefix + body */
  sizeBytes: number;
  txnId: number;
  count: number;
  event: RefEvent | null;
}

export type Fate = 'committed' | 'aborted' | 'incomplete' | 'orphaned';

export interface RefTxn {
  txn: number;
  status: Fate;
  ops: number;
  puts: number;
  deletes: number;
  first: { segment: string; offset: number };
  last: { segment: string; offset: number };
  items: RefEvent[];
}

export interface RefKvOp {
  type: 'put' | 'delete';
  key: string;
  /** The value's JSON text (put). */
  value: string | null;
  version: number;
  txn: number;
}

export interface RefSegment {
  name: string;
  id: number;
  sizeBytes: number;
  headerOk: boolean;
  headerFirstSeq: number;
  frameEnd: number;
  footer: 'absent' | 'valid' | 'damaged' | 'mismatch';
  eventFrames: number;
  firstSeq: number;
  lastSeq: number;
  /** Every byte of the segment walks as header, valid frames and (optionally) a valid footer. */
  clean: boolean;
}

export interface RefHead {
  clock: number;
  hash: string;
  wallMs: number;
}

export interface RefStore {
  segments: RefSegment[];
  /** Every valid frame, file order. */
  frames: RefFrame[];
  /** What readers see (FORMAT.md 3.6): standalone events and committed items, commit order. */
  committed: RefEvent[];
  /** The same, as the units readers deliver whole: a standalone event, or a committed transaction's items. */
  units: RefEvent[][];
  committedBatches: number;
  /** EVENT frames whose CRC, layout and hash check out, by frame bytes (hex): "seen intact". */
  intact: Set<string>;
  txns: RefTxn[];
  /** KV operations of committed transactions, in commit order (8.3). */
  kvOps: RefKvOp[];
  kvState: Map<string, { value: string; version: number }>;
  replay: {
    txnsApplied: number;
    writesApplied: number;
    deletesApplied: number;
    discardedTxns: number;
    abortedTxns: number;
    orphanedEntries: number;
    finalVersion: number;
    liveKeys: number;
  };
  /** Replay stopped here (8.3 "Damage"): a bad frame, bad header or bad KV event. */
  replayCorruption: { code: string; segment: string; offset: number } | null;
  problems: RefProblem[];
  eventFrames: number;
  nextSeq: number;
  nextTxnId: number;
  heads: Map<string, RefHead>;
  maxKvVersion: number;
  checkpoint: 'absent' | 'valid' | 'stale' | 'damaged';
}

// ------------------------------------------------------------------ frames (FORMAT.md 2.2, 4)

const enum St {
  Valid,
  End,
  Truncated,
  Zero,
  BadFraming,
  CrcMismatch,
}

function eventLayoutAddsUp(b: Uint8Array, body: number, bodyBytes: number): boolean {
  if (bodyBytes < EVENT_FIXED_BODY + 1) return false;
  const e = u16(b, body + 116);
  const s = u16(b, body + 118);
  const p = u32(b, body + 120);
  // DOC: 2.3 says E is 1..1024; the framing test only needs E ≥ 1 and the sum (a larger E is bad_event)
  return e >= 1 && EVENT_FIXED_BODY + e + s + p === bodyBytes;
}

function gapLayoutOk(b: Uint8Array, body: number, bodyBytes: number): boolean {
  const kind = b[body + 12]!;
  const reason = b[body + 13]!;
  if (reason < 1 || reason > 4) return false;
  if (u32(b, body + 8) === 0) return false;
  if (kind === 1) return bodyBytes === GAP_SEQ_BODY;
  if (kind !== 2 || bodyBytes < GAP_ENTITY_FIXED_BODY + 1) return false;
  const e = u16(b, body + 62);
  return e >= 1 && e <= 1024 && bodyBytes === GAP_ENTITY_FIXED_BODY + e;
}

/** FORMAT.md section 4's table: the status of the frame at `off`, frames ending at `end`. */
function checkFrame(b: Uint8Array, off: number, end: number): { st: St; size: number } {
  const left = end - off;
  if (left === 0) return { st: St.End, size: 0 };
  if (left < FRAME_PREFIX_BYTES) return { st: allZero(b, off, end) ? St.Zero : St.Truncated, size: 0 };
  const length = u32(b, off);
  const type = b[off + 8]!;
  const size = 8 + length;
  if (allZero(b, off, off + FRAME_PREFIX_BYTES)) return { st: St.Zero, size };
  if (type < T_EVENT || type > T_GAP || length > MAX_FRAME_LENGTH) return { st: St.BadFraming, size };
  const exact = EXACT_LENGTH[type];
  if (exact !== undefined && length !== exact) return { st: St.BadFraming, size };
  if (type === T_EVENT && length < EVENT_MIN_LENGTH) return { st: St.BadFraming, size };
  if (type === T_GAP && (length < 1 + GAP_SEQ_BODY || length > 1 + GAP_ENTITY_FIXED_BODY + 1024)) return { st: St.BadFraming, size };
  if (size > left) return { st: St.Truncated, size };
  if (type === T_EVENT && !eventLayoutAddsUp(b, off + FRAME_PREFIX_BYTES, length - 1)) return { st: St.BadFraming, size };
  if (type === T_GAP && !gapLayoutOk(b, off + FRAME_PREFIX_BYTES, length - 1)) return { st: St.BadFraming, size };
  if (refCrc32c(b, off + 8, off + 8 + length) !== u32(b, off + 4)) return { st: St.CrcMismatch, size };
  return { st: St.Valid, size };
}

/** Section 4, "After a bad frame": where its own length says, then byte by byte. */
function resync(b: Uint8Array, bad: number, claimed: number, end: number): number | null {
  if (claimed > FRAME_PREFIX_BYTES && bad + claimed <= end) {
    const at = bad + claimed;
    if (at === end) return at;
    if (checkFrame(b, at, end).st === St.Valid) return at;
  }
  for (let p = bad + 1; p < end; p++) if (checkFrame(b, p, end).st === St.Valid) return p;
  return null;
}

function isFooterHead(b: Uint8Array, off: number): boolean {
  return off + SIDX_HEAD_BYTES <= b.length && same(b, off, Uint8Array.from(SIDX_MAGIC), 0, 4) && u16(b, off + 4) === 1 && u16(b, off + 6) === 0;
}

/** 2.5 "A trailer is accepted only when ...": the footer start, or null. */
function acceptedTrailer(b: Uint8Array): { start: number; entries: number; markers: number; strings: number } | null {
  const n = b.length;
  if (n < SEGMENT_HEADER_BYTES + SIDX_HEAD_BYTES + SIDX_TRAILER_BYTES) return null;
  const t = n - SIDX_TRAILER_BYTES;
  if (!same(b, t + 28, Uint8Array.from(SIDX_MAGIC), 0, 4)) return null;
  if (refCrc32c(b, t, t + 24) !== u32(b, t + 24)) return null;
  const start = u64(b, t);
  const entries = u32(b, t + 8);
  const markers = u32(b, t + 12);
  const strings = u32(b, t + 16);
  if (!(start >= SEGMENT_HEADER_BYTES)) return null;
  const stringBytes = n - start - SIDX_HEAD_BYTES - SIDX_ENTRY_BYTES * entries - SIDX_MARKER_BYTES * markers - SIDX_TRAILER_BYTES;
  if (stringBytes < 2 * strings) return null;
  return { start, entries, markers, strings };
}

/** 2.5: the footer a segment's frames call for, byte for byte. */
function buildFooter(segmentId: number, frameEnd: number, frames: RefFrame[], file: Uint8Array): Uint8Array {
  const names: string[] = [];
  const index = new Map<string, number>();
  const entries: number[][] = [];
  let maxKv = 0;
  const parts: Uint8Array[] = [];
  const head = new Uint8Array(SIDX_HEAD_BYTES);
  head.set(SIDX_MAGIC, 0);
  head[4] = 1;
  const entryBytes: Uint8Array[] = [];
  const markerBytes: Uint8Array[] = [];
  for (const f of frames) {
    if (f.type === T_EVENT) {
      const e = f.event!;
      let i = index.get(e.entity);
      if (i === undefined) {
        i = names.length;
        index.set(e.entity, i);
        names.push(e.entity);
      }
      if (e.kindCategory === 0 && (e.kindType === 1 || e.kindType === 2) && e.payload.length >= 8) {
        const v = u64(e.payload, 0);
        if (v > maxKv) maxKv = v;
      }
      const row = new Uint8Array(SIDX_ENTRY_BYTES);
      row.set(file.subarray(f.offset + FRAME_PREFIX_BYTES + 16, f.offset + FRAME_PREFIX_BYTES + 52), 0);
      put32(row, 36, i);
      put64(row, 40, f.offset);
      row.set(e.frame.subarray(e.frame.length - 32), 48);
      entryBytes.push(row);
      entries.push([]);
    } else {
      const row = new Uint8Array(SIDX_MARKER_BYTES);
      const body = f.offset + FRAME_PREFIX_BYTES;
      const bodyBytes = f.sizeBytes - FRAME_PREFIX_BYTES;
      put64(row, 0, f.offset);
      if (bodyBytes >= 8) row.set(file.subarray(body, body + 8), 8);
      if (bodyBytes >= 12) row.set(file.subarray(body + 8, body + 12), 16);
      row[20] = f.type;
      markerBytes.push(row);
    }
  }
  put64(head, 8, segmentId);
  put64(head, 16, maxKv);
  parts.push(head, ...entryBytes, ...markerBytes);
  for (const n of names) {
    const s = Buffer.from(n, 'utf8');
    const l = new Uint8Array(2);
    l[0] = s.length & 0xff;
    l[1] = s.length >>> 8;
    parts.push(l, s);
  }
  const body = Buffer.concat(parts);
  const trailer = new Uint8Array(SIDX_TRAILER_BYTES);
  put64(trailer, 0, frameEnd);
  put32(trailer, 8, entryBytes.length);
  put32(trailer, 12, markerBytes.length);
  put32(trailer, 16, names.length);
  put32(trailer, 20, refCrc32c(body));
  put32(trailer, 24, refCrc32c(trailer, 0, 24));
  trailer.set(SIDX_MAGIC, 28);
  return Buffer.concat([body, trailer]);
}

function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
  b[o + 2] = (v >>> 16) & 0xff;
  b[o + 3] = (v >>> 24) & 0xff;
}
function put64(b: Uint8Array, o: number, v: number): void {
  put32(b, o, v % 0x1_0000_0000);
  put32(b, o + 4, Math.floor(v / 0x1_0000_0000));
}

// ------------------------------------------------------------------ the reader

export class ReferenceReader {
  private constructor(private readonly blake3: IHasher) {}

  static async create(): Promise<ReferenceReader> {
    return new ReferenceReader(await createBLAKE3());
  }

  private hashOk(frame: Uint8Array): boolean {
    const body = FRAME_PREFIX_BYTES;
    this.blake3.init();
    this.blake3.update(frame.subarray(body, frame.length - 32));
    const d = this.blake3.digest('binary');
    return same(d, 0, frame, frame.length - 32, 32);
  }

  /** Reads the store at `dir` (every `NNNNNNNNNN.seg`, and `index.ckpt`). */
  readStore(dir: string): RefStore {
    const names = readdirSync(dir)
      .filter((n) => SEGMENT_FILE.test(n))
      .sort();
    return this.read(
      names.map((n) => ({ name: n, bytes: new Uint8Array(readFileSync(join(dir, n))) })),
      existsSync(join(dir, 'index.ckpt')) ? new Uint8Array(readFileSync(join(dir, 'index.ckpt'))) : null,
    );
  }

  read(files: { name: string; bytes: Uint8Array }[], checkpoint: Uint8Array | null): RefStore {
    const problems: RefProblem[] = [];
    const frames: RefFrame[] = [];
    const intact = new Set<string>();
    const segments: RefSegment[] = [];
    const heads = new Map<string, RefHead>();
    let nextSeq = 0;
    let eventFrames = 0;
    let maxTxn = 0;
    let maxKvVersion = 0;
    /** Where the walk met damage that is not a torn tail: what stops replay (8.3 "Damage"). */
    const faults: { segIndex: number; segment: string; offset: number; header?: boolean }[] = [];
    const report = (p: RefProblem): void => {
      problems.push(p);
    };

    // ---- pass 1: frames of every segment, and the rules of section 3 in file order
    for (let si = 0; si < files.length; si++) {
      const { name, bytes: b } = files[si]!;
      const isActive = si === files.length - 1;
      const id = Number(SEGMENT_FILE.exec(name)![1]);
      const seg: RefSegment = { name, id, sizeBytes: b.length, headerOk: false, headerFirstSeq: -1, frameEnd: b.length, footer: 'absent', eventFrames: 0, firstSeq: -1, lastSeq: -1, clean: true };
      segments.push(seg);
      const segFrames: RefFrame[] = [];
      // 2.1: magic, CRC, version
      const headerOk = b.length >= SEGMENT_HEADER_BYTES && same(b, 0, Uint8Array.from(SEGMENT_MAGIC), 0, 4) && refCrc32c(b, 0, 28) === u32(b, 28) && u16(b, 4) === 1;
      seg.headerOk = headerOk;
      // 2.5: where frames end (a trailer that checks out), else the file size
      const trailer = acceptedTrailer(b);
      let frameEnd = trailer && trailer.start <= b.length ? trailer.start : b.length;
      if (!headerOk) {
        seg.clean = false;
        // 2.1: in the active segment a header that never became valid, with no valid frame after it, is a torn tail of the whole file
        const wholeTorn = isActive && (b.length <= SEGMENT_HEADER_BYTES || resyncFrom(b, SEGMENT_HEADER_BYTES, frameEnd) === null);
        report({ code: wholeTorn ? 'torn_tail' : 'bad_header', severity: wholeTorn ? 'warning' : 'error', segment: name, offset: 0 });
        if (!wholeTorn) faults.push({ segIndex: si, segment: name, offset: 0, header: true });
        if (wholeTorn || b.length < SEGMENT_HEADER_BYTES) {
          seg.frameEnd = wholeTorn ? 0 : b.length;
          // a sealed segment too short for a header has no footer either
          if (!isActive) report({ code: 'sidx_missing', severity: 'warning', segment: name, offset: b.length });
          continue;
        }
      } else {
        seg.headerFirstSeq = u64(b, 16);
        if (u64(b, 8) !== id) report({ code: 'bad_header', severity: 'error', segment: name, offset: 0 });
      }
      let pos = SEGMENT_HEADER_BYTES;
      let damagedFooterAt = -1;
      let firstEventSeen = false;
      for (;;) {
        const { st, size } = checkFrame(b, pos, frameEnd);
        if (st === St.End) break;
        if (st === St.Valid) {
          const f = this.decodeFrame(b, pos, size, name, si);
          frames.push(f);
          segFrames.push(f);
          if (f.type === T_EVENT) {
            const e = f.event!;
            eventFrames++;
            seg.eventFrames++;
            if (!e.layoutOk) {
              report({ code: 'bad_event', severity: 'error', segment: name, offset: pos });
              pos += size;
              continue;
            }
            if (e.hashOk) intact.add(hex(e.frame, 0, e.frame.length));
            else report({ code: 'hash_mismatch', severity: 'error', segment: name, offset: pos, seq: e.seq, entity: e.entity });
            if (seg.firstSeq < 0) seg.firstSeq = e.seq;
            seg.lastSeq = e.seq;
            if (!firstEventSeen) {
              firstEventSeen = true;
              if (headerOk && e.seq !== seg.headerFirstSeq) report({ code: 'bad_header', severity: 'error', segment: name, offset: 0 }); // rule 7
            }
            if (e.seq !== nextSeq) report({ code: 'sequence_gap', severity: 'error', segment: name, offset: pos, seq: e.seq, entity: e.entity }); // rule 1
            nextSeq = e.seq + 1;
            const head = heads.get(e.entity);
            const expectClock = head ? head.clock + 1 : 0;
            if (e.clock !== expectClock) report({ code: 'clock_gap', severity: 'error', segment: name, offset: pos, seq: e.seq, entity: e.entity }); // rule 2
            if (e.prevHash !== (head ? head.hash : '0'.repeat(64))) report({ code: 'chain_break', severity: 'error', segment: name, offset: pos, seq: e.seq, entity: e.entity }); // rule 3
            if (head && e.wallMs < head.wallMs) report({ code: 'wall_regression', severity: 'error', segment: name, offset: pos, seq: e.seq, entity: e.entity }); // rule 4
            heads.set(e.entity, { clock: e.clock, hash: e.eventHash, wallMs: Math.max(head?.wallMs ?? 0, e.wallMs) });
            if (e.txnId > maxTxn) maxTxn = e.txnId;
            if (e.kindCategory === 0 && (e.kindType === 1 || e.kindType === 2) && e.payload.length >= 8) maxKvVersion = Math.max(maxKvVersion, u64(e.payload, 0) || 0);
          } else if (f.type === T_GAP) {
            this.applyGap(b, pos, size, name, heads, report, (s) => (nextSeq = s), nextSeq);
          } else if (f.txnId > maxTxn) {
            maxTxn = f.txnId;
          }
          pos += size;
          continue;
        }
        // a bad frame (section 4)
        seg.clean = false;
        if (st === St.BadFraming && isFooterHead(b, pos)) {
          damagedFooterAt = pos; // 2.5 "Damage": a footer whose trailer fails; the walk ends here
          frameEnd = pos;
          break;
        }
        let next = isActive && st === St.Zero ? null : resync(b, pos, size, frameEnd);
        if (isActive && next === frameEnd && frameEnd === b.length) next = null;
        if (next === null && isActive) {
          report({ code: 'torn_tail', severity: 'warning', segment: name, offset: pos });
          frameEnd = pos;
          break;
        }
        const lengthIntact = next !== null && next === pos + size;
        // CLI.md: truncated_segment = a sealed segment ends inside a frame (nothing valid follows)
        const code = st === St.Truncated && (next === null || next === frameEnd) ? 'truncated_segment' : lengthIntact ? 'crc_mismatch' : 'bad_frame';
        report({ code, severity: 'error', segment: name, offset: pos });
        faults.push({ segIndex: si, segment: name, offset: pos });
        if (next === null) {
          frameEnd = pos;
          break;
        }
        pos = next;
      }
      seg.frameEnd = damagedFooterAt >= 0 ? damagedFooterAt : trailer ? trailer.start : frameEnd;
      // 2.5: footer state
      if (damagedFooterAt >= 0) {
        seg.footer = 'damaged';
        report({ code: 'sidx_mismatch', severity: 'error', segment: name, offset: damagedFooterAt });
      } else if (trailer) {
        const want = seg.clean && headerOk ? buildFooter(u64(b, 8), trailer.start, segFrames, b) : null;
        const have = b.subarray(trailer.start);
        if (want !== null && !(want.length === have.length && same(want, 0, have, 0, want.length))) {
          seg.footer = 'mismatch';
          report({ code: 'sidx_mismatch', severity: 'error', segment: name, offset: trailer.start });
        } else {
          seg.footer = 'valid';
        }
      } else if (!isActive) {
        // CLI.md: a sealed segment (any but the last) without a footer, damaged frames or not
        report({ code: 'sidx_missing', severity: 'warning', segment: name, offset: b.length });
      }
    }

    // ---- pass 2: transactions and visibility (3.5, 3.6, 8.3)
    const open = new Map<number, RefTxn>();
    const orphans = new Map<number, RefTxn>();
    const txns: RefTxn[] = [];
    const committed: RefEvent[] = [];
    const units: RefEvent[][] = [];
    const kvOps: RefKvOp[] = [];
    let committedBatches = 0;
    const replay = { txnsApplied: 0, writesApplied: 0, deletesApplied: 0, discardedTxns: 0, abortedTxns: 0, orphanedEntries: 0, finalVersion: 0, liveKeys: 0 };
    const kvState = new Map<string, { value: string; version: number }>();
    // 8.3 "Damage": replay stops at the first bad frame or bad header that is not the torn tail
    const stopAt = faults[0] ?? null;
    let replayCorruption: RefStore['replayCorruption'] = stopAt ? { code: stopAt.header ? 'bad_header' : 'corrupt', segment: stopAt.segment, offset: stopAt.offset } : null;
    const where = (f: RefFrame) => ({ segment: f.segment, offset: f.offset });
    const beforeStop = (f: RefFrame): boolean => !stopAt || f.segIndex < stopAt.segIndex || (f.segIndex === stopAt.segIndex && f.offset < stopAt.offset);
    // the WAL view (8.3) stops at corruption; readers (dump, cursors) walk on past it: both are modelled, the view in `walTxns`
    const walTxns = new WalModel(replay, kvState, kvOps);
    for (const f of frames) {
      const walLive = beforeStop(f);
      if (f.type === T_EVENT) {
        const e = f.event!;
        if (walLive && !walTxns.stopped) walTxns.event(f, e);
        if (e.txnId === 0 && e.kindCategory === 0 && (e.kindType === 1 || e.kindType === 2)) {
          // 8.3: a KV operation with txn 0 is an orphaned entry (one wal dump row for id 0)
          let o = orphans.get(0);
          if (!o) {
            o = { txn: 0, status: 'orphaned', ops: 0, puts: 0, deletes: 0, first: where(f), last: where(f), items: [] };
            orphans.set(0, o);
            txns.push(o);
          }
          o.ops++;
          o.last = where(f);
        }
        if (e.txnId === 0) {
          committed.push(e);
          units.push([e]);
          continue;
        }
        const t = open.get(e.txnId);
        if (t) {
          t.items.push(e);
          t.ops++;
          t.last = where(f);
          if (e.kindCategory === 0 && e.kindType === 1) t.puts++;
          if (e.kindCategory === 0 && e.kindType === 2) t.deletes++;
          continue;
        }
        let o = orphans.get(e.txnId);
        if (!o) {
          o = { txn: e.txnId, status: 'orphaned', ops: 0, puts: 0, deletes: 0, first: where(f), last: where(f), items: [] };
          orphans.set(e.txnId, o);
          txns.push(o);
        }
        o.ops++;
        o.last = where(f);
        o.items.push(e);
        continue;
      }
      if (walLive && !walTxns.stopped) walTxns.marker(f);
      if (f.type === T_BEGIN) {
        const prev = open.get(f.txnId);
        if (prev) prev.status = 'incomplete'; // 8.3: begun again while open
        const t: RefTxn = { txn: f.txnId, status: 'incomplete', ops: 0, puts: 0, deletes: 0, first: where(f), last: where(f), items: [] };
        open.set(f.txnId, t);
        txns.push(t);
      } else if (f.type === T_COMMIT || f.type === T_ABORT) {
        const t = open.get(f.txnId);
        if (!t) continue;
        open.delete(f.txnId);
        t.last = where(f);
        t.status = f.type === T_COMMIT ? 'committed' : 'aborted';
        if (f.type === T_COMMIT) {
          committed.push(...t.items);
          units.push(t.items);
          committedBatches++;
        }
      }
    }
    if (walTxns.stopped && walTxns.stoppedAt) replayCorruption = walTxns.stoppedAt;
    walTxns.finish();
    replay.liveKeys = kvState.size;

    // ---- transaction well-formedness for verify (CLI.md batch_mismatch, orphan_event, incomplete_batch)
    const vOpen = new Map<number, { f: RefFrame; declared: number; items: number }>();
    for (const f of frames) {
      if (f.type === T_EVENT) {
        const e = f.event!;
        if (!e.layoutOk || e.txnId === 0) continue;
        const t = vOpen.get(e.txnId);
        if (t) t.items++;
        else problems.push({ code: 'orphan_event', severity: 'error', segment: f.segment, offset: f.offset, seq: e.seq, entity: e.entity });
      } else if (f.type === T_BEGIN) {
        if (vOpen.has(f.txnId)) problems.push({ code: 'batch_mismatch', severity: 'error', segment: f.segment, offset: f.offset });
        vOpen.set(f.txnId, { f, declared: f.count, items: 0 });
      } else if (f.type === T_COMMIT) {
        const t = vOpen.get(f.txnId);
        if (!t) {
          problems.push({ code: 'batch_mismatch', severity: 'error', segment: f.segment, offset: f.offset });
          continue;
        }
        vOpen.delete(f.txnId);
        // 2.4: BEGIN count 0 = not known up front; COMMIT count = items the transaction wrote
        if (f.count !== t.items || (t.declared !== 0 && t.declared !== t.items)) problems.push({ code: 'batch_mismatch', severity: 'error', segment: f.segment, offset: f.offset });
      } else if (f.type === T_ABORT) {
        if (!vOpen.delete(f.txnId)) problems.push({ code: 'batch_mismatch', severity: 'error', segment: f.segment, offset: f.offset });
      }
    }
    for (const t of vOpen.values()) problems.push({ code: 'incomplete_batch', severity: 'warning', segment: t.f.segment, offset: t.f.offset });

    // ---- index.ckpt (section 6): trusted only when it matches the segments on disk
    const ckpt = checkpoint === null ? 'absent' : checkCheckpoint(checkpoint, files);
    if (ckpt === 'stale' || ckpt === 'damaged') problems.push({ code: 'checkpoint_stale', severity: 'warning', segment: 'index.ckpt', offset: 0 });

    return {
      segments,
      frames,
      committed,
      units,
      committedBatches,
      intact,
      txns: [...txns].sort((a, b) => segOrder(files, a.first, b.first)),
      kvOps,
      kvState,
      replay,
      replayCorruption,
      problems,
      eventFrames,
      nextSeq,
      nextTxnId: maxTxn + 1,
      heads,
      maxKvVersion,
      checkpoint: ckpt,
    };
  }

  private decodeFrame(b: Uint8Array, off: number, size: number, segment: string, segIndex: number): RefFrame {
    const type = b[off + 8]!;
    const body = off + FRAME_PREFIX_BYTES;
    if (type !== T_EVENT) {
      return {
        segment,
        segIndex,
        offset: off,
        type,
        sizeBytes: size,
        txnId: u64(b, body), // GAP: its `first` (a SIDX marker row's first u64, 2.5)
        count: type === T_BEGIN || type === T_COMMIT ? u32(b, body + 8) : 0,
        event: null,
      };
    }
    const frame = b.slice(off, off + size);
    const f = FRAME_PREFIX_BYTES;
    const eLen = u16(frame, f + 116);
    const sLen = u16(frame, f + 118);
    const pLen = u32(frame, f + 120);
    const seq = u64(frame, f + 16);
    const clock = u64(frame, f + 24);
    const wallMs = u64(frame, f + 32);
    const txnId = u64(frame, f + 40);
    const layoutOk = ![seq, clock, wallMs, txnId].some(Number.isNaN) && eLen <= MAX_ENTITY_BYTES && sLen <= MAX_SCOPE_BYTES && pLen <= MAX_PAYLOAD_BYTES;
    const es = f + 124;
    const ev: RefEvent = {
      segment,
      segIndex,
      offset: off,
      frame,
      eventId: uuid(frame, f),
      seq,
      clock,
      wallMs,
      txnId: Number.isNaN(txnId) ? -1 : txnId,
      kindCategory: u16(frame, f + 48),
      kindType: u16(frame, f + 50),
      correlationId: optionalUuid(frame, f + 52),
      causationId: optionalUuid(frame, f + 68),
      prevHash: hex(frame, f + 84, f + 116),
      eventHash: hex(frame, frame.length - 32, frame.length),
      entity: lenientUtf8.decode(frame.subarray(es, es + eLen)),
      scope: lenientUtf8.decode(frame.subarray(es + eLen, es + eLen + sLen)),
      payload: frame.slice(es + eLen + sLen, es + eLen + sLen + pLen),
      layoutOk,
      hashOk: false,
    };
    ev.hashOk = this.hashOk(frame);
    return { segment, segIndex, offset: off, type, sizeBytes: size, txnId: ev.txnId, count: 0, event: ev };
  }

  /** 5.2: a gap record advances the expected sequence, or an entity's clock, chain and wall floor. */
  private applyGap(b: Uint8Array, off: number, _size: number, segment: string, heads: Map<string, RefHead>, report: (p: RefProblem) => void, setSeq: (s: number) => void, nextSeq: number): void {
    const body = off + FRAME_PREFIX_BYTES;
    const first = u64(b, body);
    const count = u32(b, body + 8);
    const kind = b[body + 12]!;
    if (Number.isNaN(first) || Number.isNaN(u64(b, body + 14))) {
      report({ code: 'bad_frame', severity: 'error', segment, offset: off });
      return;
    }
    if (kind === 1) {
      if (first !== nextSeq) report({ code: 'sequence_gap', severity: 'error', segment, offset: off, seq: first });
      setSeq(first + count);
      report({ code: 'gap_acknowledged', severity: 'info', segment, offset: off, seq: first });
      return;
    }
    const eLen = u16(b, body + 62);
    const entity = lenientUtf8.decode(b.subarray(body + 64, body + 64 + eLen));
    const head = heads.get(entity);
    const expectClock = head ? head.clock + 1 : 0;
    if (first !== expectClock) report({ code: 'clock_gap', severity: 'error', segment, offset: off, entity });
    // DOC: 5.2 rule 2 "advances the entity's clock to first + count − 1": the clock of its last lost link, so the next event has first + count
    heads.set(entity, { clock: first + count - 1, hash: hex(b, body + 22, body + 54), wallMs: Math.max(head?.wallMs ?? 0, u64(b, body + 54)) });
    report({ code: 'gap_acknowledged', severity: 'info', segment, offset: off, entity });
  }
}

function resyncFrom(b: Uint8Array, off: number, end: number): number | null {
  const { st, size } = checkFrame(b, off, end);
  if (st === St.Valid) return off;
  if (st === St.End) return null;
  return resync(b, off, size, end);
}

function segOrder(files: { name: string }[], a: { segment: string; offset: number }, b: { segment: string; offset: number }): number {
  const ia = files.findIndex((f) => f.name === a.segment);
  const ib = files.findIndex((f) => f.name === b.segment);
  return ia - ib || a.offset - b.offset;
}

/** The WAL view (8.3): replay's grouping and application, stopping at a bad KV event. */
class WalModel {
  stopped = false;
  stoppedAt: RefStore['replayCorruption'] = null;
  private readonly open = new Map<number, RefKvOp[]>();
  constructor(
    private readonly stats: RefStore['replay'],
    private readonly state: RefStore['kvState'],
    private readonly ops: RefKvOp[],
  ) {}

  event(f: RefFrame, e: RefEvent): void {
    const kv = e.kindCategory === 0 && (e.kindType === 1 || e.kindType === 2);
    if (kv) {
      const bad = kvLayoutBad(e);
      if (bad) {
        this.stopped = true;
        this.stoppedAt = { code: 'bad_kv_event', segment: f.segment, offset: f.offset };
        return;
      }
    }
    if (e.txnId === 0) {
      if (kv) this.stats.orphanedEntries++;
      return;
    }
    const t = this.open.get(e.txnId);
    if (!t) {
      this.stats.orphanedEntries++;
      return;
    }
    if (kv) {
      const key = strictOrLenient(e.frame.subarray(FRAME_PREFIX_BYTES + 124 + 3, FRAME_PREFIX_BYTES + 124 + Buffer.byteLength(e.entity, 'utf8')));
      const version = u64(e.payload, 0);
      t.push({ type: e.kindType === 1 ? 'put' : 'delete', key, value: e.kindType === 1 ? Buffer.from(e.payload.subarray(8)).toString('utf8') : null, version, txn: e.txnId });
    }
  }

  marker(f: RefFrame): void {
    if (f.type === T_BEGIN) {
      if (this.open.has(f.txnId)) this.stats.discardedTxns++;
      this.open.set(f.txnId, []);
    } else if (f.type === T_COMMIT) {
      const t = this.open.get(f.txnId);
      if (!t) return;
      this.open.delete(f.txnId);
      this.stats.txnsApplied++;
      for (const op of t) {
        this.ops.push(op);
        if (op.version > this.stats.finalVersion) this.stats.finalVersion = op.version;
        if (op.type === 'put') {
          this.stats.writesApplied++;
          this.state.set(op.key, { value: op.value!, version: op.version });
        } else {
          this.stats.deletesApplied++;
          this.state.delete(op.key);
        }
      }
    } else if (f.type === T_ABORT) {
      if (!this.open.delete(f.txnId)) return;
      this.stats.discardedTxns++;
      this.stats.abortedTxns++;
    }
  }

  finish(): void {
    this.stats.discardedTxns += this.open.size;
    this.open.clear();
  }
}

/** 8.1: entity starts with "kv:", delete payload exactly 8 bytes, put more than 8, version 1 .. 2^53 - 1. */
function kvLayoutBad(e: RefEvent): boolean {
  const f = e.frame;
  const eLen = u16(f, FRAME_PREFIX_BYTES + 116);
  const es = FRAME_PREFIX_BYTES + 124;
  if (eLen < 3 || f[es] !== KV_PREFIX[0] || f[es + 1] !== KV_PREFIX[1] || f[es + 2] !== KV_PREFIX[2]) return true;
  if (e.kindType === 2 ? e.payload.length !== 8 : e.payload.length <= 8) return true;
  const v = u64(e.payload, 0);
  return !(v >= 1);
}

function strictOrLenient(b: Uint8Array): string {
  try {
    return strictUtf8.decode(b);
  } catch {
    return lenientUtf8.decode(b);
  }
}

/** Section 6 "Trusted only when it matches": magic, version, size, CRC, and the segments on disk. */
function checkCheckpoint(c: Uint8Array, files: { name: string; bytes: Uint8Array }[]): 'valid' | 'stale' | 'damaged' {
  if (c.length < CKPT_HEADER_BYTES + CKPT_STATE_BYTES + 4) return 'damaged';
  if (!same(c, 0, Uint8Array.from(CKPT_MAGIC), 0, 4) || u16(c, 4) !== 1 || u64(c, 8) !== c.length) return 'damaged';
  if (refCrc32c(c, 0, c.length - 4) !== u32(c, c.length - 4)) return 'damaged';
  const n = u32(c, 16);
  if (n !== files.length) return 'stale';
  for (let i = 0; i < n; i++) {
    const r = CKPT_HEADER_BYTES + CKPT_STATE_BYTES + i * CKPT_SEGMENT_BYTES;
    if (r + CKPT_SEGMENT_BYTES > c.length) return 'damaged';
    const f = files[i]!;
    if (u64(c, r) !== Number(SEGMENT_FILE.exec(f.name)![1])) return 'stale';
    if (u64(c, r + 8) !== f.bytes.length) return 'stale';
    const tail = Math.min(CKPT_TAIL_CHECK_BYTES, f.bytes.length);
    if (refCrc32c(f.bytes, f.bytes.length - tail, f.bytes.length) !== u32(c, r + 56)) return 'stale';
  }
  return 'valid';
}

// ------------------------------------------------------------------ expected output records

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The JSON record docs/CLI.md ("dump") says an event prints as, built from the reference's decode. */
export function expectedRecord(e: RefEvent): Record<string, unknown> {
  const r: Record<string, unknown> = {
    seq: e.seq,
    eventId: e.eventId,
    entity: e.entity,
    scope: e.scope,
    kind: `${e.kindCategory}:${e.kindType}`,
    clock: e.clock,
    wallMs: e.wallMs,
    txnId: e.txnId,
    causationId: e.causationId,
    correlationId: e.correlationId,
    prevHash: e.prevHash,
    eventHash: e.eventHash,
    // key order as the engine prints it (not a contract; compared as JSON text)
    payloadEncoding: 'json',
  };
  let text: string;
  try {
    // DOC: CLI.md does not say whether a leading BOM is part of the text; TextDecoder's default strips it
    text = fatalUtf8.decode(e.payload);
  } catch {
    r.payloadEncoding = 'base64';
    r.payloadBase64 = Buffer.from(e.payload).toString('base64');
    return r;
  }
  try {
    // DOC: an empty payload is not JSON text, yet the engine prints it as json null
    r.payload = text.length === 0 ? null : JSON.parse(text);
    r.payloadEncoding = 'json';
  } catch {
    r.payloadEncoding = 'text';
    r.payload = text;
  }
  return r;
}
