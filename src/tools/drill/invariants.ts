/**
 * The invariants a recovered store must hold (DESIGN.md, "Drills"), checked against the
 * acknowledged-state recorder. Each violation names its invariant and says what was
 * seen, with sequence numbers and steps, so a failure points at the write that broke.
 */
import { equalBytes } from '../../format/bytes.js';
import type { DecodedEvent } from '../../format/event.js';
import { KV_KIND_CATEGORY, KV_VERSION_BYTES, KvKind, kvVersionAt } from '../../format/kv.js';
import type { AckRecorder, UnitReceipt, UnitRecord } from './ack-recorder.js';
import { type ItemSpec, parsePayloadTag } from './workload.js';

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
  | 'failed-no-trace'
  /**
   * After a recovery, lost+found/ holds each cut tail once and no half-made copy: a
   * recovery that crashed after copying a tail and before cutting it must not leave the
   * next one to copy it again, nor its temp file behind (crash-check.ts, checkLostFound).
   */
  | 'lost-found-clean'
  /** Key/value replay through the newest usable snapshot gives the state and statistics of a full replay. */
  | 'snapshot-replay'
  /**
   * A pruned store's archive (prune --archive) matches its manifest and, with the live
   * store, verifies as one log without a hole (crash-check.ts, checkArchive).
   */
  | 'archive-parity';

export const INVARIANT_IDS: readonly InvariantId[] = [
  'durable-survives',
  'no-phantom',
  'batch-atomic',
  'chain-verifies',
  'reopen-appends',
  'idempotent',
  'failed-no-trace',
  'lost-found-clean',
  'snapshot-replay',
  'archive-parity',
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
  /**
   * The recovered store's base (prune): events with a smaller sequence were pruned on
   * purpose and count as present. 0: nothing pruned.
   */
  prunedBelowSeq?: number;
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
  const prunedBelow = opts.prunedBelowSeq ?? 0;
  if (prunedBelow > rec.pruneAllowedSeq) {
    out.add('durable-survives', `the store's base starts at seq ${prunedBelow}, but no prune was ever allowed past seq ${rec.pruneAllowedSeq}: events were removed that nobody pruned`);
  }
  // step -> item -> the sequence it is visible at
  const seen = new Map<number, Map<number, number>>();
  const baselineSeen = new Set<string>();
  for (const e of visible) {
    if (rec.baseline.has(e.eventHash)) {
      baselineSeen.add(e.eventHash);
      continue;
    }
    const found = identify(e, rec);
    if (typeof found === 'string') {
      out.add('no-phantom', `seq ${e.seq} (${e.entity}) was never written by the workload${found}`);
      continue;
    }
    const { unit, item } = found;
    const kind = unit.txnId !== undefined ? `transaction ${unit.txnId}` : unit.batch ? 'batch' : 'append';
    const where = `seq ${e.seq} (step ${unit.step} item ${item}, ${kind})`;
    const mismatch = differs(e, unit.items[item]!, unit.receipts?.[item]);
    if (mismatch) out.add('no-phantom', `${where}: ${mismatch} differs from what was written`);
    if (unit.status === 'failed') out.add('failed-no-trace', `${where}: it failed (rolled back, aborted or abandoned), yet it is visible`);
    if (unit.status === 'lost') out.add('no-phantom', `${where}: lost in an earlier crash, yet visible again`);
    if (unit.status === 'txn-open') out.add('no-phantom', `${where}: its transaction never committed, yet it is visible`);
    if (e.seq < prunedBelow) out.add('no-phantom', `${where}: visible below the store's base (seq ${prunedBelow}), which every reader skips`);
    const r = unit.receipts?.[item];
    if (r && (r.seq !== e.seq || (r.eventHash !== undefined && r.eventHash !== e.eventHash) || (r.eventId !== undefined && r.eventId !== e.eventId))) {
      out.add('durable-survives', `${where}: acknowledged as seq ${r.seq} hash ${(r.eventHash ?? '?').slice(0, 16)}, found hash ${e.eventHash.slice(0, 16)}`);
    }
    let items = seen.get(unit.step);
    if (!items) seen.set(unit.step, (items = new Map()));
    if (items.has(item)) out.add('no-phantom', `${where}: visible twice`);
    items.set(item, e.seq);
  }
  for (const b of rec.baseline.values()) {
    if (!baselineSeen.has(b.eventHash) && b.seq >= prunedBelow) out.add('durable-survives', `seq ${b.seq}: an event of the starting store is gone`);
  }
  /**
   * Items visible, plus, of a unit that committed or may have, those a prune removed
   * (their sequence is below the base). An aborted transaction's pruned items are not
   * "present": nothing of it ever shows.
   */
  const present = (unit: UnitRecord): number => {
    const items = seen.get(unit.step);
    const count = items?.size ?? 0;
    const mayShow = unit.status === 'acked' || unit.status === 'inflight' || unit.status === 'maybe';
    if (prunedBelow === 0 || count === unit.items.length || !mayShow) return count;
    let pruned = 0;
    for (let i = 0; i < unit.items.length; i++) {
      if (items?.has(i)) continue;
      const seq = seqOf(unit, i, items);
      if (seq !== undefined && seq < prunedBelow) pruned++;
    }
    return count + pruned;
  };
  const acked: UnitRecord[] = [];
  const unacked: UnitRecord[] = [];
  const counts = new Map<number, number>();
  for (const unit of rec.units.values()) {
    const count = present(unit);
    counts.set(unit.step, count);
    const total = unit.items.length;
    if (count > 0 && count < total) {
      out.add('batch-atomic', `step ${unit.step}: ${count} of the ${unit.txnId !== undefined ? 'transaction' : 'batch'}'s ${total} items are visible${prunedBelow > 0 ? ` or pruned (base at seq ${prunedBelow})` : ''}`);
    }
    if (unit.status === 'acked') {
      acked.push(unit);
      if (count < total && (unit.durable || opts.processOnly === true)) {
        out.add(
          'durable-survives',
          `step ${unit.step}: acknowledged${unit.durable ? ' durable' : ''} ${unit.txnId !== undefined ? 'transaction' : unit.batch ? 'batch' : 'append'} (seq ${firstSeqOf(unit)}) is gone after recovery`,
        );
      }
    } else if (unit.status === 'inflight' || unit.status === 'maybe') {
      unacked.push(unit);
    }
  }
  // Acknowledged units survive as a prefix, in the order they were acknowledged (commit
  // order); unacknowledged ones that may appear come after all of them.
  acked.sort((a, b) => (a.ackOrder ?? 0) - (b.ackOrder ?? 0));
  let firstMissing: UnitRecord | null = null;
  for (const unit of [...acked, ...unacked]) {
    // a transaction that wrote nothing (its operations failed) commits nothing to find
    if (unit.items.length === 0) continue;
    const whole = counts.get(unit.step) === unit.items.length;
    if (!whole && unit.status === 'acked' && !firstMissing) firstMissing = unit;
    if (whole && firstMissing) {
      out.add('durable-survives', `step ${unit.step} survived but the acknowledged step ${firstMissing.step} before it is gone: acknowledged events must survive as a prefix`);
      firstMissing = null;
    }
  }
  return { violations: out.list(), visibleSteps: new Set(seen.keys()) };
}

