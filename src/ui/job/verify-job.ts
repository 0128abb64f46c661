/**
 * `seglog verify` as a job (control.ts): the same verifySegments walk, with progress
 * (bytes walked of the segments' total) and a cancel check at every progress call.
 * Verify is read-only, so the runner may also simply stop its worker on Ctrl-C.
 */
import { createHasher } from '../../format/hash/blake3.js';
import { RealFs } from '../../engine/io/real-fs.js';
import { resolveTarget } from '../../engine/segment/target.js';
import { type VerifyReport, verifySegments } from '../../engine/verify/verify.js';
import { startParallelVerdicts } from '../../engine/verify/verify-parallel.js';
import type { JobControl } from './control.js';

export interface VerifyJobInput {
  store: string;
  maxErrors?: number;
}

export async function verifyJob(input: VerifyJobInput, ctl: JobControl): Promise<VerifyReport> {
  const fs = new RealFs();
  const target = resolveTarget(fs, input.store);
  ctl.setTotalBytes(target.segments.reduce((sum, s) => sum + sizeOf(fs, s.path), 0));
  const hasher = await createHasher();
  // worker threads hash sealed segments ahead of the walk; the report is the same either way
  const verdicts = startParallelVerdicts(fs, target.segments, { loneFile: target.kind === 'segment' });
  try {
    return verifySegments(fs, target.segments, hasher, {
      maxErrors: input.maxErrors,
      loneFile: target.kind === 'segment',
      storeDir: target.kind === 'store' ? target.dir : undefined,
      onProgress: (bytes) => {
        ctl.progress(bytes, bytes);
        ctl.checkpoint();
      },
      hashVerdicts: verdicts ?? undefined,
    });
  } finally {
    verdicts?.close();
  }
}

function sizeOf(fs: RealFs, path: string): number {
  try {
    return fs.stat(path).sizeBytes;
  } catch {
    return 0;
  }
}
