/**
 * Runs a workload's steps against a store on some file system, telling the recorder
 * what each call acknowledged (or that it failed, and whether it could be undone).
 */
import type { Blake3 } from '../../format/hash/blake3.js';
import type { FileSystem } from '../../engine/io/fs-types.js';
import type { Store } from '../../engine/store/store.js';
import type { Txn } from '../../engine/store/txn.js';
import type { AckRecorder, UnitRecord } from './ack-recorder.js';
import { SIM_STORE_DIR, type SimMachine } from './sim-env.js';
import { createBLAKE3 } from 'hash-wasm';
import { SeglogError } from '../../engine/io/errors.js';
import { snapshotHasherSync, writeSnapshotSync } from '../../engine/wal/snapshot.js';
import { pruneSync } from '../prune.js';
import { type ItemSpec, SIM_ARCHIVE_DIR, type Step, type Workload } from './workload.js';

/**
 * The prune's own BLAKE3: archiving hashes each segment across file system calls, and
 * the drill checks crash states from inside those calls with snapshotHasherSync()'s.
 */
const pruneHasher = await createBLAKE3();

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

interface OpenTxn {
  txn: Txn;
  unit: UnitRecord;
  /** The store the transaction belongs to: it dies with it. */
  store: Store;
}

export class WorkloadRunner {
  store: Store | null = null;
  /** Interactive transactions open in the current store, by the step that began them. */
  private readonly txns = new Map<number, OpenTxn>();

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
      case 'txnOp':
        this.txnOp(step.txn, step.item);
        return;
      case 'snapshot':
        // read-only of the log; it writes only snapshots/ (temp file, fsync, rename, directory fsync)
        try {
          writeSnapshotSync(SIM_STORE_DIR, snapshotHasherSync(), { fs: this.fs, nowMs: this.machine.clock });
        } catch (err) {
          // a damaged log (a drill from a damaged fixture) has no state to snapshot: the writes go on, and fail as they would
          if ((err as { code?: string }).code !== 'corrupt') throw err;
        }
        return;
      case 'prune':
        this.prune(step.fraction, step.archive);
        return;
      case 'txnCommit':
      case 'txnAbort': {
        const t = this.txns.get(step.txn);
        // a transaction of an earlier process (or never begun) has nothing to finish
        if (!t || t.store !== this.store) return;
        this.txns.delete(step.txn);
        if (step.kind === 'txnAbort') {
          this.recorder.txnDropped(t.unit);
          t.txn.abort();
          return;
        }
        this.recorder.commitStarted(t.unit);
        let receipt;
        try {
          receipt = t.txn.commit();
        } catch (err) {
          this.recorder.fail(t.unit, isPoisoned(t.store));
          throw err;
        }
        this.recorder.commitAcked(t.unit, receipt.durable);
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

  private txnOp(txnStep: number, item: ItemSpec): void {
    const store = this.ensureOpen();
    let t = this.txns.get(txnStep);
    if (t && t.store !== store) t = undefined;
    if (!t) {
      const txn = store.beginTxn();
      t = { txn, store, unit: this.recorder.beginTxn(txnStep, txn.id) };
      this.txns.set(txnStep, t);
    }
    const kv = item.kv!;
    const r = kv.op === 'put' ? t.txn.put(kv.key, JSON.parse(Buffer.from(item.payload).toString('utf8'))) : t.txn.delete(kv.key);
    this.recorder.txnOpWritten(t.unit, item, { seq: r.seq, kvVersion: r.version });
  }

  /**
   * The writer closes cleanly (prune takes the store lock), then prune runs as a process
   * of its own, cutting at `fraction` of the next sequence. Its plan tells the recorder
   * how far events may disappear before anything is removed. A refusal (no snapshot at
   * the cut, damage to repair first) changes nothing and the workload goes on.
   */
  private prune(fraction: number, archive: boolean): void {
    const nextSeq = this.ensureOpen().snapshotState().nextSeq;
    this.close();
    try {
      pruneSync(SIM_STORE_DIR, { kind: 'seq', seq: Math.floor(nextSeq * fraction) }, pruneHasher, {
        fs: this.fs,
        lockEnv: this.machine.newProcess(),
        nowMs: this.machine.clock,
        ...(archive ? { archiveDir: SIM_ARCHIVE_DIR } : {}),
        confirm: (plan) => {
          if (plan.base) this.recorder.pruneStarted(plan.base.nextSeq);
          return true;
        },
      });
    } catch (err) {
      if (!(err instanceof SeglogError && (err.code === 'usage' || err.code === 'needs_repair'))) throw err;
    }
  }

  /** Transactions of a store that is going away can never commit. */
  private dropTxns(): void {
    for (const t of this.txns.values()) this.recorder.txnDropped(t.unit);
    this.txns.clear();
  }

  /** Clean close; only a close that returned makes acknowledged units durable. */
  close(): void {
    const store = this.store;
    if (!store) return;
    this.store = null;
    this.dropTxns();
    const clean = !isPoisoned(store);
    store.close();
    if (clean) this.recorder.closedCleanly();
  }

  /** The process dies: descriptors and the lock are left as they are. */
  abandon(): void {
    const store = this.store;
    this.store = null;
    this.dropTxns();
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
