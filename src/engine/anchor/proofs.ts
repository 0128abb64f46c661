/**
 * Heads and proofs of a store as documents (docs/FORMAT.md 9.5); their offline check is
 * proof-document.ts (check-proof loads that alone, none of the store code here).
 * Proof JSON carries hashes in base64 (as checkpoints do) and, for inclusion, the
 * event's canonical bytes, so a checker with no store recomputes the event's BLAKE3
 * `event_hash`, its leaf hash and the root, and trusts nothing the proof merely states.
 */
import { HASH_BYTES } from '../../format/hash/blake3.js';
import { EV, ev } from '../../format/event.js';
import { FRAME_PREFIX_BYTES, FrameType } from '../../format/frame.js';
import { copyBytes, readU32, readU64 } from '../../format/bytes.js';
import { crc32c } from '../../format/hash/crc32c.js';
import { SIDX_ENTRY_BYTES, SIDX_HEAD_BYTES } from '../../format/sidx.js';
import { probeFooter } from '../segment/segment-end.js';
import { consistencyPath, inclusionPath } from '../../format/merkle.js';
import { checkpointBody, formatNote, signatureLine, type TreeHead } from '../../format/signed-note.js';
import { decodeSegmentHeader, SEGMENT_HEADER_BYTES } from '../../format/segment-header.js';
import type { FileSystem } from '../io/fs-types.js';
import { readFully } from '../io/fs-util.js';
import { type SegmentFile, walkSegment } from '../segment/walker.js';
import type { Signer } from './anchor-files.js';
import type { LogTree } from './log-tree.js';
import { PROOF_FORMAT, type ConsistencyProof, type InclusionProof } from './proof-document.js';

export type { ConsistencyProof, InclusionProof, Proof } from './proof-document.js';

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');

/** The note text for a head, signed by each signer. */
export function headNote(head: TreeHead, signers: readonly Signer[]): string {
  const body = checkpointBody(head);
  return formatNote(body, signers.map((s) => signatureLine(body, s.name, s.privateKey, s.publicKey)));
}

/** An EVENT frame's body, found by sequence: a copy, or null when no frame has it. */
export function findEventBody(fs: FileSystem, segments: SegmentFile[], seq: number): { body: Uint8Array; segment: string; offset: number } | null {
  // the segment whose header's first sequence is the largest one ≤ seq
  let pick = -1;
  for (let i = 0; i < segments.length; i++) {
    const fd = fs.open(segments[i]!.path, 'r');
    const head = new Uint8Array(SEGMENT_HEADER_BYTES);
    try {
      readFully(fs, fd, head, 0, head.length, 0);
    } finally {
      fs.close(fd);
    }
    const h = decodeSegmentHeader(head);
    if (!h.ok) continue;
    if (h.header.firstSeq <= seq) pick = i;
    else break;
  }
  if (pick >= 0) {
    const quick = eventBodyViaFooter(fs, segments[pick]!, seq);
    if (quick) return quick;
  }
  for (let i = Math.max(0, pick); i < segments.length; i++) {
    let found: { body: Uint8Array; segment: string; offset: number } | null = null;
    let past = false;
    walkSegment(
      fs,
      segments[i]!,
      i,
      i === segments.length - 1,
      {
        onFrame(r) {
          if (r.type !== FrameType.EVENT || found) return;
          const s = ev.seq(r.buf, r.bodyOff);
          if (s === seq) {
            const body = new Uint8Array(r.bodyBytes);
            body.set(r.buf.subarray(r.bodyOff, r.bodyOff + r.bodyBytes));
            found = { body, segment: segments[i]!.name, offset: r.frameOffset };
          } else if (s > seq) past = true;
        },
      },
      { shouldStop: () => found !== null || past },
    );
    if (found || past) return found;
  }
  return null;
}

/**
 * The fast way: binary search of the SIDX footer's entries (sorted by sequence: file
 * order) with 80-byte reads, then the frame itself read and checked (CRC, type,
 * sequence). The footer is only a pointer: anything that does not check out returns
 * null and the caller walks the frames.
 */
function eventBodyViaFooter(fs: FileSystem, seg: SegmentFile, seq: number): { body: Uint8Array; segment: string; offset: number } | null {
  const fd = fs.open(seg.path, 'r');
  try {
    const size = fs.fstat(fd).sizeBytes;
    const probe = probeFooter(fs, fd, size);
    if (probe.status !== 'present') return null;
    const entries = probe.trailer.footerStart + SIDX_HEAD_BYTES;
    const entry = new Uint8Array(SIDX_ENTRY_BYTES);
    let lo = 0;
    let hi = probe.trailer.entryCount - 1;
    let offset = -1;
    for (let steps = 0; lo <= hi && steps < 64; steps++) {
      const mid = Math.floor((lo + hi) / 2);
      if (readFully(fs, fd, entry, 0, SIDX_ENTRY_BYTES, entries + mid * SIDX_ENTRY_BYTES) !== SIDX_ENTRY_BYTES) return null;
      const s = readU64(entry, 0);
      if (s === seq) {
        offset = readU64(entry, 40);
        break;
      }
      if (s < seq) lo = mid + 1;
      else hi = mid - 1;
    }
    if (offset < SEGMENT_HEADER_BYTES || offset + FRAME_PREFIX_BYTES > probe.frameEnd) return null;
    const prefix = new Uint8Array(FRAME_PREFIX_BYTES);
    readFully(fs, fd, prefix, 0, FRAME_PREFIX_BYTES, offset);
    const length = readU32(prefix, 0);
    if (length < 2 || offset + FRAME_PREFIX_BYTES - 1 + length > probe.frameEnd) return null;
    const frame = new Uint8Array(FRAME_PREFIX_BYTES - 1 + length);
    if (readFully(fs, fd, frame, 0, frame.length, offset) !== frame.length) return null;
    if (readU32(frame, 4) !== crc32c(frame, FRAME_PREFIX_BYTES - 1, frame.length)) return null;
    if (frame[FRAME_PREFIX_BYTES - 1] !== FrameType.EVENT) return null;
    const body = copyBytes(frame, FRAME_PREFIX_BYTES);
    if (body.length < EV.VAR + HASH_BYTES || ev.seq(body, 0) !== seq) return null;
    return { body, segment: seg.name, offset };
  } finally {
    fs.close(fd);
  }
}

export function inclusionProof(tree: LogTree, origin: string, leafIndex: number, treeSize: number, body: Uint8Array): InclusionProof {
  const hashOff = body.length - HASH_BYTES;
  return {
    format: PROOF_FORMAT,
    type: 'inclusion',
    origin,
    treeSize,
    root: b64(tree.root(treeSize)),
    leafIndex,
    seq: ev.seq(body, 0),
    eventHash: Buffer.from(body.subarray(hashOff)).toString('hex'),
    eventBytes: b64(body.subarray(0, hashOff)),
    auditPath: inclusionPath(tree, leafIndex, treeSize).map(b64),
  };
}

export function consistencyProof(tree: LogTree, origin: string, oldSize: number, newSize: number): ConsistencyProof {
  return {
    format: PROOF_FORMAT,
    type: 'consistency',
    origin,
    from: { size: oldSize, root: b64(tree.root(oldSize)) },
    to: { size: newSize, root: b64(tree.root(newSize)) },
    path: consistencyPath(tree, oldSize, newSize).map(b64),
  };
}

