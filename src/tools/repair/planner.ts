/**
 * `seglog repair`, step one: a read-only analysis of a store that says exactly what a
 * repair would do (docs/CLI.md, "seglog repair"; docs/FORMAT.md section 5). Nothing is
 * written; the executor (executor.ts) carries the plan out.
 */
import type { Blake3 } from '../../format/hash/blake3.js';
import { SEGMENT_HEADER_BYTES } from '../../format/segment-header.js';
import { loadCheckpoint } from '../../engine/index/checkpoint.js';
import type { FileSystem } from '../../engine/io/fs-types.js';
import type { HashVerdicts } from '../../engine/verify/verify.js';
import { readFully } from '../../engine/io/fs-util.js';
import { listSegments, type SegmentFile, walkStore } from '../../engine/segment/walker.js';
import { loadBase, segmentsFromBase } from '../../engine/segment/prune-base.js';
import { type DamagedRange, RepairAnalyzer, type SegmentFacts } from './analyzer.js';
import { cursorImpacts } from './cursor-check.js';
import { validEventsIn } from './damaged-range.js';
import { describeActions } from './plan-actions.js';
import type { AffectedEvent, CheckpointPlan, LostEvent, PlannedFrame, RepairPlan, SegmentEdit, SegmentPlan } from './plan-types.js';

/** Suffix of the temp files a repair writes beside the segments it replaces. */
export const REPAIR_TEMP_SUFFIX = '.repair.tmp';

export interface PlanOptions {
  hasher: Blake3;
  /** Recompute every event hash (default true): finds events whose bytes changed under a recomputed CRC. */
  checkHashes?: boolean;
  onProgress?: (bytesDone: number) => void;
  /** Hash verdicts and footer checks from worker threads (verify-parallel.ts startParallelVerdicts). */
  hashVerdicts?: HashVerdicts;
}

type Cut = { segIndex: number; offset: number; reason: 'torn_tail' | 'incomplete_batch' } | null;

export function planRepair(fs: FileSystem, dir: string, opts: PlanOptions): RepairPlan {
  // a pruned store is repaired from its base (segment/prune-base.ts): what was pruned is not lost
  const base = loadBase(fs, dir);
  const segments = segmentsFromBase(listSegments(fs, dir), base);
  const a = new RepairAnalyzer(fs, segments, { hasher: opts.hasher, checkHashes: opts.checkHashes ?? true, onProgress: opts.onProgress, hashVerdicts: opts.hashVerdicts });
  if (base !== null) a.startFromBase(base);
  walkStore(fs, segments, a, { lastIsActive: true });
  const end = a.finish();
  const cut = end.cut;
  const inCut = (segIndex: number, offset: number, after = false): boolean =>
    cut !== null && segIndex === cut.segIndex && (after ? offset > cut.offset : offset >= cut.offset);

  const edits: SegmentEdit[][] = segments.map(() => []);
  const keptRanges = a.ranges.filter((r) => !inCut(r.segIndex, r.start));
  for (const r of keptRanges) {
    const frames: PlannedFrame[] = [];
    if (r.seqGap) frames.push({ type: 'gap_sequence', fromSeq: r.seqGap.fromSeq, count: r.seqGap.count, reason: r.gapReason });
    frames.push(...r.entityGaps);
    edits[r.segIndex]!.push({ start: r.start, end: r.end, frames, quarantine: r.reason });
  }
  for (const ins of a.insertions) {
    // an ABORT goes after a kept frame (it may sit exactly at the cut); anything else goes before a frame
    const after = ins.frames.length === 1 && ins.frames[0]!.type === 'abort';
    if (inCut(ins.segIndex, ins.offset, after)) continue;
    edits[ins.segIndex]!.push({ start: ins.offset, end: ins.offset, frames: ins.frames, quarantine: null });
  }
  for (const rep of a.replacements) if (!inCut(rep.segIndex, rep.edit.start)) edits[rep.segIndex]!.push(rep.edit);
  for (const list of edits) sortEdits(list);

  const lastIndex = segments.length - 1;
  const removeLast = cut !== null && cut.segIndex === lastIndex && cut.offset < SEGMENT_HEADER_BYTES;
  const lastKept = removeLast ? lastIndex - 1 : lastIndex;
  let running = 0;
  const plans = a.facts.map((f, i) => {
    const p = segmentPlan(f, i, edits[i]!, i === lastIndex ? cut : null, removeLast && i === lastIndex, i < lastKept, a, running);
    running = p.nextSeqAfter;
    return p.plan;
  });

  const checkpoint = checkpointPlan(fs, dir, segments, plans.some((p) => p.changed));
  const strayTemps = fs.readdir(dir).filter((n) => n.endsWith(REPAIR_TEMP_SUFFIX));
  const lostEvents = collectLostEvents(keptRanges, a, inCut);
  const lostLinks = a.lostLinks
    .filter((l) => (l.rangeOrdinal === null ? !inCut(l.segIndex, l.offset) : !inCut(a.ranges[l.rangeOrdinal]!.segIndex, a.ranges[l.rangeOrdinal]!.start)))
    .map(({ entity, fromClock, count, segment, offset }) => ({ entity, fromClock, count, segment, offset }));
  if (a.torn && cut) a.affected.push(...eventsInTornTail(fs, segments[a.torn.segIndex]!, a.torn.offset));
  const plan: RepairPlan = {
    store: dir,
    segments: plans,
    checkpoint,
    strayTemps,
    actions: [],
    lostEvents,
    lostLinks,
    affectedEvents: a.affected,
    unfixable: a.unfixable,
    cursors: cursorImpacts(fs, dir, plans),
    eventFrames: a.eventFrames,
    bytes: a.bytes,
    clean: false,
  };
  plan.actions = describeActions(plan);
  plan.clean = plan.actions.length === 0 && plan.unfixable.length === 0;
  return plan;
}

