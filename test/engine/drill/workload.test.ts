/**
 * Drill workloads are deterministic from their seed and hold what the drill promises to
 * exercise (src/tools/drill/workload.ts): batches that span segments, interleaved
 * transactions, clean close/reopen cycles.
 */
import { describe, expect, it } from 'vitest';
import { buildWorkload, episodeCount, WORKLOAD_NAMES } from '../../../src/tools/drill/workload.js';

describe('drill workloads', () => {
  it('are the same for the same seed and episode, and differ otherwise', () => {
    for (const name of WORKLOAD_NAMES) {
      expect(buildWorkload(name, 3, 1)).toEqual(buildWorkload(name, 3, 1));
      expect(buildWorkload(name, 3, 1)).not.toEqual(buildWorkload(name, 4, 1));
      expect(buildWorkload(name, 3, 1)).not.toEqual(buildWorkload(name, 3, 2));
    }
  });

  it('start with an open and end with a clean close', () => {
    for (const name of WORKLOAD_NAMES) {
      const w = buildWorkload(name, 1);
      expect(w.steps[0]!.kind).toBe('open');
      expect(w.steps[w.steps.length - 1]!.kind).toBe('close');
    }
  });

  it('default mixes appends, batches spanning segments, interleaved transactions and reopens', () => {
    const kinds = new Map<string, number>();
    let spanning = 0;
    let interleaved = 0;
    for (let e = 0; e < episodeCount('default'); e++) {
      const w = buildWorkload('default', 1, e);
      const open = new Set<number>();
      for (const s of w.steps) {
        kinds.set(s.kind, (kinds.get(s.kind) ?? 0) + 1);
        if (s.kind === 'batch' && s.items.reduce((a, i) => a + i.payload.length, 0) > (w.storeOptions.segmentMaxBytes ?? 0)) spanning++;
        if (s.kind === 'txnOp') {
          open.add(s.txn);
          if (open.size > 1) interleaved++;
        }
        if (s.kind === 'txnCommit' || s.kind === 'txnAbort') open.delete(s.txn);
        if (s.kind === 'close') open.clear();
      }
    }
    for (const k of ['append', 'batch', 'txnOp', 'txnCommit', 'txnAbort', 'close', 'open']) expect(kinds.get(k) ?? 0, k).toBeGreaterThan(0);
    expect(spanning, 'batches larger than a segment').toBeGreaterThan(0);
    expect(interleaved, 'operations while another transaction is open').toBeGreaterThan(0);
  });

  it('commits and aborts only transactions it began and did not abandon', () => {
    for (const name of ['default', 'txn'] as const) {
      for (let e = 0; e < episodeCount(name); e++) {
        const open = new Set<number>();
        for (const s of buildWorkload(name, 9, e).steps) {
          if (s.kind === 'txnOp') open.add(s.txn);
          if (s.kind === 'txnCommit' || s.kind === 'txnAbort') expect(open.delete(s.txn), `step finishing txn ${s.txn}`).toBe(true);
          if (s.kind === 'close') open.clear();
        }
      }
    }
  });
});
