/** The store's public types: what callers pass to and get from `Store` (store.ts). */
import type { DecodedEvent } from '../../format/event.js';
import type { FileSystem } from '../io/fs-types.js';
import type { LockEnv } from '../io/lock.js';
import type { StoreOptions } from '../io/options.js';
import type { ColdStartOptions } from '../index/cold-start.js';
import type { SealHook } from '../segment/segment-writer.js';

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
