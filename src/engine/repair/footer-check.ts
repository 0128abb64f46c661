/**
 * Checks a segment's SIDX footer against its frames while the planner walks them, in
 * place (no footer is built): entry i must describe the i-th EVENT frame (sequence,
 * offset, clock, entity, event hash) and marker j the j-th other frame (offset, type).
 * Checksums catch random damage; this catches a footer that checks out but describes
 * other frames (a stale or foreign footer).
 */
import { equalBytes } from '../../format/bytes.js';
import { ev, EV } from '../../format/event.js';
import type { SidxFooter } from '../../format/sidx.js';
import { entryAt, markerAt, readFooter } from '../sidx.js';
import type { FileSystem } from '../fs/types.js';
import type { FooterState } from './plan-types.js';

export class FooterComparer {
  private entries = 0;
  private markers = 0;
  /** First disagreement, if any. */
  mismatch: string | null = null;

  constructor(private readonly footer: SidxFooter) {}

  event(buf: Uint8Array, b: number, frameOffset: number): void {
    if (this.mismatch !== null) return;
    const f = this.footer;
    const i = this.entries++;
    if (i >= f.entryCount) {
      this.mismatch = `footer has ${f.entryCount} entries but the segment has more events`;
      return;
    }
    if (entryAt.offset(f, i) !== frameOffset || entryAt.seq(f, i) !== ev.seq(buf, b) || entryAt.clock(f, i) !== ev.clock(buf, b)) {
      this.mismatch = `footer entry ${i} does not describe the event at byte ${frameOffset}`;
      return;
    }
    const s = f.strings[entryAt.entity(f, i)];
    const e = ev.entityLen(buf, b);
    if (s === undefined || s.length !== e || !equalBytes(s, 0, buf, b + EV.VAR, e)) {
      this.mismatch = `footer entry ${i} names another entity than the event at byte ${frameOffset}`;
      return;
    }
    if (!equalBytes(f.entries, entryAt.hashOffset(i), buf, ev.hashStart(buf, b), 32)) {
      this.mismatch = `footer entry ${i} holds another event hash than the event at byte ${frameOffset}`;
    }
  }

  marker(type: number, frameOffset: number): void {
    if (this.mismatch !== null) return;
    const f = this.footer;
    const j = this.markers++;
    if (j >= f.markerCount || markerAt.offset(f, j) !== frameOffset || markerAt.type(f, j) !== type) {
      this.mismatch = `footer marker ${j} does not describe the frame at byte ${frameOffset}`;
    }
  }

  /** The verdict once every frame was seen. */
  finish(segmentId: number): string | null {
    if (this.mismatch !== null) return this.mismatch;
    const f = this.footer;
    if (this.entries !== f.entryCount || this.markers !== f.markerCount) {
      return `footer indexes ${f.entryCount} events and ${f.markerCount} markers, the segment has ${this.entries} and ${this.markers}`;
    }
    if (f.segmentId !== segmentId) return `footer names segment ${f.segmentId}`;
    return null;
  }
}

/** A segment's footer as found: its state, and the decoded footer when its checksums pass. */
export function probeSegmentFooter(fs: FileSystem, path: string): { state: FooterState; footer: SidxFooter | null; message: string } {
  const r = readFooter(fs, path);
  if (r.status === 'absent') return { state: 'missing', footer: null, message: 'no SIDX footer' };
  if (r.status === 'damaged') return { state: 'damaged', footer: null, message: r.message };
  return { state: 'valid', footer: r.footer, message: '' };
}
