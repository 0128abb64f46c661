import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { createHasher } from '../../src/format/hash/blake3.js';
import { FrameType } from '../../src/format/frame.js';
import { ev } from '../../src/format/event.js';
import { kvVersionAt } from '../../src/format/kv.js';
import { markerCount, markerTxnId } from '../../src/format/marker.js';
import { buildFixture, buildFixtureFromOps, forEachSpecLine, parseSpecLine } from '../../src/tools/fixture-build.js';
import { RealFs } from '../../src/engine/io/real-fs.js';
import { verifySegments } from '../../src/engine/verify/verify.js';
import { replayWal } from '../../src/engine/wal/wal-replay.js';
import { listSegments, walkStore } from '../../src/engine/segment/walker.js';
import { freshStorePath, openStore, removeTempDirs, seglogErrorOf, tempDir } from './test-store.js';

afterAll(removeTempDirs);

const hasher = await createHasher();
const fs = new RealFs();

function specFile(lines: string[]): string {
  const p = join(tempDir(), 'spec.jsonl');
  writeFileSync(p, `${lines.join('\n')}\n`);
  return p;
}

/** One line per frame: what the spec asked for, read back from the file. */
function describeFrames(dir: string): string[] {
  const out: string[] = [];
  walkStore(fs, listSegments(fs, dir), {
    onFrame(r) {
      const b = r.bodyOff;
      if (r.type === FrameType.EVENT) {
        const ps = ev.payloadStart(r.buf, b);
        const kind = `${ev.kindCategory(r.buf, b)}:${ev.kindType(r.buf, b)}`;
        const version = kind === '0:1' || kind === '0:2' ? ` v${kvVersionAt(r.buf, ps)}` : '';
        out.push(`EVENT txn=${ev.txnId(r.buf, b)} ${kind} ${ev.entity(r.buf, b)}${version}`);
      } else if (r.type === FrameType.ABORT) out.push(`ABORT txn=${markerTxnId(r.buf, b)}`);
      else out.push(`${r.type === FrameType.BEGIN ? 'BEGIN' : 'COMMIT'} txn=${markerTxnId(r.buf, b)} count=${markerCount(r.buf, b)}`);
    },
  });
  return out;
}

async function verifyCodes(dir: string): Promise<string[]> {
  const report = verifySegments(fs, listSegments(fs, dir), hasher);
  return report.problems.map((p) => p.code).sort();
}

describe('fixture build: frames exactly as the spec says', () => {
  test('one frame per line, in order: interleaved, orphaned and incomplete transactions included', async () => {
    const dir = freshStorePath();
    const spec = specFile([
      '{"type":"begin","txn":1}',
      '{"type":"begin","txn":2}',
      '{"type":"put","txn":1,"key":"a","value":{"x":1},"version":10}',
      '{"type":"put","txn":9,"key":"orphan","value":1,"version":11}',
      '{"type":"delete","txn":2,"key":"a","version":12}',
      '{"type":"event","entity":"order:1","scope":"tenant:t","payload":{"n":1}}',
      '{"type":"commit","txn":1}',
      '{"type":"abort","txn":2}',
      '{"type":"begin","txn":3,"count":5}',
      '{"type":"put","txn":3,"key":"b","value":"never"}',
    ]);
    const res = await buildFixture(dir, spec);
    expect(res).toEqual({ lines: 10, frames: 10, events: 5, markers: 5 });
    expect(describeFrames(dir)).toEqual([
      'BEGIN txn=1 count=0',
      'BEGIN txn=2 count=0',
      'EVENT txn=1 0:1 kv:a v10',
      'EVENT txn=9 0:1 kv:orphan v11',
      'EVENT txn=2 0:2 kv:a v12',
      'EVENT txn=0 1:0 order:1',
      'COMMIT txn=1 count=1',
      'ABORT txn=2',
      'BEGIN txn=3 count=5',
      'EVENT txn=3 0:1 kv:b v13', // no version given: one above the largest so far
    ]);
  });

  test('verify reports only what the spec made on purpose (an orphan and an incomplete transaction)', async () => {
    const dir = freshStorePath();
    await buildFixtureFromOps(dir, [
      { type: 'begin', txn: 1 },
      { type: 'put', txn: 1, key: 'a', value: 1 },
      { type: 'put', txn: 4, key: 'a', value: 2 },
      { type: 'begin', txn: 2 },
      { type: 'put', txn: 2, key: 'b', value: 1 },
      { type: 'commit', txn: 1 },
      { type: 'event', entity: 'kv:a', scope: '', payload: { user: true } },
    ]);
    expect(await verifyCodes(dir)).toEqual(['incomplete_batch', 'orphan_event']);
  });

  test('a clean interleaved spec over several segments verifies with no problem at all', async () => {
    const dir = freshStorePath();
    const ops = [];
    for (let t = 1; t <= 30; t += 2) {
      ops.push({ type: 'begin' as const, txn: t }, { type: 'begin' as const, txn: t + 1 });
      ops.push({ type: 'put' as const, txn: t, key: `k${t % 4}`, value: 'v'.repeat(100) }, { type: 'delete' as const, txn: t + 1, key: `k${t % 3}` });
      ops.push({ type: 'commit' as const, txn: t + 1 }, { type: t % 3 === 0 ? ('abort' as const) : ('commit' as const), txn: t });
    }
    await buildFixtureFromOps(dir, ops, { segmentMaxBytes: 4096 });
    expect(listSegments(fs, dir).length).toBeGreaterThan(1);
    expect(await verifyCodes(dir)).toEqual([]);
  });

  test('an explicit COMMIT count is written as given (to make batch_mismatch fixtures)', async () => {
    const dir = freshStorePath();
    await buildFixtureFromOps(dir, [{ type: 'begin', txn: 1 }, { type: 'put', txn: 1, key: 'a', value: 1 }, { type: 'commit', txn: 1, count: 3 }]);
    expect(describeFrames(dir).at(-1)).toBe('COMMIT txn=1 count=3');
    expect(await verifyCodes(dir)).toEqual(['batch_mismatch']);
  });

  test('a seeded build with a fixed time is byte-identical', async () => {
    const lines = ['{"type":"begin","txn":1}', '{"type":"put","txn":1,"key":"a","value":1}', '{"type":"commit","txn":1}', '{"type":"event","entity":"e","scope":"s","payload":"text"}'];
    const a = freshStorePath();
    const b = freshStorePath();
    await buildFixture(a, specFile(lines), { seed: 5, wallMs: 1_700_000_000_000 });
    await buildFixture(b, specFile(lines), { seed: 5, wallMs: 1_700_000_000_000 });
    for (const name of readdirSync(a).filter((n) => n.endsWith('.seg'))) {
      expect(readFileSync(join(a, name)).equals(readFileSync(join(b, name))), `${name} differs between two seeded builds`).toBe(true);
    }
  });

  test('building onto an existing store appends, continuing sequences, versions and transaction ids', async () => {
    const dir = freshStorePath();
    const { store } = await openStore(dir);
    const t = store.beginTxn();
    t.put('a', 1);
    t.commit();
    store.close();
    await buildFixtureFromOps(dir, [{ type: 'begin', txn: 7 }, { type: 'put', txn: 7, key: 'b', value: 2 }, { type: 'commit', txn: 7 }]);
    const r = replayWal(dir, { keepValues: true });
    expect(r.stats).toMatchObject({ txnsApplied: 2, finalVersion: 2 });
    expect(await verifyCodes(dir)).toEqual([]);
  });

  test('a spec of more than one read chunk, CRLF line ends and blank lines', async () => {
    const lines: string[] = [];
    for (let t = 1; t <= 6000; t++) lines.push(`{"type":"begin","txn":${t}}\r`, `{"type":"put","txn":${t},"key":"k${t % 50}","value":"${'z'.repeat(100)}","version":${t}}`, '', `{"type":"commit","txn":${t}}`);
    const p = specFile(lines);
    expect(readFileSync(p).length, 'the spec must exceed the 1 MiB read chunk').toBeGreaterThan(1024 * 1024);
    const dir = freshStorePath();
    const res = await buildFixture(dir, p);
    expect(res.frames).toBe(18000);
    expect(replayWal(dir).stats).toMatchObject({ txnsApplied: 6000, finalVersion: 6000, liveKeys: 50 });
  });
});

