import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RealFs } from '../../../src/engine/io/real-fs.js';
import { FsError } from '../../../src/engine/io/fs-types.js';
import { removeTempDirs, tempDir } from '../test-store.js';

afterAll(removeTempDirs);

function errorOf(fn: () => unknown): FsError {
  try {
    fn();
  } catch (err) {
    if (err instanceof FsError) return err;
    throw new Error(`expected an FsError, got ${String(err)}`, { cause: err });
  }
  throw new Error('expected an FsError, but nothing was thrown');
}

describe('RealFs errors name the file they concern (the CLI prints it: issue 12, item 6)', () => {
  it('a descriptor call (read of a directory) names the path it was opened with', () => {
    const dir = join(tempDir(), '0000000001.seg');
    mkdirSync(dir);
    const fs = new RealFs();
    const fd = fs.open(dir, 'r');
    const err = errorOf(() => fs.read(fd, new Uint8Array(8), 0, 8, 0));
    fs.close(fd);
    expect(err).toMatchObject({ code: 'EISDIR', path: dir });
    expect(err.message).toBe(`EISDIR: illegal operation on a directory, read '${dir}'`);
  });

  it('a path call keeps its code and path (ENOENT, ENOTDIR)', () => {
    const d = tempDir();
    writeFileSync(join(d, 'file'), 'x');
    const fs = new RealFs();
    expect(errorOf(() => fs.open(join(d, 'missing'), 'r'))).toMatchObject({ code: 'ENOENT', path: join(d, 'missing') });
    expect(errorOf(() => fs.readdir(join(d, 'file')))).toMatchObject({ code: 'ENOTDIR', path: join(d, 'file') });
  });

  it('a FIFO is refused at open (EINVAL) instead of blocking until a writer comes', () => {
    const fifo = join(tempDir(), '0000000000.seg');
    execFileSync('mkfifo', [fifo]);
    const err = errorOf(() => new RealFs().open(fifo, 'r'));
    expect(err).toMatchObject({ code: 'EINVAL', path: fifo });
    expect(err.message).toMatch(/not a regular file but a FIFO/);
  });
});
