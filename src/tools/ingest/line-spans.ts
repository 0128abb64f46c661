import { closeSync, openSync, readSync } from 'node:fs';

const CHUNK_BYTES = 4 * 1024 * 1024;
/** Longest line accepted; a longer one is bad input, never an unbounded buffer. */
export const MAX_LINE_BYTES = 32 * 1024 * 1024;

export class LineTooLongError extends Error {
  constructor(readonly lineNumber: number) {
    super(`line ${lineNumber} is longer than ${MAX_LINE_BYTES} bytes`);
  }
}

/** Called for each non-empty line: buf[start, end) without "\n" (or "\r\n"), valid during the call. */
export type OnLine = (buf: Buffer, start: number, end: number, lineNumber: number) => boolean | void;

/**
 * Reads a file (or stdin for "-") line by line, synchronously, in large chunks, and hands
 * each line over as bytes. Empty lines are counted but not passed on. Return false to
 * stop. Lines are never decoded to strings: the append path reads the bytes themselves
 * (ingest/line-scan.ts).
 */
export function readLineSpans(path: string, onLine: OnLine): void {
  const fd = path === '-' ? 0 : openSync(path, 'r');
  try {
    readLinesFrom(fd, onLine);
  } finally {
    if (fd !== 0) closeSync(fd);
  }
}

/**
 * The reading loop of `readLineSpans` on an open descriptor, optionally continuing
 * after `prefix` (bytes already read: the start of the next line) and `linesBefore`
 * lines, and from file offset `position` (null: the descriptor's own) (the parallel
 * reader hands over to it this way, scan-pool.ts).
 */
export function readLinesFrom(fd: number, onLine: OnLine, prefix?: Uint8Array, linesBefore = 0, position: number | null = null): void {
  let pos = position;
  let buf = Buffer.allocUnsafe(Math.max(CHUNK_BYTES, prefix ? nextPow2(prefix.length + 1) : 0));
  let start = 0;
  let end = 0;
  let lineNumber = linesBefore;
  let scanFrom = 0;
  if (prefix) {
    buf.set(prefix);
    end = prefix.length;
  }
  for (;;) {
    if (end === buf.length) {
      if (start > 0) {
        buf.copy(buf, 0, start, end);
        end -= start;
        scanFrom -= start;
        start = 0;
      } else {
        if (buf.length >= MAX_LINE_BYTES) throw new LineTooLongError(lineNumber + 1);
        const bigger = Buffer.allocUnsafe(Math.min(buf.length * 2, MAX_LINE_BYTES));
        buf.copy(bigger, 0, 0, end);
        buf = bigger;
      }
    }
    const n = readChunk(fd, buf, end, pos);
    if (n === 0) break;
    end += n;
    if (pos !== null) pos += n;
    for (;;) {
      const nl = buf.indexOf(10, scanFrom);
      if (nl < 0 || nl >= end) {
        scanFrom = end;
        break;
      }
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
}

function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** Reads into buf at `at` (from file offset `position`, null: the descriptor's own): the bytes read, 0 at the end of the input. */
export function readChunk(fd: number, buf: Buffer, at: number, position: number | null = null): number {
  for (;;) {
    try {
      return readSync(fd, buf, at, buf.length - at, position);
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
