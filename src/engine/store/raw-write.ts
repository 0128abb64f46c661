/**
 * Raw transaction frames (issue 4; used by txn.ts and fixture-build.ts), written through
 * the store's WriteState (write-path.ts). Interactive transactions write their frames as
 * they go, interleaved with other writes; the fixture builder writes sequences the
 * normal API never produces. Both come through `writeRawFrames`, which still assigns
 * sequences, entity clocks and hash chains in file order, so the log's invariants hold
 * whatever the frames say about transactions. Heads and the sequence advance when the
 * bytes are written (the next frame's chain depends on them), never on a failed write;
 * readers see nothing of a transaction until `publishTxn` after its COMMIT.
 */
import { copyBytes, utf8 } from '../../format/bytes.js';
import { HASH_BYTES } from '../../format/hash/blake3.js';
import { eventFrameSize, isValidKind, MAX_ENTITY_BYTES, MAX_PAYLOAD_BYTES, MAX_SAFE_U64, MAX_SCOPE_BYTES } from '../../format/event.js';
import { FRAME_PREFIX_BYTES } from '../../format/frame.js';
import { encodeAbort, encodeBegin, encodeCommit, MARKER_BODY_BYTES, MARKER_FRAME_BYTES } from '../../format/marker.js';
import { SeglogError } from '../io/errors.js';
import type { EntityHead } from '../recovery/recovery-scan.js';
import { MAX_MARKER_COUNT, type RawFrame, type RawEventResult, type RawWriteResult } from './raw-frames.js';
import type { WriteState } from './write-path.js';

const EMPTY_BYTES = new Uint8Array(0);

/**
 * RawFrameWriter: writes `frames` in order (in as few writes as segment rotation allows) and,
 * when `sync`, makes them durable per the sync mode (`none` never fsyncs). Validates
 * every frame before writing any; a failed write is rolled back and burns nothing.
 */
export function writeRawFrames(ws: WriteState, frames: readonly RawFrame[], sync: boolean): RawWriteResult {
  const w = ws.checkWritable();
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
      const scope = f.scope.length === 0 ? EMPTY_BYTES : utf8.encode(f.scope);
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
  const buf = ws.scratch(total);
  const starts: number[] = new Array(n);
  const seqOf: number[] = new Array(n);
  const pendingHeads = new Map<string, EntityHead>();
  const events: RawEventResult[] = [];
  const now = ws.clock();
  let seq = ws.nextSeq;
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
      const head = pendingHeads.get(f.entity) ?? ws.heads.get(f.entity);
      const size = ws.encodeNext(buf, off, head, now, seq, f.txnId, f.kind, null, null, entities[i]!, scopes[i]!, f.payload, new Uint8Array(16));
      const { clock, wallMs } = ws.encoded;
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
      while (j < n && w.active.sizeBytes + run + sizes[j]! <= ws.options.segmentMaxBytes) run += sizes[j++]!;
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
        if (f.type === 'begin') ws.inject.afterBeginWritten?.(f.txnId);
        else if (f.type === 'commit') ws.inject.afterCommitWritten?.(f.txnId);
      }
      i = j;
    }
    if (sync && ws.options.sync !== 'none') {
      w.fsync();
      ws.unsyncedSingles = 0;
      durable = true;
    }
    for (const f of frames) if (f.type === 'commit') ws.inject.beforePublish?.(f.txnId);
  } catch (err) {
    ws.failWrite(w, mark, err);
  }
  for (const [k, h] of pendingHeads) ws.heads.set(k, h);
  ws.nextSeq = seq;
  if (maxTxn >= ws.nextTxnId) ws.nextTxnId = maxTxn + 1;
  if (kvMax > ws.peekKvVersion() - 1) ws.kvVersionMax = kvMax;
  if (touchesCommitted) {
    // standalone events and COMMITs change what readers see: id/hash indexes are rebuilt lazily
    ws.reads.invalidate();
  }
  return { events, durable };
}
