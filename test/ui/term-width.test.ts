import { describe, expect, it } from 'vitest';
import { renderTable } from '../../src/ui/table.js';
import { terminalColumns, visibleLength, wrapLine } from '../../src/ui/term-width.js';
import { formatProgress } from '../../src/ui/progress.js';

describe('text fits the terminal', () => {
  it('the width is the TTY width, else COLUMNS, else 80', () => {
    expect(terminalColumns({ isTTY: true, columns: 132 }, {})).toBe(132);
    expect(terminalColumns({ isTTY: false }, { COLUMNS: '100' })).toBe(100);
    expect(terminalColumns({ isTTY: false }, {})).toBe(80);
  });

  it('wrapLine keeps every character, breaks at spaces, indents continuations, and cuts words longer than a line', () => {
    const line = `  ${'word '.repeat(40)}${'x'.repeat(120)}`;
    const out = wrapLine(line, 40);
    expect(out.every((l) => visibleLength(l) <= 40), out.join('\n')).toBe(true);
    expect(out.join(' ').replace(/\s+/g, '')).toBe(line.replace(/\s+/g, ''));
    expect(out.slice(1).every((l) => l.startsWith('    '))).toBe(true);
  });

  it('a table wider than maxWidth is narrowed; identifiers wrap rather than being cut', () => {
    const rows = [['0000000001.seg@123456', 'error', 'a long message '.repeat(10).trim()]];
    const text = renderTable(['where', 'severity', 'message'], rows, { maxWidth: 60, color: false });
    const lines = text.split('\n');
    expect(lines.every((l) => l.length <= 60), text).toBe(true);
    expect(text.replace(/[│\s]/g, '')).toContain('0000000001.seg@123456');
  });

  it('the progress line has counts, rate, percentage and ETA, and fits 80 columns', () => {
    const line = formatProgress('appending', 'events', { done: 412_288, bytesDone: 52_000_000, totalBytes: 122_000_000 }, 4000);
    expect(line).toBe('appending  412,288 events  13.0 MB/s  42%  ETA 0:05');
    expect(line.length).toBeLessThan(78);
  });
});
