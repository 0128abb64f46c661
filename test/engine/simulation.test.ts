/**
 * Seeded random simulation: 240 seeds, each its own SimFs, with a random workload, random
 * store options, injected faults (EIO, ENOSPC, short writes on every kind of operation)
 * and power cuts in all four crash modes. After every power cut and every process death
 * the disk is forked and checked against DESIGN's invariants (src/engine/drill/
 * simulation.ts). A failure prints the seed: `simulateSeed(seed, hasher)` replays it.
 */
import { expect, it } from 'vitest';
import { simulateSeed, type SimulationFailure } from '../../src/engine/drill/simulation.js';
import { hasher } from './drill/sim-helpers.js';

const SEEDS = 240;
const FIRST_SEED = 1;
/** Short seeds: many seeds explore more than a few long ones within the time budget. */
const MAX_STEPS = 24;

it(`${SEEDS} random seeds with faults and power cuts keep every invariant`, async () => {
  const h = await hasher();
  const failures: SimulationFailure[] = [];
  let powerCuts = 0;
  let restarts = 0;
  let faults = 0;
  let failedSteps = 0;
  for (let seed = FIRST_SEED; seed < FIRST_SEED + SEEDS; seed++) {
    const r = simulateSeed(seed, h, { maxSteps: MAX_STEPS });
    powerCuts += r.powerCuts;
    restarts += r.restarts;
    faults += r.faultsArmed;
    failedSteps += r.failedSteps;
    failures.push(...r.failures);
  }
  expect(failures.slice(0, 5), `invariant violations; replay a seed with simulateSeed(seed, hasher, { maxSteps: ${MAX_STEPS} }) (src/engine/drill/simulation.ts)`).toEqual([]);
  // the run must have exercised what it claims to: every seed ends with a power cut
  expect(powerCuts).toBeGreaterThanOrEqual(SEEDS);
  expect(restarts, 'faults must have killed some processes').toBeGreaterThan(0);
  expect(failedSteps, 'faults and power cuts must have failed some steps').toBeGreaterThan(SEEDS / 4);
  expect(faults).toBeGreaterThan(0);
}, 120_000);
