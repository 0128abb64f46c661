import { Flags } from '@oclif/core';
import { parseKindFilter } from '../tools/dump-read.js';
import type { Region } from '../engine/log/region.js';
import { SeglogError } from '../engine/io/errors.js';
import { BaseCommand } from '../ui/base-command.js';
import { intFlag, storeArg } from '../ui/flags.js';
import { StdoutSink } from '../ui/stdout-sink.js';
import { liveFlags, parseLiveFlags } from '../ui/live-flags.js';
import { liveDump } from '../ui/job/live-dump.js';
import { reportFaults } from '../ui/render/dump-faults.js';
import { RealFs } from '../engine/io/real-fs.js';
import { dumpTarget } from '../ui/dump-target.js';

export default class Dump extends BaseCommand<typeof Dump> {
  static override summary = 'Print the events of a store or of one segment file';
  static override description =
    'By default prints committed events in commit order. --markers prints every frame in file order ' +
    '(BEGIN, COMMIT, ABORT and events of uncommitted transactions too). --json prints one document ' +
    '{"events": [...]}; --format jsonl streams one event per line for stores of any size.';
  static override examples = [
    '<%= config.bin %> dump ./events --entity order:17',
    '<%= config.bin %> dump ./events --format jsonl > events.jsonl',
    '<%= config.bin %> dump ./events/0000000000.seg --markers --hex',
  ];
  static override args = { store: storeArg('store directory or segment file') };
  static override flags = {
    entity: Flags.string({ description: 'only this entity' }),
    'entity-prefix': Flags.string({ description: 'only entities starting with this' }),
    scope: Flags.string({ description: 'only this scope' }),
    kind: Flags.string({ description: 'only this kind, category:type (or category alone)' }),
    from: intFlag({ description: 'only events with sequence >= N' }),
    to: intFlag({ description: 'only events with sequence <= N' }),
    limit: intFlag({ description: 'stop after N events', min: 1 }),
    markers: Flags.boolean({ description: 'show every frame in file order, markers included', default: false }),
    hex: Flags.boolean({ description: 'include the raw frame bytes as hex', default: false }),
    system: Flags.boolean({ description: "include the engine's own kinds (category 0)", default: false }),
    format: Flags.string({ description: 'output format', options: ['text', 'json', 'jsonl'], default: 'text' }),
    ...liveFlags(),
    archive: Flags.string({ description: 'read the archive of pruned segments (prune --archive) and the store as one log', helpValue: '<dir>' }),
  };

  async run(): Promise<void> {
    const f = this.flags;
    const region: Region = {
      entity: f.entity,
      entityPrefix: f['entity-prefix'],
      scope: f.scope,
      kind: f.kind !== undefined ? parseKindFilter(f.kind) : undefined,
      fromSeq: f.from,
      toSeq: f.to,
      includeSystem: f.system,
    };
    const format = this.json ? 'json' : (f.format as 'text' | 'json' | 'jsonl');
    // a missing path or a non-store fails here, before a JSON document is started
    const fs = new RealFs();
    const { resolved, live: target, sizeBytes } = dumpTarget(fs, this.args.store);
    if (f.archive !== undefined && resolved.kind !== 'store') throw new SeglogError('usage', '--archive needs a store directory, not a segment file');
    // --since/--until/--last/--follow (tools/live/live-dump.ts): checked before any output, read in this thread
    const live = parseLiveFlags(f, { markers: f.markers, format, store: target.kind === 'store' });
    if (live) {
      if (f.archive !== undefined) throw new SeglogError('usage', '--archive reads the pruned history with the store; it does not combine with --follow, --since, --until or --last');
      let damaged = false;
      await liveDump(fs, {
        target,
        region,
        live,
        format,
        hex: f.hex,
        limit: f.limit ?? Number.MAX_SAFE_INTEGER,
        out: new StdoutSink(),
        onFault: (fault) => {
          if (reportFaults(this, [fault], target.kind === 'segment')) damaged = true;
        },
      });
      if (damaged) this.markDataProblems();
      return;
    }
    // --json and --format json: one streamed document owned by BaseCommand (an error or Ctrl-C mid-way closes it validly)
    if (format === 'json') this.openJsonStream(new StdoutSink(), 'events');
    // a job (ui/job/dump-job.ts) writes the records: in a worker thread for large stores, so Ctrl-C works
    const r = await this.runJob(
      'dump',
      { store: this.args.store, archive: f.archive, region, markers: f.markers, hex: f.hex, format, limit: f.limit ?? Number.MAX_SAFE_INTEGER },
      { label: 'dumping', unit: 'records', sizeBytes, readOnly: false },
    );
    if (format === 'json') this.closeJsonStream(r.interrupted ? { error: { code: 'interrupted', message: 'interrupted' } } : {});
    if (reportFaults(this, r.faults, r.loneFile)) this.markDataProblems();
  }
}
