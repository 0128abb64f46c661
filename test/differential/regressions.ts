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
  {
    name: 'two bytes inserted before the header of the only (active) segment, its footer trailer still accepted',
    bug: 'SEGLOG_DIFF_SEED=777 path 937 (long mode, SEGLOG_DAMAGE_RUNS=1500): the reference did not check a footer body behind a header that never became valid; verify reports sidx_mismatch there (2.5: a body that fails is a damaged footer). A reference-reader gap, no engine change',
    shape: {"segmentMaxBytes":8388608,"readChunkBytes":16384,"sync":"none","ops":[{"t":"one","it":{"e":3,"s":0,"k":0,"pl":{"p":"deep","depth":126,"obj":true}}},{"t":"bulk","items":[{"e":5,"s":3,"k":2,"pl":{"p":"pad","n":257}},{"e":7,"s":0,"k":2,"pl":{"p":"json","v":[false,[false,"FR'.}h,#","&+{-L]<\\P",-7.019697295415548e+269,"vKt+S%'a","]I2Sh).S3","8wU!WRSb",-8.846703756614672e-245],""]}},{"e":3,"s":0,"k":1,"pl":{"p":"text","s":"Ϻ≮🡰꣸ჶ∣"}},{"e":5,"s":1,"k":2,"pl":{"p":"pad","n":341}},{"e":6,"s":0,"k":1,"pl":{"p":"pad","n":29}},{"e":1,"s":1,"k":1,"pl":{"p":"pad","n":373}}]},{"t":"one","it":{"e":7,"s":1,"k":0,"pl":{"p":"json","v":null}}},{"t":"tput","which":6,"key":0,"del":false},{"t":"tbegin","key":1},{"t":"one","it":{"e":7,"s":3,"k":1,"pl":{"p":"json","v":[]}}},{"t":"tbegin","key":3},{"t":"crash","mode":"lose-unsynced"}],"end":"close","endCrash":"cut","strip":false,"checkpoint":"keep","tail":0,"repair":true,"fillBytes":0,"fillBatch":228},
    damages: [{"d":"insert","file":4,"at":7.930718482594728e-227,"bytes":[248,205]}],
  },

  {
    name: 'bytes inserted before the header of a segment with a footer: the footer body fails behind damaged frames',
    bug: 'SEGLOG_DIFF_SEED=4243 path 40 (long mode): verify does not report a footer whose checksum fails when the segment also has damaged frames (CLI.md says it always reports one); not changed, see README.md; the suites compare such footers out',
    shape: {"segmentMaxBytes":65536,"readChunkBytes":8192,"sync":"none","ops":[{"t":"batch","items":[{"e":5,"s":1,"k":2,"pl":{"p":"deep","depth":135,"obj":true}},{"e":4,"s":1,"k":0,"pl":{"p":"json","v":-7.602189238230784e-50}},{"e":0,"s":0,"k":2,"pl":{"p":"bytes","b":[45,226,246,201,196,184,150,155,167,229]}},{"e":2,"s":0,"k":2,"pl":{"p":"pad","n":334}},{"e":7,"s":3,"k":0,"pl":{"p":"text","s":"ᓳ𓍷꫱"}}]}],"end":"close","endCrash":"cut","strip":false,"checkpoint":"damage","tail":0,"repair":true,"fillBytes":0,"fillBatch":55},
    damages: [{"d":"insert","file":7,"at":2.4946188297428506e-272,"bytes":[203,126,49,183,128,35,142,38,150,98,170,45]},{"d":"flip","file":2,"at":1.5108775455946476e-241,"bit":7},{"d":"zero","file":2,"at":1.1228145069529627e-243,"len":17}],
  },
  {
    name: 'header of the only segment zeroed, an empty footer behind it',
    bug: 'SEGLOG_DIFF_SEED=4244 path 286 (long mode): the same footer-behind-damage case with a whole-file torn tail; verify judges no footer there (the reference does); compared out, see README.md',
    shape: {"segmentMaxBytes":8388608,"readChunkBytes":4096,"sync":"none","ops":[{"t":"tput","which":0,"key":2,"del":false},{"t":"tend","which":5,"commit":true},{"t":"tput","which":1,"key":4,"del":false}],"end":"close","endCrash":"reorder","strip":false,"checkpoint":"damage","tail":0,"repair":true,"fillBytes":0,"fillBatch":232},
    damages: [{"d":"flip","file":3,"at":5.099781542781856e-278,"bit":4},{"d":"zero","file":8,"at":2.189531621617548e-164,"len":35}],
  },
];