describe('fixture build: bad specs', () => {
  test.each([
    ['not JSON', '{"type":"begin",', /not JSON/],
    ['unknown type', '{"type":"bogus","txn":1}', /"type" must be one of/],
    ['unknown field (a typo)', '{"type":"put","txn":1,"key":"a","value":1,"verison":3}', /unknown field "verison"/],
    ['missing field', '{"type":"put","txn":1,"key":"a"}', /"value" is required/],
    ['marker with txn 0', '{"type":"commit","txn":0}', /"txn" must be an integer from 1/],
    ['version 0', '{"type":"delete","txn":1,"key":"a","version":0}', /version must be/],
    ['non-integer txn', '{"type":"begin","txn":1.5}', /"txn"/],
    ['bad kind', '{"type":"event","entity":"e","scope":"s","payload":1,"kind":"x"}', /"kind"/],
    ['empty entity', '{"type":"event","entity":"","scope":"s","payload":1}', /"entity"/],
    ['array line', '[1,2]', /JSON object/],
  ])('%s: refused naming the line, and nothing is written', async (_name, bad, message) => {
    const dir = freshStorePath();
    const spec = specFile(['{"type":"begin","txn":1}', bad, '{"type":"commit","txn":1}']);
    const err = await seglogErrorOf(() => buildFixture(dir, spec));
    expect(err.code).toBe('bad_input');
    expect(err.exitCode).toBe(2);
    expect(err.line, 'the error names the spec line').toBe(2);
    expect(err.file).toBe(spec);
    expect(err.message).toMatch(message);
    expect(existsSync(dir), 'a bad spec must not create the store').toBe(false);
  });

  test('a missing spec file is an operational error naming it', async () => {
    const err = await seglogErrorOf(() => buildFixture(freshStorePath(), join(tempDir(), 'none.jsonl')));
    expect(err.code).toBe('not_found');
  });

  test('parseSpecLine accepts the documented shapes', () => {
    expect(parseSpecLine('{"type":"put","txn":1,"key":"k","value":[1,{"a":null}],"version":3}')).toEqual({ type: 'put', txn: 1, key: 'k', value: [1, { a: null }], version: 3 });
    expect(parseSpecLine('{"type":"event","entity":"e","scope":"","payload":{},"kind":"0:7","txn":4}')).toMatchObject({ kind: '0:7', txn: 4 });
  });

  test('forEachSpecLine reports the last line without a newline and skips blank ones', () => {
    const p = join(tempDir(), 's.jsonl');
    writeFileSync(p, 'a\n\n  \nb');
    const seen: [string, number][] = [];
    forEachSpecLine(fs, p, (t, n) => seen.push([t, n]));
    expect(seen).toEqual([
      ['a', 1],
      ['b', 4],
    ]);
  });
});
