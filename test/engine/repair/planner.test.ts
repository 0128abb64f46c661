/**
 * Repair, one kind of damage at a time: what the plan says (actions, lost events), and
 * that after the repair verify has no error, a second plan is empty, every committed
 * event whose frames were not damaged is still visible byte for byte, and the store
 * opens read-write and takes appends that verify too.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { type Blake3, createHasher } from '../../../src/format/hash/blake3.js';
import { FrameType } from '../../../src/format/frame.js';
import { SEGMENT_HEADER_BYTES } from '../../../src/format/segment-header.js';
import type { SimFs } from '../../../src/sim/sim-fs.js';
import { storePaths } from '../../../src/engine/io/layout.js';
import { planRepair } from '../../../src/tools/repair/planner.js';
import type { RepairPlan } from '../../../src/tools/repair/plan-types.js';
import { Cursor } from '../../../src/engine/log/cursor.js';
import { Store } from '../../../src/engine/store/store.js';
import { listSegments } from '../../../src/engine/segment/walker.js';
import {
  actionKeys,
  appendBytes,
  committed,
  DIR,
  flipBit,
  type FrameInfo,
  framesOf,
  patch,
  runRepair,
  simLockEnv,
  simStore,
  truncateFile,
  verifyStore,
} from './repair-helpers.js';

let hasher: Blake3;
beforeAll(async () => {
  hasher = await createHasher();
});

const pad = (n: number): string => 'p'.repeat(n);

/** 4 entities, ~60 single events over several 4 KiB segments, one batch in the middle. */
function basicStore(s: Store): void {
  for (let i = 0; i < 30; i++) s.append({ entity: `e${i % 4}`, scope: 's' }, { i, pad: pad(40) });
  s.appendBatch([0, 1, 2].map((k) => ({ entity: `e${k}`, scope: 's', payload: { batch: k, pad: pad(30) } })));
  for (let i = 30; i < 60; i++) s.append({ entity: `e${i % 4}`, scope: 's' }, { i, pad: pad(40) });
}

interface Scenario {
  name: string;
  build?: (s: Store) => void;
  close?: boolean;
  /** Damages the store; returns the frames whose events are expected lost or hidden. */
  damage: (fs: SimFs, frames: FrameInfo[]) => FrameInfo[];
  actions: (frames: FrameInfo[], damaged: FrameInfo[]) => string[];
  lost?: (damaged: FrameInfo[]) => { seq: number; entity: string | null }[];
}

const sealed = (frames: FrameInfo[], seg = 0): FrameInfo[] => frames.filter((f) => f.segIndex === seg);
/** An event of `seg` whose entity has events after it (so the chain tells what was lost). */
function midEvent(frames: FrameInfo[], seg = 1): FrameInfo {
  const evs = frames.filter((f) => f.type === FrameType.EVENT && f.segIndex === seg && f.txnId === 0);
  return evs[Math.floor(evs.length / 2)]!;
}
const lastSeg = (frames: FrameInfo[]): string => frames[frames.length - 1]!.segment;

