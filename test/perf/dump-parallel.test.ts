import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCanonicalJson } from '../../src/format/canonical-json.js';
import { ev } from '../../src/format/event.js';
import { FrameType } from '../../src/format/frame.js';
import { RealFs } from '../../src/engine/io/real-fs.js';
import { listSegments, walkSegment } from '../../src/engine/segment/walker.js';
import { precheckSegment } from '../../src/engine/verify/verify-parallel.js';
import { WorkersOnlyVerdicts } from '../support/workers-only-verdicts.js';
import { DumpVerdicts } from '../../src/engine/verify/dump-verdicts.js';
import { streamCommitted } from '../../src/engine/log/committed-stream.js';
import { frameEndOfFile, openStore, REPO_ROOT, removeTempDirs, tempDir } from '../engine/test-store.js';
import { CLI_TEST_TIMEOUT_MS, runCli } from '../commands/cli-helpers.js';

/** The payload check dump's writer makes (ui/render/event-jsonl.ts), on the event body at `b`. */
const eventPayloadIsCanonical = (buf: Uint8Array, b: number): boolean => isCanonicalJson(buf, ev.payloadStart(buf, b), ev.hashStart(buf, b));

afterAll(removeTempDirs);

const fs = new RealFs();
let base: string;

/**
 * Several small segments holding what dump's worker verdicts must get right: canonical
 * and non-canonical JSON payloads (whitespace, `1.0`), text and binary payloads,
 * batches (committed at a later frame, possibly in a later segment), standalone events.
 */
async function buildStore(dir: string): Promise<void> {
  const { store } = await openStore(dir, { segmentMaxBytes: 16 * 1024 });
  for (let i = 0; i < 300; i++) {
    const payload = i % 11 === 0 ? `{"i": ${i}}` : i % 13 === 0 ? `${i}.0` : i % 17 === 0 ? `text ${i}` : i % 19 === 0 ? new Uint8Array([0xff, i & 0xff]) : { i, note: 'x'.repeat(i % 50) };
    if (i % 7 === 0) store.appendBatch([0, 1, 2].map((k) => ({ entity: `e${(i + k) % 40}`, scope: 's', payload: k === 1 ? `{ "k": ${k} }` : { i, k } })));
    else store.append({ entity: `e${i % 40}`, scope: i % 2 ? 's' : 't' }, payload);
  }
  store.close();
}

beforeAll(async () => {
  base = join(tempDir('seglog-dumppar-'), 'store');
  await buildStore(base);
});

describe('dump prechecks (verify-parallel.ts precheckSegment with `dump`)', () => {
  it('flag exactly the events whose payload the JSON writer would find non-canonical, and cover every frame of a clean segment', () => {
    const segs = listSegments(fs, base);
    let flaggedTotal = 0;
    segs.forEach((seg, k) => {
      const pre = precheckSegment(fs, seg.path, k, segs.length, null, undefined, false, { canonical: true });
      const expected: number[] = [];
      walkSegment(fs, seg, k, k === segs.length - 1, {
        onFrame(r) {
          if (r.type === FrameType.EVENT && !eventPayloadIsCanonical(r.buf, r.bodyOff)) expected.push(r.frameOffset);
        },
      });
      expect(pre.nonCanonical, `src/engine/verify/verify-parallel.ts precheckSegment: non-canonical payload offsets of ${seg.name}`).toEqual(expected);
      expect(pre.checkedEnd, 'a clean segment is covered up to where its frames end').toBe(frameEndOfFile(seg.path));
      expect(pre.fileSizeBytes).toBe(readFileSync(seg.path).length);
      expect(pre.mismatches, 'dump prechecks hash nothing').toEqual([]);
      flaggedTotal += expected.length;
    });
    expect(flaggedTotal, 'the store should hold non-canonical payloads').toBeGreaterThan(10);
  });
});

/** The worker thread runs the built JS: these tests need `npm run build` first. */
const BUILT_DUMP = join(REPO_ROOT, 'dist', 'engine', 'verify', 'dump-verdicts.js');
const BUILT_WORKER = join(REPO_ROOT, 'dist', 'engine', 'verify', 'verify-worker.js');

