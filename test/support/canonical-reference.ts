const strict = new TextDecoder('utf-8', { fatal: true });

/**
 * The slow path's view of some bytes, the reference for format/canonical-json.ts: valid
 * UTF-8 whose text JSON.stringify(JSON.parse(text)) gives back byte for byte.
 */
export function roundTripsExactly(bytes: Uint8Array): boolean {
  let text: string;
  try {
    text = strict.decode(bytes);
  } catch {
    return false;
  }
  if (Buffer.from(text, 'utf8').compare(Buffer.from(bytes)) !== 0) return false; // a BOM was stripped
  try {
    return JSON.stringify(JSON.parse(text)) === text;
  } catch {
    return false;
  }
}
