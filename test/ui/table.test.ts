import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { colorEnabled } from '../../src/ui/colors.js';
import { renderTable } from '../../src/ui/table.js';

const ANSI = /\u001B\[/;
const tty = { isTTY: true };
const pipe = { isTTY: false };
const savedNoColor = process.env.NO_COLOR;

const savedEnv = { TERM: process.env.TERM, FORCE_COLOR: process.env.FORCE_COLOR };

function restore(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

beforeAll(() => {
  // cli-table3 colours through @colors/colors, which decides once, when first loaded,
  // from TERM, CI and FORCE_COLOR (not from NO_COLOR or the stream): make it willing to
  // colour here (CI=true alone would stop it) so the plain-style tests prove something.
  process.env.TERM = 'xterm-256color';
  process.env.FORCE_COLOR = '1';
});

afterEach(() => restore('NO_COLOR', savedNoColor));

afterAll(() => {
  restore('TERM', savedEnv.TERM);
  restore('FORCE_COLOR', savedEnv.FORCE_COLOR);
});

describe('renderTable', () => {
  it('with colour forced on, the table does contain ANSI codes (so the plain checks below are meaningful)', () => {
    expect(renderTable(['a', 'b'], [['x', 1]], { color: true })).toMatch(ANSI);
  });

  it('NO_COLOR gives a plain table without ANSI codes even on a TTY', () => {
    process.env.NO_COLOR = '1';
    expect(colorEnabled(tty)).toBe(false);
    const text = renderTable(['segment', 'events'], [['000001.seg', 1200]], { stream: tty });
    expect(text).not.toMatch(ANSI);
    expect(text).toContain('000001.seg');
  });

  it('piped stdout (not a TTY) gives a plain table', () => {
    delete process.env.NO_COLOR;
    expect(renderTable(['segment', 'events'], [['000001.seg', 1200]], { stream: pipe })).not.toMatch(ANSI);
  });

  it('an empty NO_COLOR does not disable colour (no-color.org: only a non-empty value counts)', () => {
    expect(colorEnabled(tty, { NO_COLOR: '', TERM: 'xterm' })).toBe(true);
    expect(colorEnabled(tty, { NO_COLOR: '1', TERM: 'xterm' })).toBe(false);
  });

  it('numeric columns are right-aligned by default', () => {
    const lines = renderTable(['name', 'n'], [['a', 5], ['b', 12345]], { color: false }).split('\n');
    const row = lines.find((line) => line.includes(' a '));
    expect(row).toMatch(/\s{4}5 │$/);
  });

  it('a row with the wrong number of cells is a programming error, not a misaligned table', () => {
    expect(() => renderTable(['a', 'b'], [['only one']])).toThrow(/row 0 has 1 cells, expected 2/);
  });
});
