import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Blake3, createHasher } from '../../src/format/hash/blake3.js';
import { crc32c } from '../../src/format/hash/crc32c.js';
import { RealFs } from '../../src/engine/io/real-fs.js';
import { listSegments } from '../../src/engine/segment/walker.js';
import { type VerifyOptions, verifySegments } from '../../src/engine/verify/verify.js';
import { MAX_VERIFY_WORKERS, precheckSegment, sidxWorkersByDefault } from '../../src/engine/verify/verify-parallel.js';
import { WorkersOnlyVerdicts } from '../support/workers-only-verdicts.js';
import { StaticVerdicts } from '../support/static-verdicts.js';
import { FIXTURES_DIR, frameEndOfFile, openStore, REPO_ROOT, removeTempDirs, tempDir } from '../engine/test-store.js';

afterAll(removeTempDirs);

let hasher: Blake3;
let base: string;
const fs = new RealFs();

/**
 * A store of several small segments with what makes cross-segment checks interesting:
 * standalone events, batches that span a rotation, an aborted-looking open batch at the
 * end, 40 entities whose chains cross every segment boundary.
 */
async function buildStore(dir: string): Promise<void> {
  const { store } = await openStore(dir, { segmentMaxBytes: 16 * 1024 });
  for (let i = 0; i < 300; i++) {
    const payload = { i, note: 'x'.repeat(i % 50) };
    if (i % 7 === 0) {
      store.appendBatch([0, 1, 2, 3].map((k) => ({ entity: `e${(i + k) % 40}`, scope: 's', payload: { ...payload, k } })));
    } else {
      store.append({ entity: `e${i % 40}`, scope: i % 2 ? 's' : 't' }, payload);
    }
  }
  store.close();
}

beforeAll(async () => {
  hasher = await createHasher();
  base = join(tempDir('seglog-par-'), 'store');
  await buildStore(base);
});

function copyStore(from: string): string {
  const dest = join(tempDir('seglog-par-'), 'store');
  cpSync(from, dest, { recursive: true });
  return dest;
}

/** The sequential report, and the report with verdicts for the given segments taken from prechecks. */
function bothReports(dir: string, prechecked: (i: number) => boolean, opts: VerifyOptions = {}, footers = true) {
  const segs = listSegments(fs, dir);
  const sequential = verifySegments(fs, segs, hasher, opts);
  const verdicts = new StaticVerdicts(fs, segs.length);
  segs.forEach((s, i) => {
    if (prechecked(i)) verdicts.add(precheckSegment(fs, s.path, i, segs.length, hasher, undefined, footers));
  });
  const parallel = verifySegments(fs, segs, hasher, { ...opts, hashVerdicts: verdicts });
  return { sequential, parallel, segments: segs.length };
}

