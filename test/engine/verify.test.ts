import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Blake3, createHasher } from '../../src/format/hash/blake3.js';
import { FrameStatus } from '../../src/format/frame.js';
import { RealFs } from '../../src/engine/io/real-fs.js';
import { SegmentReader } from '../../src/engine/segment/segment-reader.js';
import { resolveTarget } from '../../src/engine/segment/target.js';
import { verifySegments } from '../../src/engine/verify/verify.js';
import { FIXTURE_EXPECTATIONS, problemKey } from './fixture-expectations.js';
import { copyFixture, FIXTURES_DIR, frameEndOfFile, REPO_ROOT, removeTempDirs, tempDir } from './test-store.js';

afterAll(removeTempDirs);

let hasher: Blake3;
beforeAll(async () => {
  hasher = await createHasher();
});

/** verify as the CLI runs it: resolve the path, then check a store or a lone segment. */
function verifyPath(path: string, maxErrors?: number) {
  const fs = new RealFs();
  const t = resolveTarget(fs, path);
  return verifySegments(fs, t.segments, hasher, { loneFile: t.kind === 'segment', maxErrors });
}

describe('verify reports each fixture exactly as test/fixtures/README.md says', () => {
  it.each(FIXTURE_EXPECTATIONS.map((f) => [f.name, f] as const))('%s', (_name, want) => {
    const r = verifyPath(join(FIXTURES_DIR, want.name));
    expect(r.problems.map(problemKey), `problems of test/fixtures/${want.name} (README.md table; src/engine/verify/verify.ts)`).toEqual(want.problems);
    expect({ ok: r.ok, events: r.events, eventFrames: r.eventFrames, segments: r.segments, entities: r.entities, batches: r.batches }).toEqual({
      ok: want.ok,
      events: want.events,
      eventFrames: want.eventFrames,
      segments: want.segments,
      entities: want.entities,
      batches: want.batches,
    });
    expect(r.errors).toBe(want.problems.filter((p) => p.severity === 'error').length);
    expect(r.warnings).toBe(want.problems.filter((p) => p.severity === 'warning').length);
    for (const p of r.problems) expect(p.message, 'every problem has a one-line message').toMatch(/^[^\n]+$/);
  });

  it('every fixture the README names exists, and the fixtures stay small (under 200 KB in all)', () => {
    const readme = readFileSync(join(FIXTURES_DIR, 'README.md'), 'utf8');
    let total = 0;
    const size = (p: string): number => (statSync(p).isDirectory() ? readdirSync(p).reduce((a, n) => a + size(join(p, n)), 0) : statSync(p).size);
    for (const f of FIXTURE_EXPECTATIONS) {
      expect(existsSync(join(FIXTURES_DIR, f.name)), `test/fixtures/${f.name} is missing: run npm run fixtures`).toBe(true);
      expect(readme, `README.md does not describe ${f.name}`).toContain(`\`${f.name}\``);
      total += size(join(FIXTURES_DIR, f.name));
    }
    expect(total).toBeLessThan(200 * 1024);
  });
});

describe('verify on single segment files and limits', () => {
  it('each segment of the clean store verifies on its own with no error or warning (a lone file starts mid-chain and mid-batch)', () => {
    const dir = join(FIXTURES_DIR, 'clean');
    const segs = readdirSync(dir).filter((n) => n.endsWith('.seg'));
    expect(segs.length).toBeGreaterThan(1);
    const infos: string[] = [];
    for (const s of segs) {
      const r = verifyPath(join(dir, s));
      expect(r.problems.filter((p) => p.severity !== 'info'), s).toEqual([]);
      infos.push(...r.problems.map((p) => `${p.segment}@${p.offset} ${p.code}`));
    }
    // the batch that spans segments 2 and 3 is still open at the end of segment 2
    expect(infos).toEqual(['0000000002.seg@1796 incomplete_batch']);
  });

  it('--max-errors stops after that many errors and says so', () => {
    const r = verifyPath(join(FIXTURES_DIR, 'flipped-bit'), 1);
    expect(r.stoppedEarly).toBe(true);
    expect(r.problems.map((p) => p.code)).toEqual(['crc_mismatch']);
  });

  it('any single-bit flip in the header or frames of a sealed segment is reported as an error', () => {
    const dir = copyFixture('clean');
    const seg = join(dir, '0000000001.seg');
    const original = readFileSync(seg);
    // the SIDX footer after the frames, if any, is checked by its own code (sidx_mismatch)
    const frameEnd = frameEndOfFile(seg);
    fc.assert(
      fc.property(fc.nat(frameEnd * 8 - 1), (bit) => {
        const damaged = Buffer.from(original);
        damaged[bit >> 3]! ^= 1 << (bit & 7);
        writeFileSync(seg, damaged);
        const r = verifyPath(dir);
        expect(r.errors, `flip of bit ${bit} (byte ${bit >> 3}) of 0000000001.seg went unreported`).toBeGreaterThan(0);
      }),
      { seed: 7, numRuns: 150 },
    );
    writeFileSync(seg, original);
  });

  it('a frame claiming 0xFFFFFFF0 bytes is never read into a buffer larger than its file', () => {
    const path = join(FIXTURES_DIR, 'absurd-length', '0000000000.seg');
    const size = statSync(path).size;
    const r = SegmentReader.open(new RealFs(), path);
    try {
      let st: FrameStatus;
      while ((st = r.next()) === FrameStatus.Valid);
      expect(st).toBe(FrameStatus.BadFraming);
      expect(r.pos).toBe(1425);
      expect(r.resync()).toBe(1624);
      while (r.next() === FrameStatus.Valid);
      expect(r.buf.length, 'SegmentReader grew its buffer past the file size').toBeLessThanOrEqual(size);
    } finally {
      r.close();
    }
  });
});

describe('fixtures are reproducible', () => {
  it('scripts/make-fixtures.js regenerates byte-identical copies of the committed fixtures', () => {
    if (!existsSync(join(REPO_ROOT, 'dist', 'engine', 'store', 'store.js'))) throw new Error('dist/ is missing: run `npm run build` (npm test builds first)');
    const out = tempDir('seglog-fixtures-');
    const run = spawnSync(process.execPath, [join(REPO_ROOT, 'scripts', 'make-fixtures.js'), '--out', out], { encoding: 'utf8', timeout: 30_000 });
    expect(run.status, run.stderr).toBe(0);
    const files = (p: string, rel = ''): string[] =>
      statSync(p).isDirectory() ? readdirSync(p).sort().flatMap((n) => files(join(p, n), `${rel}/${n}`)) : [rel];
    for (const f of FIXTURE_EXPECTATIONS) {
      expect(files(join(FIXTURES_DIR, f.name)), `files of test/fixtures/${f.name}`).toEqual(files(join(out, f.name)));
      for (const rel of files(join(out, f.name))) {
        const made = readFileSync(join(out, f.name + rel));
        const committed = readFileSync(join(FIXTURES_DIR, f.name + rel));
        expect(made.equals(committed), `test/fixtures/${f.name}${rel} differs from what the script makes now: run \`npm run fixtures\` and review`).toBe(true);
      }
    }
  }, 30_000);
});
