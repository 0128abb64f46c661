/**
 * Runs a workload's steps against a store on some file system, telling the recorder
 * what each call acknowledged (or that it failed, and whether it could be undone).
 */
import type { Blake3 } from '../../format/blake3.js';
import type { FileSystem } from '../fs/types.js';
import type { Store } from '../store.js';
import type { AckRecorder } from './ack-recorder.js';
import type { SimMachine } from './sim-env.js';
import type { Step, Workload } from './workload.js';

/**
 * Whether the store refuses writes because an earlier failure could not be undone.
 * An empty batch checks writability and does no I/O, so it is a free probe.
 */
export function isPoisoned(store: Store): boolean {
  try {
    store.appendBatch([]);
    return false;
  } catch (err) {
    return (err as { code?: string }).code === 'poisoned';
  }
}

export class WorkloadRunner {
  store: Store | null = null;

  constructor(
    private readonly fs: FileSystem,
    readonly workload: Workload,
    private readonly machine: SimMachine,
    private readonly hasher: Blake3,
    readonly recorder: AckRecorder,
  ) {}

  /** Runs every step; any error propagates (a drill workload runs without faults). */
  runAll(): void {
    for (let i = 0; i < this.workload.steps.length; i++) this.runStep(i);
  }

  /** Opens the store as a new process if none is open (after a crash or a failure). */
  ensureOpen(): Store {
    this.store ??= this.machine.openStore(this.fs, this.hasher, this.workload.storeOptions);
    return this.store;
  }

  runStep(index: number): void {
    const step: Step = this.workload.steps[index]!;
    switch (step.kind) {
      case 'open':
        if (this.store) this.close();
        this.ensureOpen();
        return;
      case 'close':
        this.close();
        return;
      case 'append': {
        const store = this.ensureOpen();
        const unit = this.recorder.begin(index, false, [step.item]);
        let receipt;
        try {
          receipt = store.append({ entity: step.item.entity, scope: step.item.scope }, step.item.payload);
        } catch (err) {
          this.recorder.fail(unit, isPoisoned(store));
          throw err;
        }
        this.recorder.ack(unit, [receipt]);
        return;
      }
      case 'batch': {
        const store = this.ensureOpen();
        const unit = this.recorder.begin(index, true, step.items);
        let receipts;
        try {
          receipts = store.appendBatch(step.items.map((it) => ({ entity: it.entity, scope: it.scope, payload: it.payload })));
        } catch (err) {
          this.recorder.fail(unit, isPoisoned(store));
          throw err;
        }
        this.recorder.ack(unit, receipts);
        return;
      }
    }
  }

  /** Clean close; only a close that returned makes acknowledged units durable. */
  close(): void {
    const store = this.store;
    if (!store) return;
    this.store = null;
    const clean = !isPoisoned(store);
    store.close();
    if (clean) this.recorder.closedCleanly();
  }

  /** The process dies: descriptors and the lock are left as they are. */
  abandon(): void {
    const store = this.store;
    this.store = null;
    if (!store) return;
    try {
      // A poisoned store's close only lets go of descriptors; a healthy one would seal,
      // which a dying process does not do, so it is left unclosed.
      if (isPoisoned(store)) store.close();
    } catch {
      // the simulated machine may be halted
    }
  }
}