const SCENARIOS: Scenario[] = [
  {
    name: 'a clean store: nothing to do',
    damage: () => [],
    actions: () => [],
  },
  {
    name: 'one bit flipped in a sealed event: the frame is quarantined, a sequence and an entity gap take its place',
    damage: (fs, frames) => {
      const v = midEvent(frames);
      flipBit(fs, v.path, v.offset + v.size - 40);
      return [v];
    },
    actions: (_f, [v]) => [
      `quarantine:${v!.segment}:crc_mismatch`,
      `write_gap:${v!.segment}:corrupt_frames`,
      `write_gap:${v!.segment}:corrupt_frames`,
      `rebuild_footer:${v!.segment}:segment_rewritten`,
      'remove_checkpoint:index.ckpt:checkpoint_valid',
    ],
    lost: ([v]) => [{ seq: v!.seq, entity: v!.entity }],
  },
  {
    name: 'a torn tail: cut, nothing else',
    close: false,
    damage: (fs, frames) => {
      const last = frames[frames.length - 1]!;
      truncateFile(fs, last.path, last.offset + Math.floor(last.size / 2));
      return [last];
    },
    actions: (frames) => [`cut_tail:${lastSeg(frames)}:torn_tail`],
  },
  {
    name: 'garbage appended to the active segment: a torn tail',
    close: false,
    damage: (fs, frames) => {
      appendBytes(fs, frames[frames.length - 1]!.path, Uint8Array.from({ length: 300 }, (_, i) => (i * 37 + 11) & 0xff));
      return [];
    },
    actions: (frames) => [`cut_tail:${lastSeg(frames)}:torn_tail`],
  },
  {
    name: 'a batch that never got its COMMIT at the tail: cut (recovery would drop it too)',
    close: false,
    build: (s) => {
      basicStore(s);
      s.appendBatch([{ entity: 'e1', scope: 's', payload: { never: 1 } }, { entity: 'e2', scope: 's', payload: { never: 2 } }]);
    },
    damage: (fs, frames) => {
      const commit = frames[frames.length - 1]!;
      truncateFile(fs, commit.path, commit.offset);
      return frames.slice(-3, -1);
    },
    actions: (frames) => [`cut_tail:${lastSeg(frames)}:incomplete_batch`],
  },
  {
    name: 'a transaction left open mid-log: an ABORT after its last item makes it inert, every byte stays',
    build: (s) => {
      basicStore(s);
      const t = s.beginTxn();
      t.put('k1', 'v1');
      t.put('k2', 'v2');
      // the transaction is never ended; later writes go on
      for (let i = 0; i < 5; i++) s.append({ entity: 'late', scope: 's' }, { i });
    },
    damage: () => [],
    actions: (frames) => [`insert_abort:${lastSeg(frames)}:transaction_inert`, `rebuild_footer:${lastSeg(frames)}:segment_rewritten`, 'remove_checkpoint:index.ckpt:checkpoint_valid'],
  },
  {
    name: "a batch's BEGIN destroyed: a BEGIN is inserted and the intact batch is visible again, nothing lost",
    damage: (fs, frames) => {
      const begin = frames.find((f) => f.type === FrameType.BEGIN)!;
      flipBit(fs, begin.path, begin.offset + 12);
      return [];
    },
    actions: (frames) => {
      const b = frames.find((f) => f.type === FrameType.BEGIN)!;
      return [`quarantine:${b.segment}:crc_mismatch`, `insert_begin:${b.segment}:begin_lost`, `rebuild_footer:${b.segment}:segment_rewritten`, 'remove_checkpoint:index.ckpt:checkpoint_valid'];
    },
  },
  {
    name: "an item of a batch destroyed: its gap records, and the batch's COMMIT replaced by an ABORT (no half batch is ever shown)",
    damage: (fs, frames) => {
      const items = frames.filter((f) => f.type === FrameType.EVENT && f.txnId !== 0);
      const v = items[1]!;
      flipBit(fs, v.path, v.offset + v.size - 33);
      return items; // the damaged item is lost; the other two become invisible
    },
    actions: (frames, damaged) => {
      const v = damaged[1]!;
      const c = frames.find((f) => f.type === FrameType.COMMIT)!;
      const out = [`quarantine:${v.segment}:crc_mismatch`, `write_gap:${v.segment}:corrupt_frames`, `write_gap:${v.segment}:corrupt_frames`];
      if (c.segment !== v.segment) out.push(`rebuild_footer:${v.segment}:segment_rewritten`);
      out.push(`quarantine:${c.segment}:commit_mismatch`, `insert_abort:${c.segment}:transaction_inert`, `rebuild_footer:${c.segment}:segment_rewritten`, 'remove_checkpoint:index.ckpt:checkpoint_valid');
      return out;
    },
    lost: (d) => [{ seq: d[1]!.seq, entity: d[1]!.entity }],
  },
  {
    name: "a sealed segment's header damaged: a new header, nothing lost",
    damage: (fs, frames) => {
      flipBit(fs, sealed(frames, 1)[0]!.path, 10);
      return [];
    },
    actions: (frames) => {
      const seg = sealed(frames, 1)[0]!.segment;
      return [`rewrite_header:${seg}:bad_header`, `rebuild_footer:${seg}:segment_rewritten`, 'remove_checkpoint:index.ckpt:checkpoint_valid'];
    },
  },
  {
    name: "a sealed segment's footer removed (as sidx strip leaves it): rebuilt",
    damage: (fs, frames) => {
      const f = sealed(frames, 0);
      const end = f[f.length - 1]!;
      truncateFile(fs, end.path, end.offset + end.size);
      return [];
    },
    actions: () => ['rebuild_footer:0000000000.seg:footer_missing', 'remove_checkpoint:index.ckpt:checkpoint_stale'],
  },
  {
    name: "a sealed segment's footer damaged: rebuilt",
    damage: (fs, frames) => {
      const f = sealed(frames, 0);
      const end = f[f.length - 1]!;
      flipBit(fs, end.path, end.offset + end.size + 30);
      return [];
    },
    actions: () => ['rebuild_footer:0000000000.seg:footer_damaged', 'remove_checkpoint:index.ckpt:checkpoint_stale'],
  },
  {
    name: 'a stale checkpoint alone: removed',
    damage: (fs) => {
      flipBit(fs, storePaths(DIR).checkpoint, 40);
      return [];
    },
    actions: () => ['remove_checkpoint:index.ckpt:checkpoint_damaged'],
  },
  {
    name: 'a zeroed range across two frames of a sealed segment: both quarantined as one range',
    damage: (fs, frames) => {
      const v = midEvent(frames);
      const i = frames.indexOf(v);
      const w = frames[i + 1]!;
      patch(fs, v.path, v.offset + 20, new Uint8Array(v.size - 20 + 30));
      return [v, w];
    },
    actions: (_f, [v]) => [
      `quarantine:${v!.segment}:bad_frame`,
      `write_gap:${v!.segment}:corrupt_frames`,
      `write_gap:${v!.segment}:corrupt_frames`,
      `write_gap:${v!.segment}:corrupt_frames`,
      `rebuild_footer:${v!.segment}:segment_rewritten`,
      'remove_checkpoint:index.ckpt:checkpoint_valid',
    ],
    lost: ([v, w]) => [
      { seq: v!.seq, entity: null },
      { seq: w!.seq, entity: null },
    ],
  },
  {
    name: 'a sealed segment truncated mid-frame: the partial frame and what followed are quarantined',
    damage: (fs, frames) => {
      const f = sealed(frames, 1);
      const v = f[f.length - 2]!;
      truncateFile(fs, v.path, v.offset + 50);
      return f.slice(-2);
    },
    actions: (frames) => {
      const seg = sealed(frames, 1)[0]!.segment;
      return [`quarantine:${seg}:truncated_segment`, `write_gap:${seg}:truncated_segment`, `write_gap:${seg}:truncated_segment`, `write_gap:${seg}:truncated_segment`, `rebuild_footer:${seg}:segment_rewritten`, 'remove_checkpoint:index.ckpt:checkpoint_stale'];
    },
    // two sequences and two entities' links lost, nothing says which is which
    lost: ([a, b]) => [
      { seq: a!.seq, entity: null },
      { seq: b!.seq, entity: null },
    ],
  },
  {
    name: 'a length field damaged so that it points at a later frame boundary: the intact frames it skipped are kept',
    damage: (fs, frames) => {
      const v = midEvent(frames);
      const w = frames[frames.indexOf(v) + 1]!;
      // v's length now covers v and w: the walker jumps to the frame after w
      const len = new Uint8Array(4);
      new DataView(len.buffer).setUint32(0, v.size + w.size - 8, true);
      patch(fs, v.path, v.offset, len);
      return [v];
    },
    actions: (_f, [v]) => [
      `quarantine:${v!.segment}:crc_mismatch`,
      `write_gap:${v!.segment}:corrupt_frames`,
      `write_gap:${v!.segment}:corrupt_frames`,
      `rebuild_footer:${v!.segment}:segment_rewritten`,
      'remove_checkpoint:index.ckpt:checkpoint_valid',
    ],
    lost: ([v]) => [{ seq: v!.seq, entity: v!.entity }],
  },
  {
    name: "an entity's last event destroyed: a credible claim records its lost link, so its clock is never reused",
    build: (s) => {
      basicStore(s);
      s.append({ entity: 'solo', scope: 's' }, { first: true });
      for (let i = 0; i < 20; i++) s.append({ entity: 'filler', scope: 's' }, { i, pad: pad(60) });
      s.append({ entity: 'solo', scope: 's' }, { last: true });
      for (let i = 0; i < 20; i++) s.append({ entity: 'filler', scope: 's' }, { i, pad: pad(60) });
    },
    damage: (fs, frames) => {
      const v = frames.filter((f) => f.entity === 'solo')[1]!;
      flipBit(fs, v.path, v.offset + v.size - 34);
      return [v];
    },
    actions: (_f, [v]) => [
      `quarantine:${v!.segment}:crc_mismatch`,
      `write_gap:${v!.segment}:corrupt_frames`,
      `write_gap:${v!.segment}:corrupt_frames`,
      `rebuild_footer:${v!.segment}:segment_rewritten`,
      'remove_checkpoint:index.ckpt:checkpoint_valid',
    ],
    lost: ([v]) => [{ seq: v!.seq, entity: 'solo' }],
  },
  {
    name: 'a whole segment file missing from the middle: gap records stand for what it held',
    damage: (fs, frames) => {
      const gone = sealed(frames, 1);
      fs.unlink(gone[0]!.path);
      return gone.filter((f) => f.type === FrameType.EVENT);
    },
    actions: (frames) => {
      const next = sealed(frames, 2)[0]!.segment;
      const entities = new Set(sealed(frames, 1).filter((f) => f.type === FrameType.EVENT).map((f) => f.entity));
      return [`write_gap:${next}:missing`, ...[...entities].map(() => `write_gap:${next}:missing`), `rebuild_footer:${next}:segment_rewritten`, 'remove_checkpoint:index.ckpt:checkpoint_stale'];
    },
    lost: (d) => d.map((f) => ({ seq: f.seq, entity: null })),
  },
  {
    name: 'an active segment whose header never became valid: the file goes to lost+found',
    close: false,
    build: (s) => {
      basicStore(s);
    },
    damage: (fs, frames) => {
      const last = frames[frames.length - 1]!;
      patch(fs, last.path, 0, new Uint8Array(SEGMENT_HEADER_BYTES));
      truncateFile(fs, last.path, SEGMENT_HEADER_BYTES + 5);
      return frames.filter((f) => f.segment === last.segment && f.type === FrameType.EVENT);
    },
    actions: (frames) => [`remove_segment:${lastSeg(frames)}:torn_segment`],
  },
];

