/**
 * The streaming SIDX footer check (engine/index/sidx.ts FooterVerifier) against the reference
 * that builds the whole footer and compares bytes (RebuildingFooterVerifier): for every
 * kind of footer difference, the same problem (code, offset, message) comes out, and the
 * offset is the first footer byte that differs. If one of these fails, look at
 * FooterVerifier.onFrame (entries), firstDifference/encodeTail (head, markers, strings,
 * trailer) or load (windows and their running CRC).
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Blake3, createHasher } from '../../src/format/hash/blake3.js';
import { writeU32 } from '../../src/format/bytes.js';
import { crc32c } from '../../src/format/hash/crc32c.js';
import { encodeFooter, SE, SIDX_ENTRY_BYTES, SIDX_HEAD_BYTES, SIDX_MARKER_BYTES, SIDX_TRAILER_BYTES, type SidxFooter, SM, ST } from '../../src/format/sidx.js';
import type { SimFs } from '../../src/sim/sim-fs.js';
import { type FooterProblem, FooterVerifier, readFooterWithHeader } from '../../src/engine/index/sidx.js';
import { RebuildingFooterVerifier } from '../support/rebuilding-footer-verifier.js';
import { listSegments, type SegmentFile, walkSegment } from '../../src/engine/segment/walker.js';
import { buildShape, type Op, STORE_DIR } from './store-shapes.js';

let hasher: Blake3;
let store: SimFs;
let segs: SegmentFile[];
/** The clean bytes of each segment file. */
let clean: Uint8Array[];

/** Single events, batches (BEGIN/COMMIT markers) and key/value transactions (a head version), over a few segments. */
const OPS: Op[] = Array.from({ length: 40 }, (_, i): Op => {
  if (i % 9 === 4) return { t: 'batch', items: [{ e: i % 6, n: 30 }, { e: (i + 1) % 6, n: 10 }, { e: 2, n: 0 }] };
  if (i % 11 === 7) return { t: 'txn', keys: [i % 5, (i + 2) % 5], end: i % 2 ? 'commit' : 'abort' };
  return { t: 'one', e: i % 6, n: 50 + ((i * 37) % 300) };
});

beforeAll(async () => {
  hasher = await createHasher();
  store = buildShape({ segmentMaxBytes: 8192, end: 'close', ops: OPS }, hasher);
  segs = listSegments(store, STORE_DIR);
  clean = segs.map((s) => store.dumpFile(s.path).slice());
});

type Verifier = Pick<FooterVerifier, 'onSegment' | 'onFrame' | 'onFault' | 'onDamagedFooter' | 'onSegmentEnd'>;

/** The footer problems of segment i as a verifier reports them on verify's walk. */
function footerReport(v: Verifier, i: number): FooterProblem[] {
  let out: FooterProblem[] = [];
  walkSegment(store, segs[i]!, i, i === segs.length - 1, {
    onSegment: (_s, _i, r) => v.onSegment(r),
    onFrame: (r) => v.onFrame(r),
    onFault: () => v.onFault(),
    onDamagedFooter: (d) => v.onDamagedFooter(d.offset),
    onSegmentEnd: (s, k, r) => {
      out = v.onSegmentEnd(s, k, r);
    },
  });
  return out;
}

/** Streaming verifiers of every window shape: default, windows smaller than an entry's multiple, the WebAssembly CRC path. */
function streamingVerifiers(): [string, Verifier][] {
  const n = segs.length;
  return [
    ['default', new FooterVerifier(store, n, false)],
    ['window 200 bytes', new FooterVerifier(store, n, false, { windowBytes: 200 })],
    ['window 80 bytes, arena', new FooterVerifier(store, n, false, { windowBytes: 80, arenaMinBytes: 0 })],
    ['window 1000 bytes, arena', new FooterVerifier(store, n, false, { windowBytes: 1000, arenaMinBytes: 0 })],
  ];
}

