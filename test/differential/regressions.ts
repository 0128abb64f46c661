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
