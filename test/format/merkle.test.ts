import { createHash, generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  consistencyPath,
  inclusionPath,
  leafHashOf,
  rootOfLeafHashes,
  type SubtreeHasher,
  verifyConsistency,
  verifyInclusion,
} from '../../src/format/merkle.js';
import { MerkleAccumulator } from '../../src/format/merkle-stream.js';
import { sha256LeafInto, sha256NodeInto } from '../../src/format/sha256.js';
import {
  checkNoteSignature,
  checkpointBody,
  formatNote,
  parseNote,
  parseVerifierKey,
  signatureLine,
  verifierKeyLine,
} from '../../src/format/signed-note.js';
import { refConsistency, refMth, refPath, refVerifyConsistency, refVerifyInclusion, refLeafHash } from '../support/rfc9162-reference.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));

// RFC 6962 test data as used by the Go and C++ Certificate Transparency implementations
// (transparency-dev/merkle testonly): eight entries and the roots of their prefixes.
const ENTRIES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(unhex);
const ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
// published inclusion and consistency proofs over the same eight entries
const INCLUSION: { m: number; n: number; path: string[] }[] = [
  { m: 0, n: 8, path: ['96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4'] },
  { m: 5, n: 8, path: ['bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b', 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7'] },
  { m: 2, n: 3, path: ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125'] },
  { m: 1, n: 5, path: ['6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b'] },
];
const CONSISTENCY: { m: number; n: number; path: string[] }[] = [
  { m: 1, n: 8, path: ['96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4'] },
  { m: 6, n: 8, path: ['0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a', 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7'] },
  { m: 2, n: 5, path: ['5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b'] },
];

function arrayTree(entries: readonly Uint8Array[]): SubtreeHasher & { leaves: Uint8Array[] } {
  const leaves = entries.map(leafHashOf);
  return { leaves, subtreeHash: (a, b) => rootOfLeafHashes(leaves, a, b) };
}

describe('RFC 9162 tree hash against published RFC 6962 vectors', () => {
  it('the vectors themselves agree with the independent reference (checked before use)', () => {
    for (let n = 1; n <= 8; n++) expect(hex(refMth(ENTRIES.slice(0, n))), `reference MTH of ${n}`).toBe(ROOTS[n - 1]);
    for (const v of INCLUSION) expect(refPath(v.m, ENTRIES.slice(0, v.n)).map(hex), `reference PATH(${v.m}, ${v.n})`).toEqual(v.path);
    for (const v of CONSISTENCY) expect(refConsistency(v.m, ENTRIES.slice(0, v.n)).map(hex), `reference PROOF(${v.m}, ${v.n})`).toEqual(v.path);
    expect(hex(refMth([]))).toBe(createHash('sha256').digest('hex'));
  });

  it('roots of every prefix 1..8 match', () => {
    const t = arrayTree(ENTRIES);
    for (let n = 1; n <= 8; n++) expect(hex(rootOfLeafHashes(t.leaves, 0, n)), `MTH of the first ${n}`).toBe(ROOTS[n - 1]);
  });

  it('inclusion paths match and verify; a wrong index or a flipped bit fails', () => {
    const t = arrayTree(ENTRIES);
    for (const v of INCLUSION) {
      expect(inclusionPath(t, v.m, v.n).map(hex)).toEqual(v.path);
      const root = unhex(ROOTS[v.n - 1]!);
      expect(verifyInclusion(t.leaves[v.m]!, v.m, v.n, v.path.map(unhex), root)).toBe(true);
      if (v.m + 1 < v.n) expect(verifyInclusion(t.leaves[v.m]!, v.m + 1, v.n, v.path.map(unhex), root)).toBe(false);
      const bad = v.path.map(unhex);
      bad[0]![3]! ^= 1;
      expect(verifyInclusion(t.leaves[v.m]!, v.m, v.n, bad, root)).toBe(false);
    }
  });

  it('consistency paths match and verify; swapped roots fail', () => {
    const t = arrayTree(ENTRIES);
    for (const v of CONSISTENCY) {
      expect(consistencyPath(t, v.m, v.n).map(hex)).toEqual(v.path);
      const a = unhex(ROOTS[v.m - 1]!);
      const b = unhex(ROOTS[v.n - 1]!);
      expect(verifyConsistency(v.m, v.n, a, b, v.path.map(unhex))).toBe(true);
      expect(verifyConsistency(v.m, v.n, b, a, v.path.map(unhex))).toBe(false);
    }
  });
});

describe('proofs agree with the independent RFC reading on random trees', () => {
  it('every inclusion and consistency proof for sizes up to 70', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 70 }), fc.integer({ min: 0, max: 1e9 }), fc.integer({ min: 0, max: 1e9 }), (n, a, b) => {
        const entries = Array.from({ length: n }, (_, i) => unhex(((i * 2654435761) >>> 0).toString(16).padStart(8, '0')));
        const t = arrayTree(entries);
        const root = rootOfLeafHashes(t.leaves);
        expect(hex(root)).toBe(hex(refMth(entries)));
        const m = a % n;
        const path = inclusionPath(t, m, n);
        expect(path.map(hex)).toEqual(refPath(m, entries).map(hex));
        expect(refVerifyInclusion(refLeafHash(entries[m]!), m, n, path, root)).toBe(true);
        expect(verifyInclusion(t.leaves[m]!, m, n, path, root)).toBe(true);
        const old = b % (n + 1);
        const cpath = consistencyPath(t, old, n);
        expect(cpath.map(hex)).toEqual(refConsistency(old, entries).map(hex));
        const oldRoot = rootOfLeafHashes(t.leaves, 0, old);
        expect(refVerifyConsistency(old, n, oldRoot, root, cpath)).toBe(true);
        expect(verifyConsistency(old, n, oldRoot, root, cpath)).toBe(true);
      }),
      { seed: 9162, numRuns: 300 },
    );
  });

  it('the streaming accumulator gives MTH at every size, across chunk boundaries', () => {
    const entries = Array.from({ length: 1100 }, (_, i) => createHash('sha256').update(String(i)).digest());
    const acc = new MerkleAccumulator();
    const leaves = entries.map((e) => leafHashOf(e));
    for (let i = 0; i < entries.length; i++) {
      acc.pushEventHash(entries[i]!, 0);
      const n = i + 1;
      if (n < 5 || n % 97 === 0 || n === 256 || n === 512 || n === 1024 || n === 1100) {
        expect(hex(acc.root()), `root after ${n}`).toBe(hex(rootOfLeafHashes(leaves, 0, n)));
      }
    }
  });
});

