/**
 * Reading the base of a pruned store (format/base.ts, docs/FORMAT.md section 11), and
 * the two things every reader of a pruned store does with it: skip segment files below
 * the base (left by a prune a crash interrupted: the base is written before the first
 * unlink, so such files are already pruned), and start its state from the base.
 */
import { join } from 'node:path';
import { BASE_FILE, decodeBase, type PruneBase } from '../../format/base.js';
import { ioError, SeglogError } from '../io/errors.js';
import { type FileSystem, isFsError } from '../io/fs-types.js';
import { readFully, readWhole } from '../io/fs-util.js';
import { readU32, readU64 } from '../../format/bytes.js';
import { BASE_HEADER_BYTES, BASE_OPEN_TXN_BYTES } from '../../format/base.js';
import { listSegments, type SegmentFile } from './walker.js';

/** Bases hold one head per entity: a generous cap, still far below what would exhaust memory. */
const BASE_MAX_BYTES = 1024 * 1024 * 1024;

export function basePath(dir: string): string {
  return join(dir, BASE_FILE);
}

/** The store's base, or null when it was never pruned. A damaged base is an error naming it (exit 1). */
export function loadBase(fs: FileSystem, dir: string): PruneBase | null {
  const path = basePath(dir);
  let bytes: Uint8Array;
  try {
    bytes = readWhole(fs, path, BASE_MAX_BYTES);
  } catch (err) {
    if (isFsError(err, 'ENOENT') || isFsError(err, 'ENOTDIR')) return null;
    throw ioError(err, path, 'read the base');
  }
  const b = decodeBase(bytes);
  if (typeof b === 'string') throw new SeglogError('corrupt', `base of the pruned store is damaged: ${b}`, { file: path });
  return b;
}

/** Segments at or after the base (all of them when there is none). */
export function segmentsFromBase(segments: SegmentFile[], base: PruneBase | null): SegmentFile[] {
  return base === null ? segments : segments.filter((s) => s.id >= base.firstSegmentId);
}

/** The store's segments a reader walks: those at or after its base. */
export function liveSegments(fs: FileSystem, dir: string, opening: BaseOpening | null = baseOpening(fs, dir)): SegmentFile[] {
  // the base's header only (its first segment): readers call this per pass, and a base holds every entity's head
  const all = listSegments(fs, dir);
  return opening === null ? all : all.filter((s) => s.id >= opening.firstSegmentId);
}

/**
 * The transactions open at the cut, read from the base's header and open-transaction
 * table only (readers call it per scan; `loadBase` checks the whole file at open).
 * Readers that start at the first segment kept treat them as begun: their remaining
 * items are visible once their COMMIT is read. Empty when the store was never pruned.
 */
export function baseOpenTxnIds(fs: FileSystem, dir: string): number[] {
  return baseOpening(fs, dir)?.txnIds ?? [];
}

/** The base's first segment and the transactions open at the cut (header and table only), or null: never pruned. */
/** What a reader starting at the base needs of it: where the kept segments start and the transactions open there. */
export interface BaseOpening {
  firstSegmentId: number;
  txnIds: number[];
}

export function baseOpening(fs: FileSystem, dir: string): BaseOpening | null {
  const path = basePath(dir);
  let fd: number;
  try {
    fd = fs.open(path, 'r');
  } catch (err) {
    if (isFsError(err, 'ENOENT') || isFsError(err, 'ENOTDIR')) return null;
    throw ioError(err, path, 'read the base');
  }
  try {
    const head = new Uint8Array(BASE_HEADER_BYTES);
    if (readFully(fs, fd, head, 0, head.length, 0) < head.length) throw new SeglogError('corrupt', 'base is shorter than its header', { file: path });
    const count = readU32(head, 68);
    if (BASE_HEADER_BYTES + count * BASE_OPEN_TXN_BYTES > readU64(head, 72)) throw new SeglogError('corrupt', 'base open-transaction count is beyond the file', { file: path });
    const table = new Uint8Array(count * BASE_OPEN_TXN_BYTES);
    readFully(fs, fd, table, 0, table.length, BASE_HEADER_BYTES);
    const ids: number[] = [];
    for (let i = 0; i < count; i++) ids.push(readU64(table, i * BASE_OPEN_TXN_BYTES));
    return { firstSegmentId: readU64(head, 8), txnIds: ids };
  } finally {
    fs.close(fd);
  }
}
