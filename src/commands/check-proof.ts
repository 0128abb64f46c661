import { Args, Flags } from '@oclif/core';
import { checkProofAction, checkProofText } from '../ui/anchor/check-proof-action.js';
import { BaseCommand } from '../ui/base-command.js';

export default class CheckProof extends BaseCommand<typeof CheckProof> {
  static override summary = 'Check a proof from `seglog prove` against signed heads, offline (no store needed)';
  static override description =
    'Exit status: 0 the proof holds for the head(s); 1 it does not (bad_proof), a head does not match it (anchor_mismatch) ' +
    'or a signature is missing or wrong (bad_signature); 2 unreadable or malformed input.';
  static override examples = ['<%= config.bin %> check-proof proof.json --head head.txt --pubkey ops.pub'];
  static override args = { proof: Args.string({ required: true, description: 'proof file (JSON from seglog prove)' }) };
  static override flags = {
    head: Flags.string({ description: 'a signed head the proof must match (repeatable: both ends of a consistency proof)', multiple: true, required: true }),
    pubkey: Flags.string({ description: 'a verifier key (NAME.pub): every head must carry its valid signature (repeatable)', multiple: true }),
  };

  async run(): Promise<void> {
    const result = await checkProofAction({ proof: this.args.proof, head: this.flags.head, pubkey: this.flags.pubkey });
    this.emit(result, checkProofText);
  }
}