function lostKeys(plan: RepairPlan): { seq: number; entity: string | null }[] {
  return plan.lostEvents.map((e) => ({ seq: e.seq, entity: e.entity }));
}

describe('repair plans one kind of damage at a time (src/tools/repair/analyzer.ts)', () => {
  it.each(SCENARIOS.map((s) => [s.name, s] as const))('%s', (_name, sc) => {
    const fs = simStore(hasher, sc.build ?? basicStore, { close: sc.close ?? true });
    const frames = framesOf(fs);
    const before = committed(fs);
    const damaged = sc.damage(fs, frames);
    const plan = planRepair(fs, DIR, { hasher });
    const keys = actionKeys(plan).map((k) => (k.startsWith('remove_checkpoint:') ? 'remove_checkpoint' : k));
    const want = sc.actions(frames, damaged).map((k) => (k.startsWith('remove_checkpoint:') ? 'remove_checkpoint' : k));
    expect(keys, `actions planned (plan-actions.ts); plan: ${JSON.stringify(plan.actions, null, 1)}`).toEqual(want);
    expect(lostKeys(plan), 'lost events listed').toEqual(sc.lost ? sc.lost(damaged) : []);
    expect(plan.unfixable).toEqual([]);

    const { result } = runRepair(fs, hasher);
    const v = verifyStore(fs, hasher);
    expect(v.problems.filter((p) => p.severity === 'error'), 'verify after repair has no error').toEqual([]);
    expect(v.problems.filter((p) => p.severity === 'warning' && p.code !== 'sidx_missing'), 'nor a warning').toEqual([]);
    const again = planRepair(fs, DIR, { hasher });
    expect(again.actions, 'a second repair finds nothing to do').toEqual([]);
    expect(again.clean).toBe(true);

    // every committed event not damaged is still visible, byte for byte
    const after = committed(fs);
    const gone = new Set(damaged.map((d) => d.seq));
    for (const [hash, e] of before) {
      if (gone.has(e.seq)) continue;
      expect(after.get(hash), `committed event seq ${e.seq} must survive the repair`).toEqual(e);
    }
    if (plan.actions.length > 0 && sc.name !== 'a stale checkpoint alone: removed') expect(result.backupDir).not.toBeNull();

    // the store opens read-write and takes appends that verify
    const s = Store.openSync(DIR, { fs, lockEnv: simLockEnv(3) }, hasher);
    for (const e of ['e1', 'solo', 'new']) s.append({ entity: e, scope: 's' }, { afterRepair: true });
    s.close();
    const v2 = verifyStore(fs, hasher);
    expect(v2.problems.filter((p) => p.severity === 'error'), 'verify after repair and appends').toEqual([]);
    expect(listSegments(fs, DIR).length).toBeGreaterThan(0);
  });
});

