/**
 * Recognises JSON text that is already in the exact form `JSON.stringify(JSON.parse(t))`
 * gives back, straight from its UTF-8 bytes. Such text can be copied verbatim where
 * the alternative is a parse and a stringify per record (dump's JSON output, append's
 * payloads): the two calls were most of dump's and append's time.
 *
 * The test is sound, not complete: `true` guarantees the round trip is the identity;
 * `false` only means "take the slow path" (it is also the answer for anything that is
 * not JSON at all). Payloads written by `JSON.stringify` almost always pass. What fails:
 * - whitespace outside strings, a byte order mark, invalid UTF-8;
 * - escapes JSON.stringify would not write (`\/`, `\u0041`, uppercase hex digits);
 * - numbers that do not print back the same (`1.0`, `1e3`, `-0`, beyond 2^53);
 * - objects with a repeated key (the last one wins) or an array-index key ("0", "7")
 *   (V8 moves those first), or with more than MAX_KEYS_CHECKED keys;
 * - nesting deeper than MAX_DEPTH.
 */
export const MAX_DEPTH = 256;
/** Keys compared pairwise for repeats per object; larger objects take the slow path. */
export const MAX_KEYS_CHECKED = 64;

/** Largest integer literal (in digits) that always prints back unchanged. */
const SAFE_INT_DIGITS = 15;
const ARRAY_INDEX_LIMIT = 4294967295; // 2^32 - 1: V8 orders such keys numerically

const enum C {
  QUOTE = 0x22,
  BACKSLASH = 0x5c,
  COMMA = 0x2c,
  COLON = 0x3a,
  LBRACE = 0x7b,
  RBRACE = 0x7d,
  LBRACKET = 0x5b,
  RBRACKET = 0x5d,
  MINUS = 0x2d,
  PLUS = 0x2b,
  DOT = 0x2e,
  ZERO = 0x30,
  NINE = 0x39,
  LOWER_E = 0x65,
  UPPER_E = 0x45,
}

/**
 * Scratch state of the scan, reused by every call (the scan is synchronous and never
 * re-entered): which containers are open, and the key spans of the open objects, as
 * a stack. No allocation per call: this check runs once per payload on dump's and
 * append's hot paths, where a level object and a key array per container cost as
 * much as the scan itself.
 */
const levelIsObject = new Uint8Array(MAX_DEPTH);
/** Where each open level's key spans start in `keySpans`. */
const levelKeysFrom = new Int32Array(MAX_DEPTH);
/** start, end pairs of the keys of the open objects, innermost last. */
const keySpans = new Int32Array(MAX_DEPTH * MAX_KEYS_CHECKED * 2);
/** Entries of `keySpans` in use. */
let keysTop = 0;

export function isCanonicalJson(buf: Uint8Array, start: number, end: number): boolean {
  return canonicalJsonEnd(buf, start, end) === end;
}

/**
 * Where the canonical JSON value starting at buf[start] ends (what follows it is not
 * looked at), or -1 when the value is not canonical (or not JSON) before `end`.
 */
export function canonicalJsonEnd(buf: Uint8Array, start: number, end: number): number {
  let depth = 0;
  keysTop = 0;
  let p = start;
  for (;;) {
    // a value starts at p
    if (p >= end) return -1;
    const c = buf[p]!;
    if (c === C.LBRACE || c === C.LBRACKET) {
      if (depth >= MAX_DEPTH) return -1;
      const isObject = c === C.LBRACE;
      p++;
      if (p < end && buf[p] === (isObject ? C.RBRACE : C.RBRACKET)) {
        p++; // empty container: a complete value
      } else {
        levelIsObject[depth] = isObject ? 1 : 0;
        levelKeysFrom[depth] = keysTop;
        depth++;
        if (isObject) {
          p = readKey(buf, p, end, keysTop - levelKeysFrom[depth - 1]!);
          if (p < 0) return -1;
        }
        continue;
      }
    } else if (c === C.QUOTE) {
      p = skipString(buf, p, end);
      if (p < 0) return -1;
    } else if (c === C.MINUS || (c >= C.ZERO && c <= C.NINE)) {
      p = skipNumber(buf, p, end);
      if (p < 0) return -1;
    } else if (c === 0x74 /* t */) {
      if (!literal(buf, p, end, TRUE)) return -1;
      p += 4;
    } else if (c === 0x66 /* f */) {
      if (!literal(buf, p, end, FALSE)) return -1;
      p += 5;
    } else if (c === 0x6e /* n */) {
      if (!literal(buf, p, end, NULL)) return -1;
      p += 4;
    } else {
      return -1;
    }
    // after a complete value: close containers or move to the next element
    for (;;) {
      if (depth === 0) return p;
      if (p >= end) return -1;
      const d = buf[p]!;
      const inObject = levelIsObject[depth - 1] === 1;
      if (d === C.COMMA) {
        p++;
        if (inObject) {
          p = readKey(buf, p, end, keysTop - levelKeysFrom[depth - 1]!);
          if (p < 0) return -1;
        }
        break;
      }
      if (d !== (inObject ? C.RBRACE : C.RBRACKET)) return -1;
      p++;
      depth--;
      keysTop = levelKeysFrom[depth]!;
    }
  }
}

