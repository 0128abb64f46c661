import { Flags } from '@oclif/core';
import { proofText, proveAction } from '../ui/anchor/prove-action.js';
import { BaseCommand } from '../ui/base-command.js';
import { intFlag, storeArg } from '../ui/flags.js';

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
    const { seq, head, from, to, origin, archive } = this.flags;
    this.emit(await proveAction({ store: this.args.store, seq, head, from, to, origin, archive }), proofText);
  }
}
