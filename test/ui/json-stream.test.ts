import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SeglogError } from '../../src/engine/io/errors.js';
import { BaseCommand } from '../../src/ui/base-command.js';
import { StdoutSink } from '../../src/ui/stdout-sink.js';
import { runCommand } from './run-command.js';

const dir = mkdtempSync(join(tmpdir(), 'seglog-json-stream-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let outFile = '';

/** Streams two items into a file (standing in for stdout), then fails or not. */
class Streamer extends BaseCommand<typeof Streamer> {
  static override id = 'streamer';
  static override strict = false;

  async run(): Promise<void> {
    const fd = openSync(outFile, 'w');
    try {
      const sink = new StdoutSink(fd);
      const doc = this.openJsonStream(sink, 'events');
      for (const i of [1, 2]) {
        doc.item();
        sink.write(JSON.stringify({ i }));
      }
      if (this.argv.includes('fail')) throw new SeglogError('corrupt', 'frame damaged mid-stream', { file: 'x.seg', offset: 99 });
      this.closeJsonStream({ note: 'done' });
    } finally {
      // the sink is flushed by close(); keep the fd open until catch has run
      setImmediate(() => closeSync(fd));
    }
  }
}

describe('a streamed JSON document is always exactly one document', () => {
  it('an error after the open closes the array and adds an "error" member, and the exit status says failure', async () => {
    outFile = join(dir, 'fail.json');
    const r = await runCommand(Streamer, ['fail', '--json']);
    await new Promise((resolve) => setImmediate(resolve));
    const text = readFileSync(outFile, 'utf8');
    expect(text.trim().split('\n'), 'one line: one document').toHaveLength(1);
    expect(JSON.parse(text), `not one JSON document: ${text}`).toEqual({
      events: [{ i: 1 }, { i: 2 }],
      error: { code: 'corrupt', message: 'frame damaged mid-stream', file: 'x.seg', offset: 99 },
    });
    expect(r.exitCode).toBe(1);
    expect(r.stdout, 'nothing else goes to stdout').toBe('');
  });

  it('a normal close adds the given members after the array', async () => {
    outFile = join(dir, 'ok.json');
    const r = await runCommand(Streamer, ['--json']);
    await new Promise((resolve) => setImmediate(resolve));
    expect(JSON.parse(readFileSync(outFile, 'utf8'))).toEqual({ events: [{ i: 1 }, { i: 2 }], note: 'done' });
    expect(r.exitCode).toBe(0);
  });
});
