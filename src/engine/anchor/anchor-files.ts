/**
 * Files the anchor commands read and write: signed heads (notes), Ed25519 keys, proofs.
 * Every failure is a SeglogError naming the file: unreadable is `io`/`not_found` (exit 2),
 * malformed is `bad_input` (exit 2); a head or proof that parses but does not check out
 * is the caller's `anchor_mismatch` / `bad_proof` / `bad_signature` (exit 1).
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { checkNoteSignature, NoteError, type NoteVerifier, parseNote, parseVerifierKey, type SignedHead, verifierFromPublicKey } from '../../format/signed-note.js';
import { ioError, SeglogError } from '../io/errors.js';

/** Largest head, key or proof file read. */
export const MAX_ANCHOR_FILE_BYTES = 1024 * 1024;

export function readSmallText(path: string, what: string): string {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (err) {
    throw ioError(err, path, `cannot read ${what}`);
  }
  if (buf.length > MAX_ANCHOR_FILE_BYTES) throw new SeglogError('bad_input', `${what} is over ${MAX_ANCHOR_FILE_BYTES} bytes`, { file: path });
  return buf.toString('utf8');
}

export interface HeadFile {
  path: string;
  note: SignedHead;
}

export function readHeadFile(path: string): HeadFile {
  const text = readSmallText(path, 'head');
  try {
    return { path, note: parseNote(text) };
  } catch (err) {
    if (err instanceof NoteError) throw new SeglogError('bad_input', `not a signed checkpoint: ${err.message}`, { file: path });
    throw err;
  }
}

/** A key name from a file name: `keys/alice.pub` → `alice`. */
export function keyNameOf(path: string): string {
  return basename(path).replace(/\.(pub|key|pem)$/u, '');
}

/** A verifier key: the note verifier line `keygen` writes (NAME.pub), or a PEM public key named after its file. */
export function readVerifier(path: string): NoteVerifier {
  const text = readSmallText(path, 'public key').trim();
  try {
    if (text.startsWith('-----BEGIN')) return verifierFromPublicKey(keyNameOf(path), createPublicKey(text));
    return parseVerifierKey(text.split('\n')[0]!);
  } catch (err) {
    throw new SeglogError('bad_input', `not an Ed25519 verifier key: ${(err as Error).message}`, { file: path });
  }
}

export interface Signer {
  name: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export function readSigner(path: string, name = keyNameOf(path)): Signer {
  const text = readSmallText(path, 'private key');
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(text);
  } catch (err) {
    throw new SeglogError('bad_input', `not a PEM private key: ${(err as Error).message}`, { file: path });
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new SeglogError('bad_input', `not an Ed25519 key (${privateKey.asymmetricKeyType})`, { file: path });
  return { name, privateKey, publicKey: createPublicKey(privateKey) };
}

export interface SignatureCheck {
  key: string;
  status: 'valid' | 'invalid' | 'absent';
}

/** Checks a head against every given key; each must have signed it. */
export function checkHeadSignatures(head: HeadFile, verifiers: readonly NoteVerifier[]): SignatureCheck[] {
  return verifiers.map((v) => ({ key: v.name, status: checkNoteSignature(head.note, v) }));
}

export function describeSignatureFailures(checks: readonly SignatureCheck[]): string | null {
  const bad = checks.filter((c) => c.status !== 'valid');
  if (bad.length === 0) return null;
  return bad.map((c) => (c.status === 'absent' ? `no signature by key ${c.key}` : `the signature by key ${c.key} does not verify`)).join('; ');
}
