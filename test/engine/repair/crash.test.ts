/**
 * Repair is itself crash-safe. A damaged store on SimFs is repaired once for reference;
 * then the same repair is crashed after each of its mutating operations, in every crash
 * mode (cut, lose-unsynced, torn, reorder). In every state a crash leaves:
 *   1. no committed event is lost and none appears from nowhere: what readers see is,
 *      event by event, what they saw before the repair or what they see after it, and
 *      everything both agree on is there, byte for byte;
 *   2. the backup is intact: once any store file differs from before, a complete backup
 *      (manifest written) holds every file the repair changes, byte for byte as before,
 *      whether it was made by hard links (the default) or by copies (SEGLOG_BACKUP_LINK=0):
 *      a link is only a backup if nothing ever writes into the linked inode;
 *   3. every byte taken out of a changed segment is in lost+found/;
 *   4. running the repair again gives a store that verifies clean, whose readers see
 *      exactly what the reference repair gave, and that needs no further repair.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Blake3, createHasher } from '../../../src/format/hash/blake3.js';
import { toHex } from '../../../src/format/bytes.js';
import { FrameType } from '../../../src/format/frame.js';
import { CRASH_MODES, SimCrash, SimFs } from '../../../src/sim/sim-fs.js';
import { exists } from '../../../src/engine/io/fs-util.js';
import { BACKUP_MANIFEST, BACKUPS_DIR, type BackupManifest } from '../../../src/tools/repair/backup.js';
import type { RepairPlan } from '../../../src/tools/repair/plan-types.js';
import { planRepair } from '../../../src/tools/repair/planner.js';
import type { Store } from '../../../src/engine/store/store.js';
import { committed, DIR, flipBit, framesOf, REPAIR_MS, runRepair, simStore, tree, truncateFile, verifyStore } from './repair-helpers.js';

let hasher: Blake3;
beforeAll(async () => {
  hasher = await createHasher();
});

function fill(s: Store, n: number): void {
  for (let i = 0; i < n; i++) s.append({ entity: `e${i % 3}`, scope: 's' }, { i, pad: 'p'.repeat(30 + (i % 5) * 10) });
}

interface CrashScenario {
  name: string;
  make: () => SimFs;
}

const SCENARIOS: CrashScenario[] = [
  {
    name: 'a corrupt frame in a sealed segment, a torn tail and a checkpoint',
    make: () => {
      const fs = simStore(hasher, (s) => {
        fill(s, 20);
        s.appendBatch([{ entity: 'e1', scope: 's', payload: { b: 1 } }, { entity: 'e2', scope: 's', payload: { b: 2 } }]);
        fill(s, 14);
      });
      const frames = framesOf(fs);
      const v = frames.filter((f) => f.segIndex === 1 && f.type === FrameType.EVENT)[2]!;
      flipBit(fs, v.path, v.offset + v.size - 40);
      const last = frames[frames.length - 1]!;
      truncateFile(fs, last.path, last.offset + 30);
      return fs;
    },
  },
  {
    name: "a batch's BEGIN lost, a sealed footer missing, a transaction left open mid-log",
    make: () => {
      const fs = simStore(hasher, (s) => {
        fill(s, 6);
        s.appendBatch([0, 1, 2].map((k) => ({ entity: `e${k}`, scope: 's', payload: { k } })));
        fill(s, 12);
        const t = s.beginTxn();
        t.put('k', 1);
        fill(s, 8);
      });
      const frames = framesOf(fs);
      const begin = frames.find((f) => f.type === FrameType.BEGIN)!;
      flipBit(fs, begin.path, begin.offset + 10);
      const seg0 = frames.filter((f) => f.segIndex === 0);
      const end0 = seg0[seg0.length - 1]!;
      truncateFile(fs, end0.path, end0.offset + end0.size);
      return fs;
    },
  },
  {
    name: 'an active segment whose header never became valid (the file is removed)',
    make: () => {
      const fs = simStore(hasher, (s) => fill(s, 30), { close: false });
      const frames = framesOf(fs);
      const last = frames[frames.length - 1]!;
      const fd = fs.open(last.path, 'r+');
      fs.write(fd, new Uint8Array(32), 0, 32, 0);
      fs.truncate(fd, 40);
      fs.close(fd);
      return fs;
    },
  },
];

const isStoreFile = (p: string): boolean => /^\/s\/(\d{10}\.seg|index\.ckpt)$/.test(p);

/** Check 2: a durable, complete backup exists once any store file changed. */
function checkBackup(fs: SimFs, old: Map<string, string>, link: boolean, ctx: string): void {
  const now = tree(fs);
  const changed = [...new Set([...old.keys(), ...now.keys()])].filter((p) => isStoreFile(p) && old.get(p) !== now.get(p));
  const root = join(DIR, BACKUPS_DIR);
  const dirs = exists(fs, root) ? fs.readdir(root) : [];
  const complete = dirs.filter((d) => exists(fs, join(root, d, BACKUP_MANIFEST)));
  if (changed.length === 0) return;
  expect(complete.length, `store files changed (${changed.join(', ')}) without a complete backup: ${ctx}`).toBe(1);
  const dir = join(root, complete[0]!);
  const manifest = JSON.parse(new TextDecoder().decode(fs.dumpFile(join(dir, BACKUP_MANIFEST)))) as BackupManifest;
  for (const f of manifest.files) {
    expect(f.method, `backup of ${f.name} made by the wrong method: ${ctx}`).toBe(link ? 'link' : 'copy');
    expect(toHex(fs.dumpFile(join(dir, f.name))), `backup copy of ${f.name} differs from the original: ${ctx}`).toBe(old.get(join(DIR, f.name)));
  }
  for (const p of changed) expect(manifest.files.map((f) => join(DIR, f.name)), `${p} changed but is not in the backup: ${ctx}`).toContain(p);
}

