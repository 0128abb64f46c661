/**
 * An independent reading of RFC 9162 §2.1, written from the RFC's recursive definitions
 * alone (not from src/format/merkle.ts, which follows the RFC's bitwise verification
 * algorithms): the slow, obvious engine the proofs `seglog prove` emits are checked with.
 *
 *   MTH({}) = SHA-256()                 MTH({d0}) = SHA-256(0x00 || d0)
 *   MTH(D[n]) = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n])), k the largest power of 2 < n
 *   PATH(m, D[n]): m < k: PATH(m, D[0:k]) : MTH(D[k:n]);  m ≥ k: PATH(m - k, D[k:n]) : MTH(D[0:k])
 *   SUBPROOF(m, D[m], true) = {}   SUBPROOF(m, D[m], false) = {MTH(D[m])}
 *   m < n: m ≤ k: SUBPROOF(m, D[0:k], b) : MTH(D[k:n]);  m > k: SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])
 *
 * Verifying walks the same recursion backwards: the last hash of a path is the sibling at
 * the top split, so the root is rebuilt from the inside out.
 */
import { createHash } from 'node:crypto';

const sha = (...parts: Uint8Array[]): Buffer => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};
const ZERO = Buffer.from([0]);
const ONE = Buffer.from([1]);

function largestPow2Below(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

export function refLeafHash(entry: Uint8Array): Buffer {
  return sha(ZERO, entry);
}

export function refMth(entries: readonly Uint8Array[]): Buffer {
  if (entries.length === 0) return sha();
  if (entries.length === 1) return refLeafHash(entries[0]!);
  const k = largestPow2Below(entries.length);
  return sha(ONE, refMth(entries.slice(0, k)), refMth(entries.slice(k)));
}

export function refPath(m: number, entries: readonly Uint8Array[]): Buffer[] {
  const n = entries.length;
  if (n <= 1) return [];
  const k = largestPow2Below(n);
  if (m < k) return [...refPath(m, entries.slice(0, k)), refMth(entries.slice(k))];
  return [...refPath(m - k, entries.slice(k)), refMth(entries.slice(0, k))];
}

export function refConsistency(m: number, entries: readonly Uint8Array[]): Buffer[] {
  const sub = (mm: number, d: readonly Uint8Array[], b: boolean): Buffer[] => {
    if (mm === d.length) return b ? [] : [refMth(d)];
    const k = largestPow2Below(d.length);
    if (mm <= k) return [...sub(mm, d.slice(0, k), b), refMth(d.slice(k))];
    return [...sub(mm - k, d.slice(k), false), refMth(d.slice(0, k))];
  };
  if (m === 0 || m === entries.length) return [];
  return sub(m, entries, true);
}

/** The root an audit path gives, rebuilding PATH's recursion backwards; null if the path has the wrong length. */
export function refRootFromPath(leafHash: Uint8Array, m: number, n: number, path: readonly Uint8Array[]): Buffer | null {
  if (m < 0 || m >= n) return null;
  const rec = (mm: number, nn: number, p: readonly Uint8Array[]): Buffer | null => {
    if (nn === 1) return p.length === 0 ? Buffer.from(leafHash) : null;
    if (p.length === 0) return null;
    const k = largestPow2Below(nn);
    const sibling = p[p.length - 1]!;
    const rest = p.slice(0, -1);
    if (mm < k) {
      const left = rec(mm, k, rest);
      return left && sha(ONE, left, sibling);
    }
    const right = rec(mm - k, nn - k, rest);
    return right && sha(ONE, sibling, right);
  };
  return rec(m, n, path);
}

export function refVerifyInclusion(leafHash: Uint8Array, m: number, n: number, path: readonly Uint8Array[], root: Uint8Array): boolean {
  const r = refRootFromPath(leafHash, m, n, path);
  return r !== null && r.equals(Buffer.from(root));
}

/**
 * Rebuilds both roots from a consistency proof by running SUBPROOF's recursion backwards.
 * `oldRoot` stands in for MTH(D[m]) where SUBPROOF(m, D[m], true) emitted nothing.
 */
export function refVerifyConsistency(m: number, n: number, oldRoot: Uint8Array, newRoot: Uint8Array, proof: readonly Uint8Array[]): boolean {
  if (m < 0 || m > n) return false;
  if (m === n) return proof.length === 0 && Buffer.from(oldRoot).equals(Buffer.from(newRoot));
  if (m === 0) return proof.length === 0;
  // returns [MTH of the old-tree part, MTH of the new-tree part] for SUBPROOF(mm, D[nn], b)
  const rec = (mm: number, nn: number, b: boolean, p: readonly Uint8Array[]): [Buffer, Buffer] | null => {
    if (mm === nn) {
      if (b) return p.length === 0 ? [Buffer.from(oldRoot), Buffer.from(oldRoot)] : null;
      return p.length === 1 ? [Buffer.from(p[0]!), Buffer.from(p[0]!)] : null;
    }
    if (p.length === 0) return null;
    const k = largestPow2Below(nn);
    const sibling = p[p.length - 1]!;
    const rest = p.slice(0, -1);
    if (mm <= k) {
      const inner = rec(mm, k, b, rest);
      if (!inner) return null;
      // the old tree lies wholly inside D[0:k]
      return [inner[0], sha(ONE, inner[1], sibling)];
    }
    const inner = rec(mm - k, nn - k, false, rest);
    if (!inner) return null;
    return [sha(ONE, sibling, inner[0]), sha(ONE, sibling, inner[1])];
  };
  const r = rec(m, n, true, proof);
  return r !== null && r[0].equals(Buffer.from(oldRoot)) && r[1].equals(Buffer.from(newRoot));
}
