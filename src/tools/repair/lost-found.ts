/**
 * lost+found/: every byte a repair takes out of a segment is kept, never deleted. Each
 * quarantined range becomes a file `<segment>.<offset>.<ms>.<reason>` (the naming
 * recovery uses for cut tails) with a JSON record beside it, `<same name>.json`, saying
 * where the bytes came from and what was lost with them. Each file is written to a
 * temp name, fsynced and renamed; one directory fsync at the end makes them all durable
 * before the repair replaces any segment.
 */
import { join } from 'node:path';
import type { FileSystem } from '../../engine/io/fs-types.js';
import { ensureDir, exists, writeFully } from '../../engine/io/fs-util.js';
import { LOST_FOUND_DIR } from '../../engine/io/layout.js';
import { copyRangeToFile } from './file-copy.js';
import type { QuarantineReason } from './plan-types.js';

const MAX_NAME_ATTEMPTS = 1000;

export interface QuarantineRecord {
  format: 'seglog-lost-found';
  version: 1;
  /** Segment file name and the byte range of the old file the bytes came from. */
  segment: string;
  offset: number;
  endOffset: number;
  sizeBytes: number;
  crc32c: number;
  reason: QuarantineReason;
  repairedAtMs: number;
  /** What the plan says was lost with these bytes. */
  detail: string;
  lostSequences: { fromSeq: number; count: number } | null;
}

export class LostFoundWriter {
  readonly dir: string;
  readonly written: string[] = [];
  private ready = false;

  constructor(
    private readonly fs: FileSystem,
    storeDir: string,
    private readonly nowMs: number,
  ) {
    this.dir = join(storeDir, LOST_FOUND_DIR);
  }

  /** Copies bytes [start, end) of the open segment `srcFd` and writes their record. */
  add(srcFd: number, segment: string, start: number, end: number, reason: QuarantineReason, detail: string, lostSequences: QuarantineRecord['lostSequences']): string {
    if (!this.ready) {
      ensureDir(this.fs, this.dir);
      this.ready = true;
    }
    const name = this.freeName(`${segment}.${start}.${this.nowMs}.${reason.replace(/_/g, '-')}`);
    const path = join(this.dir, name);
    const crc = copyRangeToFile(this.fs, srcFd, start, end, `${path}.tmp`, 'w');
    this.fs.rename(`${path}.tmp`, path);
    const record: QuarantineRecord = {
      format: 'seglog-lost-found',
      version: 1,
      segment,
      offset: start,
      endOffset: end,
      sizeBytes: end - start,
      crc32c: crc,
      reason,
      repairedAtMs: this.nowMs,
      detail,
      lostSequences,
    };
    const json = new TextEncoder().encode(`${JSON.stringify(record, null, 2)}\n`);
    const fd = this.fs.open(`${path}.json.tmp`, 'w');
    try {
      writeFully(this.fs, fd, json, 0, json.length, 0);
      this.fs.fsync(fd);
    } finally {
      this.fs.close(fd);
    }
    this.fs.rename(`${path}.json.tmp`, `${path}.json`);
    this.written.push(path);
    return path;
  }

  /** Makes every name written so far durable. */
  finish(): void {
    if (this.written.length > 0) this.fs.fsyncDir(this.dir);
  }

  private freeName(base: string): string {
    for (let i = 0; i < MAX_NAME_ATTEMPTS; i++) {
      const name = i === 0 ? base : `${base}.${i + 1}`;
      if (!exists(this.fs, join(this.dir, name)) && !this.written.includes(join(this.dir, name))) return name;
    }
    throw Object.assign(new Error(`no free name for ${base} in ${this.dir}`), { code: 'EEXIST' });
  }
}
