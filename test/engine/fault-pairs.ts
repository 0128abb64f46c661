/**
 * Control/fault pairs generated from a recorded run (docs/DECISIONS.md, "Control/fault
 * pairs are generated from a recorded run"): record the crash-sensitive calls an
 * operation makes on SimFs, class them by kind and path (segment numbers and times
 * folded), and fail each class at its first and last call. A new write path gets its
 * pair without anyone listing it.
 */
import { SeglogError } from '../../src/engine/io/errors.js';
import { type FsOpKind, isFsError, type OpenMode } from '../../src/engine/io/fs-types.js';
import type { SimFs } from '../../src/sim/sim-fs.js';

export interface RecordedOp {
  kind: FsOpKind;
  path: string;
  /** Calls of this kind on this exact path before this one (failNext's `after`). */
  occurrence: number;
  mode?: OpenMode;
}

/** Kinds that change the disk or make it durable; opens count when they may create or write. */
const SENSITIVE = new Set<FsOpKind>(['write', 'fsync', 'truncate', 'rename', 'unlink', 'mkdir', 'fsyncDir']);
const WRITING_OPENS = new Set<OpenMode>(['w', 'wx', 'rw+', 'r+']);

/**
 * Starts recording the crash-sensitive calls made on `sim` (the op hook sees only kind and
 * path, so `open` is wrapped on the instance to learn its mode); the returned function stops.
 */
export function startRecording(sim: SimFs): () => RecordedOp[] {
  const all: RecordedOp[] = [];
  const seen = new Map<string, number>();
  let lastMode: OpenMode | undefined;
  const open = sim.open;
  sim.open = (path: string, mode: OpenMode): number => {
    lastMode = mode;
    return open.call(sim, path, mode);
  };
  sim.onOp = (_i, kind, path) => {
    const key = `${kind} ${path}`;
    const occurrence = seen.get(key) ?? 0;
    seen.set(key, occurrence + 1);
    if (kind === 'open') all.push({ kind, path, occurrence, mode: lastMode });
    else if (SENSITIVE.has(kind)) all.push({ kind, path, occurrence });
  };
  return () => {
    sim.onOp = undefined;
    sim.open = open;
    return all.filter((o) => o.kind !== 'open' || (o.mode !== undefined && WRITING_OPENS.has(o.mode)));
  };
}

/** Records the crash-sensitive calls `fn` makes on `sim`, in order. */
export async function recordOps(sim: SimFs, fn: () => unknown): Promise<RecordedOp[]> {
  const stop = startRecording(sim);
  let ops: RecordedOp[] = [];
  try {
    await fn();
  } finally {
    ops = stop();
  }
  return ops;
}

/** The class of an operation: its kind and its path with segment numbers and times folded. */
export function opClass(o: RecordedOp): string {
  return `${o.kind}${o.mode ? `(${o.mode})` : ''} ${o.path.replace(/\d{10}/g, 'N').replace(/\.\d{13}\./g, '.T.')}`;
}

/** Each class's first and last call (one when they are the same call). */
export function pairsOf(ops: readonly RecordedOp[]): { name: string; op: RecordedOp }[] {
  const byClass = new Map<string, RecordedOp[]>();
  for (const o of ops) {
    const c = opClass(o);
    const list = byClass.get(c) ?? [];
    list.push(o);
    byClass.set(c, list);
  }
  const out: { name: string; op: RecordedOp }[] = [];
  for (const [c, list] of byClass) {
    out.push({ name: `${c} (first of ${list.length})`, op: list[0]! });
    if (list.length > 1) out.push({ name: `${c} (last of ${list.length})`, op: list[list.length - 1]! });
  }
  return out;
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export function arm(fs: SimFs, op: RecordedOp): void {
  fs.failNext(op.kind, { path: new RegExp(`^${escape(op.path)}$`), after: op.occurrence });
}

export function isCleanFailure(err: unknown): boolean {
  return err instanceof SeglogError || isFsError(err);
}

export async function attempt(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
    return undefined;
  } catch (err) {
    return err;
  }
}