describe('the JavaScript SHA-256 of the two tree shapes', () => {
  it('agrees with node:crypto on random inputs, aliasing included', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 64, maxLength: 64 }), (bytes) => {
        const out = new Uint8Array(32);
        sha256LeafInto(bytes, 0, out, 0);
        expect(hex(out)).toBe(createHash('sha256').update(Buffer.from([0])).update(bytes.subarray(0, 32)).digest('hex'));
        const want = createHash('sha256').update(Buffer.from([1])).update(bytes).digest('hex');
        const copy = bytes.slice();
        sha256NodeInto(copy, 0, copy, 32, copy, 16);
        expect(hex(copy.subarray(16, 48))).toBe(want);
      }),
      { seed: 256, numRuns: 500 },
    );
  });
});

describe('signed notes (C2SP signed-note / tlog-checkpoint)', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const head = { origin: 'example.com/log', size: 8, root: unhex(ROOTS[7]!) };

  it('round-trips a signed checkpoint and checks the signature by name and key hash', () => {
    const body = checkpointBody(head);
    expect(body).toBe(`example.com/log\n8\n${Buffer.from(unhex(ROOTS[7]!)).toString('base64')}\n`);
    const note = formatNote(body, [signatureLine(body, 'alice', privateKey, publicKey)]);
    const parsed = parseNote(note);
    expect(parsed.head.size).toBe(8);
    expect(hex(parsed.head.root)).toBe(ROOTS[7]);
    const v = parseVerifierKey(verifierKeyLine('alice', publicKey));
    expect(checkNoteSignature(parsed, v)).toBe('valid');
    const other = parseVerifierKey(verifierKeyLine('bob', generateKeyPairSync('ed25519').publicKey));
    expect(checkNoteSignature(parsed, other)).toBe('absent');
  });

  it('a changed body or a forged signature does not verify', () => {
    const body = checkpointBody(head);
    const note = formatNote(body, [signatureLine(body, 'alice', privateKey, publicKey)]);
    const v = parseVerifierKey(verifierKeyLine('alice', publicKey));
    expect(checkNoteSignature(parseNote(note.replace('\n8\n', '\n7\n')), v)).toBe('invalid');
    const forger = generateKeyPairSync('ed25519');
    const forged = formatNote(body, [signatureLine(body, 'alice', forger.privateKey, publicKey)]);
    expect(checkNoteSignature(parseNote(forged), v)).toBe('invalid');
  });

  it('key hash follows the spec: SHA-256(name || 0x0A || 0x01 || key)[0:4]', () => {
    const line = verifierKeyLine('alice', publicKey);
    const [, name, kh, key] = /^([^+]+)\+([^+]+)\+(.+)$/.exec(line) as unknown as [string, string, string, string];
    const raw = Buffer.from(key, 'base64');
    expect(raw[0]).toBe(1);
    const want = createHash('sha256').update(Buffer.concat([Buffer.from(`${name}\n`), raw])).digest().subarray(0, 4).toString('hex');
    expect(kh).toBe(want);
  });

  it('rejects malformed notes', () => {
    expect(() => parseNote('a\n1\nxx\n')).toThrow(/root/);
    expect(() => parseNote('a\n01\n' + Buffer.alloc(32).toString('base64') + '\n')).toThrow(/tree size/);
    expect(() => parseNote('a b\n1\n' + Buffer.alloc(32).toString('base64') + '\n')).toThrow(/origin/);
    expect(() => parseNote('a\n1\n' + Buffer.alloc(32).toString('base64'))).toThrow(/newline/);
  });
});
