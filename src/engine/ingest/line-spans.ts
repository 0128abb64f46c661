import { closeSync, openSync, readSync } from 'node:fs';

const CHUNK_BYTES = 4 * 1024 * 1024;
/** Longest line accepted; a longer one is bad input, never an unbounded buffer. */
export const MAX_LINE_BYTES = 32 * 1024 * 1024;

export class LineTooLongError extends Error {
  constructor(readonly lineNumber: number) {
    super(`line ${lineNumber} is longer than ${MAX_LINE_BYTES} bytes`);
  }
}

/**
 * Reads a file (or stdin for "-") line by line, synchronously, in large chunks, and hands
 * each line over as bytes: `onLine(buf, start, end, lineNumber)`, where buf[start, end)
 * is the line without its "\n" (and without a "\r" before it), valid only during the
 * call. Empty lines are counted but not passed on. Return false to stop. This is
 * ui/line-reader.ts `readLines` without decoding every line to a string: the append
 * fast path reads the bytes themselves (ingest/line-scan.ts).
 */
export function readLineSpans(path: string, onLine: (buf: Buffer, start: number, end: number, lineNumber: number) => boolean | void): void {
  const fd = path === '-' ? 0 : openSync(path, 'r');
  let buf = Buffer.allocUnsafe(CHUNK_BYTES);
  let start = 0;
  let end = 0;
  let lineNumber = 0;
  try {
    for (;;) {
      if (end === buf.length) {
        if (start > 0) {
          buf.copy(buf, 0, start, end);
          end -= start;
          start = 0;
        } else {
          if (buf.length >= MAX_LINE_BYTES) throw new LineTooLongError(lineNumber + 1);
          const bigger = Buffer.allocUnsafe(Math.min(buf.length * 2, MAX_LINE_BYTES));
          buf.copy(bigger, 0, 0, end);
          buf = bigger;
        }
      }
      const n = readChunk(fd, buf, end);
      if (n === 0) break;
      let scanFrom = end;
      end += n;
      for (;;) {
        const nl = buf.indexOf(10, scanFrom);
        if (nl < 0 || nl >= end) break;
        lineNumber++;
        let stop = nl;
        if (stop > start && buf[stop - 1] === 13) stop--;
        if (stop > start && onLine(buf, start, stop, lineNumber) === false) return;
        start = nl + 1;
        scanFrom = start;
      }
    }
    if (end > start) {
      lineNumber++;
      onLine(buf, start, end, lineNumber);
    }
  } finally {
    if (fd !== 0) closeSync(fd);
  }
}

function readChunk(fd: number, buf: Buffer, at: number): number {
  for (;;) {
    try {
      return readSync(fd, buf, at, buf.length - at, null);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
        continue;
      }
      if (code === 'EOF') return 0;
      throw err;
    }
  }
}
