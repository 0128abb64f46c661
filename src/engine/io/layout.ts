import { join } from 'node:path';

/** File names inside a store directory. */
export const STORE_META_FILE = 'seglog.json';
export const LOCK_FILE = 'LOCK';
export const CHECKPOINT_FILE = 'index.ckpt';
export const LOST_FOUND_DIR = 'lost+found';
export const CURSORS_DIR = 'cursors';
export const SEGMENT_SUFFIX = '.seg';
const SEGMENT_ID_DIGITS = 10;
const SEGMENT_NAME = /^(\d{10})\.seg$/;

export function segmentFileName(id: number): string {
  return `${String(id).padStart(SEGMENT_ID_DIGITS, '0')}${SEGMENT_SUFFIX}`;
}

/** Segment id from a file name, or null when the name is not a segment's. */
export function parseSegmentFileName(name: string): number | null {
  const m = SEGMENT_NAME.exec(name);
  return m ? Number(m[1]) : null;
}

export function storePaths(dir: string) {
  return {
    dir,
    meta: join(dir, STORE_META_FILE),
    lock: join(dir, LOCK_FILE),
    checkpoint: join(dir, CHECKPOINT_FILE),
    lostFound: join(dir, LOST_FOUND_DIR),
    cursors: join(dir, CURSORS_DIR),
    segment: (id: number) => join(dir, segmentFileName(id)),
  };
}
