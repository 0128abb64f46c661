/**
 * `seglog append --file -`: JSONL from a stream (stdin) committed as it arrives, so that
 * `tail -F app.log | seglog append st --file -` makes each line visible (and durable,
 * unless the sync mode is `none`) within moments, not at end of input.
 *
 * - Without a batch size, every line is its own event: the complete lines of each chunk
 *   read are appended through the bulk path and committed (fsynced) before the next
 *   chunk is read. A bad line keeps the lines before it, as with a file.
 * - With `batchSize` N, lines are appended as atomic batches of N, each committed as soon
 *   as its N-th line arrives; a partial batch is committed when no input has come for
 *   `flushIntervalMs` (and at end of input). A bad line fails its batch.
 * A process killed at any point loses at most the partial batch (or chunk) not yet
 * committed: everything acknowledged before was committed.
 *
 * The same line readers (ScannedLines, parseLine) and result as ingest-file.ts.
 */
import { SeglogError } from '../../engine/io/errors.js';
import type { BatchItem, Store } from '../../engine/store/store.js';
import { type IngestResult, emptyIngestResult } from './ingest-file.js';
import { MAX_LINE_BYTES } from './line-spans.js';
import { parseLine } from './parse-line.js';
import { type LineDefaults, ScannedLines } from './scanned-lines.js';

/** Idle input after which a partial batch is committed (ms). */
export const DEFAULT_FLUSH_INTERVAL_MS = 200;

export interface StreamIngestOptions {
  defaults: LineDefaults;
  batchSize?: number;
  flushIntervalMs?: number;
  onProgress?: (appended: number) => void;
}

export function ingestStream(store: Store, input: NodeJS.ReadableStream, opts: StreamIngestOptions, result: IngestResult = emptyIngestResult()): Promise<IngestResult> {
  const { defaults, batchSize } = opts;
  const flushMs = opts.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS;
  const where = '-';
  const scanned = new ScannedLines(defaults);
  let carry: Buffer = Buffer.alloc(0);
  let lineNo = 0;
  let batch: BatchItem[] = [];
  let timer: NodeJS.Timeout | null = null;
  let failed = false;
  result.durable = store.options.sync !== 'none';

  const note = (first: number, last: number, count: number): void => {
    if (result.firstSeq === null) result.firstSeq = first;
    result.lastSeq = last;
    result.appended += count;
    opts.onProgress?.(result.appended);
  };
  const withCount = (err: unknown): unknown =>
    err instanceof SeglogError && result.appended > 0
      ? new SeglogError(err.code, `${err.message} (${result.appended} events before it were appended)`, { file: err.file, line: err.line, offset: err.offset })
      : err;
  const flushBatch = (): void => {
    if (timer) clearTimeout(timer);
    timer = null;
    if (batch.length === 0) return;
    const items = batch;
    batch = [];
    const rs = store.appendBatch(items);
    note(rs[0]!.seq, rs[rs.length - 1]!.seq, rs.length);
    result.batches++;
  };

  /** The complete lines of buf[0, end): appended (and committed) now. */
  const takeLines = (buf: Buffer, end: number): number => {
    let start = 0;
    if (batchSize === undefined) {
      const bulk = store.bulk();
      const first = store.snapshotState().nextSeq;
      let failure: unknown = null;
      try {
        start = eachLine(buf, end, (s, e) => {
          const raw = scanned.raw(buf, s, e);
          if (raw === null || !bulk.addRaw(raw)) bulk.add(parseLine(buf.toString('utf8', s, e), lineNo, where, defaults));
        });
      } catch (err) {
        failure = err;
      }
      // lines before a bad one are kept, as with a file (ingest-file.ts); after a failed
      // store write nothing more is written (the store refused it)
      const lineError = failure instanceof SeglogError && (failure.code === 'bad_input' || failure.code === 'validation');
      if (failure === null || lineError) {
        bulk.finish();
        if (bulk.count > 0) note(first, first + bulk.count - 1, bulk.count);
      }
      if (failure !== null) throw failure;
      return start;
    }
    start = eachLine(buf, end, (s, e) => {
      batch.push(scanned.item(buf, s, e, undefined) ?? parseLine(buf.toString('utf8', s, e), lineNo, where, defaults));
      if (batch.length >= batchSize) flushBatch();
    });
    return start;
  };
  /** Calls `onLine` for each complete non-empty line; returns where the incomplete rest starts. */
  const eachLine = (buf: Buffer, end: number, onLine: (start: number, end: number) => void): number => {
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(10, start);
      if (nl < 0 || nl >= end) return start;
      lineNo++;
      let stop = nl;
      if (stop > start && buf[stop - 1] === 13) stop--;
      if (stop > start) onLine(start, stop);
      start = nl + 1;
    }
  };

  return new Promise<IngestResult>((resolve, reject) => {
    const fail = (err: unknown): void => {
      if (failed) return;
      failed = true;
      if (timer) clearTimeout(timer);
      input.removeAllListeners('data');
      input.pause();
      reject(withCount(err));
    };
    input.on('data', (chunk: Buffer | string) => {
      if (failed) return;
      try {
        const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
        const buf = carry.length > 0 ? Buffer.concat([carry, bytes]) : bytes;
        const rest = takeLines(buf, buf.length);
        carry = Buffer.from(buf.subarray(rest)); // a copy: the stream may reuse its chunk
        if (carry.length > MAX_LINE_BYTES) throw new SeglogError('bad_input', `line ${lineNo + 1} is longer than ${MAX_LINE_BYTES} bytes`, { file: '<stdin>', line: lineNo + 1 });
        if (batchSize !== undefined && batch.length > 0) {
          if (timer) clearTimeout(timer);
          timer = setTimeout(() => {
            try {
              flushBatch();
            } catch (err) {
              fail(err);
            }
          }, flushMs);
        }
      } catch (err) {
        fail(err);
      }
    });
    input.on('error', (err) => fail(new SeglogError('io', `cannot read input (${(err as NodeJS.ErrnoException).code ?? err.message})`, { file: '<stdin>' })));
    input.on('end', () => {
      if (failed) return;
      try {
        if (carry.length > 0) {
          const buf = Buffer.concat([carry, Buffer.from('\n')]);
          carry = Buffer.alloc(0);
          takeLines(buf, buf.length);
        }
        flushBatch();
        resolve(result);
      } catch (err) {
        fail(err);
      }
    });
  });
}
