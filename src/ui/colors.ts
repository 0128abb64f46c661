/**
 * Colour decisions in one place. Colour is used only when the stream is a terminal and
 * NO_COLOR (https://no-color.org: any non-empty value) is not set, and TERM is not
 * "dumb". Libraries do not agree on this (cli-table3 follows TERM and ignores NO_COLOR),
 * so every renderer asks here instead of trusting its library's default.
 * Plain ANSI codes: no dependency, nothing to load at startup.
 */

export interface TtyLike {
  isTTY?: boolean | undefined;
}

export function colorEnabled(stream: TtyLike = process.stdout, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.TERM === 'dumb') return false;
  return stream.isTTY === true;
}

const CODES = {
  bold: [1, 22],
  dim: [2, 22],
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  cyan: [36, 39],
} as const;

export type ColorName = keyof typeof CODES;

/** Wraps `text` in the ANSI codes for `color` when `enabled`, otherwise returns it as is. */
export function paint(color: ColorName, text: string, enabled: boolean): string {
  if (!enabled) return text;
  const [open, close] = CODES[color];
  return `\u001B[${open}m${text}\u001B[${close}m`;
}
