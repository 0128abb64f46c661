/**
 * Differential property for the ingest fast path: `append --file` with its scan worker
 * thread on (`SEGLOG_APPEND_WORKERS=1`, the built dist/ class, in-process) and off
 * (`=0`, and the src class, which never has a worker) writes the same events, as the
 * reference reader reads them back: same entities, scopes, kinds, sequences, clocks,
 * batches and payload bytes, and each stored payload parses to the value of the line's
 * payload re-encoded (JSON.stringify of the parsed value). Also with the SIMD hash lanes
 * of the bulk encoder off (`SEGLOG_BLAKE3_SIMD=0`) and the early writeback hints off
 * (`SEGLOG_EARLY_WRITEBACK=0`). Same seeds as the other differential suites (README.md).
 */
import fc from 'fast-check';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import Append from '../../src/commands/append.js';
import { ReferenceReader, type RefStore } from '../support/reference-reader.js';
import { removeTempDirs, REPO_ROOT, tempDir } from '../engine/test-store.js';
import { Mismatch, run } from './harness.js';
import { ENTITIES, KINDS, SCOPES } from './shapes.js';
import type { Runnable } from '../ui/run-command.js';

const SEED = process.env.SEGLOG_DIFF_SEED !== undefined ? Number(process.env.SEGLOG_DIFF_SEED) : 0xa99e;
const RUNS = process.env.SEGLOG_DIFF_RUNS !== undefined ? Math.max(20, Math.floor(Number(process.env.SEGLOG_DIFF_RUNS) / 10)) : 15;

/** Payload texts as they appear in a line: spacing, escapes and numbers a re-encoder could change. */
const RAW_PAYLOADS = ['{}', '[]', ' { "a" : 1 } ', '-0', '1e400', '12345678901234567890', '"\\ud800"', '"\\u00e9"', '{"a":1,"a":2}', '0.10', '[1,\n2]'.replace('\n', ' '), 'null', 'true', '"x"'];
const lineArb = fc.record({
  e: fc.option(fc.nat(ENTITIES.length - 1), { nil: undefined }),
  s: fc.nat(SCOPES.length - 1),
  k: fc.option(fc.nat(KINDS.length - 1), { nil: undefined }),
  payload: fc.oneof(fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? 'null'), fc.constantFrom(...RAW_PAYLOADS)),
});

let reader: ReferenceReader;
let scratch: string;
beforeAll(async () => {
  reader = await ReferenceReader.create();
  scratch = tempDir('seglog-append-diff-');
});
afterAll(() => removeTempDirs());

function view(ref: RefStore): unknown[] {
  return ref.units.map((u) => u.map((e) => [e.seq, e.entity, e.scope, `${e.kindCategory}:${e.kindType}`, e.clock, e.txnId > 0, Buffer.from(e.payload).toString('hex')]));
}

describe('differential: append --file writes the same events with the scan worker on and off', () => {
  it('worker on (dist, SEGLOG_APPEND_WORKERS=1), off (=0) and the src class store the same events, each payload the line\'s value re-encoded', async () => {
    const distAppend = ((await import(join(REPO_ROOT, 'dist', 'commands', 'append.js'))) as { default: Runnable }).default;
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(lineArb, { minLength: 1, maxLength: 60 }), fc.option(fc.integer({ min: 1, max: 25 }), { nil: undefined }), async (lines, batch) => {
        const file = join(scratch, `in${n}.jsonl`);
        const text = lines
          .map((l) => {
            const parts: string[] = [];
            if (l.e !== undefined) parts.push(`"entity":${JSON.stringify(ENTITIES[l.e])}`);
            parts.push(`"scope":${JSON.stringify(SCOPES[l.s])}`);
            if (l.k !== undefined) parts.push(`"kind":"${KINDS[l.k]!.category}:${KINDS[l.k]!.type}"`);
            parts.push(`"payload":${l.payload}`);
            return `{${parts.join(',')}}`;
          })
          .join('\n');
        writeFileSync(file, `${text}\n`);
        const args = (dir: string) => [dir, '--create', '--file', file, '--entity', 'default:e', '--json', ...(batch !== undefined ? ['--batch-size', String(batch)] : [])];
        const views: unknown[][] = [];
        for (const [label, Cmd, env] of [
          ['dist, workers on', distAppend, { SEGLOG_APPEND_WORKERS: '1' }],
          ['dist, workers off', distAppend, { SEGLOG_APPEND_WORKERS: '0' }],
          ['src', Append, { SEGLOG_APPEND_WORKERS: '0' }],
          // the byte-level line scan and raw encoder off: JSON.parse and the item encoder for every line
          ['dist, fast path off', distAppend, { SEGLOG_APPEND_WORKERS: '0', SEGLOG_APPEND_FAST: '0' }],
          // bulk events hashed one at a time by hash-wasm instead of four side by side (Store.settleLanes),
          // and no early writeback hints (RealFs.startWritebackOf)
          ['dist, SIMD hash lanes off', distAppend, { SEGLOG_APPEND_WORKERS: '0', SEGLOG_BLAKE3_SIMD: '0' }],
          ['src, SIMD hash lanes and writeback hints off', Append, { SEGLOG_APPEND_WORKERS: '0', SEGLOG_BLAKE3_SIMD: '0', SEGLOG_EARLY_WRITEBACK: '0' }],
        ] as const) {
          const dir = join(scratch, `s${n}-${views.length}`);
          const r = await run(Cmd, args(dir), env);
          if (r.exitCode !== 0) throw new Mismatch(`append (${label}) exit ${r.exitCode}: ${r.stderr.slice(0, 500)}`);
          const ref = reader.readStore(dir);
          views.push(view(ref));
          if (views.length === 1) {
            // the CLI stores JSON.stringify of the parsed payload (so -0, 1e400 and integers past 2^53 change: README.md)
            lines.forEach((l, i) => {
              const want = JSON.stringify(JSON.parse(l.payload));
              const got = Buffer.from(ref.committed[i]!.payload).toString('utf8');
              if (got !== want) throw new Mismatch(`append (${label}): line ${i + 1}'s payload ${l.payload} is stored as ${got}, expected ${want}`);
            });
          } else if (JSON.stringify(views[views.length - 1]) !== JSON.stringify(views[0])) {
            throw new Mismatch(`append (${label}) stored other events than dist with workers on\n${JSON.stringify(views[views.length - 1]).slice(0, 1500)}\n${JSON.stringify(views[0]).slice(0, 1500)}`);
          }
        }
        n++;
      }),
      {
        seed: SEED,
        numRuns: RUNS,
        endOnFailure: true,
        reporter: (out) => {
          if (out.failed) throw new Error(`append differential: replay with SEGLOG_DIFF_SEED=${out.seed}\ninput: ${JSON.stringify(out.counterexample)}\n${(out.errorInstance as Error)?.message}`);
        },
      },
    );
  });
});
