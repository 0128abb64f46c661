import { basename } from 'node:path';
import { Flags } from '@oclif/core';
import { type HeadFile, readHeadFile } from '../engine/anchor/anchor-files.js';
import { type LogTree, loadLogTree } from '../engine/anchor/log-tree.js';
import { consistencyProof, findEventBody, inclusionProof, type Proof } from '../engine/anchor/proofs.js';
import { SeglogError } from '../engine/io/errors.js';
import { RealFs } from '../engine/io/real-fs.js';
import { resolveTarget } from '../engine/segment/target.js';
import { sameHash } from '../format/merkle.js';
import { BaseCommand } from '../ui/base-command.js';
import { UsageError } from '../ui/errors.js';
import { intFlag, storeArg } from '../ui/flags.js';
import { wholeLogSegments } from '../ui/whole-log.js';

/** The store's root at the head's size must be the head's root: otherwise a proof against it would be a lie. */
function checkHeadAgainstStore(tree: LogTree, h: HeadFile): void {
  const { size, root } = h.note.head;
  if (size > tree.size) throw new SeglogError('anchor_mismatch', `the head covers ${size} committed events, the store has ${tree.size}`, { file: h.path });
  if (!sameHash(tree.root(size), root)) throw new SeglogError('anchor_mismatch', `the store's first ${size} committed events do not give this head's root (run seglog verify --anchor)`, { file: h.path });
}

export default class Prove extends BaseCommand<typeof Prove> {
  static override summary = 'Print an inclusion proof (--seq) or a consistency proof (--from/--to) as JSON';
  static override description =
    'Proofs follow RFC 9162 and are checked offline by `seglog check-proof` (or any RFC 9162 verifier: leaf hash = ' +
    'SHA-256(0x00 || eventHash)). A head given with --head/--from/--to must match the store (exit 1 otherwise).';
  static override examples = [
    '<%= config.bin %> prove ./events --seq 41 --head head.txt > proof.json',
    '<%= config.bin %> prove ./events --from head-monday.txt --to head-friday.txt',
  ];
  static override args = { store: storeArg() };
  static override flags = {
    seq: intFlag({ description: 'prove that the committed event with this sequence is in the tree', min: 0 }),
    head: Flags.string({ description: 'with --seq: prove against this signed head (default: the current tree)' }),
    from: Flags.string({ description: 'consistency: the older signed head' }),
    to: Flags.string({ description: 'consistency: the newer signed head (default: the current tree)' }),
    origin: Flags.string({ description: 'origin recorded in the proof when no head gives one (default: seglog/<store directory name>)' }),
    archive: Flags.string({ description: 'a pruned store: the archive its segments were moved to (prune --archive); proofs are in the tree of both as one log', helpValue: '<dir>' }),
  };

  async run(): Promise<void> {
    const fs = new RealFs();
    const target = resolveTarget(fs, this.args.store);
    if (target.kind !== 'store') throw new UsageError('prove needs a store directory, not a segment file');
    const { seq, head, from, to } = this.flags;
    if ((seq === undefined) === (from === undefined)) throw new UsageError('give --seq N (inclusion) or --from HEAD (consistency)');
    if (seq !== undefined && to !== undefined) throw new UsageError('--to goes with --from');
    if (from !== undefined && head !== undefined) throw new UsageError('--head goes with --seq');
    const defaultOrigin = this.flags.origin ?? `seglog/${basename(target.dir)}`;
    const heads = [head, from, to].filter((x): x is string => x !== undefined).map(readHeadFile);
    // with heads on both ends (or the one a --seq proof is against), the cached tree may suffice
    const upTo = (seq !== undefined ? head !== undefined : to !== undefined) ? Math.max(...heads.map((h) => h.note.head.size)) : undefined;
    // the tree starts at event 0: a pruned store needs its archive (ui/whole-log.ts)
    const segments = await wholeLogSegments(fs, target.dir, this.flags.archive, 'prove');
    const tree = loadLogTree(fs, target.dir, segments, { upTo, writeCache: this.flags.archive === undefined });
    for (const h of heads) checkHeadAgainstStore(tree, h);
    let proof: Proof;
    if (seq !== undefined) {
      const h = heads[0];
      const size = h?.note.head.size ?? tree.size;
      const leaf = tree.leafIndexOfSeq(seq);
      if (leaf < 0 && upTo !== undefined) throw new SeglogError('validation', `event ${seq} is not among the head's ${size} committed events`, { file: h!.path });
      if (leaf < 0) throw new SeglogError('validation', `no committed event has sequence ${seq}`, { file: this.args.store });
      if (leaf >= size) throw new SeglogError('validation', `event ${seq} was committed after the head (it is committed event ${leaf}; the head covers ${size})`, { file: h?.path ?? this.args.store });
      const found = findEventBody(fs, segments, seq);
      if (!found) throw new SeglogError('corrupt', `event ${seq} is in the tree but its frame cannot be read`, { file: this.args.store });
      const hashOff = found.body.length - 32;
      if (!sameHash(found.body.subarray(hashOff), tree.eventHashAt(leaf))) {
        throw new SeglogError('corrupt', `event ${seq}'s frame changed while the proof was made`, { file: `${target.dir}/${found.segment}`, offset: found.offset });
      }
      proof = inclusionProof(tree, h?.note.head.origin ?? defaultOrigin, leaf, size, found.body);
    } else {
      const older = heads[0]!;
      const newer = heads[1];
      const newSize = newer?.note.head.size ?? tree.size;
      if (older.note.head.size > newSize) throw new UsageError(`--from covers ${older.note.head.size} events, more than --to (${newSize}): swap them`);
      proof = consistencyProof(tree, older.note.head.origin, older.note.head.size, newSize);
    }
    this.emit(proof, (p) => JSON.stringify(p, null, 2));
  }
}
