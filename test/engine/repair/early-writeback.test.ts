/**
 * The repair's early writeback (tools/repair/segment-rewrite.ts, executor.ts; issue 18):
 * each temp file is written and checked first, the disk is asked to start writing it
 * (FileSystem.startWritebackOf, a hint whose outcome nobody sees), and it is fsynced only
 * before the renames. Properties protected:
 * - the hint is asked by path, never on a descriptor of the repair's. Linux reports a
 *   writeback error once per open file: a hint's unseen fdatasync on the writer's own
 *   descriptor could take the error the fsync must report before any rename (exit 2,
 *   store unchanged); RealFs.startWritebackOf opens its own (test/engine/fs/real-fs.test.ts).
 *   If this fails, look at `hintWriteback`;
 * - every repaired temp file is hinted, and fsynced through the descriptor that wrote
 *   it, before it is renamed over its segment;
 * - with hints or without (SimFs has none: `SEGLOG_EARLY_WRITEBACK=0` is the same path),
 *   the repair leaves exactly the same files, byte for byte.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { type Blake3, createHasher } from '../../../src/format/hash/blake3.js';
import { FrameType } from '../../../src/format/frame.js';
import type { FileSystem, OpenMode } from '../../../src/engine/io/fs-types.js';
import type { SimFs } from '../../../src/sim/sim-fs.js';
import { REPAIR_TEMP_SUFFIX } from '../../../src/tools/repair/planner.js';
import { flipBit, framesOf, runRepair, simStore, tree, truncateFile } from './repair-helpers.js';

let hasher: Blake3;
beforeAll(async () => {
  hasher = await createHasher();
});

/** A store with a corrupt frame in a sealed segment (rewritten with a footer) and a torn tail (rewritten without). */
function damagedStore(): SimFs {
  const fs = simStore(hasher, (s) => {
    for (let i = 0; i < 60; i++) s.append({ entity: `e${i % 4}`, scope: 's' }, { i, pad: 'p'.repeat(40 + (i % 7) * 9) });
  });
  const frames = framesOf(fs);
  const v = frames.filter((f) => f.segIndex === 1 && f.type === FrameType.EVENT)[1]!;
  flipBit(fs, v.path, v.offset + v.size - 40);
  const last = frames[frames.length - 1]!;
  truncateFile(fs, last.path, last.offset + 30);
  return fs;
}

interface Opened {
  path: string;
  mode: OpenMode;
  fsynced: boolean;
}

/** Gives `fs` a recording startWritebackOf and records every descriptor's life (numbers are reused, opens are not). */
function recordDescriptors(fs: SimFs): { opens: Opened[]; renames: { from: string; synced: boolean; hinted: boolean }[] } {
  const opens: Opened[] = [];
  const renames: { from: string; synced: boolean; hinted: boolean }[] = [];
  const live = new Map<number, Opened>();
  const f = fs as unknown as FileSystem;
  const open = f.open.bind(fs);
  const close = f.close.bind(fs);
  const fsync = f.fsync.bind(fs);
  const rename = f.rename.bind(fs);
  f.open = (path, mode) => {
    const fd = open(path, mode);
    const o: Opened = { path, mode, fsynced: false };
    opens.push(o);
    live.set(fd, o);
    return fd;
  };
  f.close = (fd) => {
    live.delete(fd);
    close(fd);
  };
  f.fsync = (fd) => {
    live.get(fd)!.fsynced = true;
    fsync(fd);
  };
  const hinted = new Set<string>();
  f.startWritebackOf = (path) => {
    hinted.add(path);
  };
  f.rename = (from, to) => {
    const writers = opens.filter((o) => o.path === from && o.mode === 'w');
    renames.push({ from, synced: writers.length > 0 && writers.every((o) => o.fsynced), hinted: hinted.has(from) });
    rename(from, to);
  };
  return { opens, renames };
}

describe('repair: early writeback of the temp files', () => {
  it('hints every temp file (by path, not through a descriptor of its own); fsyncs each through its writer before the rename', () => {
    const fs = damagedStore();
    const rec = recordDescriptors(fs);
    const { plan } = runRepair(fs, hasher);
    const rewritten = plan.segments.filter((s) => s.changed && !s.remove);
    expect(rewritten.map((s) => s.footerAfter).sort(), 'the store should need one segment with a footer and one without').toEqual(['build', 'none']);
    const temps = rec.renames.filter((r) => r.from.endsWith(REPAIR_TEMP_SUFFIX));
    expect(temps.length).toBe(rewritten.length);
    for (const r of temps) {
      expect(r.synced, `${r.from} renamed before the descriptor that wrote it was fsynced`).toBe(true);
      expect(r.hinted, `${r.from} was never hinted: the early writeback is not asked for`).toBe(true);
    }
  });

  it('leaves the same files, byte for byte, with the hints and without them', () => {
    const hinted = damagedStore();
    recordDescriptors(hinted);
    runRepair(hinted, hasher);
    const plain = damagedStore();
    runRepair(plain, hasher);
    expect(tree(hinted)).toEqual(tree(plain));
  });
});
