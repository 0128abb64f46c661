/**
 * Small text formatters for human output. Locale-independent on purpose: output must
 * not change with the machine's LANG, so tests and CI logs stay comparable.
 */

const BYTE_UNITS = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'] as const;

/** 1023 → "1023 B", 1536 → "1.5 KiB", 10 MiB → "10 MiB" (binary units, ≤ 1 decimal). */
export function formatBytes(sizeBytes: number | bigint): string {
  const n = typeof sizeBytes === 'bigint' ? Number(sizeBytes) : sizeBytes;
  if (!Number.isFinite(n)) return String(sizeBytes);
  const sign = n < 0 ? '-' : '';
  let value = Math.abs(n);
  if (value < 1024) return `${sign}${Math.round(value)} B`;
  let unit = -1;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  // Rounding may carry into the next unit (1023.96 KiB would print "1024 KiB").
  if (Math.round(value) >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const rounded = value >= 100 ? Math.round(value).toString() : trimZero(value.toFixed(1));
  return `${sign}${rounded} ${BYTE_UNITS[unit]}`;
}

function trimZero(fixed: string): string {
  return fixed.endsWith('.0') ? fixed.slice(0, -2) : fixed;
}

/** 1234567 → "1,234,567"; works for bigint (u64 sequences) and negative numbers. */
export function formatCount(count: number | bigint): string {
  if (typeof count === 'number' && !Number.isFinite(count)) return String(count);
  const text = typeof count === 'bigint' ? count.toString() : Math.trunc(count).toString();
  const negative = text.startsWith('-');
  const digits = negative ? text.slice(1) : text;
  let out = '';
  for (let i = 0; i < digits.length; i++) {
    if (i > 0 && (digits.length - i) % 3 === 0) out += ',';
    out += digits[i];
  }
  return negative ? `-${out}` : out;
}

/** plural(1, 'event') → "1 event", plural(1200, 'event') → "1,200 events", plural(2, 'entry', 'entries'). */
export function plural(count: number | bigint, singular: string, pluralForm = `${singular}s`): string {
  const one = typeof count === 'bigint' ? count === 1n : count === 1;
  return `${formatCount(count)} ${one ? singular : pluralForm}`;
}
