/**
 * `dump` with --since, --until, --last or --follow (issue 14): committed events read
 * in-process from a located start (live-read.ts) or, for a lone --until, the whole
 * committed stream with a wall-time filter. The plain dump runs as a job (ui/job/dump-job.ts);
 * this path stays in the main thread because a follower waits on file-system events,
 * and Ctrl-C ends it through the command's interrupt handler (exit 130).
 */
import { toHex } from '../../format/bytes.js';
import { decodeEvent } from '../../format/event.js';
import { FRAME_PREFIX_BYTES } from '../../format/frame.js';
import type { FileSystem } from '../../engine/io/fs-types.js';
import { streamCommitted } from '../../engine/log/committed-stream.js';
import { compileRegion, type Region } from '../../engine/log/region.js';
import type { Fault } from '../../engine/segment/walker.js';
import type { Target } from '../../engine/segment/target.js';
import { withWallRange } from '../../engine/index/time-locate.js';
import { eventLine } from '../render/event-json.js';
import { readDumpFastSwitch, writeEventJson } from '../render/event-jsonl.js';
import type { LiveChoice } from '../live-choice.js';
import type { StdoutSink } from '../stdout-sink.js';
import { liveRead, type LiveReadStats } from '../../tools/live/live-read.js';
import { debugEnabled } from '../errors.js';

export interface LiveDumpOptions {
  target: Target;
  region: Region;
  live: LiveChoice;
  format: 'text' | 'json' | 'jsonl';
  hex: boolean;
  limit: number;
  out: StdoutSink;
  /** Damage met after the located start, as it is met (a follower may never end). */
  onFault(f: Fault): void;
}

/** Writes the records; returns how many. JSON output is `{"events":[...]}`, written here. */
export async function liveDump(fs: FileSystem, o: LiveDumpOptions): Promise<number> {
  const { out, format } = o;
  readDumpFastSwitch();
  let count = 0;
  let first = true;
  const stop = (): boolean => count >= o.limit || out.closed;
  if (format === 'json') out.write('{"events":[');
  const emit = (buf: Uint8Array, b: number, n: number): void => {
    if (stop()) return;
    if (format !== 'text') {
      if (format === 'json' && !first) out.writeByte(0x2c);
      first = false;
      writeEventJson(out, buf, b, n, { hex: o.hex });
      if (format === 'jsonl') out.writeByte(0x0a);
    } else {
      const e = decodeEvent(buf, b);
      const hex = o.hex ? toHex(buf, b - FRAME_PREFIX_BYTES, b + n) : undefined;
      out.write(`${hex ? `${eventLine(e)}\n  ${hex}` : eventLine(e)}\n`);
    }
    count++;
  };
  const regionTest = compileRegion(o.region);
  if (o.live.walk && o.target.kind === 'store') {
    const onLocated = debugEnabled() ? printLocated : undefined;
    await liveRead(fs, o.target.dir, { ...o.live, filter: regionTest, emit: (buf, b, n) => emit(buf, b, n), flush: () => out.flush(), stop, onFault: o.onFault, onLocated });
  } else {
    streamCommitted(fs, o.target.segments, (buf, b, n) => emit(buf, b, n), {
      filter: withWallRange(regionTest, o.live.sinceMs, o.live.untilMs),
      shouldStop: stop,
      onFault: o.onFault,
    });
  }
  if (format === 'json') out.write(']}\n');
  out.flush();
  return count;
}

/** SEGLOG_DEBUG=1: what the locate cost (issue 14 reports it; the bench's `since` case parses this line). */
function printLocated(s: LiveReadStats): void {
  const where = s.startSegment === undefined ? '' : ` in segment ${s.startSegment} of ${s.segments} (${s.segments - s.startSegment} to read)`;
  process.stderr.write(`seglog: located start${where} after reading ${s.locateBytes} bytes\n`);
}
