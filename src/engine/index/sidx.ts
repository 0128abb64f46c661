/**
 * SIDX footers in the engine (docs/FORMAT.md section 2.5), one file per job:
 * - sidx-builder.ts: FooterBuilder, building a footer from a segment's frames, and the
 *   seal that writes one after the frames of a segment being sealed;
 * - sidx-reader.ts: probing, loading and decoding a footer, entries and markers in place;
 * - sidx-verifier.ts: the streaming check of a stored footer against its frames (verify,
 *   and sidx rebuild over intact footers);
 * - sidx-tables.ts: the marker rows and interned names the builder and the verifier share.
 * Maintenance (strip, rebuild) is tools/sidx-maintenance.ts. This module re-exports them
 * all, so callers import footers from one place.
 */
export { buildFooterFromFrames, type BuiltFooter, FooterBuilder, type FooterSeed, type SealedSegment, sealFooter } from './sidx-builder.js';
export { entryAt, type FooterRead, markerAt, MAX_FOOTER_BYTES, readFooter, readFooterAt, readFooterWithHeader } from './sidx-reader.js';
export { FOOTER_COMPARE_WINDOW_BYTES, type FooterProblem, footerProblems, FooterVerifier } from './sidx-verifier.js';
