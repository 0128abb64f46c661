import { Flags } from '@oclif/core';
import { toHex } from '../format/bytes.js';
import { decodeEvent, parseKind } from '../format/event.js';
import { FRAME_PREFIX_BYTES, FRAME_TYPE_NAMES, FrameType } from '../format/frame.js';
import { markerCount, markerTxnId } from '../format/marker.js';
import { streamCommitted } from '../engine/committed-stream.js';
import { SeglogError } from '../engine/errors.js';
import { RealFs } from '../engine/fs/real-fs.js';
import { DumpVerdicts } from '../engine/dump-verdicts.js';
import { compileRegion, type Region } from '../engine/region.js';
import { resolveTarget } from '../engine/target.js';
import { logView } from '../engine/archive.js';
import type { SegmentReader } from '../engine/segment-reader.js';
import { walkStore, type Fault } from '../engine/walker.js';
import { BaseCommand } from '../ui/base-command.js';
import { eventLine, eventRecord } from '../ui/event-json.js';
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
    archive: Flags.string({ description: 'read the archive of pruned segments (prune --archive) and the store as one log', helpValue: '<dir>' }),
  };

  async run(): Promise<void> {
    const f = this.flags;
    const fs = new RealFs();
    const resolved = resolveTarget(fs, this.args.store);
    if (f.archive !== undefined && resolved.kind !== 'store') throw new SeglogError('usage', '--archive needs a store directory, not a segment file');
    // a pruned store starts at its base (engine/prune-base.ts); --archive adds the pruned segments back
    const view = resolved.kind === 'store' ? await logView(fs, resolved.dir, f.archive) : { segments: resolved.segments, base: null };
    const target = { ...resolved, segments: view.segments };
    const openAtStart = view.base?.openTxns.map((t) => t.txnId) ?? [];
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
    let first = true;
    const faults: Fault[] = [];
    if (format === 'json') out.write('{"events":[');
    const emitRecord = (rec: object, line: () => string): void => {
      if (format === 'text') out.write(`${line()}\n`);
      else if (format === 'jsonl') out.write(`${JSON.stringify(rec)}\n`);
      else {
        out.write(first ? JSON.stringify(rec) : `,${JSON.stringify(rec)}`);
        first = false;
      }
      count++;
    };
    /** An EVENT record in json/jsonl, written from the frame's bytes (the same bytes as JSON.stringify of eventRecord). */
    const emitEventJson = (buf: Uint8Array, b: number, bodyBytes: number, segIndex: number, frameOffset: number, prefix?: string): void => {
      if (format === 'json') {
        if (!first) out.writeByte(0x2c);
        first = false;
      }
      writeEventJson(out, buf, b, bodyBytes, { prefix, hex: f.hex, canonical: verdicts?.canonical(segIndex, frameOffset) });
      if (format === 'jsonl') out.writeByte(0x0a);
      count++;
    };
    const stop = (): boolean => count >= limit || out.closed;
    const test = compileRegion(region);
    // a worker thread checks frame CRCs (and payloads, for JSON) ahead of this walk: dump-verdicts.ts
    const verdicts = DumpVerdicts.start(fs, target.segments, { loneFile: target.kind === 'segment', canonical: format !== 'text' });
    const onSegment = verdicts ? (segIndex: number, r: SegmentReader) => verdicts.onSegment(segIndex, r) : undefined;
    try {
      if (f.markers) {
        walkStore(
          fs,
          target.segments,
          {
            onSegment: onSegment ? (_seg, segIndex, r) => onSegment(segIndex, r) : undefined,
            onFrame: (r, segIndex) => {
              if (stop()) return;
              const buf = r.buf;
              const b = r.bodyOff;
              const hex = f.hex ? toHex(buf, b - FRAME_PREFIX_BYTES, b + r.bodyBytes) : undefined;
              const at = { segment: r.path.slice(r.path.lastIndexOf('/') + 1), offset: r.frameOffset };
              if (r.type === FrameType.EVENT) {
                if (!test(buf, b)) return;
                if (format !== 'text') {
                  emitEventJson(buf, b, r.bodyBytes, segIndex, r.frameOffset, `"frame":"EVENT","segment":${JSON.stringify(at.segment)},"offset":${at.offset},`);
                  return;
                }
                const e = decodeEvent(buf, b);
                emitRecord({ frame: 'EVENT', ...at, ...eventRecord(e), ...(hex ? { hex } : {}) }, () => `${at.segment}@${at.offset} EVENT ${eventLine(e)}${hex ? `\n  ${hex}` : ''}`);
                return;
              }
              if (region.entity !== undefined || region.entityPrefix !== undefined || region.scope !== undefined || region.kind !== undefined) return;
              const type = FRAME_TYPE_NAMES[r.type] ?? String(r.type);
              const txnId = markerTxnId(buf, b);
              const countField = r.type === FrameType.BEGIN || r.type === FrameType.COMMIT ? { count: markerCount(buf, b) } : {};
              emitRecord({ frame: type, ...at, txnId, ...countField, ...(hex ? { hex } : {}) }, () => `${at.segment}@${at.offset} ${type} txn=${txnId}${'count' in countField ? ` count=${countField.count}` : ''}${hex ? `\n  ${hex}` : ''}`);
            },
            onFault: (fault) => faults.push(fault),
          },
          { shouldStop: stop },
        );
      } else {
        streamCommitted(
          fs,
          target.segments,
          (buf, b, n, loc) => {
            if (stop()) return;
            if (format !== 'text') {
              emitEventJson(buf, b, n, loc.segIndex, loc.offset);
              return;
            }
            const e = decodeEvent(buf, b);
            const hex = f.hex ? toHex(buf, b - FRAME_PREFIX_BYTES, b + n) : undefined;
            const rec = hex ? { ...eventRecord(e), hex } : eventRecord(e);
            emitRecord(rec, () => (hex ? `${eventLine(e)}\n  ${hex}` : eventLine(e)));
          },
          { filter: test, shouldStop: stop, onFault: (fault) => faults.push(fault), onSegment, openAtStart },
        );
      }
    } finally {
      verdicts?.close();
    }
    if (format === 'json') out.write(']}\n');
    out.flush();
    reportFaults(this, faults, target.kind === 'segment');
  }
}

function parseKindFilter(s: string): { category: number; type?: number } {
  if (/^\d{1,5}$/.test(s)) return { category: Number(s) };
  const k = parseKind(s);
  if (!k) throw new SeglogError('usage', `--kind must be category:type or category, got '${s}'`);
  return k;
}

/** Damage met while dumping: one line each on stderr, and exit 1 (the data has problems). */
function reportFaults(cmd: { warn(m: string): unknown }, faults: Fault[], loneFile: boolean): void {
  let damaged = false;
  for (const f of faults) {
    // a file given on its own that does not even start like a segment is the wrong file, not a torn tail (as in verify)
    const notASegment = loneFile && f.kind === 'torn' && f.offset === 0;
    const what = notASegment ? 'bad segment header' : f.kind === 'torn' ? 'torn tail' : f.kind === 'bad_header' ? 'bad segment header' : 'corrupt frame';
    cmd.warn(`${f.path}: at byte ${f.offset}: ${what}: ${f.detail}`);
    if (f.kind !== 'torn' || notASegment) damaged = true;
  }
  if (damaged) process.exitCode = 1;
}
