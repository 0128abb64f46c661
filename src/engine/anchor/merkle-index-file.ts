/**
 * Reading merkle.idx (format/merkle-index.ts): the meta part whole, leaf rows one
 * CRC-checked chunk at a time. Every read opens the file anew, so nothing stays open.
 */
import { crc32c } from '../../format/hash/crc32c.js';
import {
  decodeMerkleIndexMeta,
  MERKLE_INDEX_CHUNK_ROWS_BYTES,
  MERKLE_INDEX_HEADER_BYTES,
  merkleIndexMetaSize,
  type MerkleIndexMeta,
} from '../../format/merkle-index.js';
import type { FileSystem } from '../io/fs-types.js';
import { readFully } from '../io/fs-util.js';

/** Largest meta part read (segments, chunk table, open items): ~17 bytes per cached event would pass it only past 100 M events. */
export const MERKLE_INDEX_META_MAX_BYTES = 256 * 1024 * 1024;

export class MerkleIndexDamaged extends Error {}

export class MerkleIndexFile {
  private constructor(
    private readonly fs: FileSystem,
    readonly path: string,
    readonly meta: MerkleIndexMeta,
  ) {}

  /** The file's meta part checked and decoded; a string says why it is unusable. */
  static open(fs: FileSystem, path: string): MerkleIndexFile | string {
    const fd = fs.open(path, 'r');
    try {
      const fileSize = fs.fstat(fd).sizeBytes;
      const header = new Uint8Array(Math.min(MERKLE_INDEX_HEADER_BYTES, fileSize));
      readFully(fs, fd, header, 0, header.length, 0);
      const metaSize = merkleIndexMetaSize(header, fileSize);
      if (typeof metaSize === 'string') return metaSize;
      if (metaSize > MERKLE_INDEX_META_MAX_BYTES) return `its index part (${metaSize} bytes) is over the ${MERKLE_INDEX_META_MAX_BYTES}-byte limit`;
      const buf = new Uint8Array(metaSize);
      readFully(fs, fd, buf, 0, metaSize, 0);
      const meta = decodeMerkleIndexMeta(buf);
      return typeof meta === 'string' ? meta : new MerkleIndexFile(fs, path, meta);
    } finally {
      fs.close(fd);
    }
  }

  /**
   * Rows of chunks [first, first + count), each checked against its CRC unless `checked`
   * is false (verify compares every row with the frames anyway: a damaged row shows as
   * a difference, and the CRC would be ~40% of that comparison's time).
   */
  chunkRows(first: number, count = 1, checked = true): Uint8Array {
    const out = new Uint8Array(count * MERKLE_INDEX_CHUNK_ROWS_BYTES);
    const fd = this.fs.open(this.path, 'r');
    try {
      const n = readFully(this.fs, fd, out, 0, out.length, this.meta.rowsOffset + first * MERKLE_INDEX_CHUNK_ROWS_BYTES);
      if (n !== out.length) throw new MerkleIndexDamaged(`${this.path}: leaf rows of chunk ${first} are cut short`);
    } finally {
      this.fs.close(fd);
    }
    for (let k = 0; checked && k < count; k++) {
      const start = k * MERKLE_INDEX_CHUNK_ROWS_BYTES;
      if (crc32c(out, start, start + MERKLE_INDEX_CHUNK_ROWS_BYTES) !== this.meta.chunks[first + k]!.rowsCrc) {
        throw new MerkleIndexDamaged(`${this.path}: leaf rows of chunk ${first + k} fail their checksum`);
      }
    }
    return out;
  }
}
