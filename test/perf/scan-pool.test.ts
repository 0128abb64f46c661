import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LineScan, type ScannedSpans } from '../../src/tools/ingest/line-scan.js';
import { readLinesFrom } from '../../src/tools/ingest/line-spans.js';
import { readLinesWithWorker, REC_INTS, SCAN_CHUNK_BYTES, scanChunk, scanWorkerByDefault } from '../../src/tools/ingest/scan-pool.js';
import { Store } from '../../src/engine/store/store.js';
import { REPO_ROOT, removeTempDirs, tempDir } from '../engine/test-store.js';

afterAll(removeTempDirs);

type Seen = [number, string, string | null];

const spansOf = (s: ScannedSpans | null): string | null =>
  s === null ? null : [s.entityStart, s.entityEnd, s.scopeStart, s.scopeEnd, s.kindStart, s.kindEnd, s.payloadStart, s.payloadEnd].join(',');

/** The single-threaded reading: every line, its number, bytes and (main-thread) scan. */
function sequential(file: string): Seen[] {
  const out: Seen[] = [];
  const scan = new LineScan();
  const fd = openSync(file, 'r');
  try {
    readLinesFrom(fd, (b, s, e, n) => {
      out.push([n, b.toString('latin1', s, e), scan.scan(b, s, e) ? spansOf(scan) : null]);
    });
  } finally {
    closeSync(fd);
  }
  return out;
}

const lineArb = fc.oneof(
  { weight: 5, arbitrary: fc.record({ entity: fc.constantFrom('a', 'order:1', 'Zoë'), scope: fc.constantFrom('s', ''), payload: fc.jsonValue() }).map((o) => JSON.stringify(o)) },
  { weight: 1, arbitrary: fc.constantFrom('', '\r', 'not json', '{"entity":"a","scope":"s"}', '  {"entity":"x","scope":"y","payload":1}  ') },
);
const sepArb = fc.constantFrom('\n', '\r\n');

describe('scanChunk (the scan worker\'s loop) reads a chunk as the single-threaded reader does', () => {
  it('same lines, numbers, bytes and spans, with CRLF, empty lines and a last line without newline', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(lineArb, sepArb), { maxLength: 60 }), fc.boolean(), (lines, endsWithNewline) => {
        let text = lines.map(([l, sep]) => l + sep).join('');
        if (!endsWithNewline && text.endsWith('\n')) text = text.replace(/\r?\n$/, '');
        const buf = Buffer.from(text, 'utf8');
        const results = new Int32Array(REC_INTS * 200);
        const { records } = scanChunk(buf, buf.length, results, 200);
        const got: Seen[] = [];
        for (let i = 0; i < records; i++) {
          const r = i * REC_INTS;
          const s = results.subarray(r + 4, r + 12);
          got.push([results[r]!, buf.toString('latin1', results[r + 1], results[r + 2]), results[r + 3] === 1 ? [...s].join(',') : null]);
        }
        const dir = tempDir('seglog-scan-');
        const file = join(dir, 'in.jsonl');
        writeFileSync(file, buf);
        expect(got, 'src/tools/ingest/scan-pool.ts scanChunk').toEqual(sequential(file));
      }),
      { seed: 0x5ca9, numRuns: 150 },
    );
  });
});

describe('scanWorkerByDefault: when the scan worker is used without SEGLOG_APPEND_WORKERS', () => {
  it('a core for the appending thread and one for the worker; the main thread, when it appends, also needs one for itself', () => {
    // If this fails, see SCAN_WORKER_MIN_CORES in src/tools/ingest/scan-pool.ts and the measurements it cites.
    expect([1, 2, 3, 8].map((c) => scanWorkerByDefault(c, false))).toEqual([false, true, true, true]);
    expect([1, 2, 3, 8].map((c) => scanWorkerByDefault(c, true))).toEqual([false, false, true, true]);
  });
});

const BUILT_WORKER = join(REPO_ROOT, 'dist', 'tools', 'ingest', 'scan-worker.js');

