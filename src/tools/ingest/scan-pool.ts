/**
 * `append --file` on two cores: a worker thread reads the input and scans its lines
 * (line-scan.ts) while the main thread encodes, hashes, checksums and writes the events
 * of the lines before.
 *
 * The worker reads the input (positioned reads from offset 0: the descriptor's own
 * offset is never used) into a ring of CHUNK_SLOTS shared chunks, each cut after its last
 * newline (the partial line moves on to the next chunk), and writes one record per
 * non-empty line into the chunk's shared result array: the line's position, its line
 * number within the chunk, and the members' spans when the fast path takes it. The main
 * thread consumes chunks strictly in order, hands each back (FREE) for the worker to
 * refill, and treats each line exactly as the single-threaded reader would (a line the
 * worker could not take goes through parseLine there, so errors name the same line and
 * stop at the same place). Coordination is Atomics on a shared control array: no
 * messages, no copies of the data. At most CHUNK_SLOTS chunks are in flight. (Until issue
 * 18, round six, the main thread read the chunks and the worker only scanned them: the
 * reads were ~0.18 s of the appending thread for the 1M bench events.)
 *
 * Anything unusual (a read error, a line longer than a chunk, a worker that stops
 * answering) hands the rest of the input, from the end of the last chunk consumed, back
 * to the single-threaded path, which gives the same results (and the same errors), only
 * slower; a chunk with more lines than its result array holds is scanned by the main
 * thread.
 */
