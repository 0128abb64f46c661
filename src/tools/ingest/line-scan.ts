/**
 * The fast path of `append --file`: one pass over a JSONL line's bytes that checks it is
 * a JSON object and finds its "entity", "scope", "kind" and "payload" members, so the
 * event is encoded straight from the line's bytes. The slow path (JSON.parse of the
 * line, then JSON.stringify of its payload) cost ~2.5 µs a line, most of append's time.
 *
 * `scan` says yes only when the fast path gives exactly what the slow path would:
 * - the line is valid JSON (any whitespace, escapes and numbers) and valid UTF-8;
 * - member names have no escapes (else "entit\u0079" would be missed);
 * - entity and scope are strings without escapes, or null / absent (flag defaults);
 *   kind is a string without escapes, or absent;
 * - the payload value is canonical JSON (format/canonical-json.ts), so its bytes are
 *   what JSON.stringify(JSON.parse(...)) writes.
 * Anything else (including every kind of bad line) goes to the slow path, which gives
 * the documented errors. A repeated member counts with its last value, as in JSON.parse.
 */
import { canonicalJsonEnd } from '../../format/canonical-json.js';

/** Deepest nesting the scanner follows; deeper lines take the slow path. */
export const MAX_SCAN_DEPTH = 512;

const ABSENT = -1;
/** A member whose value is JSON null. */
export const NULL_VALUE = -2;

const KEY_ENTITY = bytesOf('entity');
const KEY_SCOPE = bytesOf('scope');
const KEY_KIND = bytesOf('kind');
const KEY_PAYLOAD = bytesOf('payload');

function bytesOf(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

/** 1 for bytes a string holds as they are (printable ASCII but quote and backslash). */
const PLAIN = Uint8Array.from({ length: 256 }, (_, c) => (c >= 0x20 && c < 0x80 && c !== 0x22 && c !== 0x5c ? 1 : 0));
const HEX = Uint8Array.from({ length: 256 }, (_, c) => ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66) ? 1 : 0));

/**
 * Where a scanned line's members are: [start, end) in the scanned buffer; a start of
 * ABSENT (-1) means the member is missing and NULL_VALUE (-2) that its value is null.
 * String spans exclude the quotes.
 */
export interface ScannedSpans {
  entityStart: number;
  entityEnd: number;
  scopeStart: number;
  scopeEnd: number;
  kindStart: number;
  kindEnd: number;
  payloadStart: number;
  payloadEnd: number;
}

/** Result slots of `scan` (reused: no allocation per line). */
export class LineScan implements ScannedSpans {
  entityStart = ABSENT;
  entityEnd = ABSENT;
  scopeStart = ABSENT;
  scopeEnd = ABSENT;
  kindStart = ABSENT;
  kindEnd = ABSENT;
  payloadStart = ABSENT;
  payloadEnd = ABSENT;
  /** Set by string scans: the string had an escape. */
  private escaped = false;

