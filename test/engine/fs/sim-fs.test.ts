import * as nodeFs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RealFs } from '../../../src/engine/io/real-fs.js';
import { SECTOR_SIZE_BYTES, SimCrash, SimFs } from '../../../src/sim/sim-fs.js';
import type { FileSystem } from '../../../src/engine/io/fs-types.js';
import { readWhole, writeFully } from '../../../src/engine/io/fs-util.js';

const text = new TextEncoder();

function bytesOf(s: string): Uint8Array {
  return text.encode(s);
}

function filled(sizeBytes: number, value: number): Uint8Array {
  return new Uint8Array(sizeBytes).fill(value);
}

/** Deterministic non-repeating-ish bytes, so a misplaced byte is visible. */
function pattern(sizeBytes: number, salt: number): Uint8Array {
  const out = new Uint8Array(sizeBytes);
  for (let i = 0; i < sizeBytes; i++) out[i] = (i * 31 + salt * 17 + (i >> 8)) & 0xff;
  return out;
}

function writeAt(fs: FileSystem, path: string, position: number, bytes: Uint8Array): void {
  const fd = fs.open(path, 'rw+');
  writeFully(fs, fd, bytes, 0, bytes.length, position);
  fs.close(fd);
}

function fsyncFile(fs: FileSystem, path: string): void {
  const fd = fs.open(path, 'r+');
  fs.fsync(fd);
  fs.close(fd);
}

/** A file whose name and data are durable. */
function durableFile(fs: SimFs, path: string, bytes: Uint8Array): void {
  writeAt(fs, path, 0, bytes);
  fsyncFile(fs, path);
  fs.fsyncDir(path.slice(0, path.lastIndexOf('/')) || '/');
}

function errorCode(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code;
  }
}

describe('SimFs basic file behaviour', () => {
  it('returns written bytes on read, and a write past EOF zero-fills the gap', () => {
    const fs = new SimFs();
    const fd = fs.open('/f', 'wx');
    expect(fs.write(fd, bytesOf('hello'), 0, 5, 0)).toBe(5);
    expect(fs.write(fd, bytesOf('!'), 0, 1, 8)).toBe(1);
    const buf = new Uint8Array(16);
    expect(fs.read(fd, buf, 0, 16, 0)).toBe(9);
    expect([...buf.subarray(0, 9)]).toEqual([...bytesOf('hello'), 0, 0, 0, ...bytesOf('!')]);
    expect(fs.read(fd, buf, 0, 4, 9)).toBe(0);
    fs.close(fd);
  });

  it('normalises paths so equivalent spellings name the same file', () => {
    const fs = new SimFs();
    fs.mkdir('/d/');
    writeAt(fs, '/d/./x/../f', 0, bytesOf('z'));
    expect(fs.readdir('/d')).toEqual(['f']);
    expect(errorCode(() => fs.open('relative', 'r'))).toBe('EINVAL');
  });

  it('handles a file of tens of MB without quadratic copying', () => {
    const fs = new SimFs();
    const chunk = pattern(64 * 1024, 3);
    const totalBytes = 32 * 1024 * 1024;
    // Counted, not timed: bytes moved by typed-array copies must stay linear in the
    // file size (a buffer that grew by a fixed step would copy ~ size^2 / step).
    let copiedBytes = 0;
    const realSet = Uint8Array.prototype.set;
    const spy = vi.spyOn(Uint8Array.prototype, 'set').mockImplementation(function (this: Uint8Array, src: ArrayLike<number>, offset?: number) {
      copiedBytes += src.length;
      realSet.call(this, src, offset);
    });
    try {
      const fd = fs.open('/big', 'wx');
      for (let offset = 0; offset < totalBytes; offset += chunk.length) {
        fs.write(fd, chunk, 0, chunk.length, offset);
        if (offset % (1024 * 1024) === 0) fs.fsync(fd);
      }
      fs.fsyncDir('/');
      fs.crash('lose-unsynced');
    } finally {
      spy.mockRestore();
    }
    expect(copiedBytes, 'SimFs copies should be linear in the file size (sim-fs.ts FileBytes.grow)').toBeLessThan(8 * totalBytes);
    const size = fs.stat('/big').sizeBytes;
    expect(size).toBe(31 * 1024 * 1024 + chunk.length);
    expect(fs.dumpFile('/big').subarray(size - chunk.length)).toEqual(chunk);
  });
});

