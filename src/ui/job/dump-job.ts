/**
 * `seglog dump` as a job (control.ts): reads through tools/dump-read.ts and writes the
 * records to stdout itself (a worker thread writes fd 1 as the main thread would). Under
 * JSON the command's main thread owns the document (BaseCommand.openJsonStream): it
 * writes the head before the job starts and the close after it ends, whatever happened;
 * the job writes only items and their separators. A Ctrl-C is seen before the next
 * record: the output written so far is flushed and the job returns.
 */
import { type Fault, readForDump } from '../../tools/dump-read.js';
import { RealFs } from '../../engine/io/real-fs.js';
import type { Region } from '../../engine/log/region.js';
import { resolveTarget } from '../../engine/segment/target.js';
import { logView } from '../../tools/archive.js';
import { eventLine } from '../render/event-json.js';
import { readDumpFastSwitch, writeEventJson } from '../render/event-jsonl.js';
import { JsonStream } from '../json-stream.js';
import { StdoutSink } from '../stdout-sink.js';
import type { JobControl } from './control.js';

export interface DumpJobInput {
  store: string;
  /** `--archive DIR`: the pruned segments (prune --archive) and the store as one log. */
  archive?: string;
  region: Region;
  markers: boolean;
  hex: boolean;
  format: 'text' | 'json' | 'jsonl';
  limit: number;
}

export interface DumpJobOutput {
  count: number;
  faults: Fault[];
  loneFile: boolean;
  interrupted: boolean;
}

export async function dumpJob(input: DumpJobInput, ctl: JobControl): Promise<DumpJobOutput> {
  const fs = new RealFs();
  const resolved = resolveTarget(fs, input.store);
  // a pruned store starts at its base (segment/prune-base.ts); --archive adds the pruned segments back
  const view = resolved.kind === 'store' ? await logView(fs, resolved.dir, input.archive) : { segments: resolved.segments, base: null };
  const target = { ...resolved, segments: view.segments };
  ctl.setTotalBytes(0);
  const { format, markers, hex, limit } = input;
  readDumpFastSwitch();
  const out = new StdoutSink();
  // separators only: the head and the close are the main thread's (see above)
  const items = format === 'json' ? new JsonStream(out, 'events') : undefined;
  let count = 0;
  let interrupted = false;
  const shouldStop = (): boolean => {
    if (count >= limit || out.closed) return true;
    if ((count & 255) === 0) ctl.progress(count);
    if (ctl.cancelled) interrupted = true;
    return interrupted;
  };
  try {
    const faults = readForDump(fs, target, {
      region: input.region,
      markers,
      hex,
      canonical: format !== 'text',
      openAtStart: view.base?.openTxns.map((t) => t.txnId) ?? [],
      shouldStop,
      onEvent: (e) => {
        count++;
        if (format === 'text') {
          const ev = e.decode();
          const head = markers ? `${e.segment}@${e.offset} EVENT ` : '';
          out.write(`${head}${eventLine(ev)}${hex ? `\n  ${e.hex()}` : ''}\n`);
          return;
        }
        items?.item();
        const prefix = markers ? `"frame":"EVENT","segment":${JSON.stringify(e.segment)},"offset":${e.offset},` : undefined;
        writeEventJson(out, e.buf, e.body, e.bodyBytes, { prefix, hex, canonical: e.canonical });
        if (format === 'jsonl') out.writeByte(0x0a);
      },
      onMarker: (m) => {
        count++;
        if (format === 'text') {
          out.write(`${m.segment}@${m.offset} ${m.frame} txn=${m.txnId}${m.count !== undefined ? ` count=${m.count}` : ''}${m.hex ? `\n  ${m.hex}` : ''}\n`);
          return;
        }
        items?.item();
        const rec = { frame: m.frame, segment: m.segment, offset: m.offset, txnId: m.txnId, ...(m.count !== undefined ? { count: m.count } : {}), ...(m.hex ? { hex: m.hex } : {}) };
        out.write(JSON.stringify(rec));
        if (format === 'jsonl') out.writeByte(0x0a);
      },
    });
    return { count, faults, loneFile: target.kind === 'segment', interrupted };
  } finally {
    out.flush();
  }
}
