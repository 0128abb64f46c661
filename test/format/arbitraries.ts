/** fast-check generators and small helpers shared by the codec tests. */
import fc from 'fast-check';
import type { EventFields } from '../../src/format/event.js';

/** Fixed seeds: a failure reproduces; the run count keeps the whole suite fast. */
export const FC_RUNS = { seed: 0x5e6_1062, numRuns: 200 } as const;

const encoder = new TextEncoder();
export const u53 = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
export const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
export const u16 = fc.integer({ min: 0, max: 0xffff });
export const id16 = fc.uint8Array({ minLength: 16, maxLength: 16 });
/** An optional id: null, or 16 bytes that are not all zero (all zero reads back as "none"). */
export const optionalId = fc.option(id16.filter((b) => b.some((x) => x !== 0)), { nil: null });
export const hash32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
/** Valid Unicode text (no lone surrogates), so UTF-8 round-trips exactly. */
export const text = (minLength: number, maxLength: number) => fc.string({ unit: 'grapheme', minLength, maxLength });

export const eventFields: fc.Arbitrary<EventFields> = fc.record({
  id: id16,
  seq: u53,
  clock: u53,
  wallMs: u53,
  txnId: u53,
  kindCategory: u16,
  kindType: u16,
  correlationId: optionalId,
  causationId: optionalId,
  prevHash: hash32,
  entity: text(1, 40).map((s) => encoder.encode(s)),
  scope: text(0, 40).map((s) => encoder.encode(s)),
  payload: fc.uint8Array({ maxLength: 400 }),
});

/**
 * A view of `bytes` that throws on any index outside [lo, hi): proves a decoder reads
 * only what it was given, whatever a length field claims.
 */
export function guarded(bytes: Uint8Array, lo: number, hi: number): Uint8Array {
  return new Proxy(bytes, {
    get(target, prop) {
      if (typeof prop === 'string' && /^\d+$/.test(prop)) {
        const i = Number(prop);
        if (i < lo || i >= hi) throw new RangeError(`read of byte ${i} outside [${lo}, ${hi})`);
        return target[i];
      }
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}
