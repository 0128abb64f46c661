import { Args, Flags } from '@oclif/core';
import { describeSignatureFailures, checkHeadSignatures, readHeadFile, readSmallText, readVerifier } from '../engine/anchor/anchor-files.js';
import { checkProofDocument } from '../engine/anchor/proofs.js';
import { SeglogError } from '../engine/io/errors.js';
import { createHasher } from '../format/hash/blake3.js';
import { sameHash } from '../format/merkle.js';
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
    const file = this.args.proof;
    let doc: unknown;
    try {
      doc = JSON.parse(readSmallText(file, 'proof'));
    } catch (err) {
      if (err instanceof SyntaxError) throw new SeglogError('bad_input', `not JSON: ${err.message}`, { file });
      throw err;
    }
    const heads = this.flags.head.map(readHeadFile);
    const verifiers = (this.flags.pubkey ?? []).map(readVerifier);
    for (const h of heads) {
      const failure = describeSignatureFailures(checkHeadSignatures(h, verifiers));
      if (failure !== null) throw new SeglogError('bad_signature', failure, { file: h.path });
    }
    const check = checkProofDocument(doc, file, await createHasher());
    const matched: string[] = [];
    for (const h of heads) {
      const { size, root } = h.note.head;
      const isTo = size === check.treeSize && sameHash(root, check.root);
      const isFrom = check.type === 'consistency' && size === check.fromSize && sameHash(root, check.fromRoot!);
      if (!isTo && !isFrom) {
        const want = check.type === 'inclusion' ? `a tree of ${check.treeSize}` : `trees of ${check.fromSize} and ${check.treeSize}`;
        throw new SeglogError('anchor_mismatch', `this head (tree of ${size}) is not what the proof is about (${want}, with the roots it states)`, { file: h.path });
      }
      matched.push(h.path);
    }
    const result: { ok: true; type: string; treeSize: number; leafIndex?: number; seq?: number; fromSize?: number; heads: string[]; signedBy: string[] } = {
      ok: true,
      type: check.type,
      treeSize: check.treeSize,
      ...(check.type === 'inclusion' ? { leafIndex: check.leafIndex, seq: check.seq } : { fromSize: check.fromSize }),
      heads: matched,
      signedBy: verifiers.map((v) => v.name),
    };
    const signed = result.signedBy.length > 0 ? `, signed by ${result.signedBy.join(', ')}` : ' (no --pubkey: signatures not checked)';
    this.emit(result, (r) =>
      r.type === 'inclusion'
        ? `proof holds: event ${r.seq} is committed event ${r.leafIndex} of the tree of ${r.treeSize}${signed}`
        : `proof holds: the tree of ${r.fromSize} is a prefix of the tree of ${r.treeSize}${signed}`,
    );
  }
}
