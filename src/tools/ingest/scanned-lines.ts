import { parseKind } from '../../format/event.js';
import type { BatchItem, RawBulkItem } from '../../engine/store/store.js';
import { LineScan, NULL_VALUE, type ScannedSpans } from './line-scan.js';

/** Defaults the append flags give for lines without entity, scope or kind. */
export interface LineDefaults {
  entity?: string;
  scope?: string;
  kind?: { category: number; type: number };
}

/** The store's kind when neither the line nor the flags give one (Store DEFAULT_KIND). */
const STORE_DEFAULT_KIND = { category: 1, type: 0 };
const EMPTY = Buffer.alloc(0);

/**
 * Turns JSONL lines into events without JSON.parse when `LineScan` allows it: the
 * event `append --file` would make of the line, as byte ranges of the line itself
 * (`raw`, for bulk appends) or as a batch item (`item`, for --batch-size). null means
 * "use the slow path" (commands/append.ts parseLine), which also owns every error.
 */
export class ScannedLines {
  private readonly scan = new LineScan();
  private readonly entityDefault: Buffer | null;
  private readonly scopeDefault: Buffer | null;
  private readonly out: RawBulkItem = {
    entity: EMPTY, entityStart: 0, entityEnd: 0,
    scope: EMPTY, scopeStart: 0, scopeEnd: 0,
    payload: EMPTY, payloadStart: 0, payloadEnd: 0,
    kindCategory: 0, kindType: 0,
  };
  /** The last kind parsed, by its bytes (lines of a file mostly repeat one kind). */
  private lastKindBytes = new Uint8Array(0);
  private lastKind: { category: number; type: number } | null = null;

  constructor(private readonly defaults: LineDefaults) {
    this.entityDefault = defaults.entity !== undefined ? Buffer.from(defaults.entity, 'utf8') : null;
    this.scopeDefault = defaults.scope !== undefined ? Buffer.from(defaults.scope, 'utf8') : null;
  }

  /**
   * `SEGLOG_APPEND_FAST=0` turns the byte-level path off: every line goes through
   * JSON.parse (parseLine) and the store's item encoder (the differential suite runs both).
   */
  private readonly fast = process.env.SEGLOG_APPEND_FAST !== '0';

  /** The line as a bulk item over its own bytes (valid until the buffer changes), or null. */
  raw(buf: Buffer, start: number, end: number): RawBulkItem | null {
    return this.fast && this.scan.scan(buf, start, end) ? this.fromSpans(buf, this.scan) : null;
  }

  /** `raw` for a line already scanned (by a scan worker: scan-pool.ts); its spans are in `buf`. */
  fromSpans(buf: Buffer, s: ScannedSpans): RawBulkItem | null {
    if (!this.fast) return null;
    const o = this.out;
    if (s.entityStart >= 0) {
      o.entity = buf;
      o.entityStart = s.entityStart;
      o.entityEnd = s.entityEnd;
    } else {
      // absent or null: the --entity default, whose absence is the slow path's error
      if (this.entityDefault === null) return null;
      o.entity = this.entityDefault;
      o.entityStart = 0;
      o.entityEnd = this.entityDefault.length;
    }
    if (o.entityEnd === o.entityStart) return null; // "" is an error
    if (s.scopeStart >= 0) {
      o.scope = buf;
      o.scopeStart = s.scopeStart;
      o.scopeEnd = s.scopeEnd;
    } else {
      if (this.scopeDefault === null) return null;
      o.scope = this.scopeDefault;
      o.scopeStart = 0;
      o.scopeEnd = this.scopeDefault.length;
    }
    let kind = this.defaults.kind ?? STORE_DEFAULT_KIND;
    if (s.kindStart !== -1) {
      if (s.kindStart === NULL_VALUE) return null;
      const k = this.kindOf(buf, s.kindStart, s.kindEnd);
      if (k === null) return null;
      kind = k;
    }
    o.kindCategory = kind.category;
    o.kindType = kind.type;
    o.payload = buf;
    o.payloadStart = s.payloadStart;
    o.payloadEnd = s.payloadEnd;
    return o;
  }

  /** The line as the batch item parseLine would make (payload copied out of the line), or null. */
  item(buf: Buffer, start: number, end: number, spans?: ScannedSpans | null): BatchItem | null {
    const r = spans ? this.fromSpans(buf, spans) : spans === null ? null : this.raw(buf, start, end);
    if (r === null) return null;
    const kindGiven = (spans ?? this.scan).kindStart !== -1;
    return {
      entity: utf8Of(r.entity, r.entityStart, r.entityEnd),
      scope: utf8Of(r.scope, r.scopeStart, r.scopeEnd),
      kind: kindGiven ? { category: r.kindCategory, type: r.kindType } : this.defaults.kind,
      payload: Uint8Array.prototype.slice.call(r.payload, r.payloadStart, r.payloadEnd),
    };
  }

  /** parseKind of buf[start, end) as UTF-8, with the category-0 rule of parseLine; null for a bad kind. */
  private kindOf(buf: Buffer, start: number, end: number): { category: number; type: number } | null {
    const last = this.lastKindBytes;
    if (this.lastKind !== null && last.length === end - start) {
      let i = 0;
      while (i < last.length && last[i] === buf[start + i]) i++;
      if (i === last.length) return this.lastKind;
    }
    const k = parseKind(buf.toString('utf8', start, end));
    if (!k || k.category === 0) return null;
    this.lastKindBytes = Uint8Array.prototype.slice.call(buf, start, end);
    this.lastKind = k;
    return k;
  }
}

function utf8Of(b: Uint8Array, start: number, end: number): string {
  return Buffer.from(b.buffer, b.byteOffset + start, end - start).toString('utf8');
}