describe('verify with worker verdicts gives the sequential report, byte for byte', () => {
  it('on a clean multi-segment store, whichever segments were prechecked', () => {
    expect(listSegments(fs, base).length, 'the test store should span several segments').toBeGreaterThan(4);
    for (const pick of [() => true, (i: number) => i % 2 === 0, (i: number) => i > 0, () => false]) {
      const { sequential, parallel } = bothReports(base, pick);
      expect(JSON.stringify(parallel), 'src/engine/verify/verify-parallel.ts: verdicts changed the report').toBe(JSON.stringify(sequential));
      expect(sequential.ok).toBe(true);
    }
  });

  it('on every committed fixture (torn tails, flipped bits, chain breaks, garbage)', () => {
    for (const name of readdirSync(FIXTURES_DIR)) {
      const dir = join(FIXTURES_DIR, name);
      if (!existsSync(join(dir, 'seglog.json'))) continue;
      const { sequential, parallel } = bothReports(dir, () => true);
      expect(JSON.stringify(parallel), `fixture ${name}`).toBe(JSON.stringify(sequential));
    }
  });

  it('on copies damaged at random bytes, with and without --max-errors', () => {
    const segs = listSegments(fs, base);
    fc.assert(
      fc.property(
        fc.array(fc.record({ seg: fc.nat(segs.length - 1), at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }), { minLength: 1, maxLength: 4 }),
        fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
        fc.nat(15),
        (flips, maxErrors, pickMask) => {
          const dir = flipped(copyStore(base), segs, flips);
          // prechecks with and without the footer check (verify-parallel.ts FOOTERS_IN_WORKERS)
          const { sequential, parallel } = bothReports(dir, (i) => ((pickMask >> (i % 4)) & 1) === 1 || pickMask === 0, { maxErrors }, flips.length % 2 === 0);
          expect(JSON.stringify(parallel), `flips ${JSON.stringify(flips)}, maxErrors ${maxErrors}`).toBe(JSON.stringify(sequential));
        },
      ),
      { seed: 0x7a11e1, numRuns: 40 },
    );
  });

  it('precheckSegment flags exactly the frames whose hash verify reports as mismatched', () => {
    const dir = copyStore(base);
    const seg = listSegments(fs, dir)[2]!;
    const bytes = readFileSync(seg.path);
    // flip a payload byte and fix the frame CRC so only the hash can tell: find the 5th frame
    let off = 32;
    for (let k = 0; k < 5; k++) off += 8 + bytes.readUInt32LE(off);
    const len = bytes.readUInt32LE(off);
    bytes[off + 8 + len - 40] ^= 0x20;
    bytes.writeUInt32LE(crc32c(bytes, off + 8, off + 8 + len), off + 4);
    writeFileSync(seg.path, bytes);
    const pre = precheckSegment(fs, seg.path, 2, listSegments(fs, dir).length, hasher);
    const report = verifySegments(fs, listSegments(fs, dir), hasher);
    const mismatched = report.problems.filter((p) => p.code === 'hash_mismatch' && p.segment === seg.name).map((p) => p.offset);
    expect(pre.mismatches).toEqual(mismatched);
    expect(pre.mismatches).toEqual([off]);
    expect(pre.checkedEnd, 'a clean segment is checked up to where its frames end').toBe(frameEndOfFile(seg.path));
  });
});

/** The worker threads themselves run the built JS: these tests need `npm run build` first. */
const BUILT_WORKER = join(REPO_ROOT, 'dist', 'engine', 'verify', 'verify-worker.js');

describe('sidx rebuild\'s footer-check workers by default', () => {
  // The policy, not a speed: on two cores the worker only competed with the walk for the
  // other core (docs/DECISIONS.md, "Performance, round five (issue 18): sidx rebuild").
  // SEGLOG_SIDX_WORKERS still overrides it; test/commands/sidx.test.ts holds the answers
  // equal with the workers on and off. If this fails, look at sidxWorkersByDefault.
  it('none on one or two cores; one fewer than the cores, at most MAX_VERIFY_WORKERS, from three on', () => {
    expect([1, 2].map(sidxWorkersByDefault)).toEqual([0, 0]);
    expect([3, 4, 5, 64].map(sidxWorkersByDefault)).toEqual([2, 3, 4, MAX_VERIFY_WORKERS].map((n) => Math.min(n, MAX_VERIFY_WORKERS)));
  });
});