/** Check 3: the quarantined bytes of every changed segment are in lost+found/. */
function checkLostFound(fs: SimFs, old: Map<string, string>, plan: RepairPlan, ctx: string): void {
  const now = tree(fs);
  for (const s of plan.segments) {
    if (!s.changed || old.get(s.path) === now.get(s.path)) continue;
    const oldBytes = old.get(s.path)!;
    const ranges: [number, number, string][] = s.edits.filter((e) => e.quarantine).map((e) => [e.start, e.end, e.quarantine!]);
    if (s.cutAt) ranges.push([s.cutAt.offset, s.fileSizeBytes, s.cutAt.reason]);
    if (s.remove) ranges.push([0, s.fileSizeBytes, 'torn_segment']);
    for (const [start, end, reason] of ranges) {
      const name = `${s.name}.${start}.${REPAIR_MS}.${reason.replace(/_/g, '-')}`;
      expect(now.get(join(DIR, 'lost+found', name)), `lost+found/${name} missing while ${s.name} changed: ${ctx}`).toBe(oldBytes.slice(2 * start, 2 * end));
    }
  }
}

describe.each([
  ['hard links', true],
  ['copies (SEGLOG_BACKUP_LINK=0)', false],
] as const)('repair survives a crash at every operation, in every crash mode (SimFs), backups by %s', (_how, link) => {
  const counts = { states: 0, points: 0 };
  afterAll(() => console.log(`repair crash (link ${link}): ${counts.points} crash points x ${CRASH_MODES.length} modes = ${counts.states} crash states checked`));

  it.each(SCENARIOS.map((s) => [s.name, s] as const))('%s', (_name, sc) => {
    const base = sc.make();
    // the damaged store is the starting point: all of it durable (a "cut" keeps everything)
    base.crash('cut');
    const snap = base.snapshot();
    const oldTree = tree(base);
    const before = committed(base);

    const ref = SimFs.fromSnapshot(snap, 1);
    const start = ref.mutatingOpCount;
    const { plan } = runRepair(ref, hasher, { backupLink: link });
    const total = ref.mutatingOpCount - start;
    const after = committed(ref);
    expect(verifyStore(ref, hasher).errors).toBe(0);
    expect(total).toBeGreaterThan(10);
    counts.points += total;

    for (let k = 0; k < total; k++) {
      for (const mode of CRASH_MODES) {
        counts.states++;
        const ctx = `${sc.name}: crash after repair operation ${k} of ${total}, mode ${mode}`;
        const fs = SimFs.fromSnapshot(snap, 1000 + k);
        fs.crashAfter(fs.mutatingOpCount + k);
        expect(() => runRepair(fs, hasher, { pid: 7, backupLink: link }), ctx).toThrow(SimCrash);
        fs.crash(mode, k * 7 + 1);

        // 1. readers see, event by event, the old store or the repaired one; nothing both keep is missing
        const seen = committed(fs);
        for (const [hash, e] of seen) {
          const known = before.get(hash) ?? after.get(hash);
          expect(known, `event seq ${e.seq} appeared from nowhere: ${ctx}`).toEqual(e);
        }
        for (const [hash, e] of before) if (after.has(hash)) expect(seen.get(hash), `event seq ${e.seq} lost: ${ctx}`).toEqual(e);
        checkBackup(fs, oldTree, link, ctx);
        checkLostFound(fs, oldTree, plan, ctx);

        // 4. running the repair again finishes the job
        runRepair(fs, hasher, { pid: 8, backupLink: link });
        const v = verifyStore(fs, hasher);
        expect(v.problems.filter((p) => p.severity === 'error'), `verify after the repair is run again: ${ctx}`).toEqual([]);
        expect([...committed(fs)].sort(), `readers after the second run: ${ctx}`).toEqual([...after].sort());
        expect(planRepair(fs, DIR, { hasher }).actions, `nothing left to do: ${ctx}`).toEqual([]);
      }
    }
  });
});
