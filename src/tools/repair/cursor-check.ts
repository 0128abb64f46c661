/**
 * Durable cursors (cursors/<name>.cur, docs/FORMAT.md section 7) hold byte positions in
 * segments. A repair that rewrites a segment moves the frames after its first edit, so
 * the plan reports every cursor position it moves, with the offset it maps to (what an
 * operator needs to recreate the cursor). Cursor files themselves are not rewritten: no
 * write can be atomic with the segment renames, and a half-updated cursor would skip or
 * repeat events silently; a reported one fails loudly instead.
 */
import { join } from 'node:path';
import { decodeCursor, type FramePosition } from '../../format/cursor.js';
import { FRAME_PREFIX_BYTES } from '../../format/frame.js';
import { GAP_ENTITY_FIXED_BODY_BYTES, GAP_SEQUENCE_BODY_BYTES } from '../../format/gap-layout.js';
import { MARKER_FRAME_BYTES } from '../../format/marker.js';
import type { FileSystem } from '../../engine/io/fs-types.js';
import { exists, readWhole } from '../../engine/io/fs-util.js';
import { storePaths } from '../../engine/io/layout.js';
import type { CursorImpact, PlannedFrame, SegmentPlan } from './plan-types.js';

const CURSOR_FILE_MAX_BYTES = 4096;
const ABORT_FRAME_BYTES = FRAME_PREFIX_BYTES + 8;


function frameBytes(f: PlannedFrame): number {
  switch (f.type) {
    case 'gap_sequence':
      return FRAME_PREFIX_BYTES + GAP_SEQUENCE_BODY_BYTES;
    case 'gap_entity':
      return FRAME_PREFIX_BYTES + GAP_ENTITY_FIXED_BODY_BYTES + f.entityHex.length / 2;
    case 'begin':
      return MARKER_FRAME_BYTES;
    case 'abort':
      return ABORT_FRAME_BYTES;
  }
}

/**
 * Where a frame boundary at `offset` of the old file lands in the repaired one: before
 * frames inserted there, after the frames that replace a damaged range it falls in or
 * ends; null past a cut.
 */
export function mapOffset(seg: SegmentPlan, offset: number): number | null {
  if (seg.remove) return null;
  if (seg.cutAt && offset > seg.cutAt.offset) return null;
  let delta = 0;
  for (const e of seg.edits) {
    if (offset <= e.start) break;
    const written = e.frames.reduce((n, f) => n + frameBytes(f), 0);
    if (offset <= e.end) return e.start + delta + written;
    delta += written - (e.end - e.start);
  }
  return offset + delta;
}

/** Cursor positions the plan moves (none when no cursor points into a rewritten part). */
export function cursorImpacts(fs: FileSystem, dir: string, segments: SegmentPlan[]): CursorImpact[] {
  const cdir = storePaths(dir).cursors;
  if (!exists(fs, cdir)) return [];
  const byId = new Map(segments.filter((s) => s.changed).map((s) => [s.id, s]));
  const out: CursorImpact[] = [];
  for (const name of fs.readdir(cdir)) {
    if (!name.endsWith('.cur')) continue;
    let state;
    try {
      state = decodeCursor(readWhole(fs, join(cdir, name), CURSOR_FILE_MAX_BYTES));
    } catch {
      continue; // unreadable: the cursor command reports it
    }
    if (typeof state === 'string') continue;
    const positions: [CursorImpact['position'], FramePosition][] = [
      ['deliveredThrough', state.deliveredThrough],
      ['resumeFrom', state.resumeFrom],
    ];
    for (const [position, p] of positions) {
      const seg = byId.get(p.segmentId);
      if (!seg) continue;
      const moved = mapOffset(seg, p.offset);
      if (moved !== p.offset) out.push({ cursor: name.slice(0, -'.cur'.length), position, segment: seg.name, offset: p.offset, newOffset: moved });
    }
  }
  return out;
}