function writeFile(path: string, bytes: Uint8Array): void {
  const fd = store.open(path, 'w');
  store.write(fd, bytes, 0, bytes.length, 0);
  store.fsync(fd);
  store.close(fd);
}

function footerOf(i: number): SidxFooter {
  const r = readFooterWithHeader(store, segs[i]!.path);
  if (r.status !== 'valid') throw new Error(`segment ${i}: footer ${r.status}`);
  return r.footer;
}

/** Segment i with its footer replaced by `footer` (bytes after the frames). */
function withFooter(i: number, footer: Uint8Array): Uint8Array {
  const start = footerOf(i).footerStart;
  const out = new Uint8Array(start + footer.length);
  out.set(clean[i]!.subarray(0, start));
  out.set(footer, start);
  return out;
}

/** Re-encodes a footer with changed tables: every checksum passes, only the content differs. */
function forged(i: number, change: (f: { entries: Uint8Array; markers: Uint8Array; strings: Uint8Array[]; entryCount: number; markerCount: number; segmentId: number; maxKvVersion: number }) => void): Uint8Array {
  const f = footerOf(i);
  const parts = { entries: f.entries.slice(), markers: f.markers.slice(), strings: f.strings.map((s) => s.slice()), entryCount: f.entryCount, markerCount: f.markerCount, segmentId: f.segmentId, maxKvVersion: f.maxKvVersion };
  change(parts);
  return withFooter(i, encodeFooter({ ...parts, footerStart: f.footerStart }));
}

/** Recomputes the body and trailer CRCs of raw footer bytes (so a flipped byte is a content difference). */
function refreshCrcs(footer: Uint8Array): Uint8Array {
  const t = footer.length - SIDX_TRAILER_BYTES;
  writeU32(footer, t + ST.BODY_CRC, crc32c(footer, 0, t));
  writeU32(footer, t + ST.TRAILER_CRC, crc32c(footer, t, t + ST.TRAILER_CRC));
  return footer;
}

/** A raw byte of segment i's footer XORed, checksums refreshed or not. */
function flipped(i: number, footerByte: number, refresh: boolean): Uint8Array {
  const f = footerOf(i);
  const footer = clean[i]!.slice(f.footerStart);
  footer[footerByte]! ^= 0x20;
  return withFooter(i, refresh ? refreshCrcs(footer) : footer);
}

/** A sealed segment with BEGIN/COMMIT markers and a key/value version in its head. */
function segmentWithMarkers(): number {
  for (let i = 0; i < segs.length - 1; i++) {
    const f = footerOf(i);
    if (f.markerCount >= 2 && f.entryCount >= 4 && f.strings.length >= 2) return i;
  }
  throw new Error('no sealed segment with markers: change OPS');
}

function segmentWithKv(): number {
  for (let i = 0; i < segs.length - 1; i++) if (footerOf(i).maxKvVersion > 0) return i;
  throw new Error('no sealed segment with a key/value version: change OPS');
}

/** Checks one changed segment file: every streaming verifier reports what the reference reports; returns that. */
function reportBoth(i: number, bytes: Uint8Array): FooterProblem[] {
  writeFile(segs[i]!.path, bytes);
  try {
    const expected = footerReport(new RebuildingFooterVerifier(store, segs.length, false), i);
    for (const [name, v] of streamingVerifiers()) expect(footerReport(v, i), `streaming verifier (${name}) vs the rebuilt footer`).toEqual(expected);
    return expected;
  } finally {
    writeFile(segs[i]!.path, clean[i]!);
  }
}

