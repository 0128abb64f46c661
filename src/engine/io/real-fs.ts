import * as fs from 'node:fs';
import type { FileStat, FileSystem, OpenMode } from './fs-types.js';

const FLAGS: Record<OpenMode, string> = {
  r: 'r',
  'r+': 'r+',
  'rw+': 'a+', // replaced below: a+ forces appends on Linux, so we use O_CREAT|O_RDWR
  wx: 'wx+',
  w: 'w+',
};

/** The real filesystem, through node:fs's synchronous calls. */
export class RealFs implements FileSystem {
  open(path: string, mode: OpenMode): number {
    if (mode === 'rw+') return fs.openSync(path, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o644);
    return fs.openSync(path, FLAGS[mode], 0o644);
  }
  close(fd: number): void {
    fs.closeSync(fd);
  }
  read(fd: number, buf: Uint8Array, bufOffset: number, length: number, position: number): number {
    return fs.readSync(fd, buf, bufOffset, length, position);
  }
  write(fd: number, buf: Uint8Array, bufOffset: number, length: number, position: number): number {
    return fs.writeSync(fd, buf, bufOffset, length, position);
  }
  fsync(fd: number): void {
    fs.fsyncSync(fd);
  }
  truncate(fd: number, sizeBytes: number): void {
    fs.ftruncateSync(fd, sizeBytes);
  }
  fstat(fd: number): FileStat {
    const s = fs.fstatSync(fd);
    return { sizeBytes: s.size, isDirectory: s.isDirectory() };
  }
  stat(path: string): FileStat {
    const s = fs.statSync(path);
    return { sizeBytes: s.size, isDirectory: s.isDirectory() };
  }
  rename(from: string, to: string): void {
    fs.renameSync(from, to);
  }
  unlink(path: string): void {
    fs.unlinkSync(path);
  }
  mkdir(path: string): void {
    fs.mkdirSync(path);
  }
  readdir(path: string): string[] {
    return fs.readdirSync(path).sort();
  }
  fsyncDir(path: string): void {
    const fd = fs.openSync(path, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }
}
