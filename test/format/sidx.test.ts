/** SIDX footer codec (format/sidx.ts): round trip, bounds, and detection of any changed byte. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkFrame, FrameStatus } from '../../src/format/frame.js';
import {
  decodeFooter,
  decodeTrailer,
  encodeFooter,
  SE,
  isFooterHead,
  SIDX_ENTRY_BYTES,
  SIDX_HEAD_BYTES,
  SIDX_MARKER_BYTES,
  SIDX_MIN_BYTES,
  SIDX_TRAILER_BYTES,
} from '../../src/format/sidx.js';
import { FC_RUNS, u53 } from './arbitraries.js';

const HEADER_BYTES = 32;

const tablesArb = fc
  .record({
    segmentId: u53,
    maxKvVersion: u53,
    strings: fc.array(fc.uint8Array({ minLength: 1, maxLength: 40 }), { minLength: 0, maxLength: 6 }),
    entryCount: fc.nat(12),
    markerCount: fc.nat(6),
    frameBytes: fc.integer({ min: 0, max: 100_000 }),
    fill: fc.nat(255),
  })
  .map((t) => {
    const entryCount = t.strings.length === 0 ? 0 : t.entryCount;
    const entries = new Uint8Array(entryCount * SIDX_ENTRY_BYTES).map((_, i) => (i * 31 + t.fill) & 0xff);
    // every entry must name a string: put a valid index in each
    for (let i = 0; i < entryCount; i++) {
      const at = i * SIDX_ENTRY_BYTES + SE.ENTITY;
      const idx = i % t.strings.length;
      entries[at] = idx;
      entries[at + 1] = entries[at + 2] = entries[at + 3] = 0;
    }
    const markers = new Uint8Array(t.markerCount * SIDX_MARKER_BYTES).map((_, i) => (i * 7 + t.fill) & 0xff);
    return { ...t, entryCount, entries, markers, footerStart: HEADER_BYTES + t.frameBytes };
  });

/** A file made of a header-sized prefix, frames (zeros here) and the footer. */
function fileOf(footerStart: number, footer: Uint8Array): Uint8Array {
  const f = new Uint8Array(footerStart + footer.length);
  f.set(footer, footerStart);
  return f;
}

function decodeFile(file: Uint8Array) {
  const t = decodeTrailer(file.subarray(file.length - SIDX_TRAILER_BYTES), file.length);
  if (!t.ok) return { ok: false as const, where: 'trailer', message: t.message };
  const f = decodeFooter(file.subarray(t.trailer.footerStart), t.trailer);
  return f.ok ? { ok: true as const, footer: f.footer, trailer: t.trailer } : { ok: false as const, where: 'body', message: f.message };
}

describe('SIDX footer codec', () => {
  it('encode then decode gives back every table, and the same tables give the same bytes', () => {
    fc.assert(
      fc.property(tablesArb, (t) => {
        const footer = encodeFooter(t);
        expect(footer.length).toBe(SIDX_HEAD_BYTES + t.entryCount * SIDX_ENTRY_BYTES + t.markerCount * SIDX_MARKER_BYTES + t.strings.reduce((a, s) => a + 2 + s.length, 0) + SIDX_TRAILER_BYTES);
        expect(encodeFooter(t)).toEqual(footer);
        const d = decodeFile(fileOf(t.footerStart, footer));
        expect(d.ok, d.ok ? '' : d.message).toBe(true);
        if (!d.ok) return;
        expect(d.trailer.footerStart).toBe(t.footerStart);
        expect(d.footer.segmentId).toBe(t.segmentId);
        expect(d.footer.maxKvVersion).toBe(t.maxKvVersion);
        expect(d.footer.entries).toEqual(t.entries);
        expect(d.footer.markers).toEqual(t.markers);
        expect(d.footer.strings).toEqual(t.strings);
      }),
      FC_RUNS,
    );
  });

  it('any single changed byte of a footer is caught by the trailer or the body checksum', () => {
    fc.assert(
      fc.property(tablesArb, fc.nat(), fc.integer({ min: 1, max: 255 }), (t, at, flip) => {
        const footer = encodeFooter(t);
        const file = fileOf(t.footerStart, footer);
        const i = t.footerStart + (at % footer.length);
        file[i]! ^= flip;
        const d = decodeFile(file);
        expect(d.ok, `a change at footer byte ${i - t.footerStart} of ${footer.length} was not detected`).toBe(false);
      }),
      { ...FC_RUNS, numRuns: 2000 },
    );
  });

  it('a trailer never describes a footer outside the file, and a file without the magic has no footer', () => {
    const t = { segmentId: 1, maxKvVersion: 0, strings: [], entryCount: 0, markerCount: 0, entries: new Uint8Array(0), markers: new Uint8Array(0), footerStart: 32 };
    const footer = encodeFooter(t);
    expect(footer.length).toBe(SIDX_MIN_BYTES);
    const file = fileOf(32, footer);
    expect(decodeFile(file).ok).toBe(true);
    // the same trailer at the end of a longer file: bounds no longer add up
    const longer = new Uint8Array(file.length + 8);
    longer.set(file.subarray(0, 32), 0);
    longer.set(footer, 40);
    const r = decodeTrailer(longer.subarray(longer.length - SIDX_TRAILER_BYTES), longer.length);
    expect(r.ok ? 'ok' : r.reason).toBe('bounds');
    const plain = new Uint8Array(200);
    const p = decodeTrailer(plain.subarray(plain.length - SIDX_TRAILER_BYTES), plain.length);
    expect(p.ok ? 'ok' : p.reason).toBe('no_magic');
  });

  it('a footer head can never be read as a frame: its magic is an impossible frame length', () => {
    const footer = encodeFooter({ segmentId: 9, maxKvVersion: 0, strings: [], entryCount: 0, markerCount: 0, entries: new Uint8Array(0), markers: new Uint8Array(0), footerStart: 32 });
    expect(isFooterHead(footer, 0, footer.length)).toBe(true);
    const slot = { type: 0, length: 0, sizeBytes: 0 };
    expect(checkFrame(footer, 0, footer.length, slot)).toBe(FrameStatus.BadFraming);
  });
});