/**
 * The sequence item `i` of a unit was written at: its receipt's, or, for an append or a
 * batch (consecutive sequences) whose receipts are unknown (it survived a crash
 * unacknowledged), counted from a visible item of it. Undefined when nothing tells.
 */
function seqOf(unit: UnitRecord, i: number, visible: ReadonlyMap<number, number> | undefined): number | undefined {
  const r = unit.receipts?.[i];
  if (r) return r.seq;
  if (unit.txnId !== undefined || !visible) return undefined;
  for (const [j, seq] of visible) return seq - j + i;
  return undefined;
}

/** Which unit and item wrote a visible event, or why none did (text for the violation). */
function identify(e: DecodedEvent, rec: AckRecorder): { unit: UnitRecord; item: number } | string {
  if (e.kind.category === KV_KIND_CATEGORY) {
    // key/value operations: by transaction id, then by the sequence their receipt gave
    const unit = rec.txns.get(e.txnId);
    if (!unit) return ` (key/value event of unknown transaction ${e.txnId})`;
    const item = unit.receipts?.findIndex((r) => r.seq === e.seq) ?? -1;
    return item >= 0 ? { unit, item } : ` (transaction ${e.txnId} wrote no operation with this sequence)`;
  }
  const tag = parsePayloadTag(e.payload);
  const unit = tag ? rec.units.get(tag.step) : undefined;
  if (!tag || !unit || unit.txnId !== undefined || tag.item >= unit.items.length) return '';
  return { unit, item: tag.item };
}

/** What of a visible event differs from what the workload wrote ('' when nothing). */
function differs(e: DecodedEvent, spec: ItemSpec, receipt: UnitReceipt | undefined): string {
  if (e.entity !== spec.entity || e.scope !== spec.scope) return 'entity or scope';
  if (!spec.kv) return sameBytes(e.payload, spec.payload) ? '' : 'payload';
  const type = spec.kv.op === 'put' ? KvKind.PUT : KvKind.DELETE;
  if (e.kind.type !== type) return 'operation';
  const p = e.payload;
  if (p.length !== KV_VERSION_BYTES + spec.payload.length) return 'payload';
  if (receipt?.kvVersion !== undefined && kvVersionAt(p, 0) !== receipt.kvVersion) return 'version';
  return equalBytes(p, KV_VERSION_BYTES, spec.payload, 0, spec.payload.length) ? '' : 'value';
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
