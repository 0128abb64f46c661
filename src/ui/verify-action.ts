/**
 * `seglog verify` without oclif's classes: its checks before the walk and how it prints
 * the report, called by commands/verify.ts and by the start-up fast path (verify-fast.ts),
 * so both refuse the same command lines and print the same bytes.
 */
import { statSync } from 'node:fs';
import { readHeadFile, readVerifier } from '../engine/anchor/anchor-files.js';
import { storeSizeBytes } from '../engine/segment/store-size.js';
import { withRootCauses } from '../engine/verify/verify-causes.js';
import { UsageError } from './errors.js';
import { stringifyJson } from './json.js';
import type { VerifyJobInput, VerifyJobOutput } from './job/verify-job.js';
import { renderVerify, type VerifyOutput } from './render/verify-report.js';

export type VerifyFormat = 'text' | 'json' | 'junit' | 'github';

export interface VerifyArgs {
  store: string;
  maxErrors: number | undefined;
  strict: boolean;
  /** `json` under --json too. */
  format: VerifyFormat;
  quiet: boolean;
  verbose: boolean;
  anchors: string[];
  pubkeys: string[];
  archive: string | undefined;
}

/** The checks made before the walk (a missing or malformed head or key fails here, naming its file); the job's input and the bytes it reads. */
export function prepareVerify(a: VerifyArgs): { input: VerifyJobInput; sizeBytes: number } {
  if (a.pubkeys.length > 0 && a.anchors.length === 0) throw new UsageError('--pubkey checks the signatures of --anchor heads; give at least one --anchor');
  a.anchors.forEach(readHeadFile);
  a.pubkeys.forEach(readVerifier);
  if (a.anchors.length > 0 && !statSync(a.store, { throwIfNoEntry: false })?.isDirectory()) throw new UsageError('--anchor needs a whole store, not a segment file');
  return {
    input: { store: a.store, maxErrors: a.maxErrors, anchors: a.anchors, pubkeys: a.pubkeys, archive: a.archive },
    sizeBytes: storeSizeBytes(a.store),
  };
}

/**
 * Prints the report in the asked format through `emit` (one JSON document under --json
 * or --format json, else the rendered text; nothing with --quiet). True when the exit
 * status is 1: errors, or warnings with --strict.
 */
export function printVerify(report: VerifyJobOutput, a: VerifyArgs, emit: (out: VerifyOutput, render: (out: VerifyOutput) => string) => void): boolean {
  // consequences of one damaged range are grouped under it (causedBy): engine/verify/verify-causes.ts
  const out: VerifyOutput = { ...withRootCauses(report), target: a.store, ...(report.anchors ? { anchors: report.anchors } : {}) };
  const format = a.format;
  if (!a.quiet) emit(out, format === 'json' ? stringifyJson : (o) => renderVerify(o, format, { verbose: a.verbose }));
  return !report.ok || (a.strict && report.warnings > 0);
}
