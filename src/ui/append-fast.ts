/**
 * `append STORE --file FILE [--entity E] [--scope S] [--kind K] [--batch-size N]` without
 * oclif (fast-path.ts): the bulk load a script runs, where oclif's start-up (~0.15-0.2 s
 * of CPU and ~20 MB) sat before the job (issue 18: append at least as fast as sqlite3's
 * one transaction).
 *
 * Sound by refusing, as the rest of the fast path: only when stderr is not a terminal
 * (at a terminal BaseCommand draws progress), only a file (stdin, `--file -`, is the
 * command's streaming path), a kind the command accepts and a batch size in its flag's
 * range; anything else returns false with nothing printed, and oclif then says what it
 * always says. The job is the command's job (ui/job/append-job.ts, the same input), the
 * result is rendered by the command's own function (`appendText`), and Ctrl-C does what
 * BaseCommand does for a job (fast-job.ts): the job stops at its next line or batch
 * boundary, keeps what it appended, `seglog: interrupted`, the result, exit 130.
 */
import { parseKind } from '../format/event.js';
import { SeglogError } from '../engine/io/errors.js';
import type { FastOutput } from './fast-output.js';
import { runFastJob } from './fast-job.js';
import { inputSizeBytes } from './job/input-size.js';
import { plural } from './format.js';

/** What `append` prints for one event or many (both paths: commands/append.ts, here). */
export interface AppendOutput {
  appended: number;
  firstSeq: number | null;
  lastSeq: number | null;
  batches: number;
  durable: boolean;
  receipt?: { eventId: string; seq: number; clock: number; wallMs: number; eventHash: string };
  interrupted?: boolean;
}

/** `append`'s text line. */
export function appendText(r: AppendOutput): string {
  return r.receipt
    ? `appended #${r.receipt.seq} ${r.receipt.eventId} (clock ${r.receipt.clock})`
    : `appended ${plural(r.appended, 'event')}${r.batches ? ` in ${plural(r.batches, 'batch', 'batches')}` : ''}${r.interrupted ? ' before the interrupt' : ''}`;
}

/** `--kind` as the command takes it: category:type with category 1..65535. */
export function parseKindFlag(s: string): { category: number; type: number } {
  const k = parseKind(s);
  if (!k || k.category === 0) throw new SeglogError('usage', `--kind must be category:type with category 1..65535, got '${s}'`);
  return k;
}

/** The `--batch-size` flag's range (commands/append.ts). */
export const BATCH_SIZE_MAX = 1_000_000;

export interface AppendFastArgs {
  store: string;
  file: string;
  entity: string | undefined;
  scope: string | undefined;
  kind: string | undefined;
  batchSize: number | undefined;
}

/** Runs the append; false (nothing done, nothing printed) when oclif must. */
export async function appendFast(a: AppendFastArgs, warn: (message: string) => void, out: FastOutput): Promise<boolean> {
  if (process.stderr.isTTY || a.file === '-') return false;
  if (a.batchSize !== undefined && (a.batchSize < 1 || a.batchSize > BATCH_SIZE_MAX)) return false;
  let kind: { category: number; type: number } | undefined;
  try {
    kind = a.kind !== undefined ? parseKindFlag(a.kind) : undefined;
  } catch {
    return false;
  }
  const input = { store: a.store, file: a.file, defaults: { entity: a.entity, scope: a.scope, kind }, batchSize: a.batchSize, create: false };
  await runFastJob('append', input, { sizeBytes: inputSizeBytes(a.file), readOnly: false, warn, out }, (r) => out.emit(r, appendText));
  return true;
}
