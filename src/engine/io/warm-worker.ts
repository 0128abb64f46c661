/**
 * One worker thread started before its job is known, so that its boot (a thread, its
 * modules, its kernels) overlaps the starting thread's own start-up instead of following
 * it (issue 18: verify's precheck worker, warm-precheck.ts; append's scan worker,
 * tools/ingest/scan-pool.ts startWarmScan). The worker is started with `{ warm: true }` as its
 * workerData and waits for its job as one message; whoever needs such a worker takes it
 * (`take`) and posts the job, or creates one as before when there is none. One that
 * nobody takes is stopped (`drop`). It never keeps the process alive by itself, and a
 * failing one is simply not taken.
 *
 * Another thread may start it instead (`startBeside`: the main thread, beside the job
 * worker, round seven): the two are joined by a MessageChannel, and the thread that will
 * use the worker `adopt`s it by its port. The job then goes through that port, and closing
 * the port stops a worker nobody took.
 */
import { writeSync } from 'node:fs';
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';

/** What a warm worker is started with, instead of its job. */
export interface WarmData {
  warm: true;
  /** Started by another thread (startBeside): the port its job comes by, instead of parentPort. */
  port?: MessagePort;
}

/** What a taker needs of a warm worker: the Worker, or, adopted, the port of one another thread started. */
export type WarmHandle = Pick<Worker, 'postMessage' | 'unref' | 'terminate'> & { on(event: 'error', listener: () => void): unknown };

/** A worker that never keeps the process alive by itself, and whose failure only means it is not used. */
function detached(url: URL, data: unknown, transferList: readonly MessagePort[] = []): Worker {
  const worker = new Worker(url, { workerData: data, transferList: [...transferList] });
  worker.unref();
  worker.on('error', () => undefined);
  return worker;
}

/**
 * Prepares a warm worker of `url` for another thread to adopt: `jobPort` goes to that
 * thread (WarmWorker.adopt); `start()` starts the worker (`data` gets the other port).
 */
export function startBeside(url: URL, data: WarmData): { jobPort: MessagePort; start(): void } {
  const { port1, port2 } = new MessageChannel();
  return { jobPort: port1, start: () => void detached(url, { ...data, port: port2 }, [port2]) };
}

export class WarmWorker {
  private held: { handle: WarmHandle; exited: boolean; beside: boolean } | null = null;

  /** Starts the worker of `url` (once: a second call while one is held does nothing); `data`: its workerData, if more than `{ warm: true }`. */
  start(url: URL, data: WarmData = { warm: true }): void {
    if (this.held !== null) return;
    const worker = detached(url, data);
    const entry = { handle: worker, exited: false, beside: false };
    worker.once('exit', () => {
      entry.exited = true;
    });
    this.held = entry;
  }

  /** Holds the worker another thread started (startBeside), by its port, as the warm one. */
  adopt(port: MessagePort): void {
    if (this.held !== null) return;
    port.unref();
    const handle: WarmHandle = {
      postMessage: (m: unknown, transfer?: Parameters<MessagePort['postMessage']>[1]) => port.postMessage(m, transfer),
      unref: () => port.unref(),
      on: () => handle,
      terminate: () => {
        port.close();
        return Promise.resolve(0);
      },
    };
    this.held = { handle, exited: false, beside: true };
  }

  /**
   * The warm worker, if one is up; it is then the caller's, to post its job to. With
   * SEGLOG_DEBUG=1 a taken one is named on stderr (`seglog: <what> in a prewarmed worker`,
   * test/ui/prewarm.test.ts reads it), straight to fd 2: a job thread's process.stderr is
   * flushed only when it yields, which a synchronous job does not before it is ended.
   */
  take(what: string): WarmHandle | null {
    const w = this.held;
    this.held = null;
    if (w === null || w.exited) return null;
    if (process.env.SEGLOG_DEBUG === '1') writeSync(2, `seglog: ${what} in a prewarmed worker${w.beside ? ' (started beside the job worker)' : ''}\n`);
    return w.handle;
  }

  /** Stops a warm worker nobody took. */
  drop(): void {
    if (this.held !== null) void this.held.handle.terminate();
    this.held = null;
  }
}
