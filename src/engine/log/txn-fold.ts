/**
 * The transaction rules of the log (docs/FORMAT.md section 3, rules 5 and 6), once.
 *
 * A TxnFold consumes the frames of a log in file order (EVENT frames' transaction ids,
 * BEGIN, COMMIT, ABORT) and keeps the transactions that are open. It decides nothing
 * about what a fact means: it calls its consumer's `TxnFacts` methods (committed,
 * aborted, begun again while open, orphan item, COMMIT/ABORT without a BEGIN, count
 * mismatch, incomplete at the end) and the consumer refuses, reports, plans, applies or
 * prints. docs/FORMAT.md section 4.1 is the table of which consumer does what with each
 * fact. Where a consumer's answer changes the fold's course (adopt an item with no
 * BEGIN, keep or replace a transaction begun again), the fact method returns it.
 *
 * Consumers: the open-time scan (recovery-scan.ts) and the footer/checkpoint replays
 * (footer-replay.ts), verify, repair's analysis, WAL replay and dump, the committed
 * stream and cursors.
 *
 * Hot path: one call per EVENT frame, no allocation per frame (a record per
 * transaction, made by the consumer, possibly pooled). The transaction looked up last
 * is kept aside (`hot`): in the common log (BEGIN, items, COMMIT) the Map is touched
 * once per transaction, not once per item.
 */
import { FrameType } from '../../format/frame.js';

/** What the fold keeps per open transaction; a consumer's record extends it. */
export interface OpenTxn {
  txnId: number;
  /** Where its BEGIN is (for an adopted transaction: its first frame). */
  segIndex: number;
  offset: number;
  /** EVENT frames carrying its id since its BEGIN. */
  items: number;
  /** The BEGIN's item count (0: not known up front, or no BEGIN). */
  declared: number;
}

/** Why a transaction was made without a BEGIN frame (TxnFacts.create). */
export type Adoption = 'begin' | 'item' | 'end';

/**
 * The facts the fold emits. Methods are called in file order, at the frame they are
 * about. `create` makes the consumer's record of a transaction.
 */
export interface TxnFacts<T extends OpenTxn> {
  create(txnId: number, declared: number, segIndex: number, offset: number, adopted: Adoption): T;
  /**
   * BEGIN of a transaction that is already open. Return true to drop `prev` (it never
   * completes: it is incomplete) and begin again, false to keep `prev` and ignore this BEGIN.
   */
  begunAgain(prev: T, declared: number, segIndex: number, offset: number): boolean;
  /**
   * An EVENT frame whose transaction id has no open transaction (no BEGIN, or after its
   * COMMIT/ABORT). Return true to adopt it: a transaction is opened at this frame
   * (`create(..., 'item')`) and the item counted in it.
   */
  orphan(txnId: number, segIndex: number, offset: number): boolean;
  /** COMMIT or ABORT with no open transaction. Return true to adopt (open it empty, then end it). */
  endWithoutBegin(type: number, txnId: number, segIndex: number, offset: number): boolean;
  /** COMMIT whose count, or whose BEGIN's count (when not 0), is not the items read. Then `committed` follows. */
  countMismatch(t: T, commitCount: number, segIndex: number, offset: number): void;
  committed(t: T, commitCount: number, segIndex: number, offset: number): void;
  aborted(t: T, segIndex: number, offset: number): void;
  /** At `finish`: still open at the end of the log, in BEGIN order. */
  incomplete(t: T): void;
}

/** A fold that only keeps the book (the open-time scan, footer replays): every fact is silent. */
export const SILENT_FACTS: TxnFacts<OpenTxn> = {
  create: (txnId, declared, segIndex, offset) => ({ txnId, segIndex, offset, items: 0, declared }),
  begunAgain: () => true,
  orphan: () => false,
  endWithoutBegin: () => false,
  countMismatch: () => {},
  committed: () => {},
  aborted: () => {},
  incomplete: () => {},
};

/** Whether a COMMIT's count (or its BEGIN's, when given) disagrees with the items read. */
export function countMismatches(items: number, declared: number, commitCount: number): boolean {
  return commitCount !== items || (declared !== 0 && declared !== items);
}

export class TxnFold<T extends OpenTxn = OpenTxn> {
  /** Open transactions, in BEGIN order (a transaction begun again moves to the end). */
  readonly open: Map<number, T>;
  /** Larger than every transaction id seen (BEGIN, COMMIT's and ABORT's not included, items): the writer continues here. */
  nextTxnId: number;
  /** Standalone events plus the items of committed transactions. */
  committedEvents: number;
  committedBatches: number;
  /** The last frame neither began a transaction nor was an item of an open one (see `frameDone`). */
  private completes = true;
  /** End of the last frame after which no transaction was half-written (this segment). */
  completeEnd = 0;
  lastFrameEnd = 0;
  private hot: T | null = null;

  constructor(
    private readonly facts: TxnFacts<T>,
    open: Map<number, T> = new Map(),
    nextTxnId = 1,
    committedEvents = 0,
    committedBatches = 0,
  ) {
    this.open = open;
    this.nextTxnId = nextTxnId;
    this.committedEvents = committedEvents;
    this.committedBatches = committedBatches;
  }

