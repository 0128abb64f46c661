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
 */
import { toHex } from '../../format/bytes.js';
import type { DecodedEvent } from '../../format/event.js';
import type { Receipt } from '../store.js';
import type { ItemSpec } from './workload.js';

export type UnitStatus = 'inflight' | 'acked' | 'failed' | 'maybe' | 'lost';

export interface UnitRecord {
  step: number;
  batch: boolean;
  items: readonly ItemSpec[];
  status: UnitStatus;
  receipts: Receipt[] | null;
  durable: boolean;
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
  private inflightUnit: UnitRecord | null = null;

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
    const unit: UnitRecord = { step, batch, items, status: 'inflight', receipts: null, durable: false };
    this.units.set(step, unit);
    this.inflightUnit = unit;
    return unit;
  }

  ack(unit: UnitRecord, receipts: Receipt[]): void {
    this.finish(unit);
    if (receipts.length !== unit.items.length) {
      throw new Error(`recorder: step ${unit.step} got ${receipts.length} receipts for ${unit.items.length} items`);
    }
    unit.status = 'acked';
    unit.receipts = receipts;
    // An fsync of the active segment covers every earlier write (sealed segments were
    // fsynced at rotation), so a durable receipt is every earlier unit's durability point.
    if (receipts[0]?.durable) this.markAllDurable();
  }

  /** The call threw; `mayAppear` when the store could not roll it back (it is poisoned). */
  fail(unit: UnitRecord, mayAppear: boolean): void {
    this.finish(unit);
    unit.status = mayAppear ? 'maybe' : 'failed';
  }

  /** A clean close returned: every acknowledged unit is durable. */
  closedCleanly(): void {
    this.markAllDurable();
  }

  /**
   * After a crash and a checked recovery, what survived is the new truth: surviving
   * units are durable (the crash left them on disk), the rest are lost for good.
   * `surviving` holds the steps whose events are visible after recovery.
   */
  rebase(surviving: ReadonlySet<number>): void {
    if (this.inflightUnit) this.finish(this.inflightUnit);
    for (const unit of this.units.values()) {
      if (unit.status === 'lost' || unit.status === 'failed') continue;
      if (surviving.has(unit.step)) {
        // An unacknowledged unit that survived is now part of the log; receipts stay unknown.
        if (unit.status !== 'acked') unit.status = 'acked';
        unit.durable = true;
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