describe('SimFs durability model', () => {
  it('keeps fsynced data across a lose-unsynced crash', () => {
    const fs = new SimFs();
    durableFile(fs, '/f', bytesOf('hello'));
    writeAt(fs, '/f', 5, bytesOf(' world'));
    fs.crash('lose-unsynced');
    expect(fs.dumpFile('/f')).toEqual(bytesOf('hello'));
  });

  it('loses un-fsynced data in lose-unsynced but keeps it in cut', () => {
    const fs = new SimFs();
    durableFile(fs, '/f', bytesOf('hello'));
    writeAt(fs, '/f', 0, bytesOf('J'));
    writeAt(fs, '/f', 5, bytesOf(' world'));
    const snap = fs.snapshot();
    const lost = SimFs.fromSnapshot(snap);
    lost.crash('lose-unsynced');
    expect(lost.dumpFile('/f')).toEqual(bytesOf('hello'));
    const cut = SimFs.fromSnapshot(snap);
    cut.crash('cut');
    expect(cut.dumpFile('/f')).toEqual(bytesOf('Jello world'));
  });

  it('undoes an unsynced truncate, restoring the cut bytes', () => {
    const fs = new SimFs();
    durableFile(fs, '/f', bytesOf('abcdef'));
    const fd = fs.open('/f', 'r+');
    fs.truncate(fd, 2);
    fs.truncate(fd, 4);
    expect(fs.dumpFile('/f')).toEqual(new Uint8Array([97, 98, 0, 0]));
    fs.crash('lose-unsynced');
    expect(fs.dumpFile('/f')).toEqual(bytesOf('abcdef'));
  });

  it('drops a created file whose data was fsynced but whose name was never fsyncDir-ed', () => {
    const fs = new SimFs();
    writeAt(fs, '/new', 0, bytesOf('data'));
    fsyncFile(fs, '/new');
    fs.crash('lose-unsynced');
    expect(fs.readdir('/')).toEqual([]);
  });

  it('makes a rename durable only after fsyncDir, and the renamed file keeps its synced data', () => {
    const fs = new SimFs();
    durableFile(fs, '/a', bytesOf('payload'));
    fs.rename('/a', '/b');
    const beforeSync = SimFs.fromSnapshot(fs.snapshot());
    beforeSync.crash('lose-unsynced');
    expect(beforeSync.readdir('/')).toEqual(['a']);
    expect(beforeSync.dumpFile('/a')).toEqual(bytesOf('payload'));

    fs.fsyncDir('/');
    fs.crash('lose-unsynced');
    expect(fs.readdir('/')).toEqual(['b']);
    expect(fs.dumpFile('/b')).toEqual(bytesOf('payload'));
  });

  it('brings back a file whose unlink was not made durable by fsyncDir', () => {
    const fs = new SimFs();
    durableFile(fs, '/keep', bytesOf('x'));
    fs.unlink('/keep');
    expect(fs.readdir('/')).toEqual([]);
    const undone = SimFs.fromSnapshot(fs.snapshot());
    undone.crash('lose-unsynced');
    expect(undone.dumpFile('/keep')).toEqual(bytesOf('x'));
    fs.fsyncDir('/');
    fs.crash('lose-unsynced');
    expect(fs.readdir('/')).toEqual([]);
  });

  it('makes a new directory durable only through its parent, and its entries only through itself', () => {
    const fs = new SimFs();
    fs.mkdir('/d');
    durableFile(fs, '/d/f', bytesOf('x'));
    const parentUnsynced = SimFs.fromSnapshot(fs.snapshot());
    parentUnsynced.crash('lose-unsynced');
    expect(parentUnsynced.readdir('/')).toEqual([]);

    fs.mkdir('/e');
    fs.fsyncDir('/');
    writeAt(fs, '/e/g', 0, bytesOf('y'));
    fs.crash('lose-unsynced');
    expect(fs.readdir('/')).toEqual(['d', 'e']);
    expect(fs.readdir('/d')).toEqual(['f']);
    expect(fs.readdir('/e')).toEqual([]);
  });

  it('treats fsync of an fd opened on a directory as fsyncDir', () => {
    const fs = new SimFs();
    writeAt(fs, '/f', 0, bytesOf('x'));
    const dirFd = fs.open('/', 'r');
    fs.fsync(dirFd);
    fs.crash('lose-unsynced');
    expect(fs.readdir('/')).toEqual(['f']);
    expect(fs.stat('/f').sizeBytes).toBe(0);
  });

  it('invalidates every open fd on crash (EBADF), and leaves nothing unsynced afterwards', () => {
    const fs = new SimFs();
    durableFile(fs, '/f', bytesOf('abc'));
    const fd = fs.open('/f', 'r+');
    fs.write(fd, bytesOf('Z'), 0, 1, 0);
    fs.crash('cut');
    expect(errorCode(() => fs.read(fd, new Uint8Array(1), 0, 1, 0))).toBe('EBADF');
    expect(errorCode(() => fs.close(fd))).toBe('EBADF');
    fs.crash('lose-unsynced');
    expect(fs.dumpFile('/f')).toEqual(bytesOf('Zbc'));
  });
});