describe('worker threads (built dist/)', () => {
  beforeAll(() => {
    if (!existsSync(BUILT_WORKER)) throw new Error(`${BUILT_WORKER} is missing: run \`npm run build\` first (npm test does)`);
  });
  it('ParallelVerdicts hands the walk the same verdicts as in-process prechecks', () => {
    const segs = listSegments(fs, base);
    const pv = new WorkersOnlyVerdicts(new URL(`file://${BUILT_WORKER}`), fs, segs.map((s) => s.path), 2, { footers: true });
    try {
      const parallel = verifySegments(fs, segs, hasher, { hashVerdicts: pv });
      expect(JSON.stringify(parallel)).toBe(JSON.stringify(verifySegments(fs, segs, hasher)));
      expect(pv.selfChecked, 'every verdict should have come from a worker').toBe(0);
    } finally {
      pv.close();
    }
  });

  it('with steal (sidx rebuild), the walk prechecks later segments itself while it waits, and every result equals the in-process precheck', () => {
    // The walk never takes a segment from the front (workers-only), so it waits for the
    // worker from the first segment on, and steals from the back while it waits: the worker
    // is still booting when the walk first asks. If this fails, look at
    // ParallelVerdicts.stealOne and claimSlot (src/engine/verify/verify-parallel.ts).
    const damaged = copyStore(base);
    const segs = listSegments(fs, damaged);
    const bytes = readFileSync(segs[2]!.path);
    bytes[bytes.length - 40] ^= 0x01; // inside segment 2's footer
    writeFileSync(segs[2]!.path, bytes);
    const pv = new WorkersOnlyVerdicts(new URL(`file://${BUILT_WORKER}`), fs, segs.map((s) => s.path), 1, { footers: true, footersOnly: true, steal: { hasher: null } });
    try {
      for (let k = 0; k < segs.length - 1; k++) {
        expect(pv.footersComing(k)).toBe(true);
        const got = pv.precheck(k);
        const want = precheckSegment(fs, segs[k]!.path, k, segs.length, null, undefined, true);
        expect(got, `segment ${k}`).toEqual(want);
      }
      expect(pv.stolen, 'the walk took some segments from the back').toBeGreaterThan(0);
      expect(pv.precheck(2)!.footerProblems!.length, 'the damaged footer is found, whoever checked it').toBeGreaterThan(0);
    } finally {
      pv.close();
    }
  });

  /**
   * Streamed progress (ParallelVerdicts `stream`, SEGLOG_VERIFY_STREAM): the walk follows
   * the worker through a segment, taking "valid, hash matching" for every frame below the
   * worker's published progress. Protects: the report is the sequential one byte for byte,
   * on a clean store and on copies damaged at random bytes (CRC, framing, hashes, footers),
   * with the walk really going on from progress (`followed`) and not only from results.
   * The store's segments (1 MiB) are bigger than the walk's follow lead (256 KiB) and hold
   * ~50 hash batches of 64 events each, so the walk stops and resumes inside segments,
   * across batch boundaries. If the report differs, look at precheckSegment's `progress`
   * (published only after a batch is hashed, while nothing mismatched) and at
   * ParallelVerdicts.follow/select (verify-parallel.ts); if `followed` stays 0, at the
   * progress and want slots.
   */
  it('streamed progress: the walk following the worker inside segments gives the sequential report, clean and damaged', async () => {
    const big = join(tempDir('seglog-par-'), 'store');
    const { store } = await openStore(big, { segmentMaxBytes: 1024 * 1024 });
    for (let b = 0; b < 140; b++) {
      store.appendBatch(Array.from({ length: 80 }, (_, k) => ({ entity: `e${(b * 80 + k) % 97}`, scope: 's', payload: { b, k, pad: 'y'.repeat((b * 7 + k) % 300) } })));
    }
    store.close();
    const segs = listSegments(fs, big);
    expect(segs.length, 'the streaming store should span several segments of 1 MiB').toBeGreaterThan(3);
    const streamed = (dir: string, opts: VerifyOptions = {}) => {
      const ss = listSegments(fs, dir);
      const pv = new WorkersOnlyVerdicts(new URL(`file://${BUILT_WORKER}`), fs, ss.map((x) => x.path), 1, { footers: true, stream: true });
      try {
        return { report: verifySegments(fs, ss, hasher, { ...opts, hashVerdicts: pv }), followed: pv.followed };
      } finally {
        pv.close();
      }
    };
    const clean = streamed(big);
    expect(JSON.stringify(clean.report)).toBe(JSON.stringify(verifySegments(fs, segs, hasher)));
    expect(clean.report.ok).toBe(true);
    expect(clean.followed, 'the walk should have gone on from the worker\'s progress inside a segment').toBeGreaterThan(0);
    // segment 0 is the one the walk always streams (it waits there while the worker boots):
    // a hash-only mismatch (frame CRC fixed) and a CRC mismatch, each past the first lead
    for (const fixCrc of [true, false]) {
      const dir = copyStore(big);
      const seg0 = listSegments(fs, dir)[0]!.path;
      const bytes = readFileSync(seg0);
      let off = 32;
      while (off < 700 * 1024) off += 8 + bytes.readUInt32LE(off);
      const len = bytes.readUInt32LE(off);
      bytes[off + 8 + len - 40] ^= 0x20;
      if (fixCrc) bytes.writeUInt32LE(crc32c(bytes, off + 8, off + 8 + len), off + 4);
      writeFileSync(seg0, bytes);
      const got = streamed(dir).report;
      expect(got.problems.map((p) => p.code), `fixCrc ${fixCrc}`).toContain(fixCrc ? 'hash_mismatch' : 'crc_mismatch');
      expect(JSON.stringify(got), `fixCrc ${fixCrc}`).toBe(JSON.stringify(verifySegments(fs, listSegments(fs, dir), hasher)));
    }
    fc.assert(
      fc.property(
        // half the flips in segment 0, which the walk streams in every run
        fc.array(fc.record({ seg: fc.oneof(fc.constant(0), fc.nat(segs.length - 1)), at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }), { minLength: 1, maxLength: 3 }),
        fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
        (flips, maxErrors) => {
          const dir = flipped(copyStore(big), segs, flips);
          const want = verifySegments(fs, listSegments(fs, dir), hasher, { maxErrors });
          expect(JSON.stringify(streamed(dir, { maxErrors }).report), `flips ${JSON.stringify(flips)}, maxErrors ${maxErrors}`).toBe(JSON.stringify(want));
        },
      ),
      { seed: 0x57e4a1, numRuns: 12 },
    );
  }, 120_000);

  it('the CLI prints the same verify --json with workers on and off, on clean and damaged stores', () => {
    const damaged = copyStore(base);
    const seg = listSegments(fs, damaged)[1]!;
    const bytes = readFileSync(seg.path);
    bytes[bytes.length >> 1] ^= 0x40;
    writeFileSync(seg.path, bytes);
    for (const dir of [base, damaged]) {
      const run = (workers: string) =>
        spawnSync(process.execPath, [join(REPO_ROOT, 'bin', 'run.js'), 'verify', dir, '--json'], {
          env: { ...process.env, NODE_ENV: 'production', SEGLOG_VERIFY_WORKERS: workers },
          encoding: 'utf8',
        });
      const off = run('0');
      const on = run('2');
      expect(on.status, on.stderr).toBe(off.status);
      expect(on.stdout).toBe(off.stdout);
      // the workers' streamed progress off (SEGLOG_VERIFY_STREAM=0): whole-segment results only
      const whole = spawnSync(process.execPath, [join(REPO_ROOT, 'bin', 'run.js'), 'verify', dir, '--json'], {
        env: { ...process.env, NODE_ENV: 'production', SEGLOG_VERIFY_WORKERS: '2', SEGLOG_VERIFY_STREAM: '0' },
        encoding: 'utf8',
      });
      expect(whole.status, whole.stderr).toBe(off.status);
      expect(whole.stdout).toBe(off.stdout);
    }
  });
});

/** `dir` with byte `at` (modulo the file's size) of segment `seg` xored with `xor`, for each flip. */
function flipped(dir: string, segs: readonly { name: string }[], flips: readonly { seg: number; at: number; xor: number }[]): string {
  for (const f of flips) {
    const path = join(dir, segs[f.seg]!.name);
    const bytes = readFileSync(path);
    bytes[f.at % bytes.length] ^= f.xor;
    writeFileSync(path, bytes);
  }
  return dir;
}
