/**
 * The proof document (docs/FORMAT.md 9.5) and its offline check, apart from proofs.ts
 * (which reads stores to make proofs) so that `check-proof`, which has no store, loads
 * only this, the tree's verification algorithms and the event layout: its start-up
 * budget is 0.2 s.
 */
import { EV, ev } from '../../format/event.js';
import type { Blake3 } from '../../format/hash/blake3.js';
import { leafHash, MAX_PROOF_HASHES, MERKLE_HASH_BYTES, verifyConsistency, verifyInclusion } from '../../format/merkle.js';
import { SeglogError } from '../io/errors.js';

export const PROOF_FORMAT = 'seglog-proof/1';

export interface InclusionProof {
  format: typeof PROOF_FORMAT;
  type: 'inclusion';
  origin: string;
  treeSize: number;
  /** The root the path leads to (base64); a head of this size must carry the same. */
  root: string;
  leafIndex: number;
  seq: number;
  eventHash: string;
  /** The event's canonical encoding (the EVENT body without its last 32 bytes), base64. */
  eventBytes: string;
  auditPath: string[];
}

export interface ConsistencyProof {
  format: typeof PROOF_FORMAT;
  type: 'consistency';
  origin: string;
  from: { size: number; root: string };
  to: { size: number; root: string };
  path: string[];
}

export type Proof = InclusionProof | ConsistencyProof;

function hashList(v: unknown, what: string, file: string): Uint8Array[] {
  if (!Array.isArray(v) || v.length > MAX_PROOF_HASHES) throw new SeglogError('bad_input', `${what} must be a list of at most ${MAX_PROOF_HASHES} base64 hashes`, { file });
  return v.map((x) => base64Hash(x, what, file));
}

function base64Hash(x: unknown, what: string, file: string): Uint8Array {
  const b = typeof x === 'string' ? Buffer.from(x, 'base64') : Buffer.alloc(0);
  if (typeof x !== 'string' || b.length !== MERKLE_HASH_BYTES || b.toString('base64') !== x) throw new SeglogError('bad_input', `${what}: not a base64 32-byte hash`, { file });
  return new Uint8Array(b);
}

function size(x: unknown, what: string, file: string): number {
  if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < 0) throw new SeglogError('bad_input', `${what} must be a non-negative integer`, { file });
  return x;
}

export interface ProofCheck {
  type: 'inclusion' | 'consistency';
  treeSize: number;
  root: Uint8Array;
  /** Consistency only: the older tree. */
  fromSize?: number;
  fromRoot?: Uint8Array;
  leafIndex?: number;
  seq?: number;
}

/**
 * Checks a proof document on its own: hashes its event bytes, follows the path (RFC 9162
 * verification), and returns the tree(s) it proves something about. A malformed
 * document is `bad_input` (exit 2); one whose hashes do not lead where it says is
 * `bad_proof` (exit 1). Matching the result against a trusted head is the caller's job.
 */
export function checkProofDocument(doc: unknown, file: string, hasher: Blake3): ProofCheck {
  const d = doc as Record<string, unknown>;
  if (typeof d !== 'object' || d === null || d.format !== PROOF_FORMAT) throw new SeglogError('bad_input', `not a seglog proof (format must be "${PROOF_FORMAT}")`, { file });
  if (d.type === 'inclusion') {
    const treeSize = size(d.treeSize, 'treeSize', file);
    const leafIndex = size(d.leafIndex, 'leafIndex', file);
    const root = base64Hash(d.root, 'root', file);
    const path = hashList(d.auditPath, 'auditPath', file);
    if (typeof d.eventBytes !== 'string') throw new SeglogError('bad_input', 'eventBytes must be base64', { file });
    const bytes = new Uint8Array(Buffer.from(d.eventBytes, 'base64'));
    if (bytes.length < EV.VAR + 1) throw new SeglogError('bad_proof', 'eventBytes is too short to be an event', { file });
    const eventHash = hasher.hash(bytes);
    if (typeof d.eventHash !== 'string' || Buffer.from(eventHash).toString('hex') !== d.eventHash) {
      throw new SeglogError('bad_proof', 'eventHash is not the BLAKE3 hash of eventBytes: the event was changed', { file });
    }
    const seq = ev.seq(bytes, 0);
    if (d.seq !== seq) throw new SeglogError('bad_proof', `seq ${String(d.seq)} is not the sequence in eventBytes (${seq})`, { file });
    if (!verifyInclusion(leafHash(eventHash, 0), leafIndex, treeSize, path, root)) {
      throw new SeglogError('bad_proof', `the audit path does not lead from event ${seq} (leaf ${leafIndex}) to the root of a tree of ${treeSize}`, { file });
    }
    return { type: 'inclusion', treeSize, root, leafIndex, seq };
  }
  if (d.type === 'consistency') {
    const from = d.from as Record<string, unknown> | undefined;
    const to = d.to as Record<string, unknown> | undefined;
    if (!from || !to) throw new SeglogError('bad_input', 'a consistency proof needs from and to', { file });
    const fromSize = size(from.size, 'from.size', file);
    const toSize = size(to.size, 'to.size', file);
    const fromRoot = base64Hash(from.root, 'from.root', file);
    const toRoot = base64Hash(to.root, 'to.root', file);
    const path = hashList(d.path, 'path', file);
    if (!verifyConsistency(fromSize, toSize, fromRoot, toRoot, path)) {
      throw new SeglogError('bad_proof', `the path does not prove the tree of ${fromSize} is a prefix of the tree of ${toSize}`, { file });
    }
    return { type: 'consistency', treeSize: toSize, root: toRoot, fromSize, fromRoot };
  }
  throw new SeglogError('bad_input', 'proof type must be "inclusion" or "consistency"', { file });
}