  /** A copy whose records are copies (a footer replay that may be thrown away). */
  clone(): TxnFold<T> {
    const open = new Map<number, T>();
    for (const [k, t] of this.open) open.set(k, { ...t });
    return new TxnFold(this.facts, open, this.nextTxnId, this.committedEvents, this.committedBatches);
  }

  private find(txnId: number): T | undefined {
    const h = this.hot;
    if (h !== null && h.txnId === txnId) return h;
    if (this.open.size === 0) return undefined;
    const t = this.open.get(txnId);
    if (t !== undefined) this.hot = t;
    return t;
  }

  private take(txnId: number): T | undefined {
    const t = this.find(txnId);
    if (t === undefined) return undefined;
    this.open.delete(txnId);
    if (this.hot === t) this.hot = null;
    return t;
  }

  private put(t: T): void {
    this.open.set(t.txnId, t);
    this.hot = t;
  }

  /**
   * An EVENT frame carrying `txnId`. Returns its open transaction (the item counted),
   * or null: a standalone event (txn 0, counted as committed) or an orphan not adopted.
   */
  event(txnId: number, segIndex: number, offset: number): T | null {
    if (txnId === 0) {
      this.committedEvents++;
      this.completes = true;
      return null;
    }
    if (txnId >= this.nextTxnId) this.nextTxnId = txnId + 1;
    let t = this.find(txnId);
    if (t === undefined) {
      // an item with no open transaction is an orphan: invisible, and not half of anything
      this.completes = true;
      if (!this.facts.orphan(txnId, segIndex, offset)) return null;
      t = this.facts.create(txnId, 0, segIndex, offset, 'item');
      this.put(t);
    }
    t.items++;
    this.completes = false;
    return t;
  }

  begin(txnId: number, declared: number, segIndex: number, offset: number): T {
    this.completes = false;
    if (txnId >= this.nextTxnId) this.nextTxnId = txnId + 1;
    const prev = this.find(txnId);
    if (prev !== undefined) {
      if (!this.facts.begunAgain(prev, declared, segIndex, offset)) return prev;
      this.take(txnId);
    }
    const t = this.facts.create(txnId, declared, segIndex, offset, 'begin');
    this.put(t);
    return t;
  }

  commit(txnId: number, commitCount: number, segIndex: number, offset: number): T | null {
    this.completes = true;
    const t = this.take(txnId) ?? this.adoptEnd(FrameType.COMMIT, txnId, segIndex, offset);
    if (t === null) return null;
    if (countMismatches(t.items, t.declared, commitCount)) this.facts.countMismatch(t, commitCount, segIndex, offset);
    this.committedEvents += t.items;
    this.committedBatches++;
    this.facts.committed(t, commitCount, segIndex, offset);
    return t;
  }

  abort(txnId: number, segIndex: number, offset: number): T | null {
    this.completes = true;
    const t = this.take(txnId) ?? this.adoptEnd(FrameType.ABORT, txnId, segIndex, offset);
    if (t === null) return null;
    this.facts.aborted(t, segIndex, offset);
    return t;
  }

  private adoptEnd(type: number, txnId: number, segIndex: number, offset: number): T | null {
    if (!this.facts.endWithoutBegin(type, txnId, segIndex, offset)) return null;
    return this.facts.create(txnId, 0, segIndex, offset, 'end');
  }

  /** A marker frame by type (BEGIN, COMMIT, ABORT; others are no transaction's business): the transaction it is about. */
  marker(type: number, txnId: number, count: number, segIndex: number, offset: number): T | null {
    switch (type) {
      case FrameType.BEGIN:
        return this.begin(txnId, count, segIndex, offset);
      case FrameType.COMMIT:
        return this.commit(txnId, count, segIndex, offset);
      case FrameType.ABORT:
        return this.abort(txnId, segIndex, offset);
      default:
        this.completes = true;
        return null;
    }
  }

  // ---------------------------------------------------------------- the tail rule

  /** A segment starts at `pos` (its first frame's offset). */
  segmentStart(pos: number): void {
    this.completeEnd = pos;
    this.lastFrameEnd = pos;
    this.completes = true;
  }

  /**
   * The frame just folded ends at `end`. Only frames after the last one that completes
   * something can be half of a transaction: BEGINs and items of open transactions.
   * Returns whether `completeEnd` moved to `end`.
   */
  frameDone(end: number): boolean {
    const moved = this.completes || this.open.size === 0;
    if (moved) this.completeEnd = end;
    this.lastFrameEnd = end;
    this.completes = true;
    return moved;
  }

  /**
   * Where this segment's trailing run of frames of unfinished transactions starts (the
   * incomplete tail recovery cuts), or -1 when its last frame leaves nothing half-written.
   */
  incompleteTail(): number {
    return this.open.size > 0 && this.lastFrameEnd > this.completeEnd ? this.completeEnd : -1;
  }

  /** The end of the log: what is still open never completed. */
  finish(): void {
    for (const t of this.open.values()) this.facts.incomplete(t);
  }
}
