/**
 * The progress line of long jobs (append, verify, dump, ...): counts, rate and, when the
 * total is known, percentage and ETA. Kept short enough for an 80-column terminal.
 *
 *   appending  412,288 events  31.2 MB/s  41%  ETA 0:08
 */
import type { ProgressSnapshot } from './job/control.js';
import { formatCount } from './format.js';

/** How often the progress line is redrawn: at least 4 times a second. */
export const PROGRESS_INTERVAL_MS = 100;

function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/** One line: `label  N unit  X MB/s  P%  ETA m:ss` (parts without data are left out). */
export function formatProgress(label: string, unit: string | null, p: ProgressSnapshot, elapsedMs: number): string {
  const parts = [label];
  if (unit !== null) parts.push(`${formatCount(p.done)} ${unit}`);
  const seconds = elapsedMs / 1000;
  if (p.bytesDone > 0 && seconds > 0.2) parts.push(`${(p.bytesDone / 1e6 / seconds).toFixed(1)} MB/s`);
  else if (p.bytesDone > 0) parts.push(`${(p.bytesDone / 1e6).toFixed(1)} MB`);
  if (p.totalBytes > 0) {
    const fraction = Math.min(1, p.bytesDone / p.totalBytes);
    parts.push(`${Math.floor(fraction * 100)}%`);
    if (fraction > 0.01 && seconds > 0.5) parts.push(`ETA ${formatDuration((seconds / fraction) * (1 - fraction))}`);
  }
  return parts.join('  ');
}
