/**
 * The invariants a recovered store must hold (DESIGN.md, "Drills"), checked against the
 * acknowledged-state recorder. Each violation names its invariant and says what was
 * seen, with sequence numbers and steps, so a failure points at the write that broke.
 */
import { equalBytes } from '../../format/bytes.js';
import type { DecodedEvent } from '../../format/event.js';
import type { AckRecorder, UnitRecord } from './ack-recorder.js';
import { parsePayloadTag } from './workload.js';

export type InvariantId =
  /** 1: every acknowledged event whose durability point passed survives, byte for byte. */
  | 'durable-survives'
  /** 2: nothing never acknowledged appears, except a whole unit whose COMMIT reached disk. */
  | 'no-phantom'
  /** 3: no batch is partly visible. */
  | 'batch-atomic'
  /** 4: the hash chain and the sequences verify. */
  | 'chain-verifies'
  /** 5: the store reopens and accepts appends continuing sequence and clock. */
  | 'reopen-appends'
  /** 6: recovery is idempotent: reopening twice gives the same state. */
  | 'idempotent'
  /** A failed append leaves no trace and burns no sequence number (DESIGN, "Durability"). */
  | 'failed-no-trace';

export const INVARIANT_IDS: readonly InvariantId[] = [
  'durable-survives',
  'no-phantom',
  'batch-atomic',
  'chain-verifies',
  'reopen-appends',
  'idempotent',
  'failed-no-trace',
];

export interface Violation {
  invariant: InvariantId;
  detail: string;
}

/** Most violations of one kind reported per crash state; the rest are counted in one line. */
const MAX_DETAILS_PER_STATE = 4;

export interface VisibleCheckOptions {
  /** The process died but the machine did not lose power: every acknowledged unit must survive. */
  processOnly?: boolean;
}

export interface VisibleCheck {
  violations: Violation[];
  /** Steps with at least one visible event. */
  visibleSteps: Set<number>;
}

/**
 * Checks the committed events a recovered store shows (in commit order) against what
 * was acknowledged: invariants 1, 2 and 3, plus "acknowledged events survive as a
 * prefix" (an acknowledged unit may be lost only if every later one is lost too).
 */
export function checkVisible(visible: readonly DecodedEvent[], rec: AckRecorder, opts: VisibleCheckOptions = {}): VisibleCheck {
  const out = new ViolationList();
  const seen = new Map<number, Set<number>>();
  const baselineSeen = new Set<string>();
  for (const e of visible) {
    if (rec.baseline.has(e.eventHash)) {
      baselineSeen.add(e.eventHash);
      continue;
    }
    const tag = parsePayloadTag(e.payload);
    const unit = tag ? rec.units.get(tag.step) : undefined;
    if (!tag || !unit || tag.item >= unit.items.length) {
      out.add('no-phantom', `seq ${e.seq} (${e.entity}) was never written by the workload`);
      continue;
    }
    const where = `seq ${e.seq} (step ${tag.step} item ${tag.item}, ${unit.batch ? 'batch' : 'append'})`;
    const spec = unit.items[tag.item]!;
    if (e.entity !== spec.entity || e.scope !== spec.scope || !sameBytes(e.payload, spec.payload)) {
      out.add('no-phantom', `${where}: entity, scope or payload differ from what was written`);
    }
    if (unit.status === 'failed') out.add('failed-no-trace', `${where}: the append failed and was rolled back, yet it is visible`);
    if (unit.status === 'lost') out.add('no-phantom', `${where}: lost in an earlier crash, yet visible again`);
    const r = unit.receipts?.[tag.item];
    if (r && (r.seq !== e.seq || r.eventHash !== e.eventHash || r.eventId !== e.eventId)) {
      out.add(
        'durable-survives',
        `${where}: acknowledged as seq ${r.seq} hash ${r.eventHash.slice(0, 16)}, found seq ${e.seq} hash ${e.eventHash.slice(0, 16)}`,
      );
    }
    let items = seen.get(tag.step);
    if (!items) seen.set(tag.step, (items = new Set()));
    if (items.has(tag.item)) out.add('no-phantom', `${where}: visible twice`);
    items.add(tag.item);
  }
  for (const b of rec.baseline.values()) {
    if (!baselineSeen.has(b.eventHash)) out.add('durable-survives', `seq ${b.seq}: an event of the starting store is gone`);
  }
  let firstMissingAcked: UnitRecord | null = null;
  for (const unit of [...rec.units.values()].sort((a, b) => a.step - b.step)) {
    const count = seen.get(unit.step)?.size ?? 0;
    const total = unit.items.length;
    if (count > 0 && count < total) {
      out.add('batch-atomic', `step ${unit.step}: ${count} of the batch's ${total} items are visible`);
    }
    if (unit.status !== 'acked') {
      if (count === total && count > 0 && firstMissingAcked) {
        out.add('durable-survives', `unacknowledged step ${unit.step} survived but the acknowledged step ${firstMissingAcked.step} before it is gone`);
        firstMissingAcked = null;
      }
      continue;
    }
    const mustSurvive = unit.durable || opts.processOnly === true;
    if (count < total && mustSurvive) {
      out.add(
        'durable-survives',
        `step ${unit.step}: acknowledged${unit.durable ? ' durable' : ''} ${unit.batch ? 'batch' : 'append'} (seq ${firstSeqOf(unit)}) is gone after recovery`,
      );
    }
    if (count < total && !firstMissingAcked) firstMissingAcked = unit;
    if (count === total && firstMissingAcked) {
      out.add(
        'durable-survives',
        `step ${unit.step} survived but the earlier acknowledged step ${firstMissingAcked.step} is gone: acknowledged events must survive as a prefix`,
      );
      firstMissingAcked = null;
    }
  }
  return { violations: out.list(), visibleSteps: new Set(seen.keys()) };
}

function firstSeqOf(unit: UnitRecord): string {
  const s = unit.receipts?.[0]?.seq;
  return s === undefined ? '?' : String(s);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && equalBytes(a, 0, b, 0, a.length);
}

/** Collects violations, keeping a few details per invariant and counting the rest. */
export class ViolationList {
  private readonly items: Violation[] = [];
  private readonly extra = new Map<InvariantId, number>();
  private readonly perInvariant = new Map<InvariantId, number>();

  add(invariant: InvariantId, detail: string): void {
    const n = (this.perInvariant.get(invariant) ?? 0) + 1;
    this.perInvariant.set(invariant, n);
    if (n <= MAX_DETAILS_PER_STATE) this.items.push({ invariant, detail });
    else this.extra.set(invariant, (this.extra.get(invariant) ?? 0) + 1);
  }

  addAll(vs: readonly Violation[]): void {
    for (const v of vs) this.add(v.invariant, v.detail);
  }

  list(): Violation[] {
    const out = [...this.items];
    for (const [invariant, n] of this.extra) out.push({ invariant, detail: `and ${n} more of this kind in the same state` });
    return out;
  }
}
