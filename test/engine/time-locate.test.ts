/**
 * Reading by time and from the end (engine/index/time-locate.ts, engine/log/cursor-units.ts,
 * tools/live/live-read.ts) against the slow obvious reader: `Store.query` of every committed event,
 * filtered by wall time / cut to its last N. The fast paths start at a located segment;
 * these tests hold them to the reference on stores whose wall time steps forward, steps
 * back (not monotonic across entities), and whose transactions cross the located start.
 */
import { describe, expect, test } from 'vitest';
import { Cursor } from '../../src/engine/log/cursor.js';
import { START_POSITION, walkUnits } from '../../src/engine/log/cursor-units.js';
import { RealFs } from '../../src/engine/io/real-fs.js';
import { liveRead } from '../../src/tools/live/live-read.js';
import { setDefaultReadChunkBytes } from '../../src/engine/segment/segment-reader.js';
import type { Store } from '../../src/engine/store/store.js';
import { listSegments } from '../../src/engine/segment/walker.js';
import { ev } from '../../src/format/event.js';
import { locateSince, locateSinceFull, parseTimeSpec } from '../../src/engine/index/time-locate.js';
import { locateSinceByCover } from '../../src/engine/index/since-locate.js';
import { stripFootersAndCheckpoint } from './test-store.js';
import { freshStorePath, openStore } from './test-store.js';

const MIN = 60_000;
const T0 = 1_700_000_000_000;
const fs = new RealFs();

/** A clock the test moves by hand. */
function handClock(): { now: () => number; set: (ms: number) => void } {
  let t = T0;
  return { now: () => t, set: (ms) => (t = ms) };
}

async function timedStore(shape: 'forward' | 'regressing' | 'crossing'): Promise<{ dir: string; store: Store }> {
  const dir = freshStorePath();
  const clock = handClock();
  const { store } = await openStore(dir, { segmentMaxBytes: 4096, clock: clock.now });
  const pad = 'x'.repeat(150);
  for (let m = 0; m < 55; m++) {
    clock.set(T0 + m * MIN);
    if (shape === 'regressing' && m === 25) clock.set(T0 + 5 * MIN); // the clock steps back: a new entity gets an old time
    if (m % 4 === 0) store.appendBatch([0, 1, 2, 3, 4].map((j) => ({ entity: `b${m}`, scope: 't', payload: { m, j, pad } })));
    else store.append({ entity: shape === 'regressing' && m >= 25 ? `late${m}` : `e${m % 3}`, scope: 't' }, { m, pad });
    if (shape === 'crossing' && m === 10) {
      // an interactive transaction that begins now and commits 34 minutes later, with segments between that never mention it
      const txn = store.beginTxn();
      txn.put('k1', { m });
      for (let k = 11; k < 45; k++) {
        clock.set(T0 + k * MIN);
        store.append({ entity: `c${k % 2}`, scope: 't' }, { k, pad });
        if (k === 44) txn.put('k2', { k });
      }
      txn.commit();
      m = 44;
    }
  }
  return { dir, store };
}

function liveSeqs(dir: string, o: { sinceMs?: number; untilMs?: number; last?: number; filter?: (buf: Uint8Array, b: number) => boolean }): Promise<number[]> {
  const seqs: number[] = [];
  return liveRead(fs, dir, {
    ...o,
    follow: false,
    filter: o.filter ?? (() => true),
    emit: (buf, b) => void seqs.push(ev.seq(buf, b)),
    flush: () => {},
    stop: () => false,
    onFault: (f) => {
      throw new Error(`unexpected fault ${f.kind} at ${f.path}:${f.offset}`);
    },
  }).then(() => seqs);
}

