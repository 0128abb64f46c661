/**
 * `seglog append --file`: a JSONL file appended to an open store, either each line its
 * own event (the bulk path) or as atomic batches of `batchSize` lines.
 *
 * The input is read with node:fs (scan-pool.ts): it is input, not the store. Every
 * store write goes through the store, hence the FileSystem interface, so the
 * control/fault pairs and crash sweep of test/engine/faults-ingest.test.ts reach it.
 *
 * What is acknowledged (`IngestResult.appended`, also on failure): events the store has
 * accepted and, unless the sync mode is `none`, made durable. A bad line keeps the
 * lines before it (each line is its own event) or fails its batch. A failed store write
 * poisons the store: the session then acknowledges only the batches finished before
 * it (the bulk path acknowledges nothing: its events are fsynced only at the end), and
 * a reopen recovers a clean prefix.
 */
import { SeglogError } from '../../engine/io/errors.js';
import { isCrash } from '../../engine/io/fs-types.js';
import { dropWarmWriteBehind } from '../../engine/io/write-behind.js';
import type { BatchItem, Store } from '../../engine/store/store.js';
import { LineTooLongError } from './line-spans.js';
import type { ScannedSpans } from './line-scan.js';
import { parseLine } from './parse-line.js';
import { forEachLine } from './scan-pool.js';
import { type LineDefaults, ScannedLines } from './scanned-lines.js';

export interface IngestOptions {
  defaults: LineDefaults;
  /** Lines per atomic batch; undefined: every line its own event (bulk). */
  batchSize?: number;
  /**
   * Progress, at least every PROGRESS_EVERY_LINES lines and after every batch, always at a
   * line (bulk) or batch boundary: events appended so far and input bytes consumed. It may
   * throw to stop the ingest there (Ctrl-C): what was appended before stays, as after a
   * bad line.
   */
  onProgress?: (appended: number, bytesRead: number) => void;
}

export interface IngestResult {
  /** Acknowledged events: accepted, and durable unless the sync mode is `none`. */
  appended: number;
  firstSeq: number | null;
  lastSeq: number | null;
  batches: number;
  durable: boolean;
}

/**
 * Lines between progress calls in the bulk path, where a Ctrl-C is seen: ~5 ms of work
 * idle, 20-60 ms on the loaded 2-core machine (4,096 lines took up to 250 ms there).
 */
export const PROGRESS_EVERY_LINES = 1024;

/** A UTF-8 byte order mark at the start of the input is not part of the first line's JSON. */
function skipBom(buf: Uint8Array, start: number, end: number): number {
  return end - start >= 3 && buf[start] === 0xef && buf[start + 1] === 0xbb && buf[start + 2] === 0xbf ? start + 3 : start;
}

export function emptyIngestResult(): IngestResult {
  return { appended: 0, firstSeq: null, lastSeq: null, batches: 0, durable: false };
}

/** Whether an error thrown by a store call is the store's own failure (a failed write), not the line's (validation). */
function isStoreFailure(err: unknown): boolean {
  return !(err instanceof SeglogError) || (err.code !== 'bad_input' && err.code !== 'validation');
}

/**
 * Appends the lines of `file` ('-' for stdin). `result` is filled in as events are
 * acknowledged, so a caller still knows what was appended when this throws.
 */
