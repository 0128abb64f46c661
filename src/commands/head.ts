import { basename } from 'node:path';
import { Flags } from '@oclif/core';
import { readSigner } from '../engine/anchor/anchor-files.js';
import { loadLogTree } from '../engine/anchor/log-tree.js';
import { headNote } from '../engine/anchor/proofs.js';
import { SeglogError } from '../engine/io/errors.js';
import { RealFs } from '../engine/io/real-fs.js';
import { resolveTarget } from '../engine/segment/target.js';
import { BaseCommand } from '../ui/base-command.js';
import { UsageError } from '../ui/errors.js';
import { intFlag, storeArg } from '../ui/flags.js';
import { wholeLogSegments } from '../ui/whole-log.js';

export default class Head extends BaseCommand<typeof Head> {
  static override summary = 'Print the Merkle tree head of a store as a signed checkpoint (C2SP signed note)';
  static override description =
    'The tree covers the committed events in commit order (docs/FORMAT.md section 9). Keep the output somewhere the ' +
    "store's writers cannot change it; `seglog verify --anchor` checks the store against it later.";
  static override examples = [
    '<%= config.bin %> head ./events --key ops.key > head-2026-12-04.txt',
    '<%= config.bin %> head ./events --at 41999 --json',
  ];
  static override args = { store: storeArg() };
  static override flags = {
    key: Flags.string({ description: 'sign with this Ed25519 private key (PEM, from seglog keygen); the key name is the file name without .key (repeatable)', multiple: true }),
    origin: Flags.string({ description: "the log's name, the note's first line (default: seglog/<store directory name>)" }),
    at: intFlag({ description: 'the head of the prefix ending with the committed event of this sequence', min: 0 }),
    size: intFlag({ description: 'the head of the first N committed events', min: 0 }),
    archive: Flags.string({ description: 'a pruned store: the archive its segments were moved to (prune --archive); the tree covers both as one log', helpValue: '<dir>' }),
  };

  async run(): Promise<void> {
    const fs = new RealFs();
    const target = resolveTarget(fs, this.args.store);
    if (target.kind !== 'store') throw new UsageError('head needs a store directory, not a segment file');
    if (this.flags.at !== undefined && this.flags.size !== undefined) throw new UsageError('give --at or --size, not both');
    const signers = (this.flags.key ?? []).map((k) => readSigner(k));
    const origin = this.flags.origin ?? `seglog/${basename(target.dir)}`;
    // the tree starts at event 0: a pruned store needs its archive (ui/whole-log.ts)
    const segments = await wholeLogSegments(fs, target.dir, this.flags.archive, 'head');
    // merkle.idx in the store describes the store's own segments: a view with archived ones never rewrites it
    const tree = loadLogTree(fs, target.dir, segments, { writeCache: this.flags.archive === undefined });
    if (tree.faults.some((f) => f.kind !== 'torn')) this.warn(`${this.args.store}: damaged frames were skipped (see seglog verify); the head covers what readers see`);
    let size = tree.size;
    if (this.flags.size !== undefined) {
      if (this.flags.size > tree.size) throw new UsageError(`--size ${this.flags.size}: the store has ${tree.size} committed events`);
      size = this.flags.size;
    } else if (this.flags.at !== undefined) {
      const i = tree.leafIndexOfSeq(this.flags.at);
      if (i < 0) throw new SeglogError('validation', `no committed event has sequence ${this.flags.at}`, { file: this.args.store });
      size = i + 1;
    }
    const root = tree.root(size);
    let note: string;
    try {
      note = headNote({ origin, size, root }, signers);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const result = {
      store: this.args.store,
      origin,
      size,
      root: Buffer.from(root).toString('base64'),
      rootHex: Buffer.from(root).toString('hex'),
      lastSeq: size > 0 ? tree.seqAt(size - 1) : null,
      signedBy: signers.map((s) => s.name),
      note,
      cache: { state: tree.source.cache, cachedEvents: tree.source.cachedLeaves, segmentsRead: tree.source.segmentsRead, written: tree.source.cacheWritten },
    };
    if (tree.source.cacheWriteError !== undefined) this.warn(`could not refresh merkle.idx: ${tree.source.cacheWriteError}`);
    this.emit(result, (r) => r.note);
  }
}
