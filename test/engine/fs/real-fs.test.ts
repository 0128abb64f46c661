import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
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

describe('RealFs.startWritebackOf: a write-back hint that never uses the caller\'s descriptor (sidx rebuild, issue 18)', () => {
  // The property: the hint opens, syncs and closes a descriptor of its own, so the writer's
  // own fsync still gets any write-back error (Linux reports one to every open file
  // description that predates it), and no descriptor of the hint outlives it or piles up.
  // If a count below fails, look at the callback of RealFs.startWritebackOf.
  const openFds = (): number => readdirSync('/proc/self/fd').length;
  const turn = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 50));

  it.skipIf(process.platform !== 'linux')('the writer keeps writing and fsyncing through its own descriptor; the hints\' descriptors are closed once their fdatasync is over, and at most 32 are open at a time', async () => {
    const path = join(tempDir(), 'file.tmp');
    const fs = new RealFs();
    const fd = fs.open(path, 'w');
    const chunk = new Uint8Array(64 * 1024).fill(7);
    await turn();
    const before = openFds();
    for (let i = 0; i < 40; i++) {
      fs.write(fd, chunk, 0, chunk.length, i * chunk.length);
      fs.startWritebackOf(path);
    }
    expect(openFds() - before, 'hints beyond 32 outstanding must do nothing').toBeLessThanOrEqual(32);
    fs.fsync(fd);
    fs.close(fd);
    for (let i = 0; i < 100 && openFds() > before - 1; i++) await turn();
    expect(openFds(), 'a hint left its descriptor open').toBe(before - 1);
    expect(statSync(path).size).toBe(40 * chunk.length);
    // the hints are free again
    const fd2 = fs.open(path, 'r');
    fs.startWritebackOf(path);
    expect(openFds()).toBe(before + 1);
    fs.close(fd2);
    for (let i = 0; i < 100 && openFds() > before - 1; i++) await turn();
    expect(openFds()).toBe(before - 1);
  });

  it('SEGLOG_EARLY_WRITEBACK=0: nothing is opened; a missing file: nothing happens, nothing is thrown', async () => {
    const d = tempDir();
    writeFileSync(join(d, 'f'), 'x');
    const fs = new RealFs();
    await turn();
    const before = openFds();
    process.env.SEGLOG_EARLY_WRITEBACK = '0';
    try {
      fs.startWritebackOf(join(d, 'f'));
      expect(openFds()).toBe(before);
    } finally {
      delete process.env.SEGLOG_EARLY_WRITEBACK;
    }
    fs.startWritebackOf(join(d, 'missing'));
    expect(openFds()).toBe(before);
  });
});

describe('RealFs.copyFile: the kernel\'s copy of a whole file into an existing one (sidx rebuild, issue 18)', () => {
  // The properties SegmentReplacements relies on: the same bytes as the source, the byte
  // count returned, the target's own mode kept, and a descriptor opened on the target
  // before the copy still writes into (and fsyncs) the copied file.
  it('copies every byte (more than one 8 MiB copy chunk), keeps the target\'s mode and its open descriptor; null when SEGLOG_KERNEL_COPY=0', () => {
    const d = tempDir();
    const from = join(d, 'from.seg');
    const to = join(d, 'to.seg.tmp');
    const bytes = new Uint8Array(9 * 1024 * 1024 + 123);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + (i >>> 11)) & 0xff;
    writeFileSync(from, bytes);
    chmodSync(from, 0o600);
    const fs = new RealFs();
    const fd = fs.open(to, 'w');
    const modeBefore = statSync(to).mode & 0o7777;
    expect(fs.copyFile(from, to)).toBe(bytes.length);
    expect(statSync(to).mode & 0o7777, 'the temp file must keep its own mode, not take the source\'s').toBe(modeBefore);
    const tail = new Uint8Array([1, 2, 3]);
    fs.write(fd, tail, 0, tail.length, bytes.length);
    fs.fsync(fd);
    fs.close(fd);
    expect(Buffer.compare(readFileSync(to), Buffer.concat([Buffer.from(bytes), Buffer.from(tail)]))).toBe(0);
    process.env.SEGLOG_KERNEL_COPY = '0';
    try {
      expect(fs.copyFile(from, join(d, 'never'))).toBeNull();
    } finally {
      delete process.env.SEGLOG_KERNEL_COPY;
    }
  });

  it('a missing source or target is an FsError naming the file', () => {
    const d = tempDir();
    writeFileSync(join(d, 'to'), '');
    const fs = new RealFs();
    expect(errorOf(() => fs.copyFile(join(d, 'missing'), join(d, 'to')))).toMatchObject({ code: 'ENOENT', path: join(d, 'missing') });
    expect(errorOf(() => fs.copyFile(join(d, 'to'), join(d, 'nothere')))).toMatchObject({ code: 'ENOENT', path: join(d, 'nothere') });
  });
});
