import { Store } from '../engine/store.js';
import { BaseCommand } from '../ui/base-command.js';
import { storeArg } from '../ui/flags.js';
import { formatBytes, formatCount } from '../ui/format.js';
import { renderTable } from '../ui/table.js';

export default class Stats extends BaseCommand<typeof Stats> {
  static override summary = 'Show the segments of a store and its totals';
  static override examples = ['<%= config.bin %> stats ./events --json'];
  static override args = { store: storeArg() };

  async run(): Promise<void> {
    const store = await Store.open(this.args.store, { readOnly: true, onWarning: (m) => this.warn(m) });
    const scan = store.recovery;
    const last = scan.segments.length - 1;
    const segments = scan.segments.map((s, i) => ({
      file: s.name,
      bytes: s.fileSizeBytes,
      eventFrames: s.eventFrames,
      firstSeq: s.firstSeq >= 0 ? s.firstSeq : null,
      lastSeq: s.lastSeq >= 0 ? s.lastSeq : null,
      sealed: i < last,
    }));
    const totals = {
      events: store.committedEvents,
      entities: scan.heads.size,
      batches: store.committedBatches,
      bytes: scan.segments.reduce((a, s) => a + s.fileSizeBytes, 0),
      segments: scan.segments.length,
      nextSeq: scan.nextSeq,
    };
    const result = { store: this.args.store, segments, totals, options: store.options, warnings: store.warnings };
    store.close();
    this.emit(result, (r) =>
      [
        renderTable(
          ['file', 'bytes', 'events', 'first seq', 'last seq', 'sealed'],
          r.segments.map((s) => [s.file, formatBytes(s.bytes), formatCount(s.eventFrames), s.firstSeq ?? '-', s.lastSeq ?? '-', s.sealed ? 'yes' : 'no (active)']),
          { colAligns: ['left', 'right', 'right', 'right', 'right', 'left'] },
        ),
        `${formatCount(r.totals.events)} events, ${formatCount(r.totals.entities)} entities, ${formatCount(r.totals.batches)} batches, ${formatBytes(r.totals.bytes)} in ${r.totals.segments} segments`,
      ].join('\n'),
    );
  }
}
