/**
 * `seglog check-proof` without oclif: called by commands/check-proof.ts and by the
 * start-up fast path (ui/fast-path.ts). It needs no store, so it loads none of the
 * engine's store code: the proof checks, the note parser and BLAKE3.
 */
import { describeSignatureFailures, checkHeadSignatures, readHeadFile, readSmallText, readVerifier } from '../../engine/anchor/anchor-files.js';
import { checkProofDocument } from '../../engine/anchor/proof-document.js';
import { SeglogError } from '../../engine/io/errors.js';
import { type Blake3, createHasher, HASH_BYTES } from '../../format/hash/blake3.js';
import { blake3Small, SMALL_MAX_MESSAGE_BYTES } from '../../format/hash/blake3-small.js';
import { sameHash } from '../../format/merkle.js';

export interface CheckProofInput {
  proof: string;
  head: string[];
  pubkey?: string[];
}

export interface CheckProofResult {
  ok: true;
  type: string;
  treeSize: number;
  leafIndex?: number;
  seq?: number;
  fromSize?: number;
  heads: string[];
  signedBy: string[];
}

export async function checkProofAction(input: CheckProofInput): Promise<CheckProofResult> {
  const file = input.proof;
  let doc: unknown;
  try {
    doc = JSON.parse(readSmallText(file, 'proof'));
  } catch (err) {
    if (err instanceof SyntaxError) throw new SeglogError('bad_input', `not JSON: ${err.message}`, { file });
    throw err;
  }
  const heads = input.head.map(readHeadFile);
  const verifiers = (input.pubkey ?? []).map(readVerifier);
  for (const h of heads) {
    const failure = describeSignatureFailures(checkHeadSignatures(h, verifiers));
    if (failure !== null) throw new SeglogError('bad_signature', failure, { file: h.path });
  }
  const check = checkProofDocument(doc, file, await eventHasher(doc));
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
  return {
    ok: true,
    type: check.type,
    treeSize: check.treeSize,
    ...(check.type === 'inclusion' ? { leafIndex: check.leafIndex, seq: check.seq } : { fromSize: check.fromSize }),
    heads: matched,
    signedBy: verifiers.map((v) => v.name),
  };
}

/**
 * BLAKE3 for the proof's one event. An event of at most one BLAKE3 chunk (1 KiB: most
 * events) is hashed in plain JavaScript (blake3-small.ts), which spares check-proof
 * hash-wasm's start-up (~50 ms, a quarter of its budget); a longer one takes hash-wasm
 * as everywhere else. Only `hash` is used by checkProofDocument.
 */
async function eventHasher(doc: unknown): Promise<Blake3> {
  const b64 = (doc as { eventBytes?: unknown } | null)?.eventBytes;
  // base64 of n bytes is ≥ 4n/3 characters: a string this short decodes to at most one chunk
  if (typeof b64 !== 'string' || b64.length > (SMALL_MAX_MESSAGE_BYTES / 3) * 4) return createHasher();
  return {
    hash: (buf) => blake3Small(buf, 0, buf.length),
    hashInto: (buf, start, end, out, outOffset) => out.set(blake3Small(buf, start, end), outOffset),
    matches: (buf, start, end, want, wantOffset) => sameHash(blake3Small(buf, start, end), want.subarray(wantOffset, wantOffset + HASH_BYTES)),
  };
}

export function checkProofText(r: CheckProofResult): string {
  const signed = r.signedBy.length > 0 ? `, signed by ${r.signedBy.join(', ')}` : ' (no --pubkey: signatures not checked)';
  return r.type === 'inclusion'
    ? `proof holds: event ${r.seq} is committed event ${r.leafIndex} of the tree of ${r.treeSize}${signed}`
    : `proof holds: the tree of ${r.fromSize} is a prefix of the tree of ${r.treeSize}${signed}`;
}
