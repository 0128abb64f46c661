import type { SidxMaintenanceResult } from '../../tools/sidx-maintenance.js';
import { formatBytes, plural } from '../format.js';
import { renderTable } from '../table.js';

/** Text output of `sidx strip` and `sidx rebuild`: one row per segment and a summary line. */
export function renderMaintenance(r: SidxMaintenanceResult & { target: string }, verb: 'strip' | 'rebuild'): string {
  const done = verb === 'strip' ? 'stripped' : 'rebuilt';
  const rows = r.segments.map((s) => [s.segment, r.dryRun && s.action === done ? `would be ${done}` : s.action, formatBytes(s.sizeBeforeBytes), formatBytes(s.sizeAfterBytes), s.reason ?? '']);
  const changed = r.segments.filter((s) => s.action === done).length;
  const skipped = r.segments.filter((s) => s.action === 'skipped').length;
  const lines = [renderTable(['segment', 'action', 'before', 'after', 'note'], rows, { colAligns: ['left', 'left', 'right', 'right', 'left'] })];
  let summary = `${r.target}: ${plural(changed, 'segment')} ${r.dryRun ? `would be ${done}` : done}`;
  if (skipped > 0) summary += `, ${skipped} skipped`;
  if (r.checkpointRemoved) summary += r.dryRun ? '; index.ckpt would be removed' : '; index.ckpt removed';
  lines.push(summary);
  return lines.join('\n');
}
