/**
 * The values of the flags for reading by time, from the end, and live (live-flags.ts
 * defines them for oclif): parsed here once, so `dump`, `cursor read` and the fast path's
 * dump (dump-fast.ts) read them the same way (engine/index/time-locate.ts
 * `parseTimeSpec` for times).
 */
import { SeglogError } from '../engine/io/errors.js';
import { parseTimeSpec } from '../engine/index/time-locate.js';

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