  /** Scans buf[start, end); true when the fast path applies (see the file comment). */
  scan(buf: Uint8Array, start: number, end: number): boolean {
    this.entityStart = this.scopeStart = this.kindStart = this.payloadStart = ABSENT;
    let p = ws(buf, start, end);
    if (p >= end || buf[p] !== 0x7b) return false;
    p = ws(buf, p + 1, end);
    if (p < end && buf[p] === 0x7d) return false; // {}: no payload
    for (;;) {
      if (p >= end || buf[p] !== 0x22) return false;
      const ks = p + 1;
      p = this.string(buf, p, end);
      if (p < 0 || this.escaped) return false;
      const ke = p - 1;
      p = ws(buf, p, end);
      if (p >= end || buf[p] !== 0x3a) return false;
      p = ws(buf, p + 1, end);
      if (p >= end) return false;
      const which = memberOf(buf, ks, ke);
      if (which === KEY_PAYLOAD) {
        const q = canonicalJsonEnd(buf, p, end);
        if (q < 0) return false;
        this.payloadStart = p;
        this.payloadEnd = q;
        p = q;
      } else if (which !== null) {
        // entity, scope, kind: a string without escapes, or null
        let s: number;
        let e: number;
        if (buf[p] === 0x6e) {
          if (!isNull(buf, p, end)) return false;
          s = e = NULL_VALUE;
          p += 4;
        } else if (buf[p] === 0x22) {
          s = p + 1;
          p = this.string(buf, p, end);
          if (p < 0 || this.escaped) return false;
          e = p - 1;
        } else {
          return false;
        }
        if (which === KEY_ENTITY) {
          this.entityStart = s;
          this.entityEnd = e;
        } else if (which === KEY_SCOPE) {
          this.scopeStart = s;
          this.scopeEnd = e;
        } else {
          if (s === NULL_VALUE) return false; // "kind": null is an error
          this.kindStart = s;
          this.kindEnd = e;
        }
      } else {
        p = this.value(buf, p, end);
        if (p < 0) return false;
      }
      p = ws(buf, p, end);
      if (p >= end) return false;
      if (buf[p] === 0x2c) {
        p = ws(buf, p + 1, end);
        continue;
      }
      if (buf[p] !== 0x7d) return false;
      return ws(buf, p + 1, end) === end && this.payloadStart !== ABSENT;
    }
  }

  /** Any JSON value at p; returns the position after it or -1. */
  private value(buf: Uint8Array, p: number, end: number): number {
    // containers still open: 1 object, 2 array
    const stack: number[] = [];
    for (;;) {
      if (p >= end) return -1;
      const c = buf[p]!;
      if (c === 0x7b || c === 0x5b) {
        if (stack.length >= MAX_SCAN_DEPTH) return -1;
        const obj = c === 0x7b;
        p = ws(buf, p + 1, end);
        if (p < end && buf[p] === (obj ? 0x7d : 0x5d)) {
          p++;
        } else {
          stack.push(obj ? 1 : 2);
          if (obj) {
            p = this.memberName(buf, p, end);
            if (p < 0) return -1;
          }
          continue;
        }
      } else if (c === 0x22) {
        p = this.string(buf, p, end);
      } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
        p = number(buf, p, end);
      } else if (c === 0x74) {
        p = word(buf, p, end, 'true');
      } else if (c === 0x66) {
        p = word(buf, p, end, 'false');
      } else if (c === 0x6e) {
        p = isNull(buf, p, end) ? p + 4 : -1;
      } else {
        return -1;
      }
      if (p < 0) return -1;
      for (;;) {
        if (stack.length === 0) return p;
        p = ws(buf, p, end);
        if (p >= end) return -1;
        const d = buf[p]!;
        const top = stack[stack.length - 1]!;
        if (d === 0x2c) {
          p = ws(buf, p + 1, end);
          if (top === 1) {
            p = this.memberName(buf, p, end);
            if (p < 0) return -1;
          }
          break;
        }
        if (d !== (top === 1 ? 0x7d : 0x5d)) return -1;
        p++;
        stack.pop();
      }
    }
  }

  /** `"name" :` and the whitespace after it; returns the value's position or -1. */
  private memberName(buf: Uint8Array, p: number, end: number): number {
    if (p >= end || buf[p] !== 0x22) return -1;
    p = this.string(buf, p, end);
    if (p < 0) return -1;
    p = ws(buf, p, end);
    if (p >= end || buf[p] !== 0x3a) return -1;
    return ws(buf, p + 1, end);
  }

  /** A JSON string at p (its opening quote); returns the position after it or -1; sets `escaped`. */
  private string(buf: Uint8Array, p: number, end: number): number {
    this.escaped = false;
    p++;
    while (p < end) {
      const c = buf[p]!;
      if (PLAIN[c] === 1) {
        p++;
        continue;
      }
      if (c === 0x22) return p + 1;
      if (c < 0x20) return -1;
      if (c === 0x5c) {
        this.escaped = true;
        if (p + 1 >= end) return -1;
        const e = buf[p + 1]!;
        if (e === 0x22 || e === 0x5c || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
          p += 2;
          continue;
        }
        if (e !== 0x75 || p + 6 > end) return -1;
        if (HEX[buf[p + 2]!] !== 1 || HEX[buf[p + 3]!] !== 1 || HEX[buf[p + 4]!] !== 1 || HEX[buf[p + 5]!] !== 1) return -1;
        p += 6;
        continue;
      }
      const n = utf8Length(buf, p, end);
      if (n === 0) return -1;
      p += n;
    }
    return -1;
  }
}