describe('reading by time and from the end', () => {
  for (const shape of ['forward', 'regressing', 'crossing'] as const) {
    test(`--since/--until give exactly the reference's events (${shape} wall time)`, async () => {
      setDefaultReadChunkBytes(256);
      const { dir, store } = await timedStore(shape);
      const all = store.query({ includeSystem: true });
      store.close();
      expect(listSegments(fs, dir).length, 'the store must span several segments').toBeGreaterThan(4);
      for (let m = 0; m <= 60; m += shape === 'crossing' ? 1 : 3) {
        const since = T0 + m * MIN;
        const want = all.filter((e) => e.wallMs >= since).map((e) => e.seq);
        expect(await liveSeqs(dir, { sinceMs: since }), `${shape}: --since minute ${m} differs from the reference: see time-locate.ts locateSince/startOfSegment`).toEqual(want);
        const until = since + 7 * MIN;
        const wantRange = all.filter((e) => e.wallMs >= since && e.wallMs <= until).map((e) => e.seq);
        expect(await liveSeqs(dir, { sinceMs: since, untilMs: until }), `${shape}: --since/--until minute ${m}`).toEqual(wantRange);
      }
    });
  }

  test('the covering locate starts at or after the segment the full one starts at, and gives the reference (footers or none)', async () => {
    setDefaultReadChunkBytes(256);
    for (const shape of ['forward', 'regressing', 'crossing'] as const) {
      for (const strip of [false, true]) {
        const { dir, store } = await timedStore(shape);
        const all = store.query({ includeSystem: true });
        store.close();
        if (strip) stripFootersAndCheckpoint(dir);
        const segments = listSegments(fs, dir);
        for (let m = 0; m <= 60; m += 2) {
          const since = T0 + m * MIN;
          const fast = locateSinceByCover(fs, segments, since);
          expect(fast, `${shape}${strip ? ' (no footers)' : ''}: the covering locate gave up at minute ${m}`).not.toBeNull();
          const full = locateSinceFull(fs, segments, since);
          if (full.segIndex < segments.length) expect(fast!.segIndex, `${shape}: minute ${m}`).toBeGreaterThanOrEqual(full.segIndex);
          expect(await liveSeqs(dir, { sinceMs: since }), `${shape}${strip ? ' (no footers)' : ''}: --since minute ${m}`).toEqual(all.filter((e) => e.wallMs >= since).map((e) => e.seq));
        }
      }
    }
  });

  test('--since reads only the segments from the first whose newest event is recent enough (forward time)', async () => {
    const { dir, store } = await timedStore('forward');
    store.close();
    const segments = listSegments(fs, dir);
    const located = locateSince(fs, segments, T0 + 53 * MIN);
    expect(located.segIndex, 'a recent --since must start near the end, not at the first segment').toBeGreaterThanOrEqual(segments.length - 2);
  });

  test('--last N gives the reference tail, filters included, for N around segment and batch edges', async () => {
    setDefaultReadChunkBytes(256);
    for (const shape of ['forward', 'crossing'] as const) {
      const { dir, store } = await timedStore(shape);
      const all = store.query({ includeSystem: true });
      const user = all.filter((e) => e.kind.category !== 0);
      store.close();
      for (const n of [1, 2, 5, 6, 13, 40, all.length - 1, all.length, all.length + 10]) {
        expect(await liveSeqs(dir, { last: n }), `${shape}: --last ${n}`).toEqual(all.slice(Math.max(0, all.length - n)).map((e) => e.seq));
        const onlyUser = (buf: Uint8Array, b: number): boolean => ev.kindCategory(buf, b) !== 0;
        expect(await liveSeqs(dir, { last: n, filter: onlyUser }), `${shape}: --last ${n} with a filter`).toEqual(user.slice(Math.max(0, user.length - n)).map((e) => e.seq));
      }
    }
  });

  test('the unit walker delivers what Cursor.read delivers, and the same position', async () => {
    setDefaultReadChunkBytes(256);
    const { dir, store } = await timedStore('crossing');
    store.close();
    const cursor = Cursor.open(fs, dir, 'ref');
    const ref = cursor.read(1_000_000, { includeSystem: true });
    const seqs: number[] = [];
    const res = walkUnits(fs, dir, START_POSITION, { onEvent: (buf, b) => void seqs.push(ev.seq(buf, b)) });
    expect(seqs).toEqual(ref.events.map((e) => e.seq));
    expect(res.next.deliveredThrough).toEqual(ref.next.deliveredThrough);
    expect(res.next.resumeFrom).toEqual(ref.next.resumeFrom);
    expect(res.next.lastSeqPlusOne).toEqual(ref.next.lastSeqPlusOne);
    // and from every position Cursor.read stops at, the rest is the same
    let from = START_POSITION;
    for (let guard = 0; guard < 200; guard++) {
      const r = cursor.read(3, { includeSystem: true }, from);
      const rest: number[] = [];
      walkUnits(fs, dir, from, { onEvent: (buf, b) => void rest.push(ev.seq(buf, b)) });
      const refRest = cursor.read(1_000_000, { includeSystem: true }, from).events.map((e) => e.seq);
      expect(rest, `walk from ${JSON.stringify(from)}`).toEqual(refRest);
      if (!r.more) break;
      from = r.next;
    }
  });

  test('time specs: ISO 8601, durations before now, epoch ms; anything else is a usage error', () => {
    const now = Date.parse('2026-12-04T03:00:00Z');
    expect(parseTimeSpec('10m', now)).toBe(now - 10 * MIN);
    expect(parseTimeSpec('2h', now)).toBe(now - 2 * 60 * MIN);
    expect(parseTimeSpec('3d', now)).toBe(now - 3 * 24 * 60 * MIN);
    expect(parseTimeSpec('90s', now)).toBe(now - 90_000);
    expect(parseTimeSpec('2026-12-04T02:30:00Z', now)).toBe(Date.parse('2026-12-04T02:30:00Z'));
    expect(parseTimeSpec('2026-12-04T02:30', now), 'no zone: UTC').toBe(Date.parse('2026-12-04T02:30:00Z'));
    expect(parseTimeSpec('2026-12-04 02:30:00+01:00', now)).toBe(Date.parse('2026-12-04T01:30:00Z'));
    expect(parseTimeSpec('2026-12-04', now)).toBe(Date.parse('2026-12-04T00:00:00Z'));
    expect(parseTimeSpec('1796352652342', now)).toBe(1796352652342);
    for (const bad of ['yesterday', '10x', '-5m', '2026-13-45T99:99', '', '12']) expect(() => parseTimeSpec(bad, now), bad).toThrow(/--since must be/);
  });
});
