/**
 * The kill harness's lost+found check (kill-harness.ts lostFoundHoldsCuts), on hand-made
 * stores: a recovery that cuts a segment in steps (its frames, then the empty segment's
 * header when it removes it: docs/FORMAT.md 4.1) leaves copies that tile the old bytes,
 * and that is accepted; a copy that is not the bytes it claims, or a removal whose copies
 * do not start at 0, is reported. Found by the long kill mode (append seed 1469413724):
 * the check wanted exactly one copy per segment. If this fails, read the check, not the engine.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { lostFoundHoldsCuts } from './kill-harness.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function stores(segment: Buffer, copies: [number, Buffer][], keep: Buffer | null): { before: string; after: string } {
  const root = mkdtempSync(join(tmpdir(), 'seglog-harness-'));
  dirs.push(root);
  const before = join(root, 'before');
  const after = join(root, 'after');
  mkdirSync(before);
  mkdirSync(join(after, 'lost+found'), { recursive: true });
  writeFileSync(join(before, '0000000015.seg'), segment);
  if (keep !== null) writeFileSync(join(after, '0000000015.seg'), keep);
  copies.forEach(([offset, bytes], i) => writeFileSync(join(after, 'lost+found', `0000000015.seg.${offset}.${1000 + i}.incomplete-batch`), bytes));
  return { before, after };
}

describe('lostFoundHoldsCuts', () => {
  const seg = Buffer.from(Array.from({ length: 200 }, (_, i) => i));
  it('accepts a segment cut in steps (frames from 32, then the 32-byte header when removed)', () => {
    const { before, after } = stores(seg, [[32, seg.subarray(32)], [0, seg.subarray(0, 32)]], null);
    expect(lostFoundHoldsCuts(before, after)).toEqual([]);
  });
  it('reports copies that do not hold the bytes they name, and a removal not covered from 0', () => {
    const wrong = stores(seg, [[32, seg.subarray(33)], [0, seg.subarray(0, 32)]], null);
    expect(lostFoundHoldsCuts(wrong.before, wrong.after).map((p) => p.what).join('\n')).toMatch(/is not the bytes from 32 to 200/);
    const partial = stores(seg, [[32, seg.subarray(32)]], null);
    expect(lostFoundHoldsCuts(partial.before, partial.after).map((p) => p.what).join('\n')).toMatch(/removed, but its cut copies start at 32/);
  });
  it('accepts one cut that keeps the bytes before it', () => {
    const { before, after } = stores(seg, [[32, seg.subarray(32)]], seg.subarray(0, 32));
    expect(lostFoundHoldsCuts(before, after)).toEqual([]);
  });
});