describe('dump with a worker thread (built dist/)', () => {
  beforeAll(() => {
    if (!existsSync(BUILT_DUMP)) throw new Error(`${BUILT_DUMP} is missing: run \`npm run build\` first (npm test does)`);
  });
  it('a worker hands the walk, for every segment, CRC coverage and payload verdicts equal to the in-process ones, also past damage', () => {
    const damaged = join(tempDir('seglog-dumppar-'), 'store');
    cpSync(base, damaged, { recursive: true });
    const segs = listSegments(fs, damaged);
    const mid = segs[segs.length >> 1]!;
    const bytes = readFileSync(mid.path);
    bytes[bytes.length >> 1] ^= 0x40;
    writeFileSync(mid.path, bytes);
    // every segment's verdicts come from the worker
    const pv = new WorkersOnlyVerdicts(new URL(`file://${BUILT_WORKER}`), fs, segs.map((s) => s.path), 1, { footers: false, dump: { canonical: true } });
    const dv = new DumpVerdicts(pv);
    try {
      let known = 0;
      let seen = 0;
      streamCommitted(fs, segs, (buf, b, _n, loc) => {
        seen++;
        const v = dv.canonical(loc.segIndex, loc.offset);
        if (v === undefined) return;
        known++;
        expect(v, `src/engine/verify/dump-verdicts.ts: payload verdict of ${loc.path}@${loc.offset}`).toBe(eventPayloadIsCanonical(buf, b));
      }, {
        onSegment: (k, r) => {
          dv.onSegment(k, r);
          const pre = precheckSegment(fs, segs[k]!.path, k, segs.length, null, undefined, false, { canonical: true });
          expect(r.crcTrustedBelow, `src/engine/verify/dump-verdicts.ts: CRC coverage of segment ${k}`).toBe(pre.checkedEnd);
        },
      });
      expect(pv.selfChecked, 'every verdict should have come from the worker').toBe(0);
      expect(known, 'events before the damage should have verdicts').toBeGreaterThan(seen / 2);
      expect(known, 'events after the damage in the middle segment should have none').toBeLessThan(seen);
    } finally {
      dv.close();
    }
  });

  it(
    'prints the same stdout, stderr and exit code with SEGLOG_DUMP_WORKERS=1 as with 0, on clean stores and with damage in the middle segment',
    async () => {
      const damaged = join(tempDir('seglog-dumppar-'), 'store');
      cpSync(base, damaged, { recursive: true });
      const segs = listSegments(fs, damaged);
      expect(segs.length, 'the store should have several segments').toBeGreaterThanOrEqual(4);
      const mid = segs[segs.length >> 1]!;
      const bytes = readFileSync(mid.path);
      bytes[bytes.length >> 1] ^= 0x40;
      writeFileSync(mid.path, bytes);
      const argSets = [['--format', 'jsonl'], ['--format', 'jsonl', '--markers', '--hex', '--system'], [], ['--format', 'jsonl', '--limit', '5']];
      const cases = [base, damaged].flatMap((dir) => argSets.map((args) => ({ dir, args })));
      const runs = await Promise.all(
        cases.map(({ dir, args }) =>
          Promise.all(['0', '1'].map((workers) => runCli(['dump', dir, ...args], { env: { SEGLOG_DUMP_WORKERS: workers } }))),
        ),
      );
      cases.forEach(({ dir, args }, i) => {
        const [off, on] = runs[i]!;
        const what = `dump ${args.join(' ')} on the ${dir === base ? 'clean' : 'damaged'} store: src/engine/verify/dump-verdicts.ts`;
        expect(on!.code, `${what}: exit code\n${on!.stderr}`).toBe(off!.code);
        expect(on!.stderr, `${what}: stderr`).toBe(off!.stderr);
        expect(on!.stdout === off!.stdout, `${what}: stdout differs`).toBe(true);
        if (dir === damaged && !args.includes('--limit')) expect(off!.code, 'the damaged store should exit 1').toBe(1);
      });
    },
    CLI_TEST_TIMEOUT_MS,
  );

  /**
   * A warm precheck worker (engine/verify/warm-precheck.ts, started by the job worker)
   * is given segment 0, and the walk follows its streamed progress there without waiting
   * (dump-verdicts.ts: frames the worker has not reached are checked by the walk itself;
   * progress stops at the first non-canonical payload or damaged frame). Segment 0 here
   * has long canonical runs, two non-canonical payloads and, in the damaged copy, a
   * flipped byte late in it. Output, stderr and exit code must be those of the walk
   * alone, with streaming on and off (SEGLOG_DUMP_STREAM=0). If the debug line is
   * missing, the warm worker was not adopted: look at job-worker.ts and takeWarmPrecheck.
   */
  it(
    'prints the same with a warm precheck worker owning segment 0, streamed or not, as with no worker',
    async () => {
      const clean = join(tempDir('seglog-dumpwarm-'), 'store');
      const { store } = await openStore(clean, { segmentMaxBytes: 256 * 1024 });
      for (let i = 0; i < 3000; i++) store.append({ entity: `e${i % 40}`, scope: 's' }, i === 700 || i === 1500 ? `{"i": ${i}}` : { i, note: 'y'.repeat(40 + (i % 60)) });
      store.close();
      const damaged = join(tempDir('seglog-dumpwarm-'), 'store');
      cpSync(clean, damaged, { recursive: true });
      const seg0 = listSegments(fs, damaged)[0]!;
      expect(listSegments(fs, damaged).length, 'the store should have several segments').toBeGreaterThanOrEqual(2);
      const bytes = readFileSync(seg0.path);
      bytes[Math.floor(bytes.length * 0.75)] ^= 0x10;
      writeFileSync(seg0.path, bytes);
      const quiet = (stderr: string): string => stderr.split('\n').filter((l) => !/^seglog: (job |dump precheck )/.test(l)).join('\n');
      for (const dir of [clean, damaged]) {
        for (const args of [['--format', 'jsonl'], ['--format', 'jsonl', '--markers', '--hex'], ['--format', 'jsonl', '--limit', '5'], []]) {
          const off = await runCli(['dump', dir, ...args], { env: { SEGLOG_DUMP_WORKERS: '0' } });
          for (const extra of [{}, { SEGLOG_DUMP_STREAM: '0' }]) {
            const on = await runCli(['dump', dir, ...args], { env: { SEGLOG_JOB_WORKER: '1', SEGLOG_DUMP_WORKERS: '1', SEGLOG_DEBUG: '1', ...extra } });
            const what = `dump ${args.join(' ')} ${JSON.stringify(extra)} on the ${dir === clean ? 'clean' : 'damaged'} store with a warm precheck worker: src/engine/verify/dump-verdicts.ts`;
            expect(on.stderr, `${what}: the warm worker should have been adopted`).toContain('dump precheck in a prewarmed worker');
            expect(on.code, `${what}: exit code\n${on.stderr}`).toBe(off.code);
            expect(quiet(on.stderr), `${what}: stderr`).toBe(off.stderr);
            expect(on.stdout === off.stdout, `${what}: stdout differs`).toBe(true);
          }
          if (dir === damaged && !args.includes('--limit')) expect(off.code, 'the damaged store should exit 1').toBe(1);
        }
      }
    },
    4 * CLI_TEST_TIMEOUT_MS,
  );
});
