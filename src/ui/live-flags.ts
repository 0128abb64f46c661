/**
 * Flags for reading by time, from the end, and live (`dump`, `cursor read`): `--since`,
 * `--until`, `--last`, `--follow`, `--poll-interval`. Their values are read by
 * live-choice.ts (no oclif there: the start-up fast path's dump reads them too).
 */
import { Flags } from '@oclif/core';
import { DEFAULT_POLL_INTERVAL_MS, MAX_POLL_INTERVAL_MS, MIN_POLL_INTERVAL_MS } from '../engine/log/follow.js';
import { intFlag } from './flags.js';

export { type LiveChoice, parseLiveFlags } from './live-choice.js';

export function timeFlags() {
  return {
    since: Flags.string({ description: 'only events with wall time at or after this: ISO 8601, or a duration before now (10m, 2h, 3d)' }),
    until: Flags.string({ description: 'only events with wall time at or before this (same forms as --since)' }),
  };
}

export function followFlags() {
  return {
    follow: Flags.boolean({ char: 'f', description: 'keep going: print every new commit as it lands, until Ctrl-C', default: false }),
    'poll-interval': intFlag({ description: `ms between checks for new commits when file notifications are missed or unsupported (default ${DEFAULT_POLL_INTERVAL_MS})`, min: MIN_POLL_INTERVAL_MS, max: MAX_POLL_INTERVAL_MS }),
  };
}

export function liveFlags() {
  return {
    ...timeFlags(),
    last: intFlag({ description: 'only the last N committed events (read from the end)', min: 1 }),
    ...followFlags(),
  };
}
