/**
 * Shapes that found a bug, kept as regression tests (STYLE.md: keep every seed that
 * found a bug). Each is the shrunk counterexample fast-check printed, with the seed
 * that found it and what was wrong.
 */
import type { CursorStep, Filter } from './harness.js';
import type { Shape } from './shapes.js';

export interface RegressionShape {
  name: string;
  /** The seed (SEGLOG_DIFF_SEED) and run that found it, and the bug. */
  bug: string;
  shape: Shape;
  filters: Filter[];
  cursor: CursorStep[];
}

export const REGRESSION_SHAPES: RegressionShape[] = [
  {
    name: 'issue 12: a batch crossing a 4 KiB read chunk',
    bug: 'SEGLOG_DIFF_SEED=99013119 path 17, found in 18 shapes with the issue-12 fix reverted: committed-stream.ts and cursor.ts kept Buffer.slice views of batch items, so dump printed overwritten events (exit 0) and cursor read lost events; fixed on main (copyBytes)',
    shape: {"segmentMaxBytes":65536,"readChunkBytes":4096,"sync":"batch","ops":[{"t":"one","it":{"e":3,"s":2,"k":2,"pl":{"p":"lit","s":"[]"}}},{"t":"reopen"},{"t":"crash","mode":"torn"},{"t":"bulk","items":[{"e":2,"s":2,"k":2,"pl":{"p":"pad","n":147}},{"e":1,"s":0,"k":2,"pl":{"p":"lit","s":"\"ünïcödé ✓ 😀\""}},{"e":5,"s":1,"k":0,"pl":{"p":"pad","n":194}}]},{"t":"one","it":{"e":5,"s":0,"k":0,"pl":{"p":"json","v":[[-1.0408572167403835e+184],[true,true]]}}},{"t":"one","it":{"e":4,"s":2,"k":0,"pl":{"p":"bytes","b":[81,96,34,52,6,241,231,25]}}},{"t":"batch","items":[{"e":5,"s":3,"k":0,"pl":{"p":"json","v":{}}},{"e":5,"s":1,"k":1,"pl":{"p":"json","v":{}}},{"e":0,"s":2,"k":1,"pl":{"p":"wide","n":306}},{"e":0,"s":1,"k":0,"pl":{"p":"json","v":[1.1729278377856755e+246,false,",82T0",null,"6x}.",-3.6208808637046883e-56,null,-1.8553351988214286e+226,null,null]}},{"e":3,"s":2,"k":2,"pl":{"p":"json","v":[null,true,null,null,"",null]}}]}],"end":"close","endCrash":"reorder","strip":false,"checkpoint":"remove","tail":0,"repair":false,"fillBytes":0,"fillBatch":170},
    filters: [{"entity": 2, "prefix": 1, "scope": 2, "kind": 0, "kindCategoryOnly": true, "from": 6, "to": 174, "limit": 60, "system": false}],
    cursor: [{"max": 15, "commit": true}, {"max": 14, "commit": false}],
  },
];

export interface DamageRegression {
  name: string;
  bug: string;
  shape: Shape;
  /** test/differential/damage.test.ts `Damage` values. */
  damages: unknown[];
}

export const DAMAGE_REGRESSIONS: DamageRegression[] = [
  {
    name: 'every segment deleted, index.ckpt left',
    bug: 'SEGLOG_DIFF_SEED=14301854 (damage suite, first run): verify skipped the checkpoint check when no segment file was left, so a store whose only segment was deleted verified clean; fixed: verify checks index.ckpt of the store directory (VerifyOptions.storeDir)',
    shape: {
      segmentMaxBytes: 4096,
      readChunkBytes: 0,
      sync: 'batch',
      ops: [{ t: 'one', it: { e: 0, s: 0, k: 0, pl: { p: 'json', v: [] } } }],
      end: 'close',
      endCrash: 'cut',
      strip: false,
      checkpoint: 'keep',
      tail: 0,
      repair: false,
      fillBytes: 0,
      fillBatch: 1,
    },
    damages: [{ d: 'delete', file: 0 }],
  },
  {
    name: 'a flipped length bit makes a frame claim to run past the end, valid frames follow',
    bug: 'found writing the reference reader (its rule disagreed with verify; the random damage suite meets it rarely): verify reported truncated_segment ("sealed segment ends inside a frame") for a damaged length followed by valid frames, where repair\'s analyzer says bad_frame; fixed in verify.ts onFault (truncated_segment only when no valid frame follows)',
    shape: {
      segmentMaxBytes: 8192,
      readChunkBytes: 0,
      sync: 'batch',
      ops: [1, 2, 3, 4, 5].map((i) => ({ t: 'one' as const, it: { e: i % 2, s: 1, k: 0, pl: { p: 'pad' as const, n: 100 } } })),
      end: 'close',
      endCrash: 'cut',
      strip: true,
      checkpoint: 'remove',
      tail: 0,
      repair: false,
      fillBytes: 0,
      fillBatch: 1,
    },
    // byte 316 of the 1447-byte segment: bit 4 of the second frame's length (+4096)
    damages: [{ d: 'flip', file: 0, at: 316.5 / 1447, bit: 4 }],
  },
];
