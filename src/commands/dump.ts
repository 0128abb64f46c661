import { Flags } from '@oclif/core';
import { type Fault, parseKindFilter, readForDump } from '../engine/dump-read.js';
import { RealFs } from '../engine/fs/real-fs.js';
import type { Region } from '../engine/region.js';
import { resolveTarget } from '../engine/target.js';
import { BaseCommand } from '../ui/base-command.js';
import { eventLine } from '../ui/event-json.js';
import { writeEventJson } from '../ui/event-jsonl.js';
import { intFlag, storeArg } from '../ui/flags.js';
import { StdoutSink } from '../ui/stdout-sink.js';

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
  };

  async run(): Promise<void> {
    const f = this.flags;
    const fs = new RealFs();
    const target = resolveTarget(fs, this.args.store);
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
    const out = new StdoutSink();
    const limit = f.limit ?? Number.MAX_SAFE_INTEGER;
    let count = 0;
    // --json and --format json: one streamed document owned by BaseCommand (an error mid-way closes it validly)
    const doc = format === 'json' ? this.openJsonStream(out, 'events') : undefined;
    const faults = readForDump(fs, target, {
      region,
      markers: f.markers,
      hex: f.hex,
      canonical: format !== 'text',
      shouldStop: () => count >= limit || out.closed,
      onEvent: (e) => {
        count++;
        if (format === 'text') {
          const ev = e.decode();
          const head = f.markers ? `${e.segment}@${e.offset} EVENT ` : '';
          out.write(`${head}${eventLine(ev)}${f.hex ? `\n  ${e.hex()}` : ''}\n`);
          return;
        }
        doc?.item();
        const prefix = f.markers ? `"frame":"EVENT","segment":${JSON.stringify(e.segment)},"offset":${e.offset},` : undefined;
        writeEventJson(out, e.buf, e.body, e.bodyBytes, { prefix, hex: f.hex, canonical: e.canonical });
        if (format === 'jsonl') out.writeByte(0x0a);
      },
      onMarker: (m) => {
        count++;
        if (format === 'text') {
          out.write(`${m.segment}@${m.offset} ${m.frame} txn=${m.txnId}${m.count !== undefined ? ` count=${m.count}` : ''}${m.hex ? `\n  ${m.hex}` : ''}\n`);
          return;
        }
        doc?.item();
        const rec = { frame: m.frame, segment: m.segment, offset: m.offset, txnId: m.txnId, ...(m.count !== undefined ? { count: m.count } : {}), ...(m.hex ? { hex: m.hex } : {}) };
        out.write(JSON.stringify(rec));
        if (format === 'jsonl') out.writeByte(0x0a);
      },
    });
    if (doc) this.closeJsonStream();
    out.flush();
    if (reportFaults(this, faults, target.kind === 'segment')) this.markDataProblems();
  }
}

/** Damage met while dumping: one line each on stderr; true when it makes the exit status 1 (the data has problems). */
function reportFaults(cmd: { warn(m: string): unknown }, faults: Fault[], loneFile: boolean): boolean {
  let damaged = false;
  for (const f of faults) {
    // a file given on its own that does not even start like a segment is the wrong file, not a torn tail (as in verify)
    const notASegment = loneFile && f.kind === 'torn' && f.offset === 0;
    const what = notASegment ? 'bad segment header' : f.kind === 'torn' ? 'torn tail' : f.kind === 'bad_header' ? 'bad segment header' : 'corrupt frame';
    cmd.warn(`${f.path}: at byte ${f.offset}: ${what}: ${f.detail}`);
    if (f.kind !== 'torn' || notASegment) damaged = true;
  }
  return damaged;
}
