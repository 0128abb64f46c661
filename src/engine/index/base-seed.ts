/** Starting the open-time scan of a pruned store at its base (docs/FORMAT.md section 11). */
import type { PruneBase } from '../../format/base.js';
import type { ScanVisitor } from '../recovery/recovery-scan.js';
import { type OpenTxn, SILENT_FACTS, TxnFold } from '../log/txn-fold.js';
import { newWordHead } from '../log/chain-fold.js';

/** Starts an open-time scan (recovery-scan.ts) at the base instead of sequence 0. */
export function seedScanFromBase(v: ScanVisitor, base: PruneBase): void {
  const out = v.out;
  out.nextSeq = base.nextSeq;
  out.maxKvVersion = Math.max(out.maxKvVersion, base.maxKvVersion);
  // word heads: the scan's chain fold compares and copies links a word at a time (recovery-scan.ts)
  for (const [name, h] of base.heads) {
    const head = newWordHead(h.clock, h.wallMs);
    head.hash.set(h.hash);
    out.heads.set(name, head);
  }
  // begun before the cut: their BEGIN is gone, their later items and COMMIT are in the first segments kept
  const open = new Map<number, OpenTxn>();
  for (const t of base.openTxns) open.set(t.txnId, { txnId: t.txnId, segIndex: 0, offset: 0, items: t.items, declared: 0 });
  v.adoptTxns(new TxnFold(SILENT_FACTS, open, base.nextTxnId, base.committedEvents, base.committedBatches));
}