describe('the streaming footer check reports exactly what rebuilding the footer reports', () => {
  it('the store under test has what the cases need: several sealed segments with footers, markers and key/value versions', () => {
    expect(segs.length).toBeGreaterThanOrEqual(3);
    expect(segmentWithMarkers()).toBeGreaterThanOrEqual(0);
    expect(segmentWithKv()).toBeGreaterThanOrEqual(0);
    for (let i = 0; i < segs.length; i++) expect(reportBoth(i, clean[i]!), `clean segment ${i}`).toEqual([]);
  });

  const E = SIDX_ENTRY_BYTES;
  const H = SIDX_HEAD_BYTES;
  /** name, the changed segment file, and the footer byte of the first difference (null: damaged, a checksum fails). */
  const cases: [string, () => { i: number; bytes: Uint8Array }, (i: number) => number | null][] = [
    ['an entry\'s hash byte (entry 2)', () => ({ i: 0, bytes: forged(0, (p) => void (p.entries[2 * E + SE.HASH + 5]! ^= 1)) }), () => H + 2 * E + SE.HASH + 5],
    ['the first entry\'s sequence', () => ({ i: 1, bytes: forged(1, (p) => void (p.entries[SE.SEQ]! ^= 1)) }), () => H + SE.SEQ],
    ['the last entry\'s kind', () => ({ i: 0, bytes: forged(0, (p) => void (p.entries[(p.entryCount - 1) * E + SE.KIND_TYPE]! ^= 1)) }), (i) => H + (footerOf(i).entryCount - 1) * E + SE.KIND_TYPE],
    [
      'an entry\'s entity index (another valid string)',
      () => {
        const i = segmentWithMarkers();
        return { i, bytes: forged(i, (p) => writeU32(p.entries, 3 * E + SE.ENTITY, (p.entries[3 * E + SE.ENTITY]! + 1) % p.strings.length)) };
      },
      () => H + 3 * E + SE.ENTITY,
    ],
    ['an entry\'s frame offset', () => ({ i: 1, bytes: forged(1, (p) => void (p.entries[E + SE.OFFSET + 1]! ^= 4)) }), () => H + E + SE.OFFSET + 1],
    ['an entry\'s frame offset beyond 2^32', () => ({ i: 1, bytes: forged(1, (p) => void (p.entries[E + SE.OFFSET + 4]! ^= 1)) }), () => H + E + SE.OFFSET + 4],
    ['one entry fewer (the last dropped)', () => ({ i: 0, bytes: forged(0, (p) => void p.entryCount--) }), () => -1],
    ['one entry more (the last repeated)', () => ({ i: 0, bytes: forged(0, (p) => {
      const e = new Uint8Array((p.entryCount + 1) * E);
      e.set(p.entries.subarray(0, p.entryCount * E));
      e.copyWithin(p.entryCount * E, (p.entryCount - 1) * E, p.entryCount * E);
      p.entries = e;
      p.entryCount++;
    }) }), () => -1],
    ['no entries at all', () => ({ i: 1, bytes: forged(1, (p) => void (p.entryCount = 0)) }), () => H],
    [
      'a marker\'s transaction id',
      () => {
        const i = segmentWithMarkers();
        return { i, bytes: forged(i, (p) => void (p.markers[SIDX_MARKER_BYTES + SM.A]! ^= 1)) };
      },
      (i) => H + footerOf(i).entryCount * E + SIDX_MARKER_BYTES + SM.A,
    ],
    [
      'a marker\'s type',
      () => {
        const i = segmentWithMarkers();
        return { i, bytes: forged(i, (p) => void (p.markers[SM.TYPE]! ^= 7)) };
      },
      (i) => H + footerOf(i).entryCount * E + SM.TYPE,
    ],
    [
      'one marker fewer',
      () => {
        const i = segmentWithMarkers();
        return { i, bytes: forged(i, (p) => void p.markerCount--) };
      },
      () => -1,
    ],
    [
      'an entity name\'s last byte',
      () => {
        const i = segmentWithMarkers();
        return { i, bytes: forged(i, (p) => void (p.strings[1]![p.strings[1]!.length - 1]! ^= 1)) };
      },
      () => -1,
    ],
    [
      'the strings in another order',
      () => {
        const i = segmentWithMarkers();
        return { i, bytes: forged(i, (p) => void p.strings.reverse()) };
      },
      () => -1,
    ],
    [
      'the head\'s key/value version',
      () => {
        const i = segmentWithKv();
        return { i, bytes: forged(i, (p) => void (p.maxKvVersion += 1)) };
      },
      () => 16,
    ],
    ['the head\'s segment id', () => ({ i: 1, bytes: forged(1, (p) => void (p.segmentId += 1)) }), () => 8],
    ['another segment\'s footer (its trailer then describes no footer here)', () => ({ i: 1, bytes: withFooter(1, clean[0]!.slice(footerOf(0).footerStart)) }), () => null],
    [
      'another segment\'s tables under this segment\'s trailer',
      () => ({
        i: 1,
        bytes: forged(1, (p) => {
          const o = footerOf(0);
          Object.assign(p, { entries: o.entries.slice(), entryCount: o.entryCount, markers: o.markers.slice(), markerCount: o.markerCount, strings: o.strings.map((x) => x.slice()) });
        }),
      }),
      () => -1,
    ],
    ['a raw flip in an entry (checksums fail)', () => ({ i: 0, bytes: flipped(0, H + E + 3, false) }), () => null],
    ['a raw flip in the strings, checksums refreshed', () => ({ i: 0, bytes: flipped(0, H + footerOf(0).entryCount * E + footerOf(0).markerCount * SIDX_MARKER_BYTES + 3, true) }), () => -1],
    ['the body checksum alone', () => ({ i: 1, bytes: flipped(1, clean[1]!.length - footerOf(1).footerStart - SIDX_TRAILER_BYTES + ST.BODY_CRC, false) }), () => null],
    [
      'the body checksum alone, trailer checksum refreshed',
      () => {
        const f = footerOf(1);
        const footer = clean[1]!.slice(f.footerStart);
        const t = footer.length - SIDX_TRAILER_BYTES;
        footer[t + ST.BODY_CRC]! ^= 1;
        writeU32(footer, t + ST.TRAILER_CRC, crc32c(footer, t, t + ST.TRAILER_CRC));
        return { i: 1, bytes: withFooter(1, footer) };
      },
      () => null,
    ],
    ['the footer cut inside its entries (trailer gone)', () => ({ i: 0, bytes: clean[0]!.slice(0, footerOf(0).footerStart + H + E + 7) }), () => null],
    ['the footer cut to its head', () => ({ i: 1, bytes: clean[1]!.slice(0, footerOf(1).footerStart + H) }), () => null],
    ['the last byte of the trailer', () => ({ i: 0, bytes: clean[0]!.slice(0, clean[0]!.length - 1) }), () => null],
  ];

  it.each(cases)('%s: reported as before', (_name, make, firstDiff) => {
    const { i, bytes } = make();
    const p = reportBoth(i, bytes);
    expect(p.map((x) => x.code)).toEqual(['sidx_mismatch']);
    const want = firstDiff(i);
    if (want === null) {
      expect(p[0]!.message).toMatch(/is damaged/);
    } else {
      expect(p[0]!.message).toMatch(/disagrees with the frames/);
      if (want >= 0) expect(p[0]!.offset, 'offset = footer start + first differing footer byte').toBe(footerOf(i).footerStart + want);
    }
  });

  it('any byte of any sealed footer changed, checksums refreshed or not: the same report as the rebuilt footer (random, fixed seed)', () => {
    const sizes = segs.map((s, i) => clean[i]!.length - footerOf(i).footerStart);
    fc.assert(
      fc.property(fc.nat(segs.length - 1), fc.nat(), fc.integer({ min: 1, max: 255 }), fc.boolean(), (i, at, x, refresh) => {
        const f = footerOf(i);
        const footer = clean[i]!.slice(f.footerStart);
        footer[at % sizes[i]!]! ^= x;
        reportBoth(i, withFooter(i, refresh ? refreshCrcs(footer) : footer));
      }),
      { seed: 7, numRuns: 150 },
    );
  });
});
