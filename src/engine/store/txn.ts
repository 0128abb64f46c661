import { eventFrameSize } from '../../format/event.js';
import {
  checkKvKey,
  encodeKvDeletePayload,
  encodeKvPutPayload,
  encodeKvValue,
  KV_KIND_CATEGORY,
  KV_SCOPE,
  kvEntity,
  KvKind,
  type KvKindType,
} from '../../format/kv.js';
import { MARKER_FRAME_BYTES } from '../../format/marker.js';
import type { FrameLocation } from '../log/committed-stream.js';
import { SeglogError } from '../io/errors.js';
import type { RawFrame, RawFrameWriter } from './raw-frames.js';

export type TxnState = 'open' | 'committed' | 'aborted';

export interface KvWriteReceipt {
  txnId: number;
  key: string;
  /** The version recorded in the frame (store-wide, allocated at write time). */
  version: number;
  /** Global sequence of the operation's EVENT frame. */
  seq: number;
}

export interface TxnCommitReceipt {
  txnId: number;
  puts: number;
  deletes: number;
  /** Whether the COMMIT was fsynced before the call returned (sync `always` or `batch`). */
  durable: boolean;
}

/**
 * An interactive transaction over the key/value state (opened by `store.beginTxn()`).
 *
 * Its frames are written as it goes: the first operation writes BEGIN and the
 * operation, each later one its own EVENT frame, `commit()` a COMMIT (fsynced unless
 * the store's sync mode is `none`), `abort()` an ABORT. A transaction that never
 * wrote an operation writes nothing at all. Several transactions may be open at once;
 * their frames interleave in the log and replay groups them by transaction id.
 *
 * Versions are allocated at write time from one store-wide counter (largest version
 * in the log + 1, recovered on open), so every recorded version is unique, and two
 * transactions writing the same key are ordered by commit, not by version: there is
 * no conflict detection, the later COMMIT wins on replay (see docs/FORMAT.md).
 *
 * A failed write (validation, size limits, I/O) is rolled back and leaves the
 * transaction open, exactly as it was; a transaction left open when the store closes
 * or the process dies is discarded by replay (and cut by recovery when its frames are
 * the log's tail).
 */
export class Txn {
  private txnState: TxnState = 'open';
  private begun = false;
  private puts = 0;
  private deletes = 0;
  /** Bytes this transaction's frames take, markers included (bounded by batchMaxBytes). */
  private sizeBytes = 2 * MARKER_FRAME_BYTES;
  private readonly items: FrameLocation[] = [];

  constructor(
    private readonly store: RawFrameWriter,
    readonly id: number,
  ) {}

  get state(): TxnState {
    return this.txnState;
  }

  /** Operations written so far. */
  get ops(): number {
    return this.puts + this.deletes;
  }

  /** Records `key = value` (any JSON-encodable value). */
  put(key: string, value: unknown): KvWriteReceipt {
    this.checkOpen();
    this.checkKey(key);
    let json: Uint8Array;
    try {
      json = encodeKvValue(value);
    } catch (err) {
      throw new SeglogError('validation', `txn ${this.id}: put ${JSON.stringify(key)}: ${(err as Error).message}`);
    }
    return this.write(KvKind.PUT, key, (version) => encodeKvPutPayload(version, json));
  }

  /** Records the deletion of `key` (whether or not it exists: replay counts it either way). */
  delete(key: string): KvWriteReceipt {
    this.checkOpen();
    this.checkKey(key);
    return this.write(KvKind.DELETE, key, encodeKvDeletePayload);
  }

  commit(): TxnCommitReceipt {
    this.checkOpen();
    let durable = true;
    if (this.begun) durable = this.store.writeRaw([{ type: 'commit', txnId: this.id, count: this.ops }], true).durable;
    // committed from here on, whatever publishing to subscribers does
    this.txnState = 'committed';
    if (this.begun) this.store.publishTxn(this.items);
    return { txnId: this.id, puts: this.puts, deletes: this.deletes, durable };
  }

  abort(): void {
    this.checkOpen();
    // no fsync: an ABORT that a crash loses leaves an incomplete transaction, which is discarded just the same
    if (this.begun) this.store.writeRaw([{ type: 'abort', txnId: this.id, count: 0 }], false);
    this.txnState = 'aborted';
  }

  private write(type: KvKindType, key: string, payloadOf: (version: number) => Uint8Array): KvWriteReceipt {
    const limits = this.store.options;
    if (this.ops >= limits.batchMaxSize) {
      throw new SeglogError('validation', `txn ${this.id}: over batchMaxSize ${limits.batchMaxSize} operations`);
    }
    const version = this.store.peekKvVersion();
    const payload = payloadOf(version);
    const entity = kvEntity(key);
    const frameBytes = eventFrameSize(Buffer.byteLength(entity, 'utf8'), 0, payload.length);
    if (this.sizeBytes + frameBytes > limits.batchMaxBytes) {
      throw new SeglogError('validation', `txn ${this.id}: over batchMaxBytes ${limits.batchMaxBytes}`);
    }
    const op: RawFrame = {
      type: 'event',
      txnId: this.id,
      entity,
      scope: KV_SCOPE,
      kind: { category: KV_KIND_CATEGORY, type },
      payload,
      kvVersion: version,
    };
    const frames: RawFrame[] = this.begun ? [op] : [{ type: 'begin', txnId: this.id, count: 0 }, op];
    const res = this.store.writeRaw(frames, false);
    this.begun = true;
    this.sizeBytes += frameBytes;
    if (type === KvKind.PUT) this.puts++;
    else this.deletes++;
    const e = res.events[0]!;
    this.items.push(e.location);
    return { txnId: this.id, key, version, seq: e.seq };
  }

  private checkOpen(): void {
    if (this.txnState !== 'open') throw new SeglogError('validation', `txn ${this.id} is already ${this.txnState}`);
  }

  private checkKey(key: string): void {
    const problem = checkKvKey(key);
    if (problem) throw new SeglogError('validation', `txn ${this.id}: ${problem}`);
  }
}
