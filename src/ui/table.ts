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
  const table = new Table({
    head,
    colAligns: opts.colAligns ?? defaultAligns(head.length, rows),
    style: {
      head: color ? ['bold'] : [],
      border: color ? ['grey'] : [],
      compact: opts.compact ?? true,
    },
  });
  for (const row of rows) table.push(row.map((cell) => String(cell)));
  return table.toString();
}
