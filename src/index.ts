/** seglog's library entry point: the engine, for programs that embed the log. */
export { Store, BulkAppender } from './engine/store.js';
export type { OpenOptions, Coordinate, AppendOptions, BatchItem, Receipt, InjectionHooks, Subscriber } from './engine/store.js';
export type { StoreOptions, SyncMode } from './engine/options.js';
export type { Region } from './engine/region.js';
export { SeglogError } from './engine/errors.js';
export type { SeglogErrorCode } from './engine/errors.js';
export { verifySegments } from './engine/verify.js';
export type { Problem, ProblemCode, VerifyReport } from './engine/verify.js';
export { listSegments } from './engine/walker.js';
export { Cursor } from './engine/cursor.js';
export type { FileSystem } from './engine/fs/types.js';
export { RealFs } from './engine/fs/real-fs.js';
export { SimFs } from './engine/fs/sim-fs.js';
export type { DecodedEvent } from './format/event.js';
