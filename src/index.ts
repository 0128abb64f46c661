/** seglog's library entry point: the engine, for programs that embed the log. */
export { Store, BulkAppender } from './engine/store/store.js';
export type { OpenOptions, Coordinate, AppendOptions, BatchItem, Receipt, InjectionHooks, Subscriber } from './engine/store/store.js';
export type { StoreOptions, SyncMode } from './engine/io/options.js';
export type { Region } from './engine/log/region.js';
export { SeglogError } from './engine/io/errors.js';
export type { SeglogErrorCode } from './engine/io/errors.js';
export { verifySegments } from './engine/verify/verify.js';
export type { Problem, ProblemCode, VerifyReport } from './engine/verify/verify.js';
export { listSegments } from './engine/segment/walker.js';
export { Cursor } from './engine/log/cursor.js';
export type { FileSystem } from './engine/io/fs-types.js';
export { RealFs } from './engine/io/real-fs.js';
export { SimFs } from './sim/sim-fs.js';
export type { DecodedEvent } from './format/event.js';
