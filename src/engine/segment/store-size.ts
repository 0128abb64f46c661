/** Bytes of segment files a command-line path names (a store or one segment), for progress and for choosing a worker; 0 when it cannot tell. */
import type { FileSystem } from '../io/fs-types.js';
import { RealFs } from '../io/real-fs.js';
import { resolveTarget } from './target.js';

export function storeSizeBytes(path: string): number {
  const fs = new RealFs();
  try {
    return segmentsSizeBytes(fs, resolveTarget(fs, path).segments);
  } catch {
    return 0;
  }
}

/** Bytes of these segment files (storeSizeBytes once the target is resolved); 0 when it cannot tell. */
export function segmentsSizeBytes(fs: FileSystem, segments: readonly { path: string }[]): number {
  try {
    let total = 0;
    for (const s of segments) total += fs.stat(s.path).sizeBytes;
    return total;
  } catch {
    return 0;
  }
}
