/**
 * A FileSystem that forwards to a SimFs and calls back right after each mutating
 * operation completes (or fails). At that moment the SimFs holds exactly the state
 * `crashAfter(k)` would leave, so the explorer snapshots it there and forks crash states
 * from the snapshot: one run of the workload serves every crash point, instead of one
 * run per point.
 */
import type { SimFs } from './sim-fs.js';
import type { FileStat, FileSystem, OpenMode } from '../engine/io/fs-types.js';

/** `point` counts mutating operations from `base` (0 = the workload's first). */
export type PointHook = (point: number) => void;

export class PointFs implements FileSystem {
  constructor(
    private readonly sim: SimFs,
    private readonly base: number,
    private readonly onPoint: PointHook,
  ) {}

  private around<T>(fn: () => T): T {
    const before = this.sim.mutatingOpCount;
    try {
      return fn();
    } finally {
      // The hook must not throw: it runs while the operation's own error may be in flight.
      if (this.sim.mutatingOpCount > before) this.onPoint(before - this.base);
    }
  }

  open(path: string, mode: OpenMode): number {
    return this.around(() => this.sim.open(path, mode));
  }
  close(fd: number): void {
    this.sim.close(fd);
  }
  read(fd: number, buf: Uint8Array, bufOffset: number, length: number, position: number): number {
    return this.sim.read(fd, buf, bufOffset, length, position);
  }
  write(fd: number, buf: Uint8Array, bufOffset: number, length: number, position: number): number {
    return this.around(() => this.sim.write(fd, buf, bufOffset, length, position));
  }
  fsync(fd: number): void {
    this.around(() => this.sim.fsync(fd));
  }
  truncate(fd: number, sizeBytes: number): void {
    this.around(() => this.sim.truncate(fd, sizeBytes));
  }
  fstat(fd: number): FileStat {
    return this.sim.fstat(fd);
  }
  stat(path: string): FileStat {
    return this.sim.stat(path);
  }
  rename(from: string, to: string): void {
    this.around(() => this.sim.rename(from, to));
  }
  link(existingPath: string, newPath: string): void {
    this.around(() => this.sim.link(existingPath, newPath));
  }
  unlink(path: string): void {
    this.around(() => this.sim.unlink(path));
  }
  mkdir(path: string): void {
    this.around(() => this.sim.mkdir(path));
  }
  readdir(path: string): string[] {
    return this.sim.readdir(path);
  }
  fsyncDir(path: string): void {
    this.around(() => this.sim.fsyncDir(path));
  }
}
