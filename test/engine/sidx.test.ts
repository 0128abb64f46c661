/**
 * SIDX footers in the engine (issue 3): written at every seal, deterministic (strip
 * then rebuild gives back the same bytes), never mistaken for frames, and any damage
 * to one is detected without changing what queries answer.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Blake3, createHasher } from '../../src/format/hash/blake3.js';
import { SIDX_TRAILER_BYTES } from '../../src/format/sidx.js';
import { SimFs } from '../../src/sim/sim-fs.js';
import { storePaths } from '../../src/engine/io/layout.js';
import { rebuildFooters, showFooter, stripFooters } from '../../src/tools/sidx-maintenance.js';
import { readFooterWithHeader } from '../../src/engine/index/sidx.js';
import { Store } from '../../src/engine/store/store.js';
import { resolveTarget } from '../../src/engine/segment/target.js';
import { listSegments } from '../../src/engine/segment/walker.js';
import { buildShape, type Shape, shapeArb, SIM_LOCK_ENV, STORE_DIR } from './store-shapes.js';

let hasher: Blake3;
beforeAll(async () => {
  hasher = await createHasher();
});

function segmentBytes(fs: SimFs): Map<string, Buffer> {
  return new Map(listSegments(fs, STORE_DIR).map((s) => [s.name, Buffer.from(fs.dumpFile(s.path))]));
}

function writeFile(fs: SimFs, path: string, bytes: Uint8Array): void {
  const fd = fs.open(path, 'w');
  fs.write(fd, bytes, 0, bytes.length, 0);
  fs.fsync(fd);
  fs.close(fd);
}

const opts = { lockEnv: SIM_LOCK_ENV };

describe('SIDX footers are deterministic', () => {
  it('strip then rebuild gives back every segment byte for byte, for stores of many shapes', () => {
    fc.assert(
      fc.property(shapeArb, fc.nat(1000), (shape: Shape, seed) => {
        const fs = buildShape({ ...shape, end: 'close' }, hasher, seed);
        const before = segmentBytes(fs);
        const target = resolveTarget(fs, STORE_DIR);
        const stripped = stripFooters(fs, target, opts);
        expect(stripped.segments.every((s) => s.action === 'stripped'), 'a cleanly closed store has a footer on every segment').toBe(true);
        for (const s of listSegments(fs, STORE_DIR)) {
          expect(readFooterWithHeader(fs, s.path).status, `${s.name} still has a footer after strip`).toBe('absent');
        }
        rebuildFooters(fs, resolveTarget(fs, STORE_DIR), opts);
        const after = segmentBytes(fs);
        expect([...after.keys()]).toEqual([...before.keys()]);
        for (const [name, bytes] of before) {
          expect(after.get(name)!.equals(bytes), `${name}: the rebuilt footer differs from the one written at seal (engine/index/sidx.ts FooterBuilder)`).toBe(true);
        }
      }),
      { numRuns: 40, seed: 11 },
    );
  });

  it('strip leaves exactly the bytes an unclean shutdown leaves: the frames as written', () => {
    const shape: Shape = { segmentMaxBytes: 1024 * 1024, end: 'crash', ops: [{ t: 'one', e: 0, n: 100 }, { t: 'batch', items: [{ e: 1, n: 10 }, { e: 2, n: 20 }] }] };
    const crashed = segmentBytes(buildShape(shape, hasher, 5)).get('0000000000.seg')!;
    const fs = buildShape({ ...shape, end: 'close' }, hasher, 5);
    expect(segmentBytes(fs).get('0000000000.seg')!.length).toBeGreaterThan(crashed.length);
    stripFooters(fs, resolveTarget(fs, STORE_DIR), opts);
    expect(segmentBytes(fs).get('0000000000.seg')!.equals(crashed)).toBe(true);
  });

  it('rebuild of an intact footer changes nothing; a dry run changes nothing either', () => {
    const fs = buildShape({ segmentMaxBytes: 4096, end: 'close', ops: Array.from({ length: 12 }, (_, i) => ({ t: 'one' as const, e: i % 3, n: 600 })) }, hasher);
    const before = segmentBytes(fs);
    const r = rebuildFooters(fs, resolveTarget(fs, STORE_DIR), opts);
    expect(r.segments.every((s) => s.action === 'unchanged')).toBe(true);
    const dry = stripFooters(fs, resolveTarget(fs, STORE_DIR), { ...opts, dryRun: true });
    expect(dry.segments.every((s) => s.action === 'stripped')).toBe(true);
    expect(segmentBytes(fs)).toEqual(before);
    expect(fs.stat(storePaths(STORE_DIR).checkpoint).sizeBytes, 'a dry run keeps the checkpoint').toBeGreaterThan(0);
  });

  it('strip and rebuild take the store lock: a live writer makes them fail with `locked`', () => {
    const fs = buildShape({ segmentMaxBytes: 4096, end: 'close', ops: [{ t: 'one', e: 0, n: 10 }] }, hasher);
    const s = Store.openSync(STORE_DIR, { fs, lockEnv: { ...SIM_LOCK_ENV, pid: 77, isAlive: () => true } }, hasher);
    const live = { lockEnv: { ...SIM_LOCK_ENV, isAlive: () => true } };
    expect(() => stripFooters(fs, resolveTarget(fs, STORE_DIR), live)).toThrow(/locked/);
    expect(() => rebuildFooters(fs, resolveTarget(fs, STORE_DIR), live)).toThrow(/locked/);
    s.close();
  });
});

/**
 * The target (its segment list) is resolved before the store lock is taken; a writer
 * holding the lock in between may seal the last segment and create the next. Property:
 * strip and rebuild work on the segments as listed under the lock: every segment is in
 * the answer, and the segment sealed in between keeps the footer its writer wrote (a
 * rebuild from the stale list took it for the active last segment). If this fails, look
 * at withStoreLock in src/tools/sidx-maintenance.ts.
 */
