import type { CursorState } from '../../format/cursor.js';
import { positionBefore } from '../../engine/log/cursor-units.js';
import { readUnits, type UnitsRead } from '../../engine/log/follow.js';
import type { FileSystem } from '../../engine/io/fs-types.js';
import { compileRegion, type Region } from '../../engine/log/region.js';
import { locateSince, withWallRange } from '../../engine/index/time-locate.js';
import { liveSegments } from '../../engine/segment/prune-base.js';

/**
 * `cursor read --since/--until/--follow`: a cursor read through the unit walker.
 * `--since` also moves the start: a cursor behind the first segment that can hold such
 * events starts there (what it skips is older, so filtered out anyway, and the position
 * moves past filtered events as with every filter).
 */
export async function readLive(
  fs: FileSystem,
  dir: string,
  from: CursorState,
  max: number,
  region: Region,
  live: { sinceMs?: number; untilMs?: number; follow: boolean; pollIntervalMs?: number },
): Promise<UnitsRead> {
  let start = from;
  if (live.sinceMs !== undefined) {
    const located = locateSince(fs, liveSegments(fs, dir), live.sinceMs).start;
    if (positionBefore(from.deliveredThrough, located.deliveredThrough)) {
      start = { ...located, delivered: from.delivered, lastSeqPlusOne: from.lastSeqPlusOne };
    }
  }
  const filter = withWallRange(compileRegion(region), live.sinceMs, live.untilMs);
  return readUnits(fs, dir, start, max, { filter, waitForEvents: live.follow, pollIntervalMs: live.pollIntervalMs });
}
