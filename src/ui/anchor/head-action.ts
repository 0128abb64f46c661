/**
 * `seglog head` without oclif: the oclif command (commands/head.ts) and the start-up
 * fast path (ui/fast-path.ts) both call `headAction`, so the two can never differ in
 * what they compute or print; only the argument parsing is theirs.
 */
import { basename } from 'node:path';
import { readSigner } from '../../engine/anchor/anchor-files.js';
import { loadLogTree } from '../../engine/anchor/log-tree.js';
import { headNote } from '../../engine/anchor/proofs.js';
import { SeglogError } from '../../engine/io/errors.js';
import { RealFs } from '../../engine/io/real-fs.js';
import { resolveTarget } from '../../engine/segment/target.js';
import { UsageError } from '../errors.js';
import { wholeLogSegments } from '../whole-log.js';

export interface HeadInput {
  store: string;
  key?: string[];
  origin?: string;
  at?: number;
  size?: number;
  /** A pruned store: the archive its segments were moved to (the tree covers both as one log). */
  archive?: string;
}

export interface HeadResult {
  store: string;
  origin: string;
  size: number;
  root: string;
  rootHex: string;
  lastSeq: number | null;
  signedBy: string[];
  note: string;
  cache: { state: string; cachedEvents: number; segmentsRead: number; written: boolean };
}

export async function headAction(input: HeadInput, warn: (message: string) => void): Promise<HeadResult> {
  const fs = new RealFs();
  const target = resolveTarget(fs, input.store);
  if (target.kind !== 'store') throw new UsageError('head needs a store directory, not a segment file');
  if (input.at !== undefined && input.size !== undefined) throw new UsageError('give --at or --size, not both');
  const signers = (input.key ?? []).map((k) => readSigner(k));
  const origin = input.origin ?? `seglog/${basename(target.dir)}`;
  // the tree starts at event 0: a pruned store needs its archive (ui/whole-log.ts)
  const segments = await wholeLogSegments(fs, target.dir, input.archive, 'head');
  // merkle.idx in the store describes the store's own segments: a view with archived ones never rewrites it
  const tree = loadLogTree(fs, target.dir, segments, { writeCache: input.archive === undefined });
  if (tree.faults.some((f) => f.kind !== 'torn')) warn(`${input.store}: damaged frames were skipped (see seglog verify); the head covers what readers see`);
  let size = tree.size;
  if (input.size !== undefined) {
    if (input.size > tree.size) throw new UsageError(`--size ${input.size}: the store has ${tree.size} committed events`);
    size = input.size;
  } else if (input.at !== undefined) {
    const i = tree.leafIndexOfSeq(input.at);
    if (i < 0) throw new SeglogError('validation', `no committed event has sequence ${input.at}`, { file: input.store });
    size = i + 1;
  }
  const root = tree.root(size);
  let note: string;
  try {
    note = headNote({ origin, size, root }, signers);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (tree.source.cacheWriteError !== undefined) warn(`could not refresh merkle.idx: ${tree.source.cacheWriteError}`);
  return {
    store: input.store,
    origin,
    size,
    root: Buffer.from(root).toString('base64'),
    rootHex: Buffer.from(root).toString('hex'),
    lastSeq: size > 0 ? tree.seqAt(size - 1) : null,
    signedBy: signers.map((s) => s.name),
    note,
    cache: { state: tree.source.cache, cachedEvents: tree.source.cachedLeaves, segmentsRead: tree.source.segmentsRead, written: tree.source.cacheWritten },
  };
}

export function headText(r: HeadResult): string {
  return r.note;
}
