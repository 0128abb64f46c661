import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createHasher } from '../../src/format/hash/blake3.js';
import { RealFs } from '../../src/engine/io/real-fs.js';
import { verifySegments } from '../../src/engine/verify/verify.js';
import { listSegments } from '../../src/engine/segment/walker.js';
import { copyFixture, FIXTURES_DIR, openStore, removeTempDirs, seglogErrorOf, stripFootersAndCheckpoint } from './test-store.js';

afterAll(removeTempDirs);

const SEG0 = '0000000000.seg';

async function verifyDir(dir: string) {
  return verifySegments(new RealFs(), listSegments(new RealFs(), dir), await createHasher());
}

/** Every file under `dir` (recursively) and its bytes as hex. */
function snapshot(dir: string, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const ent of readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix + ent.name;
    if (ent.isDirectory()) Object.assign(out, snapshot(join(dir, ent.name), `${rel}/`));
    else out[rel] = readFileSync(join(dir, ent.name)).toString('hex');
  }
  return out;
}

describe('recovery on a read-write open', () => {
  // test/fixtures/README.md: torn-tail's last frame starts at byte 1568 (seq 7) and is cut at 1681
  it('a torn tail is cut (the bytes kept in lost+found/), and appends continue the sequence and the chain', async () => {
    const dir = copyFixture('torn-tail');
    const original = readFileSync(join(dir, SEG0));
    expect(original.length).toBe(1681);
    const { store, warnings } = await openStore(dir);
    expect(warnings.join('\n')).toMatch(/at byte 1568: cut 113 bytes of torn tail/);
    expect(statSync(join(dir, SEG0)).size).toBe(1568);
    const kept = readdirSync(join(dir, 'lost+found'));
    expect(kept).toHaveLength(1);
    expect(kept[0]).toMatch(/^0000000000\.seg\.1568\.\d+\.torn-tail$/);
    expect(readFileSync(join(dir, 'lost+found', kept[0]!)).equals(original.subarray(1568)), 'lost+found must hold exactly the cut bytes').toBe(true);
    const before = store.query({ entity: 'order:0' }).at(-1)!;
    const r = store.append({ entity: 'order:0', scope: 'tenant:acme' }, { after: 'recovery' });
    expect(r.seq).toBe(7);
    expect(r.clock).toBe(before.clock + 1);
    expect(store.get(r.eventId)!.prevHash).toBe(before.eventHash);
    store.close();
    const report = await verifyDir(dir);
    expect(report.problems).toEqual([]);
    expect(report.events).toBe(8);
  });

  // README: incomplete-batch has 6 committed events; an open BEGIN at 1252 and 3 items (seq 6..8) at the tail
  it('an incomplete batch at the tail is dropped (kept in lost+found/) and its never-visible sequences are reused', async () => {
    const dir = copyFixture('incomplete-batch');
    const { store, warnings } = await openStore(dir);
    expect(warnings.join('\n')).toMatch(/at byte 1252: cut 666 bytes of incomplete batch/);
    expect(statSync(join(dir, SEG0)).size).toBe(1252);
    expect(readdirSync(join(dir, 'lost+found'))[0]).toMatch(/\.1252\.\d+\.incomplete-batch$/);
    expect(store.query()).toHaveLength(6);
    expect(store.appendBatch([{ entity: 'order:2', scope: 'tenant:acme', payload: { n: 1 } }])[0]).toMatchObject({ seq: 6, clock: 0 });
    store.close();
    expect((await verifyDir(dir)).problems).toEqual([]);
  });

  it('recovery is idempotent: a second open finds nothing more to cut and the same state', async () => {
    const dir = copyFixture('torn-tail');
    const first = await openStore(dir);
    const state1 = first.store.snapshotState();
    first.store.close();
    const files = snapshot(dir);
    const second = await openStore(dir);
    expect(second.warnings).toEqual([]);
    expect(second.store.snapshotState()).toEqual(state1);
    second.store.close();
    expect(snapshot(dir)).toEqual(files);
  });

  it.each([
    // README: flipped-bit's damaged frame is at byte 1232 of the sealed 0000000000.seg
    ['flipped-bit', 1232, /corrupt frame: frame checksum mismatch/],
    // README: chain-break's altered frame is at byte 1712 of the sealed 0000000000.seg
    ['chain-break', 1712, /chain break/],
  ])('a read-write open that scans %s (damage in a sealed segment) refuses with needs_repair and changes nothing; read-only open works', async (name, offset, detail) => {
    const dir = copyFixture(name);
    // A valid checkpoint or footer lets an open skip a sealed segment's frames (their
    // damage is then verify's to find): take both away so this open has to scan them.
    stripFootersAndCheckpoint(dir);
    const files = snapshot(dir);
    const err = await seglogErrorOf(() => openStore(dir));
    expect(err.code).toBe('needs_repair');
    expect(err.exitCode).toBe(1);
    expect(err.file).toBe(join(dir, SEG0));
    expect(err.offset).toBe(offset);
    expect(err.message).toMatch(detail);
    expect(err.message).toMatch(/seglog repair/);
    expect(existsSync(join(dir, 'LOCK')), 'a refused open must release the lock').toBe(false);
    expect(snapshot(dir), 'a refused open must not change any file').toEqual(files);
    const { store, warnings } = await openStore(dir, { readOnly: true });
    expect(warnings.join('\n')).toContain(`at byte ${offset}`);
    expect(store.query().length).toBeGreaterThan(0);
    store.close();
  });

  it('the committed fixtures are never modified by these tests (they work on copies)', () => {
    expect(readdirSync(join(FIXTURES_DIR, 'torn-tail')).sort()).toEqual(['0000000000.seg', 'seglog.json']);
    expect(statSync(join(FIXTURES_DIR, 'torn-tail', SEG0)).size).toBe(1681);
  });
});