describe('strip and rebuild list the segments under the lock', () => {
  it('a segment created between resolving the target and taking the lock is in the answer, and its predecessor keeps its footer', () => {
    const fs = buildShape({ segmentMaxBytes: 4096, end: 'close', ops: Array.from({ length: 6 }, (_, i) => ({ t: 'one' as const, e: i % 3, n: 600 })) }, hasher);
    const stale = resolveTarget(fs, STORE_DIR);
    const w = Store.openSync(STORE_DIR, { fs, lockEnv: SIM_LOCK_ENV }, hasher);
    for (let i = 0; i < 12; i++) w.append({ entity: `late-${i % 2}`, scope: 's' }, { pad: 'x'.repeat(500) });
    w.close();
    const now = listSegments(fs, STORE_DIR);
    expect(now.length, 'the late writer should have added segments').toBeGreaterThan(stale.segments.length);
    const before = segmentBytes(fs);
    const r = rebuildFooters(fs, stale, opts);
    expect(r.segments.length).toBe(now.length);
    expect(r.segments.every((x) => x.action === 'unchanged'), JSON.stringify(r.segments)).toBe(true);
    expect(segmentBytes(fs)).toEqual(before);
    const stripped = stripFooters(fs, stale, opts);
    expect(stripped.segments.length).toBe(now.length);
  });
});

