import { describe, expect, it } from 'vitest';
import { formatBytes, formatCount, plural } from '../../src/ui/format.js';

describe('format helpers (locale-independent output)', () => {
  it('formatBytes uses binary units with at most one decimal and carries rounding into the next unit', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1024)).toBe('1 KiB');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(64 * 1024 * 1024)).toBe('64 MiB');
    expect(formatBytes(1024 * 1024 - 1)).toBe('1 MiB');
    expect(formatBytes(236_000_000)).toBe('225 MiB');
    expect(formatBytes(2n ** 40n)).toBe('1 TiB');
  });

  it('formatCount groups thousands with commas, for numbers and u64 bigints', () => {
    expect(formatCount(0)).toBe('0');
    expect(formatCount(999)).toBe('999');
    expect(formatCount(1000)).toBe('1,000');
    expect(formatCount(1234567)).toBe('1,234,567');
    expect(formatCount(-1234)).toBe('-1,234');
    expect(formatCount(2n ** 64n - 1n)).toBe('18,446,744,073,709,551,615');
  });

  it('plural picks the form by count and formats the number', () => {
    expect(plural(1, 'event')).toBe('1 event');
    expect(plural(0, 'event')).toBe('0 events');
    expect(plural(1200, 'event')).toBe('1,200 events');
    expect(plural(2, 'entry', 'entries')).toBe('2 entries');
    expect(plural(1n, 'segment')).toBe('1 segment');
  });
});
