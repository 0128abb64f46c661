/**
 * The acknowledged-state recorder: what the workload was told about each write it made.
 * A checker compares a recovered store against it.
 *
 * A unit is one append or one batch (the atomic unit). Its status:
 * - inflight: the call had not returned when the power was cut. It may appear after
 *   recovery (whole), or not at all.
 * - acked: the call returned receipts. It must survive once `durable` (its durability
 *   point passed: a durable receipt for it or a later unit, or a clean close after it).
 * - failed: the call threw and its rollback succeeded: it must never appear.
 * - maybe: the call threw and the store could not undo it (poisoned): it may appear (whole).
 * - lost: it did not survive an earlier crash: it must never appear again.
 * - txn-open: an interactive transaction whose operations are being written and whose
 *   commit was not called: nothing of it may appear (without COMMIT it is invisible).
 *   Its unit is keyed by the step that began it, and grows an item per operation.
 */
import { toHex } from '../../format/bytes.js';
import type { DecodedEvent } from '../../format/event.js';
import type { ItemSpec } from './workload.js';

export type UnitStatus = 'inflight' | 'acked' | 'failed' | 'maybe' | 'lost' | 'txn-open';

/** What a call returned about one event: the checker compares what it finds with it. */
export interface UnitReceipt {
  seq: number;
  eventHash?: string;
  eventId?: string;
  /** Key/value operations: the version recorded in the payload. */
  kvVersion?: number;
}

export interface UnitRecord {
  step: number;
  batch: boolean;
  items: ItemSpec[];
  status: UnitStatus;
  receipts: UnitReceipt[] | null;
  durable: boolean;
  /** Interactive transactions: the transaction id (its events carry it). */
  txnId?: number;
  /** When it was acknowledged, among all units (commit order for transactions). */
  ackOrder?: number;
}

/** An event that was in the store before the drill started (a fixture's). */
export interface BaselineEvent {
  seq: number;
  eventId: string;
  eventHash: string;
  payloadHex: string;
}

export class AckRecorder {
  readonly units = new Map<number, UnitRecord>();
  /** Events present before the workload, by event hash: all durable. */
  readonly baseline = new Map<string, BaselineEvent>();
  /** Interactive transactions by id, to attribute their key/value events. */
  readonly txns = new Map<number, UnitRecord>();
  /**
   * The largest base a prune was allowed to write (its plan's next sequence): events
   * below it may be gone from the store on purpose. 0 while nothing was pruned.
   */
  pruneAllowedSeq = 0;
  private inflightUnit: UnitRecord | null = null;
  private acks = 0;

  setBaseline(events: readonly DecodedEvent[]): void {
    this.baseline.clear();
    for (const e of events) {
      this.baseline.set(e.eventHash, { seq: e.seq, eventId: e.eventId, eventHash: e.eventHash, payloadHex: toHex(e.payload) });
    }
  }

  get inflight(): UnitRecord | null {
    return this.inflightUnit;
  }

  begin(step: number, batch: boolean, items: readonly ItemSpec[]): UnitRecord {
    if (this.inflightUnit) throw new Error(`recorder: step ${step} began while step ${this.inflightUnit.step} is in flight`);
    const unit: UnitRecord = { step, batch, items: [...items], status: 'inflight', receipts: null, durable: false };
    this.units.set(step, unit);
    this.inflightUnit = unit;
    return unit;
  }

  ack(unit: UnitRecord, receipts: (UnitReceipt & { durable?: boolean })[]): void {
    this.finish(unit);
    if (receipts.length !== unit.items.length) {
      throw new Error(`recorder: step ${unit.step} got ${receipts.length} receipts for ${unit.items.length} items`);
    }
    unit.status = 'acked';
    unit.ackOrder = this.acks++;
    unit.receipts = receipts;
    // An fsync of the active segment covers every earlier write (sealed segments were
    // fsynced at rotation), so a durable receipt is every earlier unit's durability point.
    if (receipts[0]?.durable) this.markAllDurable();
  }