const TRUE = [0x74, 0x72, 0x75, 0x65];
const FALSE = [0x66, 0x61, 0x6c, 0x73, 0x65];
const NULL = [0x6e, 0x75, 0x6c, 0x6c];

function literal(buf: Uint8Array, p: number, end: number, word: number[]): boolean {
  if (p + word.length > end) return false;
  for (let i = 0; i < word.length; i++) if (buf[p + i] !== word[i]) return false;
  return true;
}

/**
 * Reads `"key":` at p for the innermost open object, whose keys so far are
 * the last `keyEntries` entries of `keySpans` (two per key); returns the position of
 * its value or -1.
 */
function readKey(buf: Uint8Array, p: number, end: number, keyEntries: number): number {
  if (p >= end || buf[p] !== C.QUOTE) return -1;
  const q = skipString(buf, p, end);
  if (q < 0 || q >= end || buf[q] !== C.COLON) return -1;
  const ks = p + 1;
  const ke = q - 1;
  if (isArrayIndex(buf, ks, ke)) return -1;
  if (keyEntries >= 2 * MAX_KEYS_CHECKED) return -1;
  const len = ke - ks;
  for (let i = keysTop - keyEntries; i < keysTop; i += 2) {
    const s = keySpans[i]!;
    if (keySpans[i + 1]! - s !== len) continue;
    let j = 0;
    while (j < len && buf[s + j] === buf[ks + j]) j++;
    if (j === len) return -1; // a repeated key: JSON.parse keeps the last one
  }
  keySpans[keysTop++] = ks;
  keySpans[keysTop++] = ke;
  return q + 1;
}

function isArrayIndex(buf: Uint8Array, s: number, e: number): boolean {
  if (e <= s || e - s > 10) return false;
  if (buf[s] === C.ZERO) return e - s === 1;
  let v = 0;
  for (let i = s; i < e; i++) {
    const c = buf[i]!;
    if (c < C.ZERO || c > C.NINE) return false;
    v = v * 10 + (c - C.ZERO);
  }
  return v < ARRAY_INDEX_LIMIT;
}

/** 1 for the bytes a string holds as they are: printable ASCII but the quote and the backslash. */
const PLAIN_STRING_BYTE = Uint8Array.from({ length: 256 }, (_, c) => (c >= 0x20 && c < 0x80 && c !== C.QUOTE && c !== C.BACKSLASH ? 1 : 0));

/** Strings with at least this many bytes left are skipped 4 bytes at a time first. */
const WORD_SCAN_MIN_BYTES = 16;
const ONES = 0x01010101;
const HIGH_BITS = 0x80808080 | 0;
const SPACES = 0x20202020;
const QUOTES = 0x22222222;
const BACKSLASHES = 0x5c5c5c5c;

/** DataView of the last buffer scanned (one per read chunk, not per string). */
let viewOf: Uint8Array | null = null;
let view: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));

/**
 * Skips plain string bytes (PLAIN_STRING_BYTE) 4 at a time, stopping at the first
 * 4-byte word holding anything else (or near `end`); the byte loop takes it from
 * there. Long string values (notes, ids, text) are most of a payload's bytes: one
 * load and a few integer operations per word instead of four table lookups. The
 * word tests are the "has a byte less than n" / "has a zero byte" bit tricks: they
 * never miss such a byte (they may flag a plain word above one, which only ends the
 * fast skip early).
 */
