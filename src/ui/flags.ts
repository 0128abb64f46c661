/**
 * Reusable flag and argument definitions, so the same option reads and validates the
 * same way in every command. A bad value is a usage error: exit 2, one line on stderr
 * (see errors.ts). `--json` is not here: BaseCommand enables oclif's own json flag.
 *
 *   static args = { store: storeArg() };
 *   static flags = { yes: yesFlag(), 'dry-run': dryRunFlag(),
 *                    limit: intFlag({ description: 'stop after N events', min: 1 }) };
 */
import { Args, Flags } from '@oclif/core';
import { UsageError } from './errors.js';

/** Required positional path of a store directory (or, where stated, a segment file). */
export function storeArg(description = 'path to the store directory') {
  return Args.string({ required: true, description });
}

/** `--yes` / `-y`: do not ask before changing files; required when stdin is not a TTY. */
export function yesFlag(description = 'do not ask for confirmation before changing files') {
  return Flags.boolean({ char: 'y', description, default: false });
}

/** `--dry-run`: report what would change, change nothing. */
export function dryRunFlag(description = 'report what would change without changing any file') {
  return Flags.boolean({ description, default: false });
}

const DECIMAL_INTEGER = /^-?\d+$/;
/** Longest accepted digit string: beyond this Number() loses the value anyway. */
const MAX_INTEGER_DIGITS = 16;

/**
 * Parses a whole decimal integer within [min, max]. Rejects "12abc", "1.5", "1e3",
 * "0x10", empty strings and values beyond Number.MAX_SAFE_INTEGER.
 */
export function parseBoundedInt(input: string, min: number, max: number): number {
  const text = input.trim();
  if (!DECIMAL_INTEGER.test(text) || text.replace('-', '').length > MAX_INTEGER_DIGITS) {
    throw new UsageError(`expected an integer, got '${input}'`);
  }
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(`expected an integer from ${min} to ${max}, got '${input}'`);
  }
  return value;
}

/**
 * Integer flag with bounds; defaults to min 0, max Number.MAX_SAFE_INTEGER.
 * Usage: `intFlag({ description: '...', min: 1, max: 1000, default: 100 })`.
 * Typing of `required` / `default` follows oclif's own flags.
 */
export const intFlag = Flags.custom<number, { min?: number; max?: number }>({
  helpValue: '<n>',
  async parse(input, _ctx, opts) {
    return parseBoundedInt(input, opts.min ?? 0, opts.max ?? Number.MAX_SAFE_INTEGER);
  },
});
