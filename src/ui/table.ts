/**
 * Tables for text output (cli-table3). cli-table3 decides colour from TERM alone and
 * ignores NO_COLOR, so the style is chosen here: plain (no ANSI codes at all) unless
 * stdout is a terminal and NO_COLOR is unset; see colors.ts.
 *
 * cli-table3 is loaded on first use, not at import time, to keep CLI startup fast for
 * commands (and --json runs) that never draw a table.
 */
import { createRequire } from 'node:module';
import type CliTable3 from 'cli-table3';
import { colorEnabled, type TtyLike } from './colors.js';
import { terminalColumns, visibleLength, wrapLine } from './term-width.js';

export type Cell = string | number | bigint;
export type Align = 'left' | 'center' | 'right';

export interface TableOptions {
  /** Per-column alignment. Default: right for columns whose cells are all numbers. */
  colAligns?: Align[];
  /** Force colour on or off; default asks colorEnabled(stream). */
  color?: boolean;
  /** Stream the table is meant for (default stdout), for the TTY check. */
  stream?: TtyLike;
  /** No separator lines between rows (cli-table3 `compact`). Default true. */
  compact?: boolean;
  /**
   * Widest the table may be, in columns. Default: the terminal's width (term-width.ts,
   * 80 when unknown). Wider tables get their widest columns narrowed and wrapped.
   */
  maxWidth?: number;
}

/** A column is never narrowed below this (cell padding included). */
const MIN_COLUMN_WIDTH = 6;

/**
 * Column widths (padding included) that fit `maxWidth`, or undefined when the natural
 * widths already fit. The widest column gives up a column at a time.
 */
export function fitColumnWidths(head: readonly string[], rows: readonly (readonly string[])[], maxWidth: number): number[] | undefined {
  const widths = head.map((h, c) => Math.max(visibleLength(h), ...rows.map((r) => Math.max(...String(r[c]).split('\n').map(visibleLength)))) + 2);
  const borders = head.length + 1;
  let total = widths.reduce((a, b) => a + b, 0) + borders;
  if (total <= maxWidth) return undefined;
  // text that wraps at spaces (messages, notes) gives up room first; identifiers last
  const wraps = head.map((_, c) => rows.some((r) => String(r[c]).includes(' ')));
  while (total > maxWidth) {
    let widest = -1;
    for (let c = 0; c < widths.length; c++) if (wraps[c] && widths[c]! > MIN_COLUMN_WIDTH && (widest < 0 || widths[c]! > widths[widest]!)) widest = c;
    if (widest < 0) for (let c = 0; c < widths.length; c++) if (widest < 0 || widths[c]! > widths[widest]!) widest = c;
    if (widths[widest]! <= MIN_COLUMN_WIDTH) break;
    widths[widest]!--;
    total--;
  }
  return widths;
}

/** Upper bound on rows per table: a CLI table is for people, big outputs use --json. */
export const MAX_TABLE_ROWS = 100_000;

let tableCtor: typeof CliTable3 | undefined;

function loadTable(): typeof CliTable3 {
  if (tableCtor === undefined) {
    const require = createRequire(import.meta.url);
    tableCtor = require('cli-table3') as typeof CliTable3;
  }
  return tableCtor;
}

function defaultAligns(columns: number, rows: readonly (readonly Cell[])[]): Align[] {
  const aligns: Align[] = [];
  for (let c = 0; c < columns; c++) {
    const numeric = rows.length > 0 && rows.every((row) => typeof row[c] === 'number' || typeof row[c] === 'bigint');
    aligns.push(numeric ? 'right' : 'left');
  }
  return aligns;
}

/** Renders a table to a string (no trailing newline). Every row must have head.length cells. */
export function renderTable(head: string[], rows: readonly (readonly Cell[])[], opts: TableOptions = {}): string {
  if (head.length === 0) throw new Error('renderTable: head must name at least one column');
  if (rows.length > MAX_TABLE_ROWS) throw new Error(`renderTable: ${rows.length} rows exceed the limit of ${MAX_TABLE_ROWS}`);
  for (let r = 0; r < rows.length; r++) {
    if (rows[r].length !== head.length) {
      throw new Error(`renderTable: row ${r} has ${rows[r].length} cells, expected ${head.length}`);
    }
  }
  const color = opts.color ?? colorEnabled(opts.stream ?? process.stdout);
  const Table = loadTable();
  let cells = rows.map((row) => row.map((cell) => String(cell)));
  const colWidths = fitColumnWidths(head, cells, opts.maxWidth ?? terminalColumns(opts.stream ?? process.stdout));
  if (colWidths) {
    // wrapped here, not by cli-table3 (it cuts a word longer than the column with "…"):
    // at spaces where there are some, else hard, so identifiers are never lost
    cells = cells.map((row) => row.map((cell, c) => cell.split('\n').flatMap((line) => wrapLine(line, colWidths[c]! - 2, 0)).join('\n')));
  }
  const table = new Table({
    head,
    ...(colWidths ? { colWidths } : {}),
    colAligns: opts.colAligns ?? defaultAligns(head.length, rows),
    style: {
      head: color ? ['bold'] : [],
      border: color ? ['grey'] : [],
      compact: opts.compact ?? true,
    },
  });
  for (const row of cells) table.push(row);
  return table.toString();
}