describe('SimFs torn and reorder crashes', () => {
  const baseBytes = pattern(300, 1);
  const writeSizeBytes = 700;
  const writes = [0, 1, 2].map((i) => ({ position: 300 + i * writeSizeBytes, bytes: pattern(writeSizeBytes, 10 + i) }));
  const expected = new Uint8Array(300 + 3 * writeSizeBytes);
  expected.set(baseBytes);
  for (const w of writes) expected.set(w.bytes, w.position);

  function tornPrefixFs(): SimFs {
    const fs = new SimFs();
    durableFile(fs, '/seg', baseBytes);
    for (const w of writes) writeAt(fs, '/seg', w.position, w.bytes);
    return fs;
  }

  /** Classifies a torn result, asserting it is one of the states the model allows. */
  function classifyTorn(content: Uint8Array): 'whole' | 'torn-garbage' | 'torn-clean' {
    expect(content.length).toBeLessThanOrEqual(expected.length);
    const wholeLengths = [0, 1, 2, 3].map((n) => 300 + n * writeSizeBytes);
    if (wholeLengths.includes(content.length) && Buffer.compare(content, expected.subarray(0, content.length)) === 0) {
      return 'whole';
    }
    const torn = writes.find((w) => content.length > w.position && content.length <= w.position + writeSizeBytes);
    if (torn === undefined) throw new Error(`impossible torn length ${content.length}`);
    const endsAtSectorOrWrite =
      content.length % SECTOR_SIZE_BYTES === 0 || content.length === torn.position + writeSizeBytes;
    expect(endsAtSectorOrWrite).toBe(true);
    const sectorStart = Math.floor((content.length - 1) / SECTOR_SIZE_BYTES) * SECTOR_SIZE_BYTES;
    const keptEnd = Math.max(torn.position, sectorStart);
    expect(Buffer.compare(content.subarray(0, keptEnd), expected.subarray(0, keptEnd))).toBe(0);
    const garbageMatches = Buffer.compare(content.subarray(keptEnd), expected.subarray(keptEnd, content.length)) === 0;
    return garbageMatches ? 'torn-clean' : 'torn-garbage';
  }

  it('torn keeps a prefix of writes, tears at most one at a sector with garbage, never past it or over synced bytes', () => {
    const snap = tornPrefixFs().snapshot();
    const kinds = new Map<string, number>();
    const lengths = new Set<number>();
    for (let seed = 0; seed < 300; seed++) {
      const fs = SimFs.fromSnapshot(snap);
      fs.crash('torn', seed);
      const content = fs.dumpFile('/seg');
      const kind = classifyTorn(content);
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
      lengths.add(content.length);
    }
    expect(kinds.get('whole') ?? 0).toBeGreaterThan(50);
    expect(kinds.get('torn-garbage') ?? 0).toBeGreaterThan(50);
    for (const n of [0, 1, 2, 3]) expect(lengths.has(300 + n * writeSizeBytes)).toBe(true);
  });

  it('torn keeps durable names only: an unsynced create is gone', () => {
    const fs = tornPrefixFs();
    writeAt(fs, '/unsynced-name', 0, bytesOf('x'));
    fs.crash('torn', 5);
    expect(fs.readdir('/')).toEqual(['seg']);
  });

  it('reorder keeps an arbitrary subset of the unsynced writes, each whole or absent', () => {
    const regionBytes = 100;
    const regionCount = 8;
    const fs = new SimFs();
    durableFile(fs, '/f', new Uint8Array(regionBytes * regionCount));
    for (let i = 0; i < regionCount; i++) writeAt(fs, '/f', i * regionBytes, filled(regionBytes, i + 1));
    const snap = fs.snapshot();
    const masks = new Set<string>();
    for (let seed = 0; seed < 100; seed++) {
      const forked = SimFs.fromSnapshot(snap);
      forked.crash('reorder', seed);
      const content = forked.dumpFile('/f');
      expect(content.length).toBe(regionBytes * regionCount);
      let mask = '';
      for (let i = 0; i < regionCount; i++) {
        const region = content.subarray(i * regionBytes, (i + 1) * regionBytes);
        const kept = region.every((b) => b === i + 1);
        expect(kept || region.every((b) => b === 0)).toBe(true);
        mask += kept ? '1' : '0';
      }
      masks.add(mask);
    }
    const isPrefix = (mask: string): boolean => /^1*0*$/.test(mask);
    expect([...masks].some((m) => !isPrefix(m))).toBe(true);
    expect(masks.size).toBeGreaterThan(20);
  });

  it('reorder extends a file only as far as a kept write, with zero holes for lost ones', () => {
    const fs = new SimFs();
    durableFile(fs, '/f', new Uint8Array(0));
    for (let i = 0; i < 4; i++) writeAt(fs, '/f', i * 10, filled(10, i + 1));
    const snap = fs.snapshot();
    for (let seed = 0; seed < 40; seed++) {
      const forked = SimFs.fromSnapshot(snap);
      forked.crash('reorder', seed);
      const content = forked.dumpFile('/f');
      expect(content.length % 10).toBe(0);
      const lastRegion = content.length / 10 - 1;
      if (lastRegion >= 0) expect(content[lastRegion * 10]).toBe(lastRegion + 1);
      for (let i = 0; i < lastRegion; i++) expect([0, i + 1]).toContain(content[i * 10]);
    }
  });

  it('gives the same digest for the same seed, and different torn results for different seeds', () => {
    const run = (seed: number): string => {
      const fs = new SimFs(seed);
      durableFile(fs, '/seg', baseBytes);
      for (const w of writes) writeAt(fs, '/seg', w.position, w.bytes);
      fs.crash('torn');
      return fs.digest();
    };
    expect(run(42)).toBe(run(42));
    const digests = new Set(Array.from({ length: 20 }, (_, seed) => run(seed)));
    expect(digests.size).toBeGreaterThan(3);
  });
});

