/**
 * A forger with write access: rewrites old events and then recomputes everything a
 * hash chain and the checksums would otherwise betray — each changed event's BLAKE3
 * `event_hash`, the `prev_hash` and hash of every later event of the same entity, every
 * changed frame's CRC-32C, the SIDX footers (rebuilt), and index.ckpt (rewritten by a
 * clean read-write open and close). Afterwards plain `seglog verify` finds nothing:
 * that is the point. Only an anchor taken before the edit can tell.
 *
 * Payloads are replaced by ones of the same length, so no offset moves.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RealFs } from '../../src/engine/io/real-fs.js';
import { frameEndOf } from '../../src/engine/segment/segment-end.js';
import { rebuildFooters } from '../../src/tools/sidx-maintenance.js';
import { Store } from '../../src/engine/store/store.js';
import { resolveTarget } from '../../src/engine/segment/target.js';
import { createHasher } from '../../src/format/hash/blake3.js';
import { readU16, readU32, readU64, writeU32 } from '../../src/format/bytes.js';
import { crc32c } from '../../src/format/hash/crc32c.js';
import { MERKLE_INDEX_FILE } from '../../src/format/merkle-index.js';

const EVENT = 1;
const HASH = 32;

export interface ForgeOptions {
  /** Leave merkle.idx as it was (a careless forger); by default it is deleted, as if never written. */
  keepMerkleIndex?: boolean;
}

/** The payload bytes of the event with this sequence (a copy), or null. */
export function payloadOf(dir: string, seq: number): Uint8Array | null {
  let found: Uint8Array | null = null;
  eachEvent(dir, (buf, b) => {
    if (readU64(buf, b + 16) === seq) {
      const [ps, pl] = payloadSpan(buf, b);
      found = buf.slice(ps, ps + pl);
    }
  });
  return found;
}

function payloadSpan(buf: Uint8Array, b: number): [number, number] {
  const e = readU16(buf, b + 116);
  const s = readU16(buf, b + 118);
  return [b + 124 + e + s, readU32(buf, b + 120)];
}

function eachEvent(dir: string, fn: (buf: Uint8Array, body: number, bodyBytes: number) => void): void {
  const fs = new RealFs();
  for (const seg of resolveTarget(fs, dir).segments) {
    const buf = new Uint8Array(readFileSync(seg.path));
    const fd = fs.open(seg.path, 'r');
    const end = frameEndOf(fs, fd, buf.length);
    fs.close(fd);
    for (let off = 32; off + 8 <= end; ) {
      const len = readU32(buf, off);
      if (len === 0) break;
      if (buf[off + 8] === EVENT) fn(buf, off + 9, len - 1);
      off += 8 + len;
    }
  }
}

/** Replaces the payloads of the events with these sequences (same lengths) and covers every trace. */
export async function forgePayloads(dir: string, edits: Map<number, Uint8Array>, opts: ForgeOptions = {}): Promise<void> {
  const hasher = await createHasher();
  const fs = new RealFs();
  const target = resolveTarget(fs, dir);
  const lastHash = new Map<string, Uint8Array>();
  const rewritten = new Set<string>();
  let applied = 0;
  for (const seg of target.segments) {
    const buf = new Uint8Array(readFileSync(seg.path));
    const fd = fs.open(seg.path, 'r');
    const end = frameEndOf(fs, fd, buf.length);
    fs.close(fd);
    let changed = false;
    for (let off = 32; off + 8 <= end; ) {
      const len = readU32(buf, off);
      if (len === 0) break;
      if (buf[off + 8] === EVENT) {
        const b = off + 9;
        const bodyEnd = off + 8 + len;
        const e = readU16(buf, b + 116);
        const entity = Buffer.from(buf.subarray(b + 124, b + 124 + e)).toString('latin1');
        const seq = readU64(buf, b + 16);
        let dirty = false;
        const edit = edits.get(seq);
        if (edit) {
          const [ps, pl] = payloadSpan(buf, b);
          if (edit.length !== pl) throw new Error(`forger: event ${seq}'s payload is ${pl} bytes, the edit ${edit.length}`);
          buf.set(edit, ps);
          dirty = true;
          applied++;
        }
        if (rewritten.has(entity)) {
          buf.set(lastHash.get(entity)!, b + 84); // prev_hash: the entity's forged previous hash
          dirty = true;
        }
        if (dirty) {
          buf.set(hasher.hash(buf.subarray(b, bodyEnd - HASH)), bodyEnd - HASH);
          writeU32(buf, off + 4, crc32c(buf, off + 8, bodyEnd));
          rewritten.add(entity);
          changed = true;
        }
        lastHash.set(entity, buf.slice(bodyEnd - HASH, bodyEnd));
      }
      off += 8 + len;
    }
    if (changed) writeFileSync(seg.path, buf);
  }
  if (applied !== edits.size) throw new Error(`forger: found ${applied} of ${edits.size} events to edit`);
  rebuildFooters(fs, target);
  rmSync(join(dir, 'index.ckpt'), { force: true });
  if (!opts.keepMerkleIndex) rmSync(join(dir, MERKLE_INDEX_FILE), { force: true });
  // a clean read-write open and close writes a checkpoint that matches the forged segments
  const store = await Store.open(dir, {});
  store.close();
}