export function ingestJsonl(store: Store, file: string, opts: IngestOptions, result: IngestResult = emptyIngestResult()): IngestResult {
  const { defaults, batchSize, onProgress } = opts;
  const parse = (line: string, n: number): BatchItem => parseLine(line, n, file, defaults);
  // most lines skip JSON.parse: scanned straight from their bytes; the rest, and every error, go through parseLine
  const scanned = new ScannedLines(defaults);
  const noteSeqs = (first: number, last: number, count: number): void => {
    if (result.firstSeq === null) result.firstSeq = first;
    result.lastSeq = last;
    result.appended += count;
  };
  let bytesRead = 0;
  try {
    if (batchSize !== undefined) {
      dropWarmWriteBehind(); // batches are written by this thread: a warm write-behind has nothing to do
      let batch: BatchItem[] = [];
      const flushBatch = (): void => {
        if (batch.length === 0) return;
        const rs = store.appendBatch(batch);
        noteSeqs(rs[0]!.seq, rs[rs.length - 1]!.seq, rs.length);
        result.batches++;
        batch = [];
        onProgress?.(result.appended, bytesRead);
      };
      readLinesOrFail(file, (buf, start, end, n, spans) => {
        bytesRead += end - start + 1;
        if (n === 1 && skipBom(buf, start, end) !== start) {
          start += 3;
          spans = undefined;
        }
        batch.push(scanned.item(buf, start, end, spans) ?? parse(buf.toString('utf8', start, end), n));
        if (batch.length >= batchSize) flushBatch();
      });
      flushBatch();
      result.durable = store.options.sync !== 'none';
    } else {
      const bulk = store.bulk();
      const start = store.snapshotState().nextSeq;
      let failure: unknown = null;
      let storeFailed = false;
      try {
        readLinesOrFail(file, (buf, start, end, n, spans) => {
          bytesRead += end - start + 1;
          if (n === 1 && skipBom(buf, start, end) !== start) {
            start += 3;
            spans = undefined;
          }
          // spans: the line already scanned by a worker thread (null: not the fast path); undefined: scan here
          const raw = spans === undefined ? scanned.raw(buf, start, end) : spans === null ? null : scanned.fromSpans(buf, spans);
          // try/catch, not a closure per line: this loop runs once per input line
          let added = false;
          if (raw !== null) {
            try {
              added = bulk.addRaw(raw);
            } catch (err) {
              storeFailed = isStoreFailure(err);
              throw err;
            }
          }
          if (!added) {
            const item = parse(buf.toString('utf8', start, end), n);
            try {
              bulk.add(item);
            } catch (err) {
              storeFailed = isStoreFailure(err);
              throw err;
            }
          }
          if (n % PROGRESS_EVERY_LINES === 0) onProgress?.(n, bytesRead);
        });
      } catch (err) {
        failure = err;
      }
      // Lines before a bad one are kept: each line is its own event. After a failed store
      // write nothing more is written: finishing would write the failed chunk again into a
      // store that has refused it, and report as appended events a reopen need not find
      // (found by test/engine/faults-ingest.test.ts).
      if (!storeFailed) {
        result.durable = bulk.finish();
        if (bulk.count > 0) noteSeqs(start, start + bulk.count - 1, bulk.count);
      }
      if (failure !== null) throw failure;
    }
  } catch (err) {
    if (err instanceof SeglogError && result.appended > 0) {
      throw new SeglogError(err.code, `${err.message} (${result.appended} events before it were appended)`, { file: err.file, line: err.line, offset: err.offset });
    }
    throw err;
  }
  return result;
}

function readLinesOrFail(file: string, onLine: (buf: Buffer, start: number, end: number, n: number, spans: ScannedSpans | null | undefined) => void): void {
  try {
    forEachLine(file, onLine);
  } catch (err) {
    if (err instanceof LineTooLongError) throw new SeglogError('bad_input', err.message, { file, line: err.lineNumber });
    // the store's own failures (SeglogError io/poisoned, or a raw FsError) are not input errors
    if (err instanceof SeglogError || isStoreError(err)) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new SeglogError('not_found', 'no such input file', { file });
    if (code === 'EISDIR') throw new SeglogError('usage', 'input is a directory, not a JSONL file', { file });
    if (code) throw new SeglogError('io', `cannot read input (${code})`, { file });
    throw err;
  }
}

/** An error thrown by the store's FileSystem (FsError), as opposed to node:fs reading the input. */
function isStoreError(err: unknown): boolean {
  return (err as { name?: string }).name === 'FsError' || isCrash(err);
}
