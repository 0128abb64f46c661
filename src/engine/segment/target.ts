import { basename, resolve } from 'node:path';
import { SeglogError } from '../io/errors.js';
import { type FileSystem, isFsError } from '../io/fs-types.js';
import { exists } from '../io/fs-util.js';
import { parseSegmentFileName, storePaths } from '../io/layout.js';
import { listSegments, type SegmentFile } from './walker.js';

/** What a command-line path names: a whole store, or one segment file on its own. */
export type Target =
  | { kind: 'store'; dir: string; segments: SegmentFile[] }
  | { kind: 'segment'; file: string; segments: SegmentFile[] };

/**
 * Resolves a path given on the command line. A missing path or a directory that is not
 * a store is a usage error (exit 2); any regular file is taken as a segment, so that a
 * wrong or damaged file is reported by what reads it (bad header, exit 1).
 */
export function resolveTarget(fs: FileSystem, path: string): Target {
  const abs = resolve(path);
  let isDir: boolean;
  try {
    isDir = fs.stat(abs).isDirectory;
  } catch (err) {
    if (isFsError(err, 'ENOENT') || isFsError(err, 'ENOTDIR')) throw new SeglogError('not_found', 'no such file or directory', { file: path });
    throw new SeglogError('io', `cannot stat (${(err as { code?: string }).code ?? 'error'})`, { file: path });
  }
  if (isDir) {
    if (!exists(fs, storePaths(abs).meta)) {
      throw new SeglogError('not_a_store', 'not a seglog store (no seglog.json); give a store directory or a segment file', { file: path });
    }
    return { kind: 'store', dir: abs, segments: listSegments(fs, abs) };
  }
  const name = basename(abs);
  return { kind: 'segment', file: abs, segments: [{ id: parseSegmentFileName(name) ?? -1, path: abs, name }] };
}