describe('SimFs fault injection', () => {
  it('an injected EIO write throws and has no effect', () => {
    const fs = new SimFs();
    durableFile(fs, '/f', bytesOf('abc'));
    const fd = fs.open('/f', 'r+');
    fs.failNext('write');
    expect(errorCode(() => fs.write(fd, bytesOf('XYZW'), 0, 4, 0))).toBe('EIO');
    expect(fs.dumpFile('/f')).toEqual(bytesOf('abc'));
    expect(fs.write(fd, bytesOf('X'), 0, 1, 0)).toBe(1);
    fs.crash('cut');
    expect(fs.dumpFile('/f')).toEqual(bytesOf('Xbc'));
  });

  it('a SHORT write writes and returns at least 1 and fewer than the requested bytes', () => {
    const fs = new SimFs();
    const fd = fs.open('/f', 'wx');
    fs.failNext('write', { code: 'SHORT' });
    const count = fs.write(fd, bytesOf('0123456789'), 0, 10, 0);
    expect(count).toBeGreaterThanOrEqual(1);
    expect(count).toBeLessThan(10);
    expect(fs.dumpFile('/f')).toEqual(bytesOf('0123456789').subarray(0, count));
    fs.failNext('write', { code: 'SHORT' });
    writeFully(fs, fd, bytesOf('abcdef'), 0, 6, 0);
    expect(fs.dumpFile('/f').subarray(0, 6)).toEqual(bytesOf('abcdef'));
  });

  it('fails exactly the (after+1)-th matching call, for `times` calls, on the matching path only', () => {
    const fs = new SimFs();
    fs.failNext('open', { code: 'ENOSPC', after: 1, path: /\/x\d$/, times: 2 });
    const attempt = (path: string): string | undefined => errorCode(() => fs.close(fs.open(path, 'wx')));
    expect(attempt('/other')).toBeUndefined();
    expect(attempt('/x1')).toBeUndefined();
    expect(attempt('/x2')).toBe('ENOSPC');
    expect(attempt('/x3')).toBe('ENOSPC');
    expect(attempt('/x4')).toBeUndefined();
    expect(fs.readdir('/')).toEqual(['other', 'x1', 'x4']);
  });

  it('a failed rename or fsync leaves the state as it was', () => {
    const fs = new SimFs();
    durableFile(fs, '/a', bytesOf('v1'));
    fs.failNext('rename', { path: '/b' });
    expect(errorCode(() => fs.rename('/a', '/b'))).toBe('EIO');
    expect(fs.readdir('/')).toEqual(['a']);
    writeAt(fs, '/a', 0, bytesOf('v2'));
    fs.failNext('fsync');
    expect(errorCode(() => fsyncFile(fs, '/a'))).toBe('EIO');
    fs.crash('lose-unsynced');
    expect(fs.dumpFile('/a')).toEqual(bytesOf('v1'));
  });

  it('clearFaults disarms every pending fault, and SHORT is refused for non-transfer calls', () => {
    const fs = new SimFs();
    fs.failNext('mkdir');
    fs.clearFaults();
    fs.mkdir('/d');
    expect(() => fs.failNext('fsync', { code: 'SHORT' })).toThrow(RangeError);
  });
});

