/**
 * Stores of many shapes on SimFs, for the SIDX and checkpoint properties: single
 * events, batches (some spanning segments), interactive key/value transactions
 * (committed, aborted, or left open), clean reopens and crashes between sessions.
 */
import fc from 'fast-check';
import type { Blake3 } from '../../src/format/hash/blake3.js';
import { SimFs } from '../../src/sim/sim-fs.js';
import { type OpenOptions, Store } from '../../src/engine/store/store.js';

export const SIM_LOCK_ENV = { pid: 1, host: 'sim', nowMs: () => 0, isAlive: () => false };
export const STORE_DIR = '/s';

/** Entity names: ASCII, multi-byte UTF-8, and a long one. */
const ENTITIES = ['order:1', 'order:2', 'ü-user', '日本:3', 'x'.repeat(60), 'audit'];

export type Op =
  | { t: 'one'; e: number; n: number }
  | { t: 'batch'; items: { e: number; n: number }[] }
  | { t: 'txn'; keys: number[]; end: 'commit' | 'abort' | 'open' }
  | { t: 'reopen' }
  | { t: 'crash' };

export interface Shape {
  segmentMaxBytes: number;
  ops: Op[];
  /** How the last session ends. */
  end: 'close' | 'crash';
}

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ t: fc.constant('one' as const), e: fc.nat(ENTITIES.length - 1), n: fc.nat(900) }) },
  {
    weight: 2,
    arbitrary: fc.record({ t: fc.constant('batch' as const), items: fc.array(fc.record({ e: fc.nat(ENTITIES.length - 1), n: fc.nat(400) }), { minLength: 1, maxLength: 8 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('txn' as const),
      keys: fc.array(fc.nat(4), { minLength: 1, maxLength: 4 }),
      end: fc.constantFrom('commit' as const, 'commit' as const, 'abort' as const, 'open' as const),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ t: 'reopen' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'crash' as const }) },
);

export const shapeArb: fc.Arbitrary<Shape> = fc.record({
  segmentMaxBytes: fc.constantFrom(4096, 4096, 8192, 1024 * 1024),
  ops: fc.array(opArb, { minLength: 1, maxLength: 60, size: 'large' }),
  end: fc.constantFrom('close' as const, 'close' as const, 'crash' as const),
});

function deterministic(seed: number): Pick<OpenOptions, 'clock' | 'random'> {
  let t = 1_700_000_000_000;
  let x = seed >>> 0 || 1;
  return {
    clock: () => (t += 3),
    random: (out) => {
      for (let i = 0; i < out.length; i++) {
        x ^= x << 13;
        x >>>= 0;
        x ^= x >>> 17;
        x ^= x << 5;
        x >>>= 0;
        out[i] = x & 0xff;
      }
    },
  };
}

/** Builds the shape on a fresh SimFs; the store is closed (or crashed) at the end. */
export function buildShape(shape: Shape, hasher: Blake3, seed = 1): SimFs {
  const fs = new SimFs(seed);
  const base: OpenOptions = { fs, segmentMaxBytes: shape.segmentMaxBytes, sync: 'batch', ...deterministic(seed) };
  // every session is a new process: a crashed one's LOCK is taken over
  let pid = 100;
  const open = (): Store => Store.openSync(STORE_DIR, { ...base, lockEnv: { ...SIM_LOCK_ENV, pid: ++pid } }, hasher);
  let store = open();
  const crash = (): void => {
    fs.crash('cut');
    store = open();
  };
  let i = 0;
  for (const op of shape.ops) {
    i++;
    switch (op.t) {
      case 'one':
        store.append({ entity: ENTITIES[op.e]!, scope: 't' }, 'p'.repeat(op.n));
        break;
      case 'batch':
        store.appendBatch(op.items.map((it) => ({ entity: ENTITIES[it.e]!, scope: 's', payload: 'b'.repeat(it.n) })));
        break;
      case 'txn': {
        const t = store.beginTxn();
        for (const k of op.keys) t.put(`k${k}`, { i, k });
        if (op.end === 'commit') t.commit();
        else if (op.end === 'abort') t.abort();
        break;
      }
      case 'reopen':
        store.close();
        store = open();
        break;
      case 'crash':
        crash();
        break;
    }
  }
  if (shape.end === 'close') store.close();
  else fs.crash('cut');
  return fs;
}