/** Bytes of a torn tail searched for whole events (a bigger tail is cut all the same, unlisted beyond this). */
export const TORN_SCAN_MAX_BYTES = 64 * 1024 * 1024;

/** Whole EVENT frames inside a torn tail (after a hole): cut with it, so the plan lists them. */
function eventsInTornTail(fs: FileSystem, seg: SegmentFile, offset: number): AffectedEvent[] {
  const fd = fs.open(seg.path, 'r');
  let bytes: Uint8Array;
  try {
    const size = fs.fstat(fd).sizeBytes;
    bytes = new Uint8Array(Math.max(0, Math.min(size, offset + TORN_SCAN_MAX_BYTES) - offset));
    readFully(fs, fd, bytes, 0, bytes.length, offset);
  } finally {
    fs.close(fd);
  }
  return validEventsIn(bytes, offset).map((e) => ({ seq: e.seq, entity: e.entity, txnId: e.txnId, segment: seg.name, offset: e.offset, reason: 'torn_tail' as const }));
}

/** Insertions at an offset before a range that starts there; otherwise by offset, stable. */
function sortEdits(list: SegmentEdit[]): void {
  const order = list.map((e, i) => ({ e, i }));
  order.sort((x, y) => x.e.start - y.e.start || Number(x.e.end > x.e.start) - Number(y.e.end > y.e.start) || x.i - y.i);
  for (let i = 0; i < order.length; i++) list[i] = order[i]!.e;
}

