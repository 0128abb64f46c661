/**
 * Flags for reading by time, from the end, and live (`dump`, `cursor read`): `--since`,
 * `--until`, `--last`, `--follow`, `--poll-interval`. Parsed here once so both commands
 * read them the same way (engine/index/time-locate.ts `parseTimeSpec` for times).
 */
import { Flags } from '@oclif/core';
import { SeglogError } from '../engine/io/errors.js';
import { DEFAULT_POLL_INTERVAL_MS, MAX_POLL_INTERVAL_MS, MIN_POLL_INTERVAL_MS } from '../engine/log/follow.js';
import { parseTimeSpec } from '../engine/index/time-locate.js';
import { intFlag } from './flags.js';

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

export interface LiveChoice {
  sinceMs?: number;
  untilMs?: number;
  last?: number;
  follow: boolean;
  pollIntervalMs?: number;
  /** Whether the read walks units from a located start (tools/live/live-read.ts) rather than the whole log. */
  walk: boolean;
}

interface LiveFlagValues {
  since?: string;
  until?: string;
  last?: number;
  follow?: boolean;
  'poll-interval'?: number;
}

/** The live options of a command line, or null when none was given. */
export function parseLiveFlags(f: LiveFlagValues, ctx: { markers?: boolean; format?: string; store: boolean }, nowMs = Date.now()): LiveChoice | null {
  const any = f.since !== undefined || f.until !== undefined || f.last !== undefined || f.follow === true;
  if (!any) {
    if (f['poll-interval'] !== undefined) throw new SeglogError('usage', '--poll-interval applies only with --follow');
    return null;
  }
  if (ctx.markers) throw new SeglogError('usage', '--since, --until, --last and --follow read committed events: they do not apply to --markers');
  if (f.follow && ctx.format === 'json') throw new SeglogError('usage', '--follow never ends one JSON document: use --format jsonl (or text)');
  if (!ctx.store && (f.last !== undefined || f.follow)) throw new SeglogError('usage', '--last and --follow need a store directory, not a segment file');
  const sinceMs = f.since !== undefined ? parseTimeSpec(f.since, nowMs, '--since') : undefined;
  const untilMs = f.until !== undefined ? parseTimeSpec(f.until, nowMs, '--until') : undefined;
  if (sinceMs !== undefined && untilMs !== undefined && untilMs < sinceMs) throw new SeglogError('usage', '--until is before --since: nothing can match');
  return {
    sinceMs,
    untilMs,
    last: f.last,
    follow: f.follow === true,
    pollIntervalMs: f['poll-interval'],
    walk: ctx.store && (sinceMs !== undefined || f.last !== undefined || f.follow === true),
  };
}