describe('a damaged footer is detected and changes no answer', () => {
  const shape: Shape = {
    segmentMaxBytes: 4096,
    end: 'close',
    ops: [
      ...Array.from({ length: 14 }, (_, i) => ({ t: 'one' as const, e: i % 4, n: 300 })),
      { t: 'batch', items: [{ e: 1, n: 50 }, { e: 2, n: 60 }] },
      { t: 'txn', keys: [1, 2], end: 'commit' },
    ],
  };

  function answers(fs: SimFs): unknown {
    const s = Store.openSync(STORE_DIR, { fs, readOnly: true, coldStart: { useCheckpoint: false } }, hasher);
    const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
    const out = {
      events: s.query({ includeSystem: true }).map((e) => [e.seq, e.eventHash]),
      heads: [...s.recovery.heads].map(([k, h]) => [k, h.clock, h.wallMs, hex(h.hash)]),
      nextSeq: s.recovery.nextSeq,
      nextTxnId: s.recovery.nextTxnId,
      committed: [s.recovery.committedEvents, s.recovery.committedBatches],
      faults: s.recovery.faults.length,
      validEnds: s.recovery.segments.map((x) => x.frameEnd),
    };
    s.close();
    return out;
  }

  it('any single byte changed in a footer: flagged by the open and by show, state and queries unchanged, and a read-write open still works', () => {
    const fs = buildShape(shape, hasher);
    fs.unlink(storePaths(STORE_DIR).checkpoint);
    const want = answers(fs);
    const seg = listSegments(fs, STORE_DIR)[0]!;
    const good = fs.dumpFile(seg.path);
    const r = readFooterWithHeader(fs, seg.path);
    expect(r.status).toBe('valid');
    const start = r.probe.frameEnd;
    for (let i = start; i < good.length; i++) {
      const bad = good.slice();
      bad[i]! ^= 1 << (i % 8);
      writeFile(fs, seg.path, bad);
      const warnings: string[] = [];
      const s = Store.openSync(STORE_DIR, { fs, readOnly: true, coldStart: { useCheckpoint: false }, onWarning: (m) => warnings.push(m) }, hasher);
      const info = s.coldStart.segments[0]!;
      expect(info.footer, `byte ${i} (footer offset ${i - start}) of a footer went unnoticed`).not.toBe('valid');
      expect(info.source).toBe('scan');
      expect(warnings.some((w) => w.includes('SIDX footer')), `no warning for byte ${i}`).toBe(true);
      s.close();
      expect(answers(fs), `byte ${i} of a footer changed a query answer or the recovered state`).toEqual(want);
      const shown = showFooter(fs, seg);
      expect([shown.present, shown.valid], `sidx show must call byte ${i} a present, invalid footer`).toEqual([true, false]);
    }
    // a read-write open over a damaged footer of a sealed segment is allowed (it is an index, not data)
    const bad = good.slice();
    bad[good.length - SIDX_TRAILER_BYTES] ^= 0xff;
    writeFile(fs, seg.path, bad);
    const w = Store.openSync(STORE_DIR, { fs, lockEnv: SIM_LOCK_ENV }, hasher);
    w.append({ entity: 'order:1', scope: 't' }, 'still writable');
    w.close();
    const rebuilt = rebuildFooters(fs, resolveTarget(fs, STORE_DIR), opts);
    expect(rebuilt.segments[0]!.action).toBe('rebuilt');
    expect(fs.dumpFile(seg.path)).toEqual(good);
  });

  it('a footer whose trailer is gone is found by its head: frames are read up to it, it is not read as frames', () => {
    const fs = buildShape(shape, hasher);
    fs.unlink(storePaths(STORE_DIR).checkpoint);
    const want = answers(fs);
    const seg = listSegments(fs, STORE_DIR)[0]!;
    const good = fs.dumpFile(seg.path);
    // a torn footer write: only part of the footer made it
    writeFile(fs, seg.path, good.subarray(0, good.length - 40));
    const s = Store.openSync(STORE_DIR, { fs, readOnly: true, coldStart: { useCheckpoint: false } }, hasher);
    expect(s.coldStart.segments[0]!.footer).toBe('damaged');
    expect(s.recovery.faults, 'a damaged footer is not a frame fault').toEqual([]);
    s.close();
    expect(answers(fs)).toEqual(want);
    const st = stripFooters(fs, resolveTarget(fs, STORE_DIR), opts);
    expect(st.segments[0]!.action).toBe('stripped');
    rebuildFooters(fs, resolveTarget(fs, STORE_DIR), opts);
    expect(fs.dumpFile(seg.path)).toEqual(good);
  });
});

