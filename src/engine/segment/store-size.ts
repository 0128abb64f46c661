/** Bytes of segment files a command-line path names (a store or one segment), for progress and for choosing a worker; 0 when it cannot tell. */
import { RealFs } from '../io/real-fs.js';
import { resolveTarget } from './target.js';

export function storeSizeBytes(path: string): number {
  const fs = new RealFs();
  try {
    let total = 0;
    for (const s of resolveTarget(fs, path).segments) total += fs.stat(s.path).sizeBytes;
    return total;
  } catch {
    return 0;
  }
}

/** `path` when it names a store or a file; throws the usual SeglogError (not_found, not_a_store) otherwise. */
export function checkedTarget(path: string): string {
  resolveTarget(new RealFs(), path);
  return path;
}
