/**
 * The size of an append's input file, for the worker choice and progress percentages: its
 * own module, so that the fast path (append-fast.ts) reads it without loading the append
 * job's engine code on the main thread (the job runs in a worker).
 */
import { statSync } from 'node:fs';

/** Input size for progress percentages: a regular file's size, else 0 (unknown). */
export function inputSizeBytes(file: string): number {
  if (file === '-') return 0;
  try {
    const st = statSync(file);
    return st.isFile() ? st.size : 0;
  } catch {
    return 0;
  }
}
