import { Flags } from '@oclif/core';
import { RealFs } from '../../engine/io/real-fs.js';
import { loadCheckpoint } from '../../engine/index/checkpoint.js';
import { type FooterReport, showFooter } from '../../tools/sidx-maintenance.js';
import { resolveTarget } from '../../engine/segment/target.js';
import { requireSegmentHeaders } from '../../engine/segment/segment-check.js';
import { BaseCommand } from '../../ui/base-command.js';
import { storeArg } from '../../ui/flags.js';
import { formatBytes, formatCount, plural } from '../../ui/format.js';
import { renderTable } from '../../ui/table.js';

interface StoreShow {
  store: string;
  segments: FooterReport[];
  checkpoint: { status: 'valid' | 'absent' | 'stale' | 'damaged'; message: string | null };
}

export default class SidxShow extends BaseCommand<typeof SidxShow> {
  static override summary = "Show a segment's SIDX footer (or every segment's, for a store)";
  static override description =
    'A footer is valid when its checksums pass and it is exactly the footer its frames call for. ' +
    'Exit status: 0 when every footer present is valid (a missing footer is not an error), 1 when one is damaged or disagrees with its frames, 2 could not run.';
  static override examples = ['<%= config.bin %> sidx show ./events/0000000000.seg --entries', '<%= config.bin %> sidx show ./events --json'];
  static override args = { target: storeArg('segment file or store directory') };
  static override flags = {
    entries: Flags.boolean({ description: 'list every entry and marker of the footer (segment only)', default: false }),
  };

  async run(): Promise<void> {
    const fs = new RealFs();
    const target = resolveTarget(fs, this.args.target);
    requireSegmentHeaders(fs, target);
    if (target.kind === 'segment') {
      const r = showFooter(fs, target.segments[0]!, { list: this.flags.entries });
      this.emit(r, renderOne);
      if (r.present && !r.valid) this.markDataProblems();
      return;
    }
    if (this.flags.entries) this.warn('--entries lists one segment; give a segment file to see its entries');
    const segments = target.segments.map((s) => showFooter(fs, s));
    const ck = loadCheckpoint(fs, target.dir, target.segments);
    const out: StoreShow = {
      store: this.args.target,
      segments,
      checkpoint: { status: ck.status, message: ck.status === 'stale' || ck.status === 'damaged' ? ck.message : null },
    };
    this.emit(out, renderStore);
    if (segments.some((s) => s.present && !s.valid)) this.markDataProblems();
  }
}

function state(r: FooterReport): string {
  if (!r.present) return 'absent';
  if (r.valid) return 'valid';
  return r.checksumOk ? 'mismatch' : 'damaged';
}

function renderOne(r: FooterReport): string {
  const lines: string[] = [];
  if (!r.present) {
    lines.push(`${r.segment}: no SIDX footer (${formatBytes(r.fileSizeBytes)}, all frames)`);
    return lines.join('\n');
  }
  lines.push(
    `${r.segment}: SIDX footer ${state(r)}: ${plural(r.entries, 'entry', 'entries')}, ${plural(r.markers, 'marker')}, ${plural(r.strings, 'entity name')}; ` +
      `${formatBytes(r.footerBytes)} from byte ${r.frameEnd} of ${formatBytes(r.fileSizeBytes)}`,
  );
  if (r.message) lines.push(`  ${r.message}`);
  if (r.entryList && r.entryList.length > 0) {
    lines.push(
      renderTable(
        ['seq', 'offset', 'entity', 'clock', 'kind', 'wall ms', 'txn', 'event hash'],
        r.entryList.map((e) => [e.seq, e.offset, e.entity, e.clock, `${e.kind.category}:${e.kind.type}`, e.wallMs, e.txnId, `${e.eventHash.slice(0, 16)}…`]),
      ),
    );
  }
  if (r.markerList && r.markerList.length > 0) {
    const names: Record<number, string> = { 2: 'BEGIN', 3: 'COMMIT', 4: 'ABORT', 5: 'GAP' };
    lines.push(renderTable(['offset', 'type', 'txn', 'count'], r.markerList.map((m) => [m.offset, names[m.type] ?? String(m.type), m.a, m.b])));
  }
  return lines.join('\n');
}

function renderStore(r: StoreShow): string {
  const rows = r.segments.map((s) => [s.segment, state(s), s.present ? formatCount(s.entries) : '-', s.present ? formatBytes(s.footerBytes) : '-', s.message ?? '']);
  const bad = r.segments.filter((s) => s.present && !s.valid).length;
  const missing = r.segments.filter((s) => !s.present).length;
  return [
    renderTable(['segment', 'footer', 'entries', 'footer size', 'note'], rows, { colAligns: ['left', 'left', 'right', 'right', 'left'] }),
    `checkpoint: ${r.checkpoint.status}${r.checkpoint.message ? ` (${r.checkpoint.message})` : ''}`,
    `${plural(r.segments.length, 'segment')}: ${plural(r.segments.length - missing - bad, 'valid footer')}, ${missing} without, ${plural(bad, 'bad footer')}`,
  ].join('\n');
}