describe('repair and durable cursors (src/tools/repair/cursor-check.ts)', () => {
  it('reports every cursor position a rewrite moves, with the offset the same frame boundary has afterwards', () => {
    const fs = simStore(hasher, basicStore);
    const c = Cursor.open(fs, DIR, 'reader');
    const r = c.read(45);
    c.commit(r.next);
    const pos = c.state().deliveredThrough;
    const frames = framesOf(fs);
    const seg = frames.find((f) => f.segIndex === pos.segmentId)!;
    const victim = frames.find((f) => f.segIndex === pos.segmentId && f.type === FrameType.EVENT && f.offset + f.size < pos.offset)!;
    expect(victim, 'a frame before the cursor position in its segment').toBeDefined();
    const next = frames.find((f) => f.segment === seg.segment && f.offset === pos.offset);
    flipBit(fs, victim.path, victim.offset + victim.size - 40);
    const plan = planRepair(fs, DIR, { hasher });
    const moved = plan.cursors.find((x) => x.position === 'deliveredThrough')!;
    expect(moved).toMatchObject({ cursor: 'reader', segment: seg.segment, offset: pos.offset });
    runRepair(fs, hasher);
    if (next) {
      // the frame that started at the old position starts at the new one
      const after = framesOf(fs).find((f) => f.segment === seg.segment && f.offset === moved.newOffset);
      expect(after, `a frame at the mapped offset ${moved.newOffset}`).toMatchObject({ seq: next.seq, type: next.type });
    } else {
      expect(moved.newOffset).toBe(framesOf(fs).filter((f) => f.segment === seg.segment).at(-1)!.offset + framesOf(fs).filter((f) => f.segment === seg.segment).at(-1)!.size);
    }
  });
});
