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

export const REGRESSION_SHAPES: RegressionShape[] = [];

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
];