function skipPlainWords(buf: Uint8Array, p: number, end: number): number {
  if (buf !== viewOf) {
    viewOf = buf;
    view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  const last = end - 4;
  while (p <= last) {
    const x = view.getInt32(p, true);
    const q = x ^ QUOTES;
    const s = x ^ BACKSLASHES;
    // bytes >= 0x80 | bytes < 0x20 | a quote | a backslash
    const special = x | ((x - SPACES) & ~x) | ((q - ONES) & ~q) | ((s - ONES) & ~s);
    if ((special & HIGH_BITS) !== 0) break;
    p += 4;
  }
  return p;
}

/**
 * Skips a string starting with the quote at p, accepting only what JSON.stringify
 * writes; returns the position after the closing quote or -1.
 */
function skipString(buf: Uint8Array, p: number, end: number): number {
  p++;
  if (end - p >= WORD_SCAN_MIN_BYTES) p = skipPlainWords(buf, p, end);
  while (p < end) {
    const c = buf[p]!;
    if (PLAIN_STRING_BYTE[c] === 1) {
      p++;
      continue;
    }
    if (c === C.QUOTE) return p + 1;
    if (c < 0x20) return -1;
    if (c === C.BACKSLASH) {
      if (p + 1 >= end) return -1;
      const e = buf[p + 1]!;
      // the two-character escapes JSON.stringify uses: \" \\ \b \f \n \r \t
      if (e === C.QUOTE || e === C.BACKSLASH || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
        p += 2;
        continue;
      }
      // \u00XX, lowercase, only for the other control characters
      if (e !== 0x75 || p + 6 > end || buf[p + 2] !== C.ZERO || buf[p + 3] !== C.ZERO) return -1;
      const hi = buf[p + 4]!;
      const lo = buf[p + 5]!;
      if (hi !== C.ZERO && hi !== 0x31) return -1;
      const loVal = lo >= C.ZERO && lo <= C.NINE ? lo - C.ZERO : lo >= 0x61 && lo <= 0x66 ? lo - 0x61 + 10 : -1;
      if (loVal < 0) return -1;
      const code = (hi - C.ZERO) * 16 + loVal;
      if (code === 8 || code === 9 || code === 10 || code === 12 || code === 13) return -1;
      p += 6;
      continue;
    }
    if (c < 0x80) {
      p++;
      continue;
    }
    const n = utf8SequenceLength(buf, p, end);
    if (n === 0) return -1;
    p += n;
  }
  return -1;
}

/**
 * Length of the well-formed UTF-8 sequence at p (2 to 4 bytes), or 0: the same
 * sequences a fatal TextDecoder accepts (no overlongs, no surrogates, up to U+10FFFF).
 */
function utf8SequenceLength(buf: Uint8Array, p: number, end: number): number {
  const c = buf[p]!;
  const cont = (i: number, lo = 0x80, hi = 0xbf): boolean => p + i < end && buf[p + i]! >= lo && buf[p + i]! <= hi;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if ((c >= 0xe1 && c <= 0xec) || c === 0xee || c === 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (c === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;
  if (c === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xf1 && c <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

/** Skips a number at p when it prints back unchanged; returns the position after it or -1. */
function skipNumber(buf: Uint8Array, p: number, end: number): number {
  const s = p;
  if (buf[p] === C.MINUS) p++;
  if (p >= end) return -1;
  if (buf[p] === C.ZERO) {
    p++;
  } else if (buf[p]! > C.ZERO && buf[p]! <= C.NINE) {
    while (p < end && buf[p]! >= C.ZERO && buf[p]! <= C.NINE) p++;
  } else {
    return -1;
  }
  let plainInt = true;
  if (p < end && buf[p] === C.DOT) {
    plainInt = false;
    p++;
    const d = p;
    while (p < end && buf[p]! >= C.ZERO && buf[p]! <= C.NINE) p++;
    if (p === d) return -1;
  }
  if (p < end && (buf[p] === C.LOWER_E || buf[p] === C.UPPER_E)) {
    plainInt = false;
    p++;
    if (p < end && (buf[p] === C.PLUS || buf[p] === C.MINUS)) p++;
    const d = p;
    while (p < end && buf[p]! >= C.ZERO && buf[p]! <= C.NINE) p++;
    if (p === d) return -1;
  }
  const digits = p - s - (buf[s] === C.MINUS ? 1 : 0);
  if (plainInt && digits <= SAFE_INT_DIGITS) {
    // "-0" is the one short integer that does not print back (as "0")
    return buf[s] === C.MINUS && digits === 1 && buf[s + 1] === C.ZERO ? -1 : p;
  }
  let text = '';
  for (let i = s; i < p; i++) text += String.fromCharCode(buf[i]!);
  return String(Number(text)) === text ? p : -1;
}
