/**
 * The tree hash of a growing list of leaves in memory bounded by its height: leaves are
 * hashed into aligned chunks of CHUNK_LEAVES, each chunk's root is pushed onto a stack of
 * complete aligned subtrees (equal sizes merge), and the root of the first n leaves is
 * the stack folded from the right with the partial chunk (docs/FORMAT.md 9.2). This is
 * RFC 9162's MTH: every stack entry is a power-of-two subtree larger than everything
 * after it, so each fold step is MTH's split at the largest power of two below n.
 */
import { EMPTY_ROOT, MERKLE_HASH_BYTES, nodeHash, rootOfLeafHashes } from './merkle.js';
import { sha256LeafInto, sha256NodeInto } from './sha256.js';
import { Sha256x4, SHA_MULTI_BUF_BASE } from './hash/sha256-multi.js';
import { copyBytes } from './bytes.js';

/** Leaves per chunk: the cached level of the tree (merkle.idx stores one root per chunk). */
export const CHUNK_LEAVES = 256;

/** MTH of one full chunk given its leaf hashes back to back (CHUNK_LEAVES × 32 bytes). */
export function chunkRoot(leafHashes: Uint8Array): Uint8Array {
  if (leafHashes.length !== CHUNK_LEAVES * MERKLE_HASH_BYTES) throw new RangeError(`chunkRoot: ${leafHashes.length} bytes, want ${CHUNK_LEAVES} hashes`);
  const work = chunkScratch;
  work.set(leafHashes);
  reduceChunkInPlace(work);
  return copyBytes(work, 0, MERKLE_HASH_BYTES);
}

const chunkScratch = new Uint8Array(CHUNK_LEAVES * MERKLE_HASH_BYTES);

/**
 * Chunks hashed in JavaScript before the SIMD kernel is made: emitting and compiling it
 * costs ~30-40 ms of CPU, what ~150 chunks cost in JavaScript, so a command that hashes a
 * few (`head` and `prove` over an unsealed tail of ~60 k events: ~230 chunks) never pays
 * for it, and `verify --anchor` over a large store pays ~30 ms more than with it at once.
 */
export const KERNEL_AFTER_CHUNKS = 256;
let chunksInJs = 0;
/** The SIMD kernel (hash/sha256-multi.ts), made when first worth it; null: the JavaScript path. */
let kernel: Sha256x4 | null | undefined;

function simdKernel(): Sha256x4 | null {
  if (kernel !== undefined) return kernel;
  if (chunksInJs < KERNEL_AFTER_CHUNKS) {
    chunksInJs++;
    return null;
  }
  kernel = Sha256x4.create();
  return kernel;
}

/**
 * MTH of one full chunk given its CHUNK_LEAVES event hashes, hash k at
 * src[off + k × stride, +32) (stride 32: back to back; 40: merkle.idx leaf rows), into
 * out[outOff, +32). Four lanes at a time in WebAssembly SIMD when available (~4x the
 * JavaScript below, which is the reference and the fallback).
 */
export function chunkRootOfEventHashes(src: Uint8Array, off: number, stride: number, out: Uint8Array, outOff: number): void {
  const k = simdKernel();
  if (k !== null) {
    const mem = k.mem;
    if (stride === MERKLE_HASH_BYTES) {
      mem.set(src.subarray(off, off + CHUNK_LEAVES * MERKLE_HASH_BYTES), SHA_MULTI_BUF_BASE);
    } else {
      for (let i = 0; i < CHUNK_LEAVES; i++) mem.set(src.subarray(off + i * stride, off + i * stride + MERKLE_HASH_BYTES), SHA_MULTI_BUF_BASE + i * MERKLE_HASH_BYTES);
    }
    k.leaves(CHUNK_LEAVES);
    k.reduce(CHUNK_LEAVES);
    for (let i = 0; i < MERKLE_HASH_BYTES; i++) out[outOff + i] = mem[SHA_MULTI_BUF_BASE + i]!;
    return;
  }
  const work = chunkScratch;
  for (let i = 0; i < CHUNK_LEAVES; i++) sha256LeafInto(src, off + i * stride, work, i * MERKLE_HASH_BYTES);
  reduceChunkInPlace(work);
  for (let i = 0; i < MERKLE_HASH_BYTES; i++) out[outOff + i] = work[i]!;
}

/** Level by level, node i of the next level written over node i of this one (its inputs are 2i and 2i + 1 ≥ i). */
export function reduceChunkInPlace(work: Uint8Array): void {
  for (let n = CHUNK_LEAVES; n > 1; n /= 2) {
    for (let i = 0; i < n / 2; i++) sha256NodeInto(work, 2 * i * MERKLE_HASH_BYTES, work, (2 * i + 1) * MERKLE_HASH_BYTES, work, i * MERKLE_HASH_BYTES);
  }
}

export class MerkleAccumulator {
  count = 0;
  /** Complete aligned subtrees, largest first: sizes are distinct powers of two ≥ CHUNK_LEAVES. */
  private readonly stack: { size: number; hash: Uint8Array }[] = [];
  /** Event hashes (not yet leaf hashes) of the partial chunk: a full chunk is hashed at once. */
  private readonly partial = new Uint8Array(CHUNK_LEAVES * MERKLE_HASH_BYTES);
  private partialLen = 0;

  /** `onChunk(index, root)`: each full chunk's root, in order. */
  constructor(private readonly onChunk?: (chunkIndex: number, root: Uint8Array) => void) {}

  /** Adds the leaf whose entry is the 32-byte event hash at buf[off, off + 32). */
  pushEventHash(buf: Uint8Array, off: number): void {
    const partial = this.partial;
    const p = this.partialLen * MERKLE_HASH_BYTES;
    for (let i = 0; i < MERKLE_HASH_BYTES; i++) partial[p + i] = buf[off + i]!; // no view object per leaf
    this.partialLen++;
    this.count++;
    if (this.partialLen < CHUNK_LEAVES) return;
    const root = new Uint8Array(MERKLE_HASH_BYTES);
    chunkRootOfEventHashes(partial, 0, MERKLE_HASH_BYTES, root, 0);
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
      for (let i = 0; i < this.partialLen; i++) {
        const leaf = new Uint8Array(MERKLE_HASH_BYTES);
        sha256LeafInto(this.partial, i * MERKLE_HASH_BYTES, leaf, 0);
        leaves.push(leaf);
      }
      r = rootOfLeafHashes(leaves);
    }
    for (let i = this.stack.length - 1; i >= 0; i--) r = r === null ? this.stack[i]!.hash : nodeHash(this.stack[i]!.hash, r);
    return new Uint8Array(r!); // a copy: r may be a stack entry
  }
}
