import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StdoutSink } from '../../src/ui/stdout-sink.js';

/** What `write` sends through a StdoutSink, read back from a temp file (the sink writes to an fd). */
export function captureSink(write: (out: StdoutSink) => void): string {
  const dir = mkdtempSync(join(tmpdir(), 'seglog-jsonl-'));
  const file = join(dir, 'out');
  const fd = openSync(file, 'w');
  try {
    const out = new StdoutSink(fd);
    write(out);
    out.flush();
  } finally {
    closeSync(fd);
  }
  const s = readFileSync(file, 'utf8');
  rmSync(dir, { recursive: true, force: true });
  return s;
}
