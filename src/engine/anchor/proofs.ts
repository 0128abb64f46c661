/**
 * Heads and proofs of a store as documents (docs/FORMAT.md 9.5), and their offline check.
 * Proof JSON carries hashes in base64 (as checkpoints do) and, for inclusion, the
 * event's canonical bytes, so a checker with no store recomputes the event's BLAKE3
 * `event_hash`, its leaf hash and the root, and trusts nothing the proof merely states.
 */
import { HASH_BYTES, type Blake3 } from '../../format/hash/blake3.js';
import { EV, ev } from '../../format/event.js';
import { FRAME_PREFIX_BYTES, FrameType } from '../../format/frame.js';
import { copyBytes, readU32, readU64 } from '../../format/bytes.js';
import { crc32c } from '../../format/hash/crc32c.js';
import { SIDX_ENTRY_BYTES, SIDX_HEAD_BYTES } from '../../format/sidx.js';
import { probeFooter } from '../segment/segment-end.js';
import { consistencyPath, inclusionPath, leafHash, MAX_PROOF_HASHES, MERKLE_HASH_BYTES, verifyConsistency, verifyInclusion } from '../../format/merkle.js';
import { checkpointBody, formatNote, signatureLine, type TreeHead } from '../../format/signed-note.js';
import { decodeSegmentHeader, SEGMENT_HEADER_BYTES } from '../../format/segment-header.js';
import { SeglogError } from '../io/errors.js';
import type { FileSystem } from '../io/fs-types.js';
import { readFully } from '../io/fs-util.js';
import { type SegmentFile, walkSegment } from '../segment/walker.js';
import type { Signer } from './anchor-files.js';
import type { LogTree } from './log-tree.js';

export const PROOF_FORMAT = 'seglog-proof/1';

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