describe('sealing', () => {
  it('a failed footer write leaves the segment without a footer and a warning; appends go on and nothing is lost', () => {
    const fs = new SimFs(3);
    const warnings: string[] = [];
    const s = Store.openSync(STORE_DIR, { fs, lockEnv: SIM_LOCK_ENV, segmentMaxBytes: 4096, onWarning: (m) => warnings.push(m) }, hasher);
    for (let i = 0; i < 3; i++) s.append({ entity: 'a', scope: '' }, 'x'.repeat(900));
    expect(listSegments(fs, STORE_DIR).length).toBe(1);
    // the next append rotates, sealing segment 0: make its footer write fail
    fs.failNext('write', { code: 'ENOSPC', path: /0000000000\.seg$/ });
    for (let i = 0; i < 7; i++) s.append({ entity: 'a', scope: '' }, 'y'.repeat(900));
    s.close();
    expect(warnings.join('\n')).toMatch(/writing the SIDX footer failed \(ENOSPC\)/);
    expect(warnings.join('\n'), 'no checkpoint can describe a segment sealed without footer tables').toMatch(/index\.ckpt: not written/);
    const segs = listSegments(fs, STORE_DIR);
    expect(readFooterWithHeader(fs, segs[0]!.path).status).toBe('absent');
    const r = Store.openSync(STORE_DIR, { fs, readOnly: true }, hasher);
    expect(r.query().length).toBe(10);
    expect(r.coldStart.segments.map((x) => x.source)).toEqual(segs.map((_, i) => (i === 0 ? 'scan' : 'footer')));
    r.close();
  });

  it('footers on every segment after a clean close; a read-write open removes only the last one', () => {
    const fs = buildShape({ segmentMaxBytes: 4096, end: 'close', ops: Array.from({ length: 12 }, (_, i) => ({ t: 'one' as const, e: i % 3, n: 700 })) }, hasher);
    const segs = listSegments(fs, STORE_DIR);
    expect(segs.length).toBeGreaterThan(2);
    for (const s of segs) expect(readFooterWithHeader(fs, s.path).status, s.name).toBe('valid');
    const w = Store.openSync(STORE_DIR, { fs, lockEnv: SIM_LOCK_ENV }, hasher);
    expect(segs.map((s) => readFooterWithHeader(fs, s.path).status)).toEqual(segs.map((_, i) => (i === segs.length - 1 ? 'absent' : 'valid')));
    w.close();
  });
});

describe('verify reports footers', () => {
  it('clean store: no footer problem; stripped: sidx_missing (warning) for sealed segments only; a changed byte: sidx_mismatch (error)', async () => {
    const { verifySegments } = await import('../../src/engine/verify/verify.js');
    const fs = buildShape({ segmentMaxBytes: 4096, end: 'close', ops: Array.from({ length: 12 }, (_, i) => ({ t: 'one' as const, e: i % 3, n: 700 })) }, hasher);
    const segs = (): ReturnType<typeof listSegments> => listSegments(fs, STORE_DIR);
    const codes = (): string[][] => verifySegments(fs, segs(), hasher).problems.map((p) => [p.code, p.severity, p.segment]);
    expect(codes()).toEqual([]);
    const n = segs().length;
    const good = fs.dumpFile(segs()[1]!.path);
    stripFooters(fs, resolveTarget(fs, STORE_DIR), opts);
    expect(codes()).toEqual(segs().slice(0, n - 1).map((s) => ['sidx_missing', 'warning', s.name]));
    rebuildFooters(fs, resolveTarget(fs, STORE_DIR), opts);
    expect(codes()).toEqual([]);
    // one byte of an entry's hash: checksums still fail; with both CRCs recomputed, the comparison with frames fails
    const r = readFooterWithHeader(fs, segs()[1]!.path);
    const at = r.probe.frameEnd + 24 + 60;
    const bad = good.slice();
    bad[at]! ^= 0x10;
    writeFile(fs, segs()[1]!.path, bad);
    expect(codes()).toEqual([['sidx_mismatch', 'error', segs()[1]!.name]]);
    const { encodeFooter } = await import('../../src/format/sidx.js');
    if (r.status !== 'valid') throw new Error('footer expected');
    const f = r.footer;
    const entries = f.entries.slice();
    entries[60]! ^= 0x10;
    const forged = encodeFooter({ segmentId: f.segmentId, maxKvVersion: f.maxKvVersion, footerStart: f.footerStart, entries, entryCount: f.entryCount, markers: f.markers, markerCount: f.markerCount, strings: f.strings });
    const file = new Uint8Array(f.footerStart + forged.length);
    file.set(good.subarray(0, f.footerStart));
    file.set(forged, f.footerStart);
    writeFile(fs, segs()[1]!.path, file);
    const p = verifySegments(fs, segs(), hasher).problems;
    expect(p.map((x) => [x.code, x.offset])).toEqual([['sidx_mismatch', f.footerStart + 24 + 60]]);
    expect(p[0]!.message).toMatch(/disagrees with the frames/);
  });
});

