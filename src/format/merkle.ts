/**
 * The Merkle tree over a log (RFC 9162 §2.1, the same tree as RFC 6962 and every
 * transparency log): SHA-256, leaf hash = SHA-256(0x00 || entry), interior node =
 * SHA-256(0x01 || left || right), and for n > 1 entries MTH(D[n]) = node(MTH(D[0:k]),
 * MTH(D[k:n])) with k the largest power of two smaller than n. A seglog leaf's entry is
 * an event's 32-byte `event_hash` (docs/FORMAT.md section 9).
 *
 * Pure functions over bytes. Proof *generation* takes a `SubtreeHasher` (whatever knows
 * the tree: engine/anchor/log-tree.ts keeps cached 256-leaf chunk roots, tests pass an
 * array); proof *verification* follows the RFC's bitwise algorithms (§2.1.3.2, §2.1.4.2)
 * and needs nothing but the proof. test/support/rfc9162-reference.ts checks both against
 * an independent reading of the RFC's recursive definitions.
 */
import { createHash } from 'node:crypto';
import { sha256LeafInto, sha256NodeInto } from './sha256.js';

export const MERKLE_HASH_BYTES = 32;
export const LEAF_PREFIX = 0x00;
export const NODE_PREFIX = 0x01;
/** Longest audit or consistency path a tree of < 2^53 leaves can have (two per level, generously). */
export const MAX_PROOF_HASHES = 128;

/** SHA-256(0x00 || entry) for any entry bytes. */
export function leafHashOf(entry: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(Buffer.from([LEAF_PREFIX])).update(entry).digest());
}

/** SHA-256(0x00 || 32-byte event hash at buf[off, off + 32)), without a copy per call beyond the digest. */
export function leafHash(buf: Uint8Array, off = 0): Uint8Array {
  const out = new Uint8Array(MERKLE_HASH_BYTES);
  sha256LeafInto(buf, off, out, 0);
  return out;
}

/** SHA-256(0x01 || left || right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  const out = new Uint8Array(MERKLE_HASH_BYTES);
  sha256NodeInto(left, 0, right, 0, out, 0);
  return out;
}

/** MTH of the empty tree: SHA-256 of nothing. */
export const EMPTY_ROOT: Uint8Array = new Uint8Array(createHash('sha256').digest());