describe('SimFs operation counting and crashAfter', () => {
  interface Ctx {
    fd: number;
  }
  /** Each step with whether it is a mutating operation. */
  const steps: Array<{ mutating: boolean; run: (fs: SimFs, ctx: Ctx) => void }> = [
    { mutating: true, run: (fs) => fs.mkdir('/d') },
    { mutating: true, run: (fs, ctx) => void (ctx.fd = fs.open('/d/f', 'wx')) },
    { mutating: true, run: (fs, ctx) => void fs.write(ctx.fd, bytesOf('one'), 0, 3, 0) },
    { mutating: false, run: (fs, ctx) => void fs.read(ctx.fd, new Uint8Array(3), 0, 3, 0) },
    { mutating: true, run: (fs, ctx) => fs.fsync(ctx.fd) },
    { mutating: true, run: (fs, ctx) => void fs.write(ctx.fd, bytesOf('two'), 0, 3, 3) },
    { mutating: false, run: (fs, ctx) => fs.close(ctx.fd) },
    { mutating: false, run: (fs) => void fs.stat('/d/f') },
    { mutating: true, run: (fs) => fs.rename('/d/f', '/d/g') },
    { mutating: true, run: (fs) => fs.fsyncDir('/d') },
    { mutating: false, run: (fs, ctx) => void (ctx.fd = fs.open('/d/g', 'r+')) },
    { mutating: true, run: (fs, ctx) => fs.truncate(ctx.fd, 1) },
    { mutating: true, run: (fs) => fs.unlink('/d/g') },
  ];
  const mutatingTotal = steps.filter((s) => s.mutating).length;

  /** The digest after running steps up to and including the k-th mutating one. */
  function referenceDigest(k: number): string {
    const fs = new SimFs();
    const ctx = { fd: -1 };
    let seen = 0;
    for (const step of steps) {
      step.run(fs, ctx);
      if (step.mutating && seen++ === k) break;
    }
    return fs.digest();
  }

  it('counts every call in opCount and only mutating calls in mutatingOpCount, and reports each to onOp', () => {
    const fs = new SimFs();
    const seen: string[] = [];
    fs.onOp = (index, kind, path) => seen.push(`${index}:${kind}:${path}`);
    const ctx = { fd: -1 };
    for (const step of steps) step.run(fs, ctx);
    expect(fs.opCount).toBe(steps.length);
    expect(fs.mutatingOpCount).toBe(mutatingTotal);
    expect(seen[0]).toBe('0:mkdir:/d');
    expect(seen[3]).toBe('3:read:/d/f');
    expect(errorCode(() => fs.stat('/missing'))).toBe('ENOENT');
    expect(fs.opCount).toBe(steps.length + 1);
  });

  it('throws SimCrash exactly after the k-th mutating operation, with its effect applied, and on every later call', () => {
    for (let k = 0; k < mutatingTotal; k++) {
      const fs = new SimFs();
      fs.crashAfter(k);
      const ctx = { fd: -1 };
      let caught: unknown;
      try {
        for (const step of steps) step.run(fs, ctx);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(SimCrash);
      expect((caught as SimCrash).mutatingOpIndex).toBe(k);
      expect(fs.mutatingOpCount).toBe(k + 1);
      expect(fs.isHalted).toBe(true);
      expect(() => fs.readdir('/')).toThrow(SimCrash);
      fs.crash('cut');
      expect(fs.isHalted).toBe(false);
      expect(fs.digest()).toBe(referenceDigest(k));
    }
  });

  it('refuses a crash point that has already passed', () => {
    const fs = new SimFs();
    fs.mkdir('/d');
    expect(() => fs.crashAfter(0)).toThrow(RangeError);
  });
});

describe('SimFs snapshots and real trees', () => {
  it('forks from a snapshot are independent of each other and of the original', () => {
    const fs = new SimFs();
    durableFile(fs, '/f', bytesOf('base'));
    const snap = fs.snapshot();
    const forkA = SimFs.fromSnapshot(snap);
    const forkB = SimFs.fromSnapshot(snap);
    writeAt(forkA, '/f', 0, bytesOf('AAAA'));
    writeAt(fs, '/f', 0, bytesOf('OOOO'));
    expect(forkB.dumpFile('/f')).toEqual(bytesOf('base'));
    expect(forkA.dumpFile('/f')).toEqual(bytesOf('AAAA'));
    expect(fs.dumpFile('/f')).toEqual(bytesOf('OOOO'));
    expect(SimFs.fromSnapshot(snap).digest()).toBe(forkB.digest());
  });

  it('loads a real tree as durable state and never modifies the real directory', () => {
    const realDir = nodeFs.mkdtempSync(join(tmpdir(), 'simfs-load-'));
    try {
      nodeFs.mkdirSync(join(realDir, 'sub'));
      nodeFs.writeFileSync(join(realDir, 'a.seg'), Buffer.from('segment'));
      nodeFs.writeFileSync(join(realDir, 'sub', 'b'), Buffer.from('nested'));
      const fs = new SimFs();
      fs.loadFromReal(realDir, '/store/copy');
      writeAt(fs, '/store/copy/a.seg', 0, bytesOf('XX'));
      fs.unlink('/store/copy/sub/b');
      fs.crash('lose-unsynced');
      expect(fs.readdir('/store/copy')).toEqual(['a.seg', 'sub']);
      expect(fs.dumpFile('/store/copy/a.seg')).toEqual(bytesOf('segment'));
      expect(fs.dumpFile('/store/copy/sub/b')).toEqual(bytesOf('nested'));
      expect(nodeFs.readFileSync(join(realDir, 'a.seg'), 'utf8')).toBe('segment');
      expect(nodeFs.readdirSync(join(realDir, 'sub'))).toEqual(['b']);
    } finally {
      nodeFs.rmSync(realDir, { recursive: true, force: true });
    }
  });
});

describe('SimFs against a simple independent model (property)', () => {
  type Op =
    | { t: 'create'; name: string }
    | { t: 'write'; name: string; position: number; sizeBytes: number; fill: number }
    | { t: 'truncate'; name: string; sizeBytes: number }
    | { t: 'fsync'; name: string }
    | { t: 'rename'; from: string; to: string }
    | { t: 'unlink'; name: string }
    | { t: 'fsyncDir'; dir: string };

  const names = ['/a', '/b', '/d/a', '/d/c'];
  const dirs = ['/', '/d'];
  const nameArb = fc.constantFrom(...names);
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ t: fc.constant('create' as const), name: nameArb }),
    fc.record({
      t: fc.constant('write' as const),
      name: nameArb,
      position: fc.integer({ min: 0, max: 40 }),
      sizeBytes: fc.integer({ min: 1, max: 12 }),
      fill: fc.integer({ min: 1, max: 255 }),
    }),
    fc.record({ t: fc.constant('truncate' as const), name: nameArb, sizeBytes: fc.integer({ min: 0, max: 50 }) }),
    fc.record({ t: fc.constant('fsync' as const), name: nameArb }),
    fc.record({ t: fc.constant('rename' as const), from: nameArb, to: nameArb }),
    fc.record({ t: fc.constant('unlink' as const), name: nameArb }),
    fc.record({ t: fc.constant('fsyncDir' as const), dir: fc.constantFrom(...dirs) }),
  );

  /** Names point at inode ids; contents are plain arrays; durable copies taken at each sync. */
  class Model {
    private nextId = 0;
    private volatileData = new Map<number, number[]>();
    private durableData = new Map<number, number[]>();
    private volatileDirs = new Map<string, Map<string, number>>(dirs.map((d) => [d, new Map()]));
    private durableDirs = new Map<string, Map<string, number>>(dirs.map((d) => [d, new Map()]));

    apply(op: Op): void {
      if (op.t === 'create') this.create(op.name);
      else if (op.t === 'fsyncDir') this.durableDirs.set(op.dir, new Map(this.dirOf(op.dir)));
      else if (op.t === 'rename') this.rename(op.from, op.to);
      else this.applyToFile(op);
    }

    files(which: 'volatile' | 'durable'): Map<string, number[]> {
      const out = new Map<string, number[]>();
      const dirTables = which === 'volatile' ? this.volatileDirs : this.durableDirs;
      const data = which === 'volatile' ? this.volatileData : this.durableData;
      for (const [dir, table] of dirTables) {
        for (const [name, id] of table) out.set(dir === '/' ? `/${name}` : `${dir}/${name}`, data.get(id) ?? []);
      }
      return out;
    }

    private dirOf(dir: string): Map<string, number> {
      return this.volatileDirs.get(dir) as Map<string, number>;
    }

    private split(path: string): { table: Map<string, number>; base: string } {
      const cut = path.lastIndexOf('/');
      return { table: this.dirOf(path.slice(0, cut) || '/'), base: path.slice(cut + 1) };
    }

    private idOf(path: string): number | undefined {
      const { table, base } = this.split(path);
      return table.get(base);
    }

    private create(path: string): void {
      if (this.idOf(path) !== undefined) return;
      const id = this.nextId++;
      this.volatileData.set(id, []);
      this.durableData.set(id, []);
      const { table, base } = this.split(path);
      table.set(base, id);
    }

    private rename(from: string, to: string): void {
      const id = this.idOf(from);
      if (id === undefined || from === to) return;
      const source = this.split(from);
      source.table.delete(source.base);
      const target = this.split(to);
      target.table.set(target.base, id);
    }

    private applyToFile(op: Op & { name: string }): void {
      const id = this.idOf(op.name);
      if (id === undefined) return;
      const data = this.volatileData.get(id) as number[];
      if (op.t === 'write') {
        while (data.length < op.position) data.push(0);
        for (let i = 0; i < op.sizeBytes; i++) data[op.position + i] = op.fill;
      } else if (op.t === 'truncate') {
        data.length = Math.min(data.length, op.sizeBytes);
        while (data.length < op.sizeBytes) data.push(0);
      } else if (op.t === 'fsync') {
        this.durableData.set(id, [...data]);
      } else if (op.t === 'unlink') {
        this.split(op.name).table.delete(this.split(op.name).base);
      }
    }
  }

  function exists(fs: SimFs, path: string): boolean {
    return errorCode(() => fs.stat(path)) === undefined;
  }

  function applyToSim(fs: SimFs, op: Op): void {
    if (op.t === 'create') fs.close(fs.open(op.name, 'rw+'));
    else if (op.t === 'fsyncDir') fs.fsyncDir(op.dir);
    else if (op.t === 'rename') {
      if (exists(fs, op.from)) fs.rename(op.from, op.to);
    } else if (!exists(fs, op.name)) return;
    else if (op.t === 'write') writeAt(fs, op.name, op.position, filled(op.sizeBytes, op.fill));
    else if (op.t === 'truncate') {
      const fd = fs.open(op.name, 'r+');
      fs.truncate(fd, op.sizeBytes);
      fs.close(fd);
    } else if (op.t === 'fsync') fsyncFile(fs, op.name);
    else fs.unlink(op.name);
  }

  function simFiles(fs: SimFs): Map<string, number[]> {
    const out = new Map<string, number[]>();
    for (const dir of dirs) {
      for (const name of fs.readdir(dir)) {
        const path = dir === '/' ? `/${name}` : `${dir}/${name}`;
        if (!fs.stat(path).isDirectory) out.set(path, [...fs.dumpFile(path)]);
      }
    }
    return out;
  }

  it('a cut crash equals the volatile state and lose-unsynced equals the state as of the last syncs', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 40 }), (ops) => {
        const fs = new SimFs();
        fs.mkdir('/d');
        fs.fsyncDir('/');
        const model = new Model();
        for (const op of ops) {
          applyToSim(fs, op);
          model.apply(op);
        }
        const snap = fs.snapshot();
        const cut = SimFs.fromSnapshot(snap);
        cut.crash('cut');
        expect(simFiles(cut)).toEqual(model.files('volatile'));
        const lost = SimFs.fromSnapshot(snap);
        lost.crash('lose-unsynced');
        expect(simFiles(lost)).toEqual(model.files('durable'));
      }),
      { seed: 20240611, numRuns: 300 },
    );
  });
});

