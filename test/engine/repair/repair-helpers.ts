/** Shared helpers for the repair tests: simulated stores, damage, and what readers see. */
import { join } from 'node:path';
import type { Blake3 } from '../../../src/format/hash/blake3.js';
import { toHex } from '../../../src/format/bytes.js';
import { ev } from '../../../src/format/event.js';
import { FRAME_PREFIX_BYTES, FrameType } from '../../../src/format/frame.js';
import { markerTxnId } from '../../../src/format/marker.js';
import { streamCommitted } from '../../../src/engine/log/committed-stream.js';
import type { FileSystem } from '../../../src/engine/io/fs-types.js';
import { SimFs } from '../../../src/sim/sim-fs.js';
import type { RepairResult } from '../../../src/tools/repair/executor.js';
import type { RepairPlan } from '../../../src/tools/repair/plan-types.js';
import { RepairSession } from '../../../src/tools/repair/session.js';
import { type OpenOptions, Store } from '../../../src/engine/store/store.js';
import { verifySegments, type VerifyReport } from '../../../src/engine/verify/verify.js';
import { listSegments, walkStore } from '../../../src/engine/segment/walker.js';

export const DIR = '/s';
export const REPAIR_MS = 1_800_000_000_000;
/** Every simulated process is "dead" to the others: a LOCK left by a crash is taken over. */
export function simLockEnv(pid = 1) {
  return { pid, host: 'sim', nowMs: () => 0, isAlive: () => false };
}

/** A store on a fresh SimFs, written by `build` with a deterministic clock and ids. */
export function simStore(hasher: Blake3, build: (s: Store) => void, opts: Partial<OpenOptions> & { close?: boolean; seed?: number } = {}): SimFs {
  const fs = new SimFs(opts.seed ?? 1);
  fs.mkdir(DIR);
  let t = 1_700_000_000_000;
  let x = (opts.seed ?? 1) >>> 0 || 1;
  const s = Store.openSync(
    DIR,
    {
      fs,
      segmentMaxBytes: 4096,
      lockEnv: simLockEnv(),
      clock: () => (t += 3),
      random: (out) => {
        for (let i = 0; i < out.length; i++) {
          x ^= x << 13;
          x >>>= 0;
          x ^= x >>> 17;
          x ^= x << 5;
          x >>>= 0;
          out[i] = x & 0xff;
        }
      },
      ...opts,
    },
    hasher,
  );
  build(s);
  if (opts.close ?? true) s.close();
  return fs;
}

/** One valid frame of a store, as it is on disk. */
export interface FrameInfo {
  segIndex: number;
  segment: string;
  path: string;
  offset: number;
  size: number;
  type: number;
  seq: number;
  entity: string;
  txnId: number;
  clock: number;
}

export function framesOf(fs: FileSystem, dir = DIR): FrameInfo[] {
  const out: FrameInfo[] = [];
  const segs = listSegments(fs, dir);
  walkStore(fs, segs, {
    onFrame(r, segIndex) {
      const b = r.bodyOff;
      const isEvent = r.type === FrameType.EVENT;
      out.push({
        segIndex,
        segment: segs[segIndex]!.name,
        path: segs[segIndex]!.path,
        offset: r.frameOffset,
        size: r.pos - r.frameOffset,
        type: r.type,
        seq: isEvent ? ev.seq(r.buf, b) : -1,
        entity: isEvent ? ev.entity(r.buf, b) : '',
        txnId: isEvent ? ev.txnId(r.buf, b) : r.type === FrameType.GAP ? 0 : markerTxnId(r.buf, b),
        clock: isEvent ? ev.clock(r.buf, b) : -1,
      });
    },
  });
  return out;
}

/** What readers see: event hash → the event's whole frame (hex), in commit order. */
export function committed(fs: FileSystem, dir = DIR): Map<string, { seq: number; frame: string }> {
  const out = new Map<string, { seq: number; frame: string }>();
  streamCommitted(fs, listSegments(fs, dir), (buf, b, bodyBytes) => {
    const hs = ev.hashStart(buf, b);
    out.set(toHex(buf, hs, hs + 32), { seq: ev.seq(buf, b), frame: toHex(buf, b - FRAME_PREFIX_BYTES, b + bodyBytes) });
  });
  return out;
}

export function verifyStore(fs: FileSystem, hasher: Blake3, dir = DIR): VerifyReport {
  return verifySegments(fs, listSegments(fs, dir), hasher);
}

/** Overwrites bytes of a file in place (damage; not a repair). */
export function patch(fs: FileSystem, path: string, offset: number, bytes: Uint8Array): void {
  const fd = fs.open(path, 'r+');
  try {
    fs.write(fd, bytes, 0, bytes.length, offset);
  } finally {
    fs.close(fd);
  }
}

export function flipBit(fs: FileSystem, path: string, offset: number, bit = 2): void {
  const fd = fs.open(path, 'r+');
  try {
    const b = new Uint8Array(1);
    fs.read(fd, b, 0, 1, offset);
    b[0] = b[0]! ^ (1 << bit);
    fs.write(fd, b, 0, 1, offset);
  } finally {
    fs.close(fd);
  }
}

export function truncateFile(fs: FileSystem, path: string, sizeBytes: number): void {
  const fd = fs.open(path, 'r+');
  try {
    fs.truncate(fd, sizeBytes);
  } finally {
    fs.close(fd);
  }
}

export function appendBytes(fs: FileSystem, path: string, bytes: Uint8Array): void {
  patch(fs, path, fs.stat(path).sizeBytes, bytes);
}

/** Plans and executes a repair under the lock (as `seglog repair --yes` does). */
export function runRepair(fs: FileSystem, hasher: Blake3, opts: { pid?: number; noBackup?: boolean; backupDir?: string; nowMs?: number; backupLink?: boolean } = {}): { plan: RepairPlan; result: RepairResult } {
  const session = RepairSession.open(fs, DIR, { lockEnv: simLockEnv(opts.pid ?? 7) });
  try {
    const plan = session.plan(hasher);
    const result = session.execute(plan, { nowMs: opts.nowMs ?? REPAIR_MS, noBackup: opts.noBackup, backupDir: opts.backupDir, backupLink: opts.backupLink });
    return { plan, result };
  } finally {
    session.close();
  }
}

/** Every file under `dir` (recursively): path → bytes as hex. */
export function tree(fs: SimFs, dir = DIR): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const name of fs.readdir(d)) {
      const p = join(d, name);
      if (fs.stat(p).isDirectory) walk(p);
      else out.set(p, toHex(fs.dumpFile(p)));
    }
  };
  walk(dir);
  return out;
}

/** A short description of plan actions, for table-driven expectations. */
export function actionKeys(plan: RepairPlan): string[] {
  return plan.actions.map((a) => `${a.action}:${a.segment}:${a.reason}`);
}
