import type { FrameLocation } from '../log/committed-stream.js';
import type { StoreOptions } from '../io/options.js';

/**
 * A frame for `Store.writeRaw`: the low-level write path of interactive transactions
 * (txn.ts) and of the fixture builder (fixture-build.ts). The caller decides what the
 * frames say about transactions (BEGIN, items, COMMIT/ABORT in any order, items without
 * a BEGIN); the store still assigns each EVENT its global sequence, entity clock, wall
 * time, event id and prev_hash in file order, so sequences stay dense and chains intact.
 */
export type RawFrame = RawMarker | RawEvent;

export interface RawMarker {
  type: 'begin' | 'commit' | 'abort';
  /** 1 .. 2^53-1 (0 means "no transaction" in an EVENT and is refused for markers). */
  txnId: number;
  /** BEGIN: items announced (0 = not known up front); COMMIT: items written. Ignored for ABORT. */
  count: number;
}

export interface RawEvent {
  type: 'event';
  /** 0 = standalone event. */
  txnId: number;
  entity: string;
  /** UTF-8 of `entity`, when the caller has it already (callers writing many frames cache it). */
  entityBytes?: Uint8Array;
  scope: string;
  /** Any kind, category 0 (the engine's reserved range) included. */
  kind: { category: number; type: number };
  payload: Uint8Array;
  /** The key/value version this event records, if it is a KV operation (advances the store's counter). */
  kvVersion?: number;
}

export interface RawEventResult {
  seq: number;
  clock: number;
  wallMs: number;
  location: FrameLocation;
}

export interface RawWriteResult {
  /** One entry per EVENT frame written, in order. */
  events: RawEventResult[];
  /** Whether the frames were fsynced before the call returned. */
  durable: boolean;
}

/** Limits on one marker's count field (u32). */
export const MAX_MARKER_COUNT = 0xffff_ffff;

/**
 * What interactive transactions (txn.ts) and the fixture builder write through: the
 * store's raw-frame write path, seen from below. Store implements it; Txn depends on
 * this interface, not on Store, so the two do not import each other.
 */
export interface RawFrameWriter {
  readonly options: Pick<StoreOptions, 'batchMaxSize' | 'batchMaxBytes'>;
  /** The version the next key/value operation records. */
  peekKvVersion(): number;
  /** Writes `frames` in order; when `sync`, makes them durable per the sync mode. */
  writeRaw(frames: readonly RawFrame[], sync: boolean): RawWriteResult;
  /** A transaction's COMMIT is durable: count its items as committed and publish them. */
  publishTxn(items: readonly FrameLocation[]): void;
}