describe('SimFs and RealFs behave identically outside crashes', () => {
  type Ctx = Map<string, number>;
  /** One row: a label and an action given the fs, a path maker and named fds. */
  const table: Array<[string, (fs: FileSystem, p: (rel: string) => string, fds: Ctx) => unknown]> = [
    ['mkdir d', (fs, p) => fs.mkdir(p('d'))],
    ['mkdir d again', (fs, p) => fs.mkdir(p('d'))],
    ['mkdir under a missing parent', (fs, p) => fs.mkdir(p('x/y'))],
    ['open wx', (fs, p, fds) => void fds.set('a', fs.open(p('d/a'), 'wx'))],
    ['write', (fs, _p, fds) => fs.write(fds.get('a') as number, bytesOf('hello'), 0, 5, 0)],
    ['write past EOF', (fs, _p, fds) => fs.write(fds.get('a') as number, bytesOf('X'), 0, 1, 10)],
    ['fstat', (fs, _p, fds) => fs.fstat(fds.get('a') as number)],
    ['read all', (fs, _p, fds) => readSome(fs, fds.get('a') as number, 32, 0)],
    ['read at EOF', (fs, _p, fds) => readSome(fs, fds.get('a') as number, 4, 11)],
    ['open wx existing', (fs, p) => fs.open(p('d/a'), 'wx')],
    ['open r missing', (fs, p) => fs.open(p('d/missing'), 'r')],
    ['open r+ missing', (fs, p) => fs.open(p('d/missing'), 'r+')],
    ['stat file', (fs, p) => fs.stat(p('d/a'))],
    ['stat dir', (fs, p) => fs.stat(p('d')).isDirectory],
    ['stat missing', (fs, p) => fs.stat(p('d/missing'))],
    ['truncate shrink', (fs, _p, fds) => fs.truncate(fds.get('a') as number, 3)],
    ['truncate grow', (fs, _p, fds) => fs.truncate(fds.get('a') as number, 6)],
    ['read after truncates', (fs, _p, fds) => readSome(fs, fds.get('a') as number, 32, 0)],
    ['fsync', (fs, _p, fds) => fs.fsync(fds.get('a') as number)],
    ['close', (fs, _p, fds) => fs.close(fds.get('a') as number)],
    ['read a closed fd', (fs, _p, fds) => readSome(fs, fds.get('a') as number, 1, 0)],
    ['readWhole sees the truncated content', (fs, p) => [...readWhole(fs, p('d/a'))]],
    ['size after open w', (fs, p, fds) => fs.fstat(openInto(fds, 'w', fs.open(p('d/a'), 'w'))).sizeBytes],
    ['write through an r fd', (fs, p, fds) => fs.write(openInto(fds, 'r', fs.open(p('d/a'), 'r')), bytesOf('z'), 0, 1, 0)],
    ['truncate through an r fd', (fs, _p, fds) => fs.truncate(fds.get('r') as number, 0)],
    ['fsync through an r fd', (fs, _p, fds) => fs.fsync(fds.get('r') as number)],
    ['rename', (fs, p) => fs.rename(p('d/a'), p('d/b'))],
    ['readdir after rename', (fs, p) => fs.readdir(p('d'))],
    ['rename missing', (fs, p) => fs.rename(p('d/missing'), p('d/z'))],
    ['rename into a missing dir', (fs, p) => fs.rename(p('d/b'), p('nodir/b'))],
    ['mkdir sub', (fs, p) => fs.mkdir(p('d/sub'))],
    ['rename file over dir', (fs, p) => fs.rename(p('d/b'), p('d/sub'))],
    ['rename dir over file', (fs, p) => fs.rename(p('d/sub'), p('d/b'))],
    ['create c', (fs, p) => fs.close(fs.open(p('d/c'), 'wx'))],
    ['rename over an existing file', (fs, p) => fs.rename(p('d/c'), p('d/b'))],
    ['unlink dir', (fs, p) => fs.unlink(p('d/sub'))],
    ['unlink missing', (fs, p) => fs.unlink(p('d/missing'))],
    ['unlink', (fs, p) => fs.unlink(p('d/b'))],
    ['create files', (fs, p) => ['f', 'b', 'C', 'a'].forEach((n) => fs.close(fs.open(p(`d/${n}`), 'rw+')))],
    ['readdir sorted', (fs, p) => fs.readdir(p('d'))],
    ['readdir a file', (fs, p) => fs.readdir(p('d/f'))],
    ['readdir missing', (fs, p) => fs.readdir(p('d/none'))],
    ['stat through a file', (fs, p) => fs.stat(p('d/f/x'))],
    ['open through a file', (fs, p) => fs.open(p('d/f/x'), 'w')],
    ['mkdir through a file', (fs, p) => fs.mkdir(p('d/f/x'))],
    ['open dir r then read', (fs, p) => readThenClose(fs, fs.open(p('d'), 'r'))],
    ['open dir r+', (fs, p) => fs.open(p('d'), 'r+')],
    ['open dir w', (fs, p) => fs.open(p('d'), 'w')],
    ['open dir wx', (fs, p) => fs.open(p('d'), 'wx')],
    ['fsyncDir', (fs, p) => fs.fsyncDir(p('d'))],
    ['short-free writeFully and readWhole', (fs, p) => roundTrip(fs, p('d/big'), pattern(5000, 9))],
  ];

  function readSome(fs: FileSystem, fd: number, length: number, position: number): number[] {
    const buf = new Uint8Array(length);
    const count = fs.read(fd, buf, 0, length, position);
    return [...buf.subarray(0, count)];
  }

  function readThenClose(fs: FileSystem, fd: number): number[] {
    try {
      return readSome(fs, fd, 4, 0);
    } finally {
      fs.close(fd);
    }
  }

  function openInto(fds: Ctx, key: string, fd: number): number {
    fds.set(key, fd);
    return fd;
  }

  function roundTrip(fs: FileSystem, path: string, bytes: Uint8Array): boolean {
    const fd = fs.open(path, 'wx');
    writeFully(fs, fd, bytes, 0, bytes.length, 0);
    fs.close(fd);
    return Buffer.compare(readWhole(fs, path), bytes) === 0;
  }

  function runTable(fs: FileSystem, root: string): Array<[string, unknown]> {
    const p = (rel: string): string => `${root}/${rel}`;
    const fds: Ctx = new Map();
    return table.map(([label, action]) => {
      try {
        const value = action(fs, p, fds);
        return [label, { ok: typeof value === 'number' && label.startsWith('open') ? 'fd' : value }];
      } catch (err) {
        return [label, { error: (err as { code?: string }).code }];
      }
    });
  }

  const tempDirs: string[] = [];
  afterEach(() => {
    for (const dir of tempDirs.splice(0)) nodeFs.rmSync(dir, { recursive: true, force: true });
  });

  it('produces the same results and error codes for a shared table of operations', () => {
    const realRoot = nodeFs.mkdtempSync(join(tmpdir(), 'simfs-vs-real-'));
    tempDirs.push(realRoot);
    const real = runTable(new RealFs(), realRoot);
    const sim = new SimFs();
    sim.mkdir('/root');
    const simulated = runTable(sim, '/root');
    expect(simulated).toEqual(real);
    expect(real.find(([label]) => label === 'mkdir d again')?.[1]).toEqual({ error: 'EEXIST' });
  });
});
