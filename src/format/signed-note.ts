/**
 * Signed tree heads as transparency logs write them: a C2SP tlog-checkpoint body inside
 * a C2SP signed note (docs/FORMAT.md 9.3).
 *
 *   <origin>\n<tree size, decimal>\n<root hash, base64>\n
 *   \n
 *   — <key name> <base64(key hash (4) || Ed25519 signature (64))>\n      (zero or more)
 *
 * The signature covers the body (the first three lines, newline included). The key
 * hash is the first 4 bytes of SHA-256(key name || 0x0A || 0x01 || public key), 0x01
 * being the Ed25519 signature type. A verifier key is written as
 * `<name>+<key hash, 8 hex digits>+<base64(0x01 || public key)>` (Go's note.NewVerifier).
 *
 * Pure: parsing, formatting and the signature check; the keys come in as KeyObjects.
 */
import { createHash, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import { MERKLE_HASH_BYTES } from './merkle.js';

export const SIG_LINE_PREFIX = '\u2014 ';
export const ED25519_TYPE = 0x01;
export const ED25519_PUBLIC_BYTES = 32;
export const ED25519_SIGNATURE_BYTES = 64;
export const KEY_HASH_BYTES = 4;
/** Upper bounds a parser enforces before looking further. */
export const MAX_NOTE_BYTES = 1_000_000;
export const MAX_NOTE_SIGNATURES = 100;
export const MAX_ORIGIN_BYTES = 1024;

export interface TreeHead {
  origin: string;
  size: number;
  root: Uint8Array;
}

export interface NoteSignature {
  name: string;
  keyHash: number;
  signature: Uint8Array;
}

export interface SignedHead {
  head: TreeHead;
  /** The signed text: the checkpoint body, its trailing newline included. */
  body: string;
  signatures: NoteSignature[];
}

export interface NoteVerifier {
  name: string;
  keyHash: number;
  publicKey: KeyObject;
}

export class NoteError extends Error {}

/** A key name has no whitespace and no '+' (signed-note); an origin no whitespace either. */
function checkName(name: string, what: string): void {
  if (name.length === 0 || name.length > MAX_ORIGIN_BYTES || /[\s+]/u.test(name)) {
    throw new NoteError(`${what} must be 1..${MAX_ORIGIN_BYTES} characters, without spaces or '+': ${JSON.stringify(name)}`);
  }
}

export function checkpointBody(head: TreeHead): string {
  if (!/^\S+$/u.test(head.origin) || head.origin.length > MAX_ORIGIN_BYTES) throw new NoteError(`origin must be one word without spaces: ${JSON.stringify(head.origin)}`);
  if (!Number.isSafeInteger(head.size) || head.size < 0) throw new NoteError(`tree size ${head.size} is not a non-negative integer`);
  if (head.root.length !== MERKLE_HASH_BYTES) throw new NoteError('root hash must be 32 bytes');
  return `${head.origin}\n${head.size}\n${Buffer.from(head.root).toString('base64')}\n`;
}

export function rawPublicKey(key: KeyObject): Uint8Array {
  const jwk = key.export({ format: 'jwk' }) as { kty?: string; crv?: string; x?: string };
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') throw new NoteError('not an Ed25519 key');
  return new Uint8Array(Buffer.from(jwk.x, 'base64url'));
}

export function keyHashOf(name: string, rawPub: Uint8Array): number {
  const h = createHash('sha256').update(Buffer.from(name, 'utf8')).update(Buffer.from([0x0a, ED25519_TYPE])).update(rawPub).digest();
  return h.readUInt32BE(0);
}

/** The verifier-key line for a public key (what `seglog keygen` writes to NAME.pub). */
export function verifierKeyLine(name: string, publicKey: KeyObject): string {
  checkName(name, 'key name');
  const raw = rawPublicKey(publicKey);
  const hash = keyHashOf(name, raw).toString(16).padStart(8, '0');
  return `${name}+${hash}+${Buffer.concat([Buffer.from([ED25519_TYPE]), raw]).toString('base64')}`;
}

export function parseVerifierKey(line: string): NoteVerifier {
  // the key's base64 may itself contain '+': split at the first two only
  const m = /^([^+\s]+)\+([^+\s]+)\+(\S+)$/u.exec(line.trim());
  if (!m) throw new NoteError('a verifier key is <name>+<hash>+<base64 key>');
  const [, name, hashHex, keyB64] = m as unknown as [string, string, string, string];
  checkName(name, 'key name');
  if (!/^[0-9a-f]{8}$/.test(hashHex)) throw new NoteError('verifier key hash must be 8 lowercase hex digits');
  const key = Buffer.from(keyB64, 'base64');
  if (key.length !== 1 + ED25519_PUBLIC_BYTES || key[0] !== ED25519_TYPE || key.toString('base64') !== keyB64) {
    throw new NoteError('verifier key is not a base64 Ed25519 key (type 0x01 then 32 bytes)');
  }
  const raw = key.subarray(1);
  const keyHash = parseInt(hashHex, 16);
  if (keyHashOf(name, raw) !== keyHash) throw new NoteError('verifier key hash does not match its name and key');
  const publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
  return { name, keyHash, publicKey };
}

export function verifierFromPublicKey(name: string, publicKey: KeyObject): NoteVerifier {
  checkName(name, 'key name');
  return { name, keyHash: keyHashOf(name, rawPublicKey(publicKey)), publicKey };
}

/** The signature line for `body`, signed with an Ed25519 private key under `name`. */
export function signatureLine(body: string, name: string, privateKey: KeyObject, publicKey: KeyObject): string {
  checkName(name, 'key name');
  const sig = sign(null, Buffer.from(body, 'utf8'), privateKey);
  const kh = Buffer.alloc(KEY_HASH_BYTES);
  kh.writeUInt32BE(keyHashOf(name, rawPublicKey(publicKey)));
  return `${SIG_LINE_PREFIX}${name} ${Buffer.concat([kh, sig]).toString('base64')}\n`;
}

/** A whole note: body, blank line, signature lines (none when unsigned). */
export function formatNote(body: string, signatureLines: readonly string[]): string {
  // unsigned: the checkpoint body alone (a note needs at least one signature to be a note)
  return signatureLines.length === 0 ? body : `${body}\n${signatureLines.join('')}`;
}

/**
 * Parses a signed checkpoint. An unsigned one (`body` alone, or body and a blank line)
 * is accepted: whether a signature is required is the caller's decision.
 */
export function parseNote(text: string): SignedHead {
  if (text.length > MAX_NOTE_BYTES) throw new NoteError(`note is over ${MAX_NOTE_BYTES} bytes`);
  if (!text.endsWith('\n')) throw new NoteError('note does not end with a newline');
  if (/[\u0000-\u0009\u000b-\u001f]/u.test(text)) throw new NoteError('note contains control characters');
  const split = text.indexOf('\n\n');
  const body = split < 0 ? text : text.slice(0, split + 1);
  const sigText = split < 0 ? '' : text.slice(split + 2);
  const lines = body.slice(0, -1).split('\n');
  if (lines.length < 3) throw new NoteError('checkpoint body needs an origin, a tree size and a root hash line');
  const [origin, sizeText, rootText] = lines as [string, string, string];
  if (!/^\S+$/u.test(origin)) throw new NoteError('checkpoint origin line is empty or has spaces');
  if (!/^(0|[1-9][0-9]{0,15})$/.test(sizeText) || !Number.isSafeInteger(Number(sizeText))) throw new NoteError(`checkpoint tree size ${JSON.stringify(sizeText)} is not a decimal integer`);
  const root = Buffer.from(rootText, 'base64');
  if (root.length !== MERKLE_HASH_BYTES || root.toString('base64') !== rootText) throw new NoteError('checkpoint root is not a base64 32-byte hash');
  const signatures: NoteSignature[] = [];
  for (const line of sigText.split('\n')) {
    if (line === '') continue;
    if (signatures.length >= MAX_NOTE_SIGNATURES) throw new NoteError(`more than ${MAX_NOTE_SIGNATURES} signatures`);
    const m = /^\u2014 (\S+) (\S+)$/u.exec(line);
    if (!m) throw new NoteError(`malformed signature line ${JSON.stringify(line.slice(0, 80))}`);
    const bytes = Buffer.from(m[2]!, 'base64');
    if (bytes.length < KEY_HASH_BYTES + 1 || bytes.toString('base64') !== m[2]) throw new NoteError(`signature of ${m[1]} is not valid base64`);
    signatures.push({ name: m[1]!, keyHash: bytes.readUInt32BE(0), signature: new Uint8Array(bytes.subarray(KEY_HASH_BYTES)) });
  }
  return { head: { origin, size: Number(sizeText), root: new Uint8Array(root) }, body, signatures };
}

/** Whether some signature line is by this key and verifies; 'absent' when none names it. */
export function checkNoteSignature(note: SignedHead, v: NoteVerifier): 'valid' | 'invalid' | 'absent' {
  let seen = false;
  for (const s of note.signatures) {
    if (s.name !== v.name || s.keyHash !== v.keyHash) continue;
    seen = true;
    if (s.signature.length === ED25519_SIGNATURE_BYTES && verify(null, Buffer.from(note.body, 'utf8'), v.publicKey, s.signature)) return 'valid';
  }
  return seen ? 'invalid' : 'absent';
}