  /** An interactive transaction got its id (store.beginTxn()); nothing is written yet. */
  beginTxn(step: number, txnId: number): UnitRecord {
    const unit: UnitRecord = { step, batch: true, items: [], status: 'txn-open', receipts: [], durable: false, txnId };
    this.units.set(step, unit);
    this.txns.set(txnId, unit);
    return unit;
  }

  /** A transaction operation returned: its frame is in the log (invisible until COMMIT). */
  txnOpWritten(unit: UnitRecord, item: ItemSpec, receipt: UnitReceipt): void {
    unit.items.push(item);
    unit.receipts!.push(receipt);
  }

  /** commit() is being called: from now on the transaction may appear (whole). */
  commitStarted(unit: UnitRecord): void {
    if (this.inflightUnit) throw new Error(`recorder: commit of step ${unit.step} while step ${this.inflightUnit.step} is in flight`);
    unit.status = 'inflight';
    this.inflightUnit = unit;
  }

  commitAcked(unit: UnitRecord, durable: boolean): void {
    this.finish(unit);
    unit.status = 'acked';
    unit.ackOrder = this.acks++;
    // a transaction that wrote nothing commits nothing: its receipt says durable, yet no
    // fsync ran, so it is no durability point for anything else (seed 8780)
    if (durable && unit.items.length > 0) this.markAllDurable();
  }

  /** abort() was called, or the transaction was abandoned: it must never appear. */
  txnDropped(unit: UnitRecord): void {
    if (unit.status === 'txn-open') unit.status = 'failed';
  }

  /** The call threw; `mayAppear` when the store could not roll it back (it is poisoned). */
  fail(unit: UnitRecord, mayAppear: boolean): void {
    this.finish(unit);
    unit.status = mayAppear ? 'maybe' : 'failed';
  }

  /** A prune is about to remove the events below `baseNextSeq` (its plan's base). */
  pruneStarted(baseNextSeq: number): void {
    this.pruneAllowedSeq = Math.max(this.pruneAllowedSeq, baseNextSeq);
  }

  /** A clean close returned: every acknowledged unit is durable. */
  closedCleanly(): void {
    this.markAllDurable();
  }

  /**
   * After a crash and a checked recovery, what survived is the new truth: the rest is
   * lost for good (recovery cut it). `surviving` holds the steps whose events are
   * visible after recovery. After a power cut (`powerLost`) the survivors are durable:
   * the crash left them on disk. After a process death alone they may still sit in the
   * page cache only, so they keep their durability as it was.
   */
  rebase(surviving: ReadonlySet<number>, powerLost: boolean): void {
    if (this.inflightUnit) this.finish(this.inflightUnit);
    for (const unit of this.units.values()) {
      if (unit.status === 'lost' || unit.status === 'failed') continue;
      // an open transaction dies with its process: no COMMIT can follow any more
      if (unit.status === 'txn-open') {
        unit.status = 'lost';
        continue;
      }
      if (surviving.has(unit.step)) {
        // An unacknowledged unit that survived is now part of the log; receipts stay unknown.
        if (unit.status !== 'acked') unit.ackOrder = this.acks++;
        unit.status = 'acked';
        if (powerLost) unit.durable = true;
      } else if (!powerLost && (unit.status === 'maybe' || unit.status === 'inflight')) {
        // Invisible now, but the undo that hid it (a rollback's truncate) may never have
        // reached the disk: a later power cut can bring the whole unit back.
        unit.status = 'maybe';
      } else {
        unit.status = 'lost';
      }
    }
  }

  private finish(unit: UnitRecord): void {
    if (this.inflightUnit !== unit) throw new Error(`recorder: step ${unit.step} finished but was not in flight`);
    this.inflightUnit = null;
  }

  private markAllDurable(): void {
    for (const unit of this.units.values()) if (unit.status === 'acked') unit.durable = true;
  }
}
