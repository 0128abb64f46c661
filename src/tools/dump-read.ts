/**
 * The read side of `seglog dump`: one function that walks a store (or a lone segment)
 * and hands the command each record to print, so the command never touches the walker
 * or the codecs. Two orders:
 * - committed (default): what readers see, in commit order (committed-stream.ts);
 * - markers: every valid frame in file order, BEGIN/COMMIT/ABORT and uncommitted items too.
 *
 * With --from/--to in markers order, a marker is shown only when its transaction has an
 * event in range (a BEGIN waits until the first such item; a BEGIN whose transaction has
 * none in range is never shown): the range selects transactions, not the whole file.
 * With an entity, scope or kind filter markers are not shown at all (they have none).
 */
import { toHex } from '../format/bytes.js';
import { type DecodedEvent, decodeEvent, parseKind } from '../format/event.js';
import { FRAME_PREFIX_BYTES, FRAME_TYPE_NAMES, FrameType } from '../format/frame.js';
import { markerCount, markerTxnId } from '../format/marker.js';
import { streamCommitted } from '../engine/log/committed-stream.js';
import { DumpVerdicts } from '../engine/verify/dump-verdicts.js';
import { SeglogError } from '../engine/io/errors.js';
import type { FileSystem } from '../engine/io/fs-types.js';
import { compileRegion, type Region } from '../engine/log/region.js';
import type { SegmentReader } from '../engine/segment/segment-reader.js';
import type { Target } from '../engine/segment/target.js';
import { type Fault, walkStore } from '../engine/segment/walker.js';

export type { Fault };

/**
 * An EVENT frame; `buf[body, body + bodyBytes)` is valid only during the callback, and
 * the object itself is reused for the next event (no allocation per event).
 */
export class DumpEvent {
  buf: Uint8Array = new Uint8Array(0);
  body = 0;
  bodyBytes = 0;
  segIndex = 0;
  path = '';
  offset = 0;

  constructor(private readonly verdicts: DumpVerdicts | null) {}

  /** File name of the segment. */
  get segment(): string {
    return baseName(this.path);
  }

  /** Whether the payload is canonical JSON, when a worker already checked it; undefined: test it. */
  get canonical(): boolean | undefined {
    return this.verdicts?.canonical(this.segIndex, this.offset);
  }

  decode(): DecodedEvent {
    return decodeEvent(this.buf, this.body);
  }

  /** The whole frame as lowercase hex. */
  hex(): string {
    return toHex(this.buf, this.body - FRAME_PREFIX_BYTES, this.body + this.bodyBytes);
  }

  set(buf: Uint8Array, body: number, bodyBytes: number, segIndex: number, path: string, offset: number): this {
    this.buf = buf;
    this.body = body;
    this.bodyBytes = bodyBytes;
    this.segIndex = segIndex;
    this.path = path;
    this.offset = offset;
    return this;
  }
}

export interface DumpMarker {
  frame: 'BEGIN' | 'COMMIT' | 'ABORT' | string;
  segment: string;
  offset: number;
  txnId: number;
  /** Item count of BEGIN/COMMIT. */
  count?: number;
  hex: string | undefined;
}

export interface DumpReadOptions {
  region: Region;
  /** Every frame in file order (markers included) instead of committed events. */
  markers: boolean;
  /** Whether `hex` of markers is wanted. */
  hex: boolean;
  /** Ask dump-verdicts for the payload test too (JSON output). */
  canonical: boolean;
  /** Transactions begun before the first segment (a pruned store's base): their items show at their COMMIT. */
  openAtStart?: readonly number[];
  /** Checked before every record: true ends the walk. */
  shouldStop: () => boolean;
  onEvent(e: DumpEvent): void;
  onMarker(m: DumpMarker): void;
}

/** `--kind C:T` or `--kind C` as a region filter. */
export function parseKindFilter(s: string): { category: number; type?: number } {
  if (/^\d{1,5}$/.test(s)) return { category: Number(s) };
  const k = parseKind(s);
  if (!k) throw new SeglogError('usage', `--kind must be category:type or category, got '${s}'`);
  return k;
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** Walks `target` and returns the damage met on the way (see walker.ts Fault). */
export function readForDump(fs: FileSystem, target: Target, opts: DumpReadOptions): Fault[] {
  const { region } = opts;
  const faults: Fault[] = [];
  const test = compileRegion(region);
  // a worker thread checks frame CRCs (and payloads, for JSON) ahead of this walk: dump-verdicts.ts
  const verdicts = DumpVerdicts.start(fs, target.segments, { loneFile: target.kind === 'segment', canonical: opts.canonical });
  const onSegment = verdicts ? (segIndex: number, r: SegmentReader) => verdicts.onSegment(segIndex, r) : undefined;
  const view = new DumpEvent(verdicts);
  try {
    if (opts.markers) {
      const filtered = region.entity !== undefined || region.entityPrefix !== undefined || region.scope !== undefined || region.kind !== undefined;
      const ranged = region.fromSeq !== undefined || region.toSeq !== undefined;
      /** With a range: BEGINs waiting for an item in range, and transactions that had one. */
      const pendingBegin = new Map<number, DumpMarker>();
      const shown = new Set<number>();
      walkStore(
        fs,
        target.segments,
        {
          onSegment: onSegment ? (_seg, segIndex, r) => onSegment(segIndex, r) : undefined,
          onFrame: (r, segIndex) => {
            if (opts.shouldStop()) return;
            const buf = r.buf;
            const b = r.bodyOff;
            if (r.type === FrameType.EVENT) {
              if (!test(buf, b)) return;
              if (ranged) {
                const txnId = decodeEvent(buf, b).txnId;
                if (txnId !== 0) {
                  const begin = pendingBegin.get(txnId);
                  if (begin !== undefined) {
                    pendingBegin.delete(txnId);
                    opts.onMarker(begin);
                    if (opts.shouldStop()) return;
                  }
                  shown.add(txnId);
                }
              }
              opts.onEvent(view.set(buf, b, r.bodyBytes, segIndex, r.path, r.frameOffset));
              return;
            }
            if (filtered) return;
            const txnId = markerTxnId(buf, b);
            const m: DumpMarker = {
              frame: FRAME_TYPE_NAMES[r.type] ?? String(r.type),
              segment: baseName(r.path),
              offset: r.frameOffset,
              txnId,
              ...(r.type === FrameType.BEGIN || r.type === FrameType.COMMIT ? { count: markerCount(buf, b) } : {}),
              hex: opts.hex ? toHex(buf, b - FRAME_PREFIX_BYTES, b + r.bodyBytes) : undefined,
            };
            if (ranged) {
              if (r.type === FrameType.BEGIN) {
                pendingBegin.set(txnId, m);
                return;
              }
              pendingBegin.delete(txnId);
              if (!shown.delete(txnId)) return;
            }
            opts.onMarker(m);
          },
          onFault: (fault) => faults.push(fault),
        },
        { shouldStop: opts.shouldStop, cancelled: opts.shouldStop },
      );
    } else {
      streamCommitted(
        fs,
        target.segments,
        (buf, b, n, loc) => {
          if (opts.shouldStop()) return;
          opts.onEvent(view.set(buf, b, n, loc.segIndex, loc.path, loc.offset));
        },
        { filter: test, shouldStop: opts.shouldStop, cancelled: opts.shouldStop, onFault: (fault) => faults.push(fault), onSegment, openAtStart: opts.openAtStart },
      );
    }
  } finally {
    verdicts?.close();
  }
  return faults;
}
