/**
 * `seglog prove` without oclif: called by commands/prove.ts and by the start-up fast
 * path (ui/fast-path.ts), so both compute and print the same proof.
 */
import { basename } from 'node:path';
import { type HeadFile, readHeadFile } from '../../engine/anchor/anchor-files.js';
import { type LogTree, loadLogTree } from '../../engine/anchor/log-tree.js';
import { consistencyProof, findEventBody, inclusionProof, type Proof } from '../../engine/anchor/proofs.js';
import { SeglogError } from '../../engine/io/errors.js';
import { RealFs } from '../../engine/io/real-fs.js';
import { resolveTarget } from '../../engine/segment/target.js';
import { sameHash } from '../../format/merkle.js';
import { HASH_BYTES } from '../../format/hash/blake3.js';
import { UsageError } from '../errors.js';
import { wholeLogSegments } from '../whole-log.js';

export interface ProveInput {
  store: string;
  seq?: number;
  head?: string;
  from?: string;
  to?: string;
  origin?: string;
  /** A pruned store: the archive its segments were moved to (proofs are in the tree of both as one log). */
  archive?: string;
}

/** The store's root at the head's size must be the head's root: otherwise a proof against it would be a lie. */
function checkHeadAgainstStore(tree: LogTree, h: HeadFile): void {
  const { size, root } = h.note.head;
  if (size > tree.size) throw new SeglogError('anchor_mismatch', `the head covers ${size} committed events, the store has ${tree.size}`, { file: h.path });
  if (!sameHash(tree.root(size), root)) throw new SeglogError('anchor_mismatch', `the store's first ${size} committed events do not give this head's root (run seglog verify --anchor)`, { file: h.path });
}

export async function proveAction(input: ProveInput): Promise<Proof> {
  const fs = new RealFs();
  const target = resolveTarget(fs, input.store);
  if (target.kind !== 'store') throw new UsageError('prove needs a store directory, not a segment file');
  const { seq, head, from, to } = input;
  if ((seq === undefined) === (from === undefined)) throw new UsageError('give --seq N (inclusion) or --from HEAD (consistency)');
  if (seq !== undefined && to !== undefined) throw new UsageError('--to goes with --from');
  if (from !== undefined && head !== undefined) throw new UsageError('--head goes with --seq');
  const defaultOrigin = input.origin ?? `seglog/${basename(target.dir)}`;
  const heads = [head, from, to].filter((x): x is string => x !== undefined).map(readHeadFile);
  // with heads on both ends (or the one a --seq proof is against), the cached tree may suffice
  const upTo = (seq !== undefined ? head !== undefined : to !== undefined) ? Math.max(...heads.map((h) => h.note.head.size)) : undefined;
  // the tree starts at event 0: a pruned store needs its archive (ui/whole-log.ts)
  const segments = await wholeLogSegments(fs, target.dir, input.archive, 'prove');
  const tree = loadLogTree(fs, target.dir, segments, { upTo, writeCache: input.archive === undefined });
  for (const h of heads) checkHeadAgainstStore(tree, h);
  if (seq !== undefined) {
    const h = heads[0];
    const size = h?.note.head.size ?? tree.size;
    const leaf = tree.leafIndexOfSeq(seq);
    if (leaf < 0 && upTo !== undefined) throw new SeglogError('validation', `event ${seq} is not among the head's ${size} committed events`, { file: h!.path });
    if (leaf < 0) throw new SeglogError('validation', `no committed event has sequence ${seq}`, { file: input.store });
    if (leaf >= size) throw new SeglogError('validation', `event ${seq} was committed after the head (it is committed event ${leaf}; the head covers ${size})`, { file: h?.path ?? input.store });
    const found = findEventBody(fs, segments, seq);
    if (!found) throw new SeglogError('corrupt', `event ${seq} is in the tree but its frame cannot be read`, { file: input.store });
    const hashOff = found.body.length - HASH_BYTES;
    if (!sameHash(found.body.subarray(hashOff), tree.eventHashAt(leaf))) {
      throw new SeglogError('corrupt', `event ${seq}'s frame changed while the proof was made`, { file: `${target.dir}/${found.segment}`, offset: found.offset });
    }
    return inclusionProof(tree, h?.note.head.origin ?? defaultOrigin, leaf, size, found.body);
  }
  const older = heads[0]!;
  const newer = heads[1];
  const newSize = newer?.note.head.size ?? tree.size;
  if (older.note.head.size > newSize) throw new UsageError(`--from covers ${older.note.head.size} events, more than --to (${newSize}): swap them`);
  return consistencyProof(tree, older.note.head.origin, older.note.head.size, newSize);
}

export function proofText(p: Proof): string {
  return JSON.stringify(p, null, 2);
}