describe('the scan worker thread (built dist/)', () => {
  beforeAll(() => {
    // a missing build fails here rather than skipping the worker's test (issue 13)
    if (!existsSync(BUILT_WORKER)) throw new Error(`${BUILT_WORKER} is missing: run \`npm run build\` first (npm test does)`);
  });
  it('hands over exactly the lines of the single-threaded reader across many chunks, a line longer than a chunk, and a burst of tiny lines', () => {
    const dir = tempDir('seglog-pool-');
    const file = join(dir, 'big.jsonl');
    const parts: string[] = [];
    for (let i = 0; i < 40_000; i++) parts.push(JSON.stringify({ entity: `e${i % 97}`, scope: 's', payload: { i, pad: 'x'.repeat(i % 300) } }) + (i % 3 ? '\n' : '\r\n'));
    parts.push('{}\n'.repeat(200_000)); // more lines than a chunk's result array holds
    parts.push(JSON.stringify({ entity: 'big', scope: 's', payload: 'y'.repeat(SCAN_CHUNK_BYTES + 1000) }) + '\n');
    for (let i = 0; i < 5000; i++) parts.push(`{"entity":"after","scope":"s","payload":${i}}\n`);
    parts.push('{"entity":"last","scope":"s","payload":true}\r');
    writeFileSync(file, parts.join(''));
    const got: Seen[] = [];
    const fd = openSync(file, 'r');
    try {
      readLinesWithWorker(fd, new URL(`file://${BUILT_WORKER}`), (b, s, e, n, spans) => {
        got.push([n, b.toString('latin1', s, e), spansOf(spans)]);
      });
    } finally {
      closeSync(fd);
    }
    const want = sequential(file);
    expect(got.length).toBe(want.length);
    for (let i = 0; i < want.length; i++) if (JSON.stringify(got[i]) !== JSON.stringify(want[i])) expect(got[i], `line record ${i}`).toEqual(want[i]);
  });

  it('the CLI appends the same events with and without the scan worker, and stops at the same bad line', async () => {
    const dir = tempDir('seglog-pool-cli-');
    const file = join(dir, 'in.jsonl');
    const lines: string[] = [];
    // SEGLOG_APPEND_WORKERS=1 uses the worker whatever the file's size; 30,000 lines span two chunks
    for (let i = 0; i < 30_000; i++) lines.push(JSON.stringify({ entity: `order:${i % 500}`, scope: 'tenant', kind: `${1 + (i % 3)}:2`, payload: { i, note: 'n'.repeat(120) } }));
    lines[27_777] = '{"entity":"broken","scope":"s","payload":';
    writeFileSync(file, lines.join('\n') + '\n');
    const events: string[] = [];
    const outs: string[] = [];
    for (const workers of ['0', '1']) {
      const store = join(dir, `s${workers}`);
      const r = spawnSync(process.execPath, [join(REPO_ROOT, 'bin', 'run.js'), 'append', store, '--create', '--file', file, '--json'], {
        env: { ...process.env, NODE_ENV: 'production', SEGLOG_APPEND_WORKERS: workers },
        encoding: 'utf8',
      });
      outs.push(`${r.status} ${r.stdout} ${r.stderr.replace(store, 'STORE')}`);
      const s = await Store.open(store, { readOnly: true });
      try {
        events.push(JSON.stringify(s.query().map((e) => [e.seq, e.entity, e.scope, e.kind, e.clock, Buffer.from(e.payload).toString()])));
      } finally {
        s.close();
      }
    }
    expect(outs[1]).toBe(outs[0]);
    expect(outs[0]).toContain('line 27778');
    const a = JSON.parse(events[0]!) as unknown[];
    const b = JSON.parse(events[1]!) as unknown[];
    expect(b.length).toBe(a.length);
    const firstDiff = a.findIndex((x, i) => JSON.stringify(x) !== JSON.stringify(b[i]));
    expect(firstDiff === -1 ? null : [a[firstDiff], b[firstDiff]], 'src/tools/ingest/scan-pool.ts: the events differ with the worker').toBeNull();
  });
});
