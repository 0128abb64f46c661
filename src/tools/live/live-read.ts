import { START_POSITION } from '../../engine/log/cursor-units.js';
import { followUnits } from '../../engine/log/follow.js';
import type { FileSystem } from '../../engine/io/fs-types.js';
import { locateLast, locateSince, withWallRange } from '../../engine/index/time-locate.js';
import type { Fault } from '../../engine/segment/walker.js';
import { liveSegments } from '../../engine/segment/prune-base.js';

/**
 * `dump --since/--until/--last/--follow` on a store: where to start (time-locate.ts),
 * then whole committed units from there (cursor-units.ts), then, with `follow`, every
 * unit committed afterwards (follow.ts). The output side is the caller's: `emit` gets
 * each event that passes the filter (`buf[b, b + bodyBytes)` valid only during the
 * call), `flush` is called after each pass (whole units only).
 */
export interface LiveReadOptions {
  sinceMs?: number;
  untilMs?: number;
  /** Only the last N committed events that pass the filter (then, with follow, every new one). */
  last?: number;
  follow: boolean;
  pollIntervalMs?: number;
  filter: (buf: Uint8Array, b: number) => boolean;
  emit: (buf: Uint8Array, b: number, bodyBytes: number, segIndex: number, frameOffset: number) => void;
  flush: () => void;
  /** True ends the read (a limit reached, a closed pipe); checked between units. */
  stop: () => boolean;
  onFault: (f: Fault) => void;
  /** Called once the start is located, before anything is read from it (`SEGLOG_DEBUG=1` prints it; the bench reads it). */
  onLocated?: (s: LiveReadStats) => void;
}

export interface LiveReadStats {
  /** Bytes read to find the start (footers, or frames of segments without one). */
  locateBytes: number;
  /** Segments of the store, and (for --since) the index of the first one read from (`segments` when none). */
  segments: number;
  startSegment?: number;
}

export async function liveRead(fs: FileSystem, dir: string, o: LiveReadOptions): Promise<LiveReadStats> {
  const segments = liveSegments(fs, dir);
  const filter = withWallRange(o.filter, o.sinceMs, o.untilMs);
  let start = START_POSITION;
  let skip = 0;
  let locateBytes = 0;
  let startSegment: number | undefined;
  if (o.last !== undefined) {
    const l = locateLast(fs, dir, segments, o.last, filter);
    start = l.start;
    skip = l.skip;
    locateBytes = l.bytesRead;
  } else if (o.sinceMs !== undefined) {
    const l = locateSince(fs, segments, o.sinceMs);
    start = l.start;
    locateBytes = l.bytesRead;
    startSegment = l.segIndex;
  }
  const stats: LiveReadStats = { locateBytes, segments: segments.length, startSegment };
  o.onLocated?.(stats);
  // without follow, --last prints the last N as they were when located, not what lands meanwhile
  let budget = o.last !== undefined && !o.follow ? o.last : Number.POSITIVE_INFINITY;
  await followUnits(
    fs,
    dir,
    start,
    {
      onEvent: (buf, b, n, segIndex, offset) => {
        if (skip > 0) {
          skip--;
          return;
        }
        if (budget <= 0) return;
        budget--;
        o.emit(buf, b, n, segIndex, offset);
      },
      onUnit: () => o.stop() || budget <= 0,
    },
    { filter, once: !o.follow, pollIntervalMs: o.pollIntervalMs, onPassEnd: o.flush, shouldStop: o.stop, onFault: o.onFault },
  );
  return stats;
}