/** The largest power of two strictly smaller than n (n ≥ 2). */
export function splitPoint(n: number): number {
  if (!(n >= 2) || !Number.isSafeInteger(n)) throw new RangeError(`splitPoint: n must be an integer ≥ 2, got ${n}`);
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH of the leaf range [start, end) of some tree; the only thing proof generation needs. */
export interface SubtreeHasher {
  subtreeHash(start: number, end: number): Uint8Array;
}

/** MTH over leaf hashes given in memory (tests, and trees small enough to hold). */
export function rootOfLeafHashes(leafHashes: readonly Uint8Array[], start = 0, end = leafHashes.length): Uint8Array {
  const n = end - start;
  if (n === 0) return EMPTY_ROOT;
  if (n === 1) return leafHashes[start]!;
  const k = splitPoint(n);
  return nodeHash(rootOfLeafHashes(leafHashes, start, start + k), rootOfLeafHashes(leafHashes, start + k, end));
}

/** RFC 9162 §2.1.3.1 PATH(m, D[n]) over the range [start, start + n). */
export function inclusionPath(tree: SubtreeHasher, leafIndex: number, treeSize: number): Uint8Array[] {
  if (!(leafIndex >= 0 && leafIndex < treeSize)) throw new RangeError(`inclusionPath: leaf ${leafIndex} is not in a tree of ${treeSize}`);
  const out: Uint8Array[] = [];
  const walk = (m: number, start: number, n: number): void => {
    if (n === 1) return;
    const k = splitPoint(n);
    if (m < k) {
      walk(m, start, k);
      out.push(tree.subtreeHash(start + k, start + n));
    } else {
      walk(m - k, start + k, n - k);
      out.push(tree.subtreeHash(start, start + k));
    }
  };
  walk(leafIndex, 0, treeSize);
  return out;
}

/** RFC 9162 §2.1.4.1 PROOF(m, D[n]); empty when m = n or m = 0 (nothing to prove). */
export function consistencyPath(tree: SubtreeHasher, oldSize: number, newSize: number): Uint8Array[] {
  if (!(oldSize >= 0 && oldSize <= newSize)) throw new RangeError(`consistencyPath: ${oldSize} is not ≤ ${newSize}`);
  const out: Uint8Array[] = [];
  if (oldSize === 0 || oldSize === newSize) return out;
  const sub = (m: number, start: number, n: number, complete: boolean): void => {
    if (m === n) {
      if (!complete) out.push(tree.subtreeHash(start, start + n));
      return;
    }
    const k = splitPoint(n);
    if (m <= k) {
      sub(m, start, k, complete);
      out.push(tree.subtreeHash(start + k, start + n));
    } else {
      sub(m - k, start + k, n - k, false);
      out.push(tree.subtreeHash(start, start + k));
    }
  };
  sub(oldSize, 0, newSize, true);
  return out;
}

export function isPowerOfTwo(n: number): boolean {
  return n > 0 && 2 ** Math.round(Math.log2(n)) === n;
}

export function sameHash(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== MERKLE_HASH_BYTES || b.length !== MERKLE_HASH_BYTES) return false;
  for (let i = 0; i < MERKLE_HASH_BYTES; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * RFC 9162 §2.1.3.2: the root an audit path gives for `leaf` at `leafIndex` in a tree of
 * `treeSize`, or null when the path has the wrong length for that position.
 */
export function rootFromInclusion(leaf: Uint8Array, leafIndex: number, treeSize: number, path: readonly Uint8Array[]): Uint8Array | null {
  if (!(Number.isSafeInteger(leafIndex) && Number.isSafeInteger(treeSize) && leafIndex >= 0 && leafIndex < treeSize)) return null;
  if (path.length > MAX_PROOF_HASHES) return null;
  // fn and sn exceed 2^31: shift with division, not >>
  let fn = leafIndex;
  let sn = treeSize - 1;
  let r = leaf;
  for (const p of path) {
    if (p.length !== MERKLE_HASH_BYTES) return null;
    if (sn === 0) return null;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : null;
}

export function verifyInclusion(leaf: Uint8Array, leafIndex: number, treeSize: number, path: readonly Uint8Array[], root: Uint8Array): boolean {
  const r = rootFromInclusion(leaf, leafIndex, treeSize, path);
  return r !== null && sameHash(r, root);
}

/** RFC 9162 §2.1.4.2: whether `path` proves the tree (oldSize, oldRoot) is a prefix of (newSize, newRoot). */
export function verifyConsistency(
  oldSize: number,
  newSize: number,
  oldRoot: Uint8Array,
  newRoot: Uint8Array,
  path: readonly Uint8Array[],
): boolean {
  if (!(Number.isSafeInteger(oldSize) && Number.isSafeInteger(newSize) && oldSize >= 0 && oldSize <= newSize)) return false;
  if (path.length > MAX_PROOF_HASHES) return false;
  if (oldSize === newSize) return path.length === 0 && sameHash(oldRoot, newRoot);
  if (oldSize === 0) return path.length === 0; // the empty tree is a prefix of every tree
  if (path.length === 0) return false;
  for (const p of path) if (p.length !== MERKLE_HASH_BYTES) return false;
  const nodes = isPowerOfTwo(oldSize) ? [oldRoot, ...path] : [...path];
  let fn = oldSize - 1;
  let sn = newSize - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr = nodes[0]!;
  let sr = nodes[0]!;
  for (let i = 1; i < nodes.length; i++) {
    const c = nodes[i]!;
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && sameHash(fr, oldRoot) && sameHash(sr, newRoot);
}