describe('segments larger than the read buffer', () => {
  it('a segment several read buffers long: footer written at seal equals the rebuilt one, and a footer cold start equals a scan', () => {
    // ~6 MiB in one segment: the reader refills its 4 MiB buffer, so nothing may keep views into it
    const ops = Array.from({ length: 3000 }, (_, i) => ({ t: 'one' as const, e: i % 6, n: 2000 }));
    const fs = buildShape({ segmentMaxBytes: 64 * 1024 * 1024, end: 'close', ops }, hasher);
    const before = segmentBytes(fs);
    const rw = Store.openSync(STORE_DIR, { fs, readOnly: true, coldStart: { useCheckpoint: false } }, hasher);
    const sc = Store.openSync(STORE_DIR, { fs, readOnly: true, coldStart: { useCheckpoint: false, useFooters: false } }, hasher);
    expect(rw.coldStart.segments[0]!.source).toBe('footer');
    expect([...rw.recovery.heads.keys()]).toEqual([...sc.recovery.heads.keys()]);
    expect(rw.recovery.nextSeq).toBe(sc.recovery.nextSeq);
    rw.close();
    sc.close();
    stripFooters(fs, resolveTarget(fs, STORE_DIR), opts);
    rebuildFooters(fs, resolveTarget(fs, STORE_DIR), opts);
    for (const [name, b] of before) expect(segmentBytes(fs).get(name)!.equals(b), name).toBe(true);
  });
});

describe('strip and rebuild survive a crash at any point', () => {
  it('after a crash at every mutating operation, under every crash mode, each segment is whole (old or new) and every answer is unchanged', async () => {
    const { SimFs: Sim, CRASH_MODES } = await import('../../src/sim/sim-fs.js');
    const base = buildShape({ segmentMaxBytes: 4096, end: 'close', ops: Array.from({ length: 14 }, (_, i) => ({ t: 'one' as const, e: i % 3, n: 500 })) }, hasher);
    const clean = segmentBytes(base);
    const want = Store.openSync(STORE_DIR, { fs: base, readOnly: true, coldStart: { useCheckpoint: false, useFooters: false } }, hasher).query();
    stripFooters(base, resolveTarget(base, STORE_DIR), opts);
    const stripped = segmentBytes(base);
    const start = base.snapshot();
    for (const verb of ['rebuild', 'strip'] as const) {
      // rebuild starts from the stripped store, strip from a clean one
      const from = verb === 'rebuild' ? start : (() => {
        const f = Sim.fromSnapshot(start);
        rebuildFooters(f, resolveTarget(f, STORE_DIR), opts);
        return f.snapshot();
      })();
      const before = verb === 'rebuild' ? stripped : clean;
      const after = verb === 'rebuild' ? clean : stripped;
      const probe = Sim.fromSnapshot(from);
      const op0 = probe.mutatingOpCount;
      (verb === 'rebuild' ? rebuildFooters : stripFooters)(probe, resolveTarget(probe, STORE_DIR), opts);
      const ops = probe.mutatingOpCount - op0;
      expect(ops).toBeGreaterThan(4);
      for (let k = 0; k < ops; k++) {
        for (const mode of CRASH_MODES) {
          const fs = Sim.fromSnapshot(from, k + 1);
          fs.crashAfter(fs.mutatingOpCount + k);
          expect(() => (verb === 'rebuild' ? rebuildFooters : stripFooters)(fs, resolveTarget(fs, STORE_DIR), opts)).toThrow();
          fs.crash(mode, k);
          for (const [name, bytes] of segmentBytes(fs)) {
            const ok = bytes.equals(before.get(name)!) || bytes.equals(after.get(name)!);
            expect(ok, `${verb}: crash after op ${k} (${mode}): ${name} is neither the old nor the new file`).toBe(true);
          }
          const s = Store.openSync(STORE_DIR, { fs, readOnly: true }, hasher);
          expect(s.query(), `${verb}: crash after op ${k} (${mode}) changed an answer`).toEqual(want);
          s.close();
        }
      }
    }
  });
});
