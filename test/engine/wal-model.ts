import fc from 'fast-check';
import type { FixtureOp } from '../../src/tools/fixture-build.js';
import { type ReplayStats, zeroReplayStats } from '../../src/engine/wal/wal-replay.js';

/**
 * The independent model of replay and the log generators of test/engine/wal-replay.test.ts,
 * shared with the snapshot tests (test/engine/snapshot.test.ts): replay through any
 * snapshot must give what this model gives for the whole log.
 */
export type State = Record<string, { value: unknown; version: number }>;

export const stats = (s: Partial<ReplayStats>): ReplayStats => ({ ...zeroReplayStats(), ...s });

export const begin = (txn: number): FixtureOp => ({ type: 'begin', txn });
export const commit = (txn: number): FixtureOp => ({ type: 'commit', txn });
export const abort = (txn: number): FixtureOp => ({ type: 'abort', txn });
export const put = (txn: number, key: string, value: unknown, version: number): FixtureOp => ({ type: 'put', txn, key, value, version });
export const del = (txn: number, key: string, version: number): FixtureOp => ({ type: 'delete', txn, key, version });
export const event = (txn?: number): FixtureOp => ({ type: 'event', entity: 'order:1', scope: 's', payload: { n: 1 }, ...(txn !== undefined ? { txn } : {}) });

/** The independent model: the rules of docs/FORMAT.md "Replay", over the ops as written. */
export function model(ops: FixtureOp[]): { stats: ReplayStats; state: State } {
  const s = stats({});
  const open = new Map<number, FixtureOp[]>();
  const state = new Map<string, { value: unknown; version: number }>();
  for (const op of ops) {
    switch (op.type) {
      case 'begin':
        if (open.has(op.txn)) s.discardedTxns++;
        open.set(op.txn, []);
        break;
      case 'commit': {
        const items = open.get(op.txn);
        if (!items) break;
        open.delete(op.txn);
        s.txnsApplied++;
        for (const it of items) {
          if (it.type === 'put') {
            s.writesApplied++;
            state.delete(it.key); // re-insert: order is irrelevant, the map is compared sorted
            state.set(it.key, { value: it.value, version: it.version! });
          } else if (it.type === 'delete') {
            s.deletesApplied++;
            state.delete(it.key);
          }
          if (it.type === 'put' || it.type === 'delete') s.finalVersion = Math.max(s.finalVersion, it.version!);
        }
        break;
      }
      case 'abort':
        if (open.delete(op.txn)) {
          s.abortedTxns++;
          s.discardedTxns++;
        }
        break;
      default: {
        const txn = op.txn ?? 0;
        if (txn !== 0 && open.has(txn)) open.get(txn)!.push(op);
        else if (txn !== 0 || op.type !== 'event') s.orphanedEntries++;
      }
    }
  }
  s.discardedTxns += open.size;
  s.liveKeys = state.size;
  const out: State = {};
  for (const k of [...state.keys()].sort()) out[k] = state.get(k)!;
  return { stats: s, state: out };
}

const TXN_IDS = 5;
const KEYS = ['a', 'b', 'c', 'd', 'ключ'];
const arbValue = fc.oneof(fc.integer(), fc.string({ maxLength: 8 }), fc.constant(null), fc.record({ n: fc.integer() }));
const arbVersion = fc.integer({ min: 1, max: 1_000_000 });
/** A KV operation without its transaction id (put 3 : delete 1). */
const arbKv: fc.Arbitrary<(txn: number) => FixtureOp> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ key: fc.constantFrom(...KEYS), value: arbValue, version: arbVersion }).map((r) => (txn: number) => put(txn, r.key, r.value, r.version)) },
  { weight: 1, arbitrary: fc.record({ key: fc.constantFrom(...KEYS), version: arbVersion }).map((r) => (txn: number) => del(txn, r.key, r.version)) },
);

/**
 * Well-formed transactions (BEGIN, operations, then COMMIT, ABORT or nothing) interleaved
 * by a random schedule, plus noise: orphaned operations and events, stray markers, and
 * BEGINs reusing a live id.
 */
export const arbLog: fc.Arbitrary<FixtureOp[]> = fc
  .record({
    txns: fc.array(fc.record({ body: fc.array(arbKv, { maxLength: 6 }), fate: fc.constantFrom('commit', 'commit', 'abort', 'incomplete') }), { minLength: 1, maxLength: 12 }),
    schedule: fc.array(fc.nat(), { minLength: 1, maxLength: 120 }),
    noise: fc.array(
      fc.record({
        at: fc.nat(),
        op: fc.oneof(
          fc.record({ kv: arbKv, txn: fc.constantFrom(0, 99) }).map((r) => r.kv(r.txn)),
          fc.constantFrom(commit(77), abort(78), event(99), event(0)),
          fc.integer({ min: 1, max: 12 }).map((txn) => begin(txn)),
        ),
      }),
      { maxLength: 6 },
    ),
  })
  .map(({ txns, schedule, noise }) => {
    const steps = txns.map((t, i) => {
      const id = i + 1;
      const seq: FixtureOp[] = [begin(id), ...t.body.map((mk) => mk(id))];
      if (t.fate === 'commit') seq.push(commit(id));
      else if (t.fate === 'abort') seq.push(abort(id));
      return seq;
    });
    const out = interleave(steps, schedule);
    for (const n of noise) out.splice(n.at % (out.length + 1), 0, n.op);
    return out;
  });

/** Fully random ops over a few ids: double BEGINs, markers without BEGIN, anything. */
export const arbChaos: fc.Arbitrary<FixtureOp[]> = fc.array(
  fc.oneof(
    { weight: 3, arbitrary: fc.integer({ min: 1, max: TXN_IDS }).map((txn) => begin(txn)) },
    { weight: 3, arbitrary: fc.integer({ min: 1, max: TXN_IDS }).map((txn) => commit(txn)) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: TXN_IDS }).map((txn) => abort(txn)) },
    { weight: 10, arbitrary: fc.record({ kv: arbKv, txn: fc.integer({ min: 0, max: TXN_IDS + 1 }) }).map((r) => r.kv(r.txn)) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: TXN_IDS }).map((txn) => event(txn)) },
  ),
  { minLength: 10, maxLength: 120 },
);

/** The transactions' ops (each in order) interleaved by `schedule`: each entry picks which live transaction goes next. */
export function interleave(steps: FixtureOp[][], schedule: number[]): FixtureOp[] {
  const out: FixtureOp[] = [];
  let k = 0;
  for (;;) {
    const live = steps.filter((s) => s.length > 0);
    if (live.length === 0) break;
    out.push(live[schedule[k++ % schedule.length]! % live.length]!.shift()!);
  }
  return out;
}
