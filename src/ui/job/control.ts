/**
 * What a long job (append --file, verify, dump, ...) and the command driving it share:
 * a cancel flag and progress counters in SharedArrayBuffers, so the job can run in a
 * worker thread while the main thread stays free to take Ctrl-C and draw progress
 * (run-job.ts), or inline on the main thread (tests, small inputs) with the same code.
 *
 * The job reads `cancelled` only at its own boundaries (a batch appended, a frame
 * dumped), so a cancelled writer stops where the store is consistent.
 */

/** Thrown by `checkpoint()` (and by jobs) when the command was interrupted. */
export class JobCancelled extends Error {
  constructor() {
    super('interrupted');
    this.name = 'JobCancelled';
  }
}

export interface JobShared {
  flags: SharedArrayBuffer;
  nums: SharedArrayBuffer;
}

const CANCEL = 0;
const DONE = 0;
const BYTES = 1;
const TOTAL_BYTES = 2;

export interface ProgressSnapshot {
  /** Items done (events appended, frames checked...). */
  done: number;
  bytesDone: number;
  /** 0 when unknown (stdin). */
  totalBytes: number;
}

export class JobControl {
  readonly shared: JobShared;
  private readonly flags: Int32Array;
  private readonly nums: Float64Array;
  /** Set by the runner: warnings go to the command's stderr. */
  warn: (message: string) => void = (m) => process.stderr.write(`seglog: warning: ${m}\n`);
  /** Set by the runner: the job's current step ('writing the repaired 0000000001.seg') becomes the progress label. */
  step: (text: string) => void = () => {};

  constructor(shared?: JobShared) {
    this.shared = shared ?? { flags: new SharedArrayBuffer(4 * 4), nums: new SharedArrayBuffer(8 * 4) };
    this.flags = new Int32Array(this.shared.flags);
    this.nums = new Float64Array(this.shared.nums);
  }

  get cancelled(): boolean {
    return Atomics.load(this.flags, CANCEL) !== 0;
  }

  cancel(): void {
    Atomics.store(this.flags, CANCEL, 1);
  }

  /**
   * The cancel flag itself (non-zero at index 0 once cancelled), for a job that hands it
   * on to worker threads of its own (the drill's): shared memory, seen by all at once.
   */
  get cancelFlag(): Int32Array {
    return this.flags;
  }

  /** Throws JobCancelled when the command was interrupted: call at a boundary. */
  checkpoint(): void {
    if (this.cancelled) throw new JobCancelled();
  }

  progress(done: number, bytesDone?: number): void {
    this.nums[DONE] = done;
    if (bytesDone !== undefined) this.nums[BYTES] = bytesDone;
  }

  setTotalBytes(totalBytes: number): void {
    this.nums[TOTAL_BYTES] = totalBytes;
  }

  snapshot(): ProgressSnapshot {
    return { done: this.nums[DONE]!, bytesDone: this.nums[BYTES]!, totalBytes: this.nums[TOTAL_BYTES]! };
  }
}
