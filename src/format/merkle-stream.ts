/**
 * The tree hash of a growing list of leaves in memory bounded by its height: leaves are
 * hashed into aligned chunks of CHUNK_LEAVES, each chunk's root is pushed onto a stack of
 * complete aligned subtrees (equal sizes merge), and the root of the first n leaves is
 * the stack folded from the right with the partial chunk (docs/FORMAT.md 9.2). This is
 * RFC 9162's MTH: every stack entry is a power-of-two subtree larger than everything
 * after it, so each fold step is MTH's split at the largest power of two below n.
 */
import { EMPTY_ROOT, leafHash, MERKLE_HASH_BYTES, nodeHash, rootOfLeafHashes } from './merkle.js';

/** Leaves per chunk: the cached level of the tree (merkle.idx stores one root per chunk). */
export const CHUNK_LEAVES = 256;

/** MTH of one full chunk given its leaf hashes back to back (CHUNK_LEAVES × 32 bytes). */
export function chunkRoot(leafHashes: Uint8Array): Uint8Array {
  let level: Uint8Array[] = [];
  for (let i = 0; i < leafHashes.length; i += MERKLE_HASH_BYTES) level.push(leafHashes.subarray(i, i + MERKLE_HASH_BYTES));
  if (level.length !== CHUNK_LEAVES) throw new RangeError(`chunkRoot: ${level.length} leaves, want ${CHUNK_LEAVES}`);
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(nodeHash(level[i]!, level[i + 1]!));
    level = next;
  }
  return level[0]!;
}

export class MerkleAccumulator {
  count = 0;
  /** Complete aligned subtrees, largest first: sizes are distinct powers of two ≥ CHUNK_LEAVES. */
  private readonly stack: { size: number; hash: Uint8Array }[] = [];
  private readonly partial = new Uint8Array(CHUNK_LEAVES * MERKLE_HASH_BYTES);
  private partialLen = 0;

  /** `onChunk(index, root)`: each full chunk's root, in order. */
  constructor(private readonly onChunk?: (chunkIndex: number, root: Uint8Array) => void) {}

  /** Adds the leaf whose entry is the 32-byte event hash at buf[off, off + 32). */
  pushEventHash(buf: Uint8Array, off: number): void {
    this.partial.set(leafHash(buf, off), this.partialLen * MERKLE_HASH_BYTES);
    this.partialLen++;
    this.count++;
    if (this.partialLen < CHUNK_LEAVES) return;
    const root = chunkRoot(this.partial);
    this.onChunk?.(this.count / CHUNK_LEAVES - 1, root);
    this.partialLen = 0;
    this.pushSubtree(CHUNK_LEAVES, root);
  }

  /** Adds a whole chunk whose root is known (a cached one); only at a chunk boundary. */
  pushChunkRoot(root: Uint8Array): void {
    if (this.partialLen !== 0) throw new Error('pushChunkRoot: not at a chunk boundary');
    this.count += CHUNK_LEAVES;
    this.pushSubtree(CHUNK_LEAVES, root);
  }

  private pushSubtree(size: number, hash: Uint8Array): void {
    let s = size;
    let h = hash;
    while (this.stack.length > 0 && this.stack[this.stack.length - 1]!.size === s) {
      const left = this.stack.pop()!;
      h = nodeHash(left.hash, h);
      s *= 2;
    }
    this.stack.push({ size: s, hash: h });
  }

  /** MTH of every leaf pushed so far. */
  root(): Uint8Array {
    if (this.count === 0) return EMPTY_ROOT;
    let r: Uint8Array | null = null;
    if (this.partialLen > 0) {
      const leaves: Uint8Array[] = [];
      for (let i = 0; i < this.partialLen; i++) leaves.push(this.partial.subarray(i * MERKLE_HASH_BYTES, (i + 1) * MERKLE_HASH_BYTES));
      r = rootOfLeafHashes(leaves);
    }
    for (let i = this.stack.length - 1; i >= 0; i--) r = r === null ? this.stack[i]!.hash : nodeHash(this.stack[i]!.hash, r);
    return new Uint8Array(r!); // a copy: r may be a view of the partial chunk
  }
}
