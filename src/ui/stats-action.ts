/**
 * `seglog stats` without oclif: called by commands/stats.ts and by the start-up fast path
 * (ui/fast-path.ts), so both open the store the same way and print the same figures.
 *
 * Why stats is on the fast path (issue 18, cold open at 1.5 M events/s, CLI run
 * included): oclif's start-up (~0.2 s of CPU) and hash-wasm's (~0.05 s) were a third of
 * `stats` over a 1 M-event store scanned without checkpoint or footers, and all of it
 * over a store opened from its checkpoint. A read-only open never hashes an event
 * (hashing is the writer's, and verify's with its own hasher), so the store gets a
 * hasher that needs no start-up: plain-JS BLAKE3 for one chunk, and a refusal beyond it.
 */
import { Store } from '../engine/store/store.js';
import { type Blake3, HASH_BYTES } from '../format/hash/blake3.js';
import { blake3Small } from '../format/hash/blake3-small.js';
import { sameHash } from '../format/merkle.js';
import type { StoreOptions } from '../engine/io/options.js';
import type { CheckpointUse, SegmentColdStart } from '../engine/index/cold-start.js';
import { formatBytes, formatCount, plural } from './format.js';
import { renderTable } from './table.js';

export interface StatsInput {
  store: string;
}

export interface StatsSegment {
  file: string;
  bytes: number;
  eventFrames: number;
  firstSeq: number | null;
  lastSeq: number | null;
  sealed: boolean;
  footer: SegmentColdStart['footer'];
  source: SegmentColdStart['source'];
}

export interface StatsResult {
  store: string;
  segments: StatsSegment[];
  totals: { events: number; entities: number; batches: number; bytes: number; segments: number; nextSeq: number };
  index: { checkpoint: CheckpointUse; checkpointUsed: boolean; checkpointMessage: string | null };
  framesChecked: boolean;
  options: StoreOptions;
  warnings: string[];
}

/** A read-only store's hasher: it is never asked (see the header); one chunk in plain JS if it ever is. */
const READ_ONLY_HASHER: Blake3 = {
  hash: (buf) => blake3Small(buf, 0, buf.length),
  hashInto: (buf, start, end, out, outOffset) => out.set(blake3Small(buf, start, end), outOffset),
  matches: (buf, start, end, want, wantOffset) => sameHash(blake3Small(buf, start, end), want.subarray(wantOffset, wantOffset + HASH_BYTES)),
};

export function statsAction(input: StatsInput, warn: (message: string) => void): StatsResult {
  const store = Store.openSync(input.store, { readOnly: true, onWarning: warn }, READ_ONLY_HASHER);
  const scan = store.recovery;
  const last = scan.segments.length - 1;
  const segments = scan.segments.map((s, i) => ({
    file: s.name,
    bytes: s.fileSizeBytes,
    eventFrames: s.eventFrames,
    firstSeq: s.firstSeq >= 0 ? s.firstSeq : null,
    lastSeq: s.lastSeq >= 0 ? s.lastSeq : null,
    sealed: i < last,
    // issue 3: the segment's SIDX footer as this open found it, and how the open read the segment
    footer: store.coldStart.segments[i]?.footer ?? 'absent',
    source: store.coldStart.segments[i]?.source ?? 'scan',
  }));
  const totals = {
    events: store.committedEvents,
    entities: scan.heads.size,
    batches: store.committedBatches,
    bytes: scan.segments.reduce((a, s) => a + s.fileSizeBytes, 0),
    segments: scan.segments.length,
    nextSeq: scan.nextSeq,
  };
  const index = { checkpoint: store.coldStart.checkpoint, checkpointUsed: store.coldStart.checkpoint === 'used', checkpointMessage: store.coldStart.checkpointMessage };
  // a checkpoint or a SIDX footer gives counts without reading the frames: a flipped payload byte would not show here
  const framesChecked = segments.every((s) => s.source === 'scan');
  const result = { store: input.store, segments, totals, index, framesChecked, options: store.options, warnings: store.warnings };
  store.close();
  return result;
}

export function statsText(r: StatsResult): string {
  return [
    renderTable(
      ['file', 'bytes', 'events', 'first', 'last', 'sealed', 'footer'],
      r.segments.map((s) => [s.file, formatBytes(s.bytes), formatCount(s.eventFrames), s.firstSeq ?? '-', s.lastSeq ?? '-', s.sealed ? 'yes' : 'active', s.footer]),
      { colAligns: ['left', 'right', 'right', 'right', 'right', 'left', 'left'] },
    ),
    `index: checkpoint ${r.index.checkpoint}${r.index.checkpointMessage ? ` (${r.index.checkpointMessage})` : ''}`,
    ...(r.framesChecked ? [] : ['counts from the checkpoint and footers, frames not read (seglog verify reads them)']),
    `${plural(r.totals.events, 'event')}, ${plural(r.totals.entities, 'entity', 'entities')}, ${plural(r.totals.batches, 'batch', 'batches')}, ${formatBytes(r.totals.bytes)} in ${plural(r.totals.segments, 'segment')}`,
  ].join('\n');
}
