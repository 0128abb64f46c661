/**
 * The JSON output channel. Under --json a command prints exactly one JSON document on
 * stdout, written with one `write` call so it cannot interleave with anything else.
 *
 * Values JSON.stringify cannot represent faithfully are converted, so engine results can
 * be emitted as they are:
 * - bigint → number when it is a safe integer, otherwise a decimal string;
 * - Uint8Array / Buffer (hashes, ids) → lowercase hex string;
 * - Map → object, Set → array.
 */

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);

function toHex(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += bytes[i].toString(16).padStart(2, '0');
  return out;
}

/**
 * JSON.stringify replacer. It looks at the holder's original value (`this[key]`)
 * because Buffer.prototype.toJSON runs before the replacer sees the value.
 */
export function jsonReplacer(this: unknown, key: string, value: unknown): unknown {
  const raw = (this as Record<string, unknown> | null)?.[key] ?? value;
  if (raw instanceof Uint8Array) return toHex(raw);
  if (typeof value === 'bigint') return value <= MAX_SAFE && value >= MIN_SAFE ? Number(value) : value.toString();
  if (value instanceof Map) return Object.fromEntries(value);
  if (value instanceof Set) return [...value];
  return value;
}

/** One JSON document on one line (no pretty printing: stable for diffing and `jq`). */
export function stringifyJson(value: unknown): string {
  const text = JSON.stringify(value, jsonReplacer);
  // JSON.stringify(undefined) is undefined: still print a valid document.
  return text === undefined ? 'null' : text;
}

/** Writes one JSON document plus a newline to `stream` (stdout by default). */
export function writeJson(value: unknown, stream: NodeJS.WritableStream = process.stdout): void {
  stream.write(`${stringifyJson(value)}\n`);
}