import { closeSync, fstatSync, openSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { isMainThread, Worker } from 'node:worker_threads';
import { LineScan, type ScannedSpans } from './line-scan.js';
import { readChunk, readLinesFrom } from './line-spans.js';
import { WarmWorker } from '../../engine/io/warm-worker.js';

/** Bytes per chunk: large reads; a line longer than this takes the single-threaded path. */
export const SCAN_CHUNK_BYTES = 4 * 1024 * 1024;
/** Chunks in flight (being filled, scanned, or consumed). */
export const CHUNK_SLOTS = 3;
/** Result records per chunk: a chunk of shorter lines on average is scanned by the main thread. */
export const MAX_LINES_PER_CHUNK = SCAN_CHUNK_BYTES / 64;
/** Inputs smaller than this are read single-threaded: starting a worker costs ~30-50 ms. */
export const SCAN_POOL_MIN_BYTES = 16 * 1024 * 1024;
/** The main thread stops waiting for the worker after this long without an answer. */
export const SCAN_STALL_MS = 10_000;

/** Result record: line number within the chunk, line start, end, ok, then the 8 spans. */
export const REC_INTS = 12;
const R_LINE = 0;
const R_START = 1;
const R_END = 2;
const R_OK = 3;

/** Control array: a stop flag, then per slot: state, data length, records, newlines, the input's end. */
const C_STOP = 0;
const SLOT_INTS = 5;
const S_STATE = 1;
const S_LEN = 2;
const S_RECORDS = 3;
const S_NEWLINES = 4;
const S_EOF = 5;
/** Slot states: the worker's to fill; filled and scanned; the main thread reads the rest of the input itself. */
const FREE = 0;
const DONE = 2;
const HAND_BACK = 3;

const slotAt = (k: number, field: number): number => k * SLOT_INTS + field;

export interface ScanJob {
  /** The input (a regular file), read from offset 0 by positioned reads. */
  fd: number;
  control: SharedArrayBuffer;
  chunks: SharedArrayBuffer[];
  results: SharedArrayBuffer[];
}

/**
 * Scans the lines of buf[0, len) (whole lines: the chunk ends after a newline) into
 * `results`, REC_INTS per non-empty line. Returns the number of records and of
 * newlines, or records = -1 when more lines than `capacity` (the main thread then
 * reads the chunk itself). The worker's loop body; exported for tests.
 */
export function scanChunk(buf: Uint8Array, len: number, results: Int32Array, capacity: number, scan = new LineScan()): { records: number; newlines: number } {
  let records = 0;
  let newlines = 0;
  let start = 0;
  while (start < len) {
    let nl = buf.indexOf(10, start);
    if (nl < 0 || nl >= len) nl = len;
    else newlines++;
    let stop = nl;
    // as readLinesFrom: a "\r" goes with its "\n" (a last line without one keeps it)
    if (nl < len && stop > start && buf[stop - 1] === 13) stop--;
    if (stop > start) {
      if (records >= capacity) return { records: -1, newlines };
      const r = records * REC_INTS;
      results[r + R_LINE] = newlines + (nl === len ? 1 : 0);
      results[r + R_START] = start;
      results[r + R_END] = stop;
      const ok = scan.scan(buf, start, stop);
      results[r + R_OK] = ok ? 1 : 0;
      if (ok) {
        results[r + 4] = scan.entityStart;
        results[r + 5] = scan.entityEnd;
        results[r + 6] = scan.scopeStart;
        results[r + 7] = scan.scopeEnd;
        results[r + 8] = scan.kindStart;
        results[r + 9] = scan.kindEnd;
        results[r + 10] = scan.payloadStart;
        results[r + 11] = scan.payloadEnd;
      }
      records++;
    }
    start = nl + 1;
  }
  return { records, newlines };
}

/**
 * The worker's loop: fill each free slot in ring order with the input's next bytes (the
 * partial line carried over from the last one first), cut after its last newline, scan
 * it, until the input ends or it is told to stop. A read error or a line longer than a
 * chunk hands the rest back to the main thread (HAND_BACK), which reads from the end of
 * the last chunk it consumed and meets the same error or line itself.
 */
export function runScanWorker(job: ScanJob): void {
  const ctrl = new Int32Array(job.control);
  const chunks = job.chunks.map((c) => Buffer.from(c));
  const results = job.results.map((r) => new Int32Array(r));
  const scan = new LineScan();
  let carry: Buffer = Buffer.alloc(0);
  let pos = 0;
  for (let k = 0; ; k = (k + 1) % CHUNK_SLOTS) {
    for (;;) {
      if (Atomics.load(ctrl, C_STOP) !== 0) return;
      const st = Atomics.load(ctrl, slotAt(k, S_STATE));
      if (st === FREE) break;
      Atomics.wait(ctrl, slotAt(k, S_STATE), st, 1000);
    }
    const buf = chunks[k]!;
    buf.set(carry);
    let end = carry.length;
    let eof = false;
    try {
      while (end < buf.length) {
        const n = readChunk(job.fd, buf, end, pos);
        if (n === 0) {
          eof = true;
          break;
        }
        end += n;
        pos += n;
      }
    } catch {
      publish(ctrl, k, HAND_BACK);
      return;
    }
    // the last chunk ends with the input (its last line may have no newline); any other after its last newline
    const len = eof ? end : buf.lastIndexOf(10, end - 1) + 1;
    if (len === 0 && !eof) {
      publish(ctrl, k, HAND_BACK); // a line longer than a chunk
      return;
    }
    carry = eof ? Buffer.alloc(0) : Buffer.from(buf.subarray(len, end));
    const { records, newlines } = scanChunk(buf, len, results[k]!, MAX_LINES_PER_CHUNK, scan);
    Atomics.store(ctrl, slotAt(k, S_LEN), len);
    Atomics.store(ctrl, slotAt(k, S_RECORDS), records);
    Atomics.store(ctrl, slotAt(k, S_NEWLINES), newlines);
    Atomics.store(ctrl, slotAt(k, S_EOF), eof ? 1 : 0);
    publish(ctrl, k, DONE);
    if (eof) return;
  }
}

function publish(ctrl: Int32Array, k: number, state: number): void {
  Atomics.store(ctrl, slotAt(k, S_STATE), state);
  Atomics.notify(ctrl, slotAt(k, S_STATE));
}

/** A line as the consumer sees it: its spans when the worker's fast-path scan took it, else null. */
export type OnScannedLine = (buf: Buffer, start: number, end: number, lineNumber: number, spans: ScannedSpans | null) => boolean | void;

/** The spans of one record, as a ScannedSpans view (reused). */
class RecordSpans implements ScannedSpans {
  r: Int32Array = new Int32Array(0);
  at = 0;
  get entityStart(): number { return this.r[this.at + 4]!; }
  get entityEnd(): number { return this.r[this.at + 5]!; }
  get scopeStart(): number { return this.r[this.at + 6]!; }
  get scopeEnd(): number { return this.r[this.at + 7]!; }
  get kindStart(): number { return this.r[this.at + 8]!; }
  get kindEnd(): number { return this.r[this.at + 9]!; }
  get payloadStart(): number { return this.r[this.at + 10]!; }
  get payloadEnd(): number { return this.r[this.at + 11]!; }
}

/**
 * Reads `fd` (a regular file, from its start) to its end with a scan worker, calling
 * `onLine` for every non-empty line in order (the same lines, numbers and bytes as
 * readLinesFrom). `onLine` may throw or return false to stop; the worker is stopped
 * either way.
 */
export function readLinesWithWorker(fd: number, workerUrl: URL, onLine: OnScannedLine): void {
  const control = new SharedArrayBuffer(4 * (1 + CHUNK_SLOTS * SLOT_INTS));
  const ctrl = new Int32Array(control);
  const chunkSabs = Array.from({ length: CHUNK_SLOTS }, () => new SharedArrayBuffer(SCAN_CHUNK_BYTES));
  const resultSabs = Array.from({ length: CHUNK_SLOTS }, () => new SharedArrayBuffer(4 * REC_INTS * MAX_LINES_PER_CHUNK));
  const chunks = chunkSabs.map((c) => Buffer.from(c));
  const results = resultSabs.map((r) => new Int32Array(r));
  const job: ScanJob = { fd, control, chunks: chunkSabs, results: resultSabs };
  // one booted already (startWarmScan) gets the job as a message; else a new one
  const booted = warmScan.take('append scan');
  booted?.postMessage(job);
  const worker = booted ?? new Worker(workerUrl, { workerData: job });
  worker.unref();
  worker.on('error', () => undefined); // a dead worker only means the main thread reads the rest
  const spans = new RecordSpans();
  const mainScan = new LineScan();
  let lines = 0; // lines before the chunk being consumed
  let consumed = 0; // input bytes in the chunks consumed: where the rest starts
  try {
    /** Waits for slot k: DONE, HAND_BACK, or FREE still when the worker stopped answering. */
    const awaitSlot = (k: number): number => {
      const since = Date.now();
      for (;;) {
        const st = Atomics.load(ctrl, slotAt(k, S_STATE));
        if (st !== FREE || Date.now() - since > SCAN_STALL_MS) return st;
        Atomics.wait(ctrl, slotAt(k, S_STATE), FREE, 100);
      }
    };
    /** Hands slot k's lines to onLine; false when onLine asked to stop. */
    const consume = (k: number): boolean => {
      const buf = chunks[k]!;
      const len = Atomics.load(ctrl, slotAt(k, S_LEN));
      const records = Atomics.load(ctrl, slotAt(k, S_RECORDS));
      if (records < 0) {
        // more lines than the result array holds: the main thread reads the chunk's lines itself
        let stop = false;
        let n = 0;
        let start = 0;
        while (start < len && !stop) {
          let nl = buf.indexOf(10, start);
          if (nl < 0 || nl >= len) nl = len;
          n++;
          let e = nl;
          if (nl < len && e > start && buf[e - 1] === 13) e--;
          if (e > start && onLine(buf, start, e, lines + n, mainScan.scan(buf, start, e) ? mainScan : null) === false) stop = true;
          start = nl + 1;
        }
        lines += countNewlines(buf, len);
        return !stop;
      }
      const r = results[k]!;
      spans.r = r;
      for (let i = 0; i < records; i++) {
        const at = i * REC_INTS;
        spans.at = at;
        if (onLine(buf, r[at + R_START]!, r[at + R_END]!, lines + r[at + R_LINE]!, r[at + R_OK] === 1 ? spans : null) === false) return false;
      }
      lines += Atomics.load(ctrl, slotAt(k, S_NEWLINES));
      return true;
    };

    for (let k = 0; ; k = (k + 1) % CHUNK_SLOTS) {
      if (awaitSlot(k) !== DONE) break; // handed back, or a worker that stopped answering
      if (!consume(k)) return;
      consumed += Atomics.load(ctrl, slotAt(k, S_LEN));
      if (Atomics.load(ctrl, slotAt(k, S_EOF)) !== 0) return;
      publish(ctrl, k, FREE);
    }
    // the rest of the input, from the end of the last chunk consumed: the single-threaded reader
    Atomics.store(ctrl, C_STOP, 1);
    readLinesFrom(fd, (b, s, e, n) => onLine(b, s, e, n, mainScan.scan(b, s, e) ? mainScan : null), undefined, lines, consumed);
  } finally {
    Atomics.store(ctrl, C_STOP, 1);
    for (let k = 0; k < CHUNK_SLOTS; k++) Atomics.notify(ctrl, slotAt(k, S_STATE));
    void worker.terminate();
  }
}

function countNewlines(buf: Uint8Array, len: number): number {
  let n = 0;
  for (let i = buf.indexOf(10); i >= 0 && i < len; i = buf.indexOf(10, i + 1)) n++;
  return n;
}

/** Whether `fd` is a regular file large enough for the scan worker to pay (`anySize`: forced on). */
export function worthAScanWorker(fd: number, anySize = false): boolean {
  try {
    const st = fstatSync(fd);
    return st.isFile() && (anySize || st.size >= SCAN_POOL_MIN_BYTES);
  } catch {
    return false;
  }
}

/**
 * Cores the machine needs before the scan worker is used by default, counting the
 * thread that appends. With the append running on the main thread, 2 cores measured no
 * faster (6.7-8.0 s against 6.9-7.6 s for 1,000,000 lines: the two threads compete for
 * the same cores; docs/DECISIONS.md, Performance log). `append --file` of a large file
 * runs as a job in a worker thread (ui/job/run-job.ts) while the main thread only waits
 * for it, so there the scan worker is the second busy thread: 2 cores suffice
 * (issue 18, round four: 3.94-4.09 s -> 3.40-3.66 s wall on 2 cores, CPU unchanged).
 * `SEGLOG_APPEND_WORKERS=1` turns it on for any regular file, `=0` off.
 */
export const SCAN_WORKER_MIN_CORES = 3;

/** Whether the scan worker is used by default here (no SEGLOG_APPEND_WORKERS): enough cores for the appending thread and it. */
export function scanWorkerByDefault(cores: number, onMainThread: boolean): boolean {
  return cores >= (onMainThread ? SCAN_WORKER_MIN_CORES : SCAN_WORKER_MIN_CORES - 1);
}

/** The worker is the built JS next to this module; under vitest (.ts sources) there is none. */
const SCAN_WORKER_URL = new URL('./scan-worker.js', import.meta.url);

/** Whether a scan worker is wanted here (SEGLOG_APPEND_WORKERS, else enough cores), and there is one to start. */
function scanWorkerWanted(env: string | undefined): boolean {
  const wanted = env === undefined ? scanWorkerByDefault(availableParallelism(), isMainThread) : env !== '0';
  return wanted && import.meta.url.endsWith('.js');
}

/**
 * The scan worker started warm (engine/io/warm-worker.ts): by the job worker at its own
 * boot when its job is `append` of an input large enough for a scan worker
 * (ui/job/job-worker.ts; the size from the command line, prewarm.ts), so that it is up when the job
 * has opened its store and its input, instead of booting then while the appending thread
 * waits for the first chunk's lines (issue 18, round six: the first bytes reached the
 * store ~0.57 s into a 2.4 s append of the 1M bench events, ~0.2 s of it this worker's
 * boot and first chunk). `readLinesWithWorker` takes it; an input read without a worker
 * (small, piped, `SEGLOG_APPEND_WORKERS=0`) stops it. `SEGLOG_APPEND_PREWARM=0` turns
 * this off (the worker is created when the input is read, as before).
 */
const warmScan = new WarmWorker();

/** Starts the warm scan worker when an input of `inputBytes` gets one; returns whether it did. */
export function startWarmScan(inputBytes: number, env: NodeJS.ProcessEnv = process.env): boolean {
  const workers = env.SEGLOG_APPEND_WORKERS;
  if (env.SEGLOG_APPEND_PREWARM === '0' || !scanWorkerWanted(workers)) return false;
  if (inputBytes < SCAN_POOL_MIN_BYTES && workers !== '1') return false;
  warmScan.start(SCAN_WORKER_URL);
  return true;
}

/**
 * Every non-empty line of a JSONL file (or stdin for "-"), in order, with its spans
 * when already scanned: by the scan worker for large files, else not yet (undefined:
 * the consumer scans).
 */
export function forEachLine(path: string, onLine: (buf: Buffer, start: number, end: number, lineNumber: number, spans: ScannedSpans | null | undefined) => boolean | void): void {
  const fd = path === '-' ? 0 : openSync(path, 'r');
  try {
    const env = process.env.SEGLOG_APPEND_WORKERS;
    const useWorker = scanWorkerWanted(env) && fd !== 0 && worthAScanWorker(fd, env === '1');
    if (useWorker) readLinesWithWorker(fd, SCAN_WORKER_URL, onLine);
    else readLinesFrom(fd, (b, s, e, n) => onLine(b, s, e, n, undefined));
  } finally {
    warmScan.drop(); // a warm scan worker this input did not use
    if (fd !== 0) closeSync(fd);
  }
}
