import { Flags } from '@oclif/core';
import { headAction, headText } from '../ui/anchor/head-action.js';
import { BaseCommand } from '../ui/base-command.js';
import { intFlag, storeArg } from '../ui/flags.js';

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
    const { key, origin, at, size, archive } = this.flags;
    this.emit(await headAction({ store: this.args.store, key, origin, at, size, archive }, (m) => this.warn(m)), headText);
  }
}
