/** Little helpers for fixed-width little-endian fields, decoded in place. */

export const TWO_32 = 0x1_0000_0000;

export function readU16(buf: Uint8Array, off: number): number {
  return buf[off]! | (buf[off + 1]! << 8);
}

export function readU32(buf: Uint8Array, off: number): number {
  return (buf[off]! | (buf[off + 1]! << 8) | (buf[off + 2]! << 16)) + buf[off + 3]! * 0x1000000;
}

/** u64 as a JS number; values above 2^53 are out of range for seglog and rejected by callers. */
export function readU64(buf: Uint8Array, off: number): number {
  return readU32(buf, off) + readU32(buf, off + 4) * TWO_32;
}

export function writeU16(buf: Uint8Array, off: number, v: number): void {
  buf[off] = v & 0xff;
  buf[off + 1] = (v >>> 8) & 0xff;
}

export function writeU32(buf: Uint8Array, off: number, v: number): void {
  buf[off] = v & 0xff;
  buf[off + 1] = (v >>> 8) & 0xff;
  buf[off + 2] = (v >>> 16) & 0xff;
  buf[off + 3] = (v >>> 24) & 0xff;
}

export function writeU64(buf: Uint8Array, off: number, v: number): void {
  writeU32(buf, off, v % TWO_32);
  writeU32(buf, off + 4, Math.floor(v / TWO_32));
}

/**
 * A fresh copy of `src[start, end)`, never a view. Use it for any bytes kept beyond the
 * current frame or callback: `Uint8Array.prototype.slice` copies, but a Node `Buffer`
 * (what `Buffer.allocUnsafe` and every read chunk and arena are) overrides `slice` to
 * return a VIEW, and a `Uint8Array`-typed variable may hold a Buffer at run time. That
 * difference printed overwritten events once a batch crossed a read chunk (issue 12);
 * test/format/no-byte-slice.test.ts forbids `.slice` on byte arrays in src/.
 */
export function copyBytes(src: Uint8Array, start = 0, end = src.length): Uint8Array {
  return Uint8Array.prototype.slice.call(src, start, end);
}

export function equalBytes(a: Uint8Array, aOff: number, b: Uint8Array, bOff: number, len: number): boolean {
  for (let i = 0; i < len; i++) if (a[aOff + i] !== b[bOff + i]) return false;
  return true;
}

export function isAllZero(buf: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (buf[i] !== 0) return false;
  return true;
}

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function toHex(buf: Uint8Array, start = 0, end = buf.length): string {
  let s = '';
  for (let i = start; i < end; i++) s += HEX[buf[i]!];
  return s;
}

export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) throw new Error(`not a hex string: ${hex}`);
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export const utf8 = new TextEncoder();
export const utf8Decoder = new TextDecoder('utf-8', { fatal: false });
export const utf8Strict = new TextDecoder('utf-8', { fatal: true });
