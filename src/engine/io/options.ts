import { SeglogError } from './errors.js';

export type SyncMode = 'always' | 'batch' | 'none';
export const SYNC_MODES: readonly SyncMode[] = ['always', 'batch', 'none'];

/** Options fixed when a store is created and persisted in `seglog.json`. */
export interface StoreOptions {
  /** A segment is sealed and a new one started once it reaches this size. */
  segmentMaxBytes: number;
  /** Most items one atomic batch may hold. */
  batchMaxSize: number;
  /** Most encoded bytes one atomic batch may hold. */
  batchMaxBytes: number;
  /**
   * always: fsync before any append is acknowledged.
   * batch: fsync at the end of every batch / bulk append, and every `syncEveryNEvents` single appends.
   * none: fsync only when a segment is sealed and at close.
   */
  sync: SyncMode;
  syncEveryNEvents: number;
}

export const DEFAULT_OPTIONS: StoreOptions = {
  segmentMaxBytes: 64 * 1024 * 1024,
  batchMaxSize: 10_000,
  batchMaxBytes: 16 * 1024 * 1024,
  sync: 'batch',
  syncEveryNEvents: 100,
};

export const OPTION_LIMITS = {
  segmentMaxBytes: { min: 4096, max: 4 * 1024 * 1024 * 1024 },
  batchMaxSize: { min: 1, max: 1_000_000 },
  batchMaxBytes: { min: 1024, max: 256 * 1024 * 1024 },
  syncEveryNEvents: { min: 1, max: 1_000_000_000 },
} as const;

export function validateOptions(o: StoreOptions, file?: string): StoreOptions {
  for (const key of Object.keys(OPTION_LIMITS) as (keyof typeof OPTION_LIMITS)[]) {
    const v = o[key];
    const { min, max } = OPTION_LIMITS[key];
    if (!Number.isInteger(v) || v < min || v > max) {
      throw new SeglogError('usage', `${key} must be an integer from ${min} to ${max}, got ${String(v)}`, { file });
    }
  }
  if (!SYNC_MODES.includes(o.sync)) {
    throw new SeglogError('usage', `sync must be one of ${SYNC_MODES.join(', ')}, got ${String(o.sync)}`, { file });
  }
  return o;
}
