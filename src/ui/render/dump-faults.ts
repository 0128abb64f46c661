/** What `dump` says about damage it met (the oclif command and the fast path, ui/dump-fast.ts). */
import type { Fault } from '../../tools/dump-read.js';

/** Damage met while dumping: one line each on stderr; true when it makes the exit status 1 (the data has problems). */
export function reportFaults(cmd: { warn(m: string): unknown }, faults: Fault[], loneFile: boolean): boolean {
  let damaged = false;
  for (const f of faults) {
    // a file given on its own that does not even start like a segment is the wrong file, not a torn tail (as in verify)
    const notASegment = loneFile && f.kind === 'torn' && f.offset === 0;
    const what = notASegment ? 'bad segment header' : f.kind === 'torn' ? 'torn tail' : f.kind === 'bad_header' ? 'bad segment header' : 'corrupt frame';
    cmd.warn(`${f.path}: at byte ${f.offset}: ${what}: ${f.detail}`);
    if (f.kind !== 'torn' || notASegment) damaged = true;
  }
  return damaged;
}