function memberOf(buf: Uint8Array, s: number, e: number): Uint8Array | null {
  const len = e - s;
  const key = len === 6 ? KEY_ENTITY : len === 5 ? KEY_SCOPE : len === 4 ? KEY_KIND : len === 7 ? KEY_PAYLOAD : null;
  if (key === null) return null;
  for (let i = 0; i < len; i++) if (buf[s + i] !== key[i]) return null;
  return key;
}

function ws(buf: Uint8Array, p: number, end: number): number {
  while (p < end) {
    const c = buf[p]!;
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return p;
    p++;
  }
  return p;
}

function isNull(buf: Uint8Array, p: number, end: number): boolean {
  return p + 4 <= end && buf[p + 1] === 0x75 && buf[p + 2] === 0x6c && buf[p + 3] === 0x6c;
}

function word(buf: Uint8Array, p: number, end: number, w: string): number {
  if (p + w.length > end) return -1;
  for (let i = 0; i < w.length; i++) if (buf[p + i] !== w.charCodeAt(i)) return -1;
  return p + w.length;
}

/** A JSON number (grammar only); returns the position after it or -1. */
function number(buf: Uint8Array, p: number, end: number): number {
  if (buf[p] === 0x2d) p++;
  if (p >= end) return -1;
  if (buf[p] === 0x30) p++;
  else if (buf[p]! >= 0x31 && buf[p]! <= 0x39) while (p < end && buf[p]! >= 0x30 && buf[p]! <= 0x39) p++;
  else return -1;
  if (p < end && buf[p] === 0x2e) {
    const d = ++p;
    while (p < end && buf[p]! >= 0x30 && buf[p]! <= 0x39) p++;
    if (p === d) return -1;
  }
  if (p < end && (buf[p] === 0x65 || buf[p] === 0x45)) {
    p++;
    if (p < end && (buf[p] === 0x2b || buf[p] === 0x2d)) p++;
    const d = p;
    while (p < end && buf[p]! >= 0x30 && buf[p]! <= 0x39) p++;
    if (p === d) return -1;
  }
  return p;
}

/** Length of the well-formed UTF-8 sequence at p (2 to 4), or 0 (as a fatal TextDecoder decides). */
function utf8Length(buf: Uint8Array, p: number, end: number): number {
  const c = buf[p]!;
  const ok = (i: number, lo: number, hi: number): boolean => p + i < end && buf[p + i]! >= lo && buf[p + i]! <= hi;
  if (c >= 0xc2 && c <= 0xdf) return ok(1, 0x80, 0xbf) ? 2 : 0;
  if (c === 0xe0) return ok(1, 0xa0, 0xbf) && ok(2, 0x80, 0xbf) ? 3 : 0;
  if ((c >= 0xe1 && c <= 0xec) || c === 0xee || c === 0xef) return ok(1, 0x80, 0xbf) && ok(2, 0x80, 0xbf) ? 3 : 0;
  if (c === 0xed) return ok(1, 0x80, 0x9f) && ok(2, 0x80, 0xbf) ? 3 : 0;
  if (c === 0xf0) return ok(1, 0x90, 0xbf) && ok(2, 0x80, 0xbf) && ok(3, 0x80, 0xbf) ? 4 : 0;
  if (c >= 0xf1 && c <= 0xf3) return ok(1, 0x80, 0xbf) && ok(2, 0x80, 0xbf) && ok(3, 0x80, 0xbf) ? 4 : 0;
  if (c === 0xf4) return ok(1, 0x80, 0x8f) && ok(2, 0x80, 0xbf) && ok(3, 0x80, 0xbf) ? 4 : 0;
  return 0;
}