function segmentPlan(
  f: SegmentFacts,
  index: number,
  edits: SegmentEdit[],
  cut: Cut,
  remove: boolean,
  sealedAfter: boolean,
  a: RepairAnalyzer,
  /** The repaired store's next sequence where this segment starts. */
  seqBefore: number,
): { plan: SegmentPlan; nextSeqAfter: number } {
  const cutAt = cut && !remove ? { offset: cut.offset, reason: cut.reason } : null;
  const limit = cutAt ? cutAt.offset : remove ? 0 : Number.MAX_SAFE_INTEGER;
  const first = f.firstSurviving && f.firstSurviving.offset < limit ? f.firstSurviving : null;
  // the repaired store's next sequence at the end of this segment: after its kept events and gap records
  let seqAfter = seqBefore;
  const lastKept = cutAt?.reason === 'incomplete_batch' ? a.lastSeqAtCompleteEnd : remove ? -1 : f.lastSurvivingSeq;
  if (lastKept >= 0) seqAfter = Math.max(seqAfter, lastKept + 1);
  for (const g of f.seqGapRecords) if (g.offset < limit) seqAfter = Math.max(seqAfter, g.end);
  for (const e of edits) for (const fr of e.frames) if (fr.type === 'gap_sequence') seqAfter = Math.max(seqAfter, fr.fromSeq + fr.count);
  let header: SegmentPlan['header'] = null;
  if (!remove) {
    // a segment left without events names the sequence the next event will have
    const firstSeq = first ? first.seq : seqAfter;
    if (!f.headerOk) header = { firstSeq, reason: 'bad_header', detail: 'the header does not check out' };
    else if (f.headerId !== f.file.id) header = { firstSeq, reason: 'segment_id', detail: `the header names segment ${f.headerId}` };
    else if (f.headerFirstSeq !== firstSeq) {
      const which = first ? `the first event has ${first.seq}` : `the next event has ${firstSeq}`;
      header = { firstSeq, reason: 'first_sequence', detail: `the header says first sequence ${f.headerFirstSeq}, ${which}` };
    }
  }
  const contentChanged = edits.length > 0 || header !== null || cutAt !== null;
  const isFinalActive = !sealedAfter && !remove;
  let footerAfter: SegmentPlan['footerAfter'];
  if (remove) footerAfter = 'none';
  else if (isFinalActive && f.footerFound === 'missing') footerAfter = 'none';
  else footerAfter = f.footerFound === 'valid' && !contentChanged ? 'keep' : 'build';
  const footerFound = isFinalActive && f.footerFound === 'missing' ? 'none' : f.footerFound;
  // EVENT frames the new file holds: those before the cut, less the ones taken out
  // (a torn tail holds no valid frame: the walk stopped there)
  let events = f.eventFrames;
  if (cutAt?.reason === 'incomplete_batch') events = a.eventsAtCompleteEnd;
  events -= f.removedEventOffsets.filter((o) => o < limit).length;
  const plan: SegmentPlan = {
    index,
    id: f.file.id,
    name: f.file.name,
    path: f.file.path,
    fileSizeBytes: f.fileSizeBytes,
    frameEnd: f.frameEnd,
    footerFound,
    footerAfter,
    edits,
    header,
    cutAt,
    remove,
    changed: remove || contentChanged || footerAfter === 'build',
    eventFramesAfter: remove ? 0 : events,
  };
  return { plan, nextSeqAfter: seqAfter };
}

function checkpointPlan(fs: FileSystem, dir: string, segments: ReturnType<typeof listSegments>, segmentsChange: boolean): CheckpointPlan {
  const l = loadCheckpoint(fs, dir, segments);
  if (l.status === 'absent') return { found: 'absent', message: 'no checkpoint', action: 'keep' };
  if (l.status === 'damaged') return { found: 'damaged', message: l.message, action: 'remove' };
  if (l.status === 'stale') return { found: 'stale', message: l.message, action: 'remove' };
  if (segmentsChange) return { found: 'valid', message: 'the repair changes the segments it describes', action: 'remove' };
  return { found: 'valid', message: 'matches the segments', action: 'keep' };
}

/** Every lost sequence, with its entity when a credible claim or the chain says which. */
function collectLostEvents(ranges: DamagedRange[], a: RepairAnalyzer, inCut: (s: number, o: number) => boolean): LostEvent[] {
  const out: LostEvent[] = [];
  for (const r of ranges) {
    if (!r.seqGap) continue;
    const seg = a.facts[r.segIndex]!.file.name;
    const links = r.entityGaps;
    // one sequence and one entity link surely lost in the same range: they are the same event
    const single = r.seqGap.count === 1 && links.length === 1 && links[0]!.count === 1 && r.entityGapCertain[0] ? links[0]! : null;
    // two claims naming the same link of the same entity: one of them was damaged there, neither is believed
    const named = new Map<string, number>();
    for (const x of r.claims) if (x.seqCredible) named.set(`${x.clock}:${x.key}`, (named.get(`${x.clock}:${x.key}`) ?? 0) + 1);
    for (let s = r.seqGap.fromSeq; s < r.seqGap.fromSeq + r.seqGap.count; s++) {
      const found = r.claims.find((x) => x.seqCredible && x.seq === s);
      const c = found && named.get(`${found.clock}:${found.key}`) === 1 ? found : undefined;
      const linked = c ? links.find((l) => l.entity === c.key && c.clock >= l.fromClock && c.clock < l.fromClock + l.count) : undefined;
      const entity = linked ? linked.entity : c?.entityCredible ? c.key : single ? single.entity : null;
      const clock = linked || c?.entityCredible ? c!.clock : single ? single.fromClock : null;
      out.push({ seq: s, entity, clock, segment: seg, offset: found ? found.offset : r.start, reason: r.reason });
    }
  }
  for (const m of a.missingSeqs) {
    if (inCut(m.segIndex, m.offset)) continue;
    for (let s = m.fromSeq; s < m.fromSeq + m.count; s++) out.push({ seq: s, entity: null, clock: null, segment: a.facts[m.segIndex]!.file.name, offset: m.offset, reason: 'missing' });
  }
  return out.sort((x, y) => x.seq - y.seq);
}
