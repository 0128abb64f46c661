import { ev } from '../../format/event.js';
import { EV } from '../../format/event.js';

/** The one query predicate used by query, dump filters, cursors and subscriptions. */
export interface Region {
  entity?: string;
  entityPrefix?: string;
  scope?: string;
  kind?: { category: number; type?: number };
  fromSeq?: number;
  toSeq?: number;
  fromClock?: number;
  toClock?: number;
  /** Include the engine's own kinds (category 0); off by default. */
  includeSystem?: boolean;
}

/** A region compiled to an in-place test over an EVENT body (no decoding, no allocation). */
export type RegionTest = (buf: Uint8Array, body: number) => boolean;

export function compileRegion(r: Region): RegionTest {
  const entity = r.entity !== undefined ? Buffer.from(r.entity, 'utf8') : null;
  const prefix = r.entityPrefix !== undefined ? Buffer.from(r.entityPrefix, 'utf8') : null;
  const scope = r.scope !== undefined ? Buffer.from(r.scope, 'utf8') : null;
  const kind = r.kind;
  const fromSeq = r.fromSeq ?? 0;
  const toSeq = r.toSeq ?? Number.MAX_SAFE_INTEGER;
  const fromClock = r.fromClock ?? 0;
  const toClock = r.toClock ?? Number.MAX_SAFE_INTEGER;
  const includeSystem = r.includeSystem ?? false;
  return (buf, b) => {
    const seq = ev.seq(buf, b);
    if (seq < fromSeq || seq > toSeq) return false;
    const cat = ev.kindCategory(buf, b);
    if (cat === 0 && !includeSystem && !(kind && kind.category === 0)) return false;
    if (kind && (cat !== kind.category || (kind.type !== undefined && ev.kindType(buf, b) !== kind.type))) return false;
    const eLen = ev.entityLen(buf, b);
    const eStart = b + EV.VAR;
    if (entity && !bytesEqual(buf, eStart, eLen, entity)) return false;
    if (prefix && (eLen < prefix.length || !bytesEqual(buf, eStart, prefix.length, prefix))) return false;
    if (scope && !bytesEqual(buf, eStart + eLen, ev.scopeLen(buf, b), scope)) return false;
    if (r.fromClock !== undefined || r.toClock !== undefined) {
      const c = ev.clock(buf, b);
      if (c < fromClock || c > toClock) return false;
    }
    return true;
  };
}

function bytesEqual(buf: Uint8Array, off: number, len: number, want: Uint8Array): boolean {
  if (len !== want.length) return false;
  for (let i = 0; i < len; i++) if (buf[off + i] !== want[i]) return false;
  return true;
}
