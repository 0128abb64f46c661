/**
 * One worker thread started before its job is known, so that its boot (a thread, its
 * modules, its kernels) overlaps the starting thread's own start-up instead of following
 * it (issue 18: verify's precheck worker, warm-precheck.ts; append's scan worker,
 * tools/ingest/scan-pool.ts startWarmScan). The worker is started with `{ warm: true }` as its
 * workerData and waits for its job as one message; whoever needs such a worker takes it
 * (`take`) and posts the job, or creates one as before when there is none. One that
 * nobody takes is stopped (`drop`). It never keeps the process alive by itself, and a
 * failing one is simply not taken.
 */
import { writeSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

/** What a warm worker is started with, instead of its job. */
export interface WarmData {
  warm: true;
}

export class WarmWorker {
  private held: { worker: Worker; exited: boolean } | null = null;

  /** Starts the worker of `url` (once: a second call while one is held does nothing); `data`: its workerData, if more than `{ warm: true }`. */
  start(url: URL, data: WarmData = { warm: true }): void {
    if (this.held !== null) return;
    const worker = new Worker(url, { workerData: data });
    worker.unref();
    worker.on('error', () => undefined);
    const entry = { worker, exited: false };
    worker.once('exit', () => {
      entry.exited = true;
    });
    this.held = entry;
  }

  /**
   * The warm worker, if one is up; it is then the caller's, to post its job to. With
   * SEGLOG_DEBUG=1 a taken one is named on stderr (`seglog: <what> in a prewarmed worker`,
   * test/ui/prewarm.test.ts reads it), straight to fd 2: a job thread's process.stderr is
   * flushed only when it yields, which a synchronous job does not before it is ended.
   */
  take(what: string): Worker | null {
    const w = this.held;
    this.held = null;
    const worker = w !== null && !w.exited ? w.worker : null;
    if (worker !== null && process.env.SEGLOG_DEBUG === '1') writeSync(2, `seglog: ${what} in a prewarmed worker\n`);
    return worker;
  }

  /** Stops a warm worker nobody took. */
  drop(): void {
    if (this.held !== null) void this.held.worker.terminate();
    this.held = null;
  }
}
