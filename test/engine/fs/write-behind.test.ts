/**
 * The write-behind thread of bulk appends (engine/io/write-behind.ts, issue 18 round
 * five), driven directly: the built dist/ class (its worker is the built JS). Properties:
 * queued writes land at their positions with their bytes, in order, however many more
 * than its slots are queued and whoever (thread or caller) does each; a failed write is
 * thrown by the next call as RealFs would have thrown it, naming the file, and no write
 * queued after it is done; `abandon` leaves a prefix of the queued writes and nothing
 * after it; a write larger than a slot is handed back to the caller after every earlier
 * one. If one fails, look at the ticket/state handshake in WriteBehind.settle and
 * runWriteBehindWorker.
 */
import { closeSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTempDirs, REPO_ROOT, tempDir } from '../test-store.js';
import type { WriteBehind as WriteBehindClass, SLOT_BYTES as SlotBytes } from '../../../src/engine/io/write-behind.js';

afterAll(removeTempDirs);

let WriteBehind: typeof WriteBehindClass;
let SLOT_BYTES: typeof SlotBytes;
beforeAll(async () => {
  const m = (await import(join(REPO_ROOT, 'dist', 'engine', 'io', 'write-behind.js'))) as { WriteBehind: typeof WriteBehindClass; SLOT_BYTES: typeof SlotBytes };
  WriteBehind = m.WriteBehind;
  SLOT_BYTES = m.SLOT_BYTES;
});

/** Chunk i: `len` bytes of a pattern no other chunk has at the same offset. */
function chunk(i: number, len: number): Uint8Array {
  const b = new Uint8Array(len);
  for (let k = 0; k < len; k++) b[k] = (i * 131 + k * 7 + (k >>> 8)) & 0xff;
  return b;
}

function start(): WriteBehindClass {
  const wb = WriteBehind.start();
  if (wb === null) throw new Error('no write-behind: is SEGLOG_WRITE_BEHIND=0 set, or dist/ not built?');
  return wb;
}

describe('WriteBehind: queued writes (dist)', () => {
  it('land at their positions with their bytes: 40 writes of 1 byte .. 1 MiB through 4 slots, the caller reusing its buffer at once', () => {
    const path = join(tempDir('seglog-wb-'), 'f');
    const fd = openSync(path, 'w+');
    const wb = start();
    const sizes = Array.from({ length: 40 }, (_, i) => (i % 5 === 0 ? SLOT_BYTES : 1 + ((i * 7919) % SLOT_BYTES)));
    const scratch = new Uint8Array(SLOT_BYTES);
    const want: Uint8Array[] = [];
    let pos = 0;
    sizes.forEach((len, i) => {
      const c = chunk(i, len);
      want.push(c);
      scratch.set(c);
      expect(wb.write(fd, path, scratch, 0, len, pos)).toBe(true);
      scratch.fill(0xee); // the queued bytes are a copy
      pos += len;
    });
    wb.close();
    closeSync(fd);
    expect(readFileSync(path).equals(Buffer.concat(want))).toBe(true);
  });

  it('crcFrames: the CRC of every frame is written before the write, whoever does it (16 chunks of frames with their CRC left at 0)', async () => {
    const { sealFrame, FRAME_HEADER_BYTES } = (await import(join(REPO_ROOT, 'dist', 'format', 'frame.js'))) as typeof import('../../../src/format/frame.js');
    const path = join(tempDir('seglog-wb-'), 'f');
    const fd = openSync(path, 'w+');
    const wb = start();
    const want: Uint8Array[] = [];
    let pos = 0;
    for (let i = 0; i < 16; i++) {
      // frames of 1..2000-byte bodies, sealed (the expected bytes), then their CRCs zeroed
      const c = new Uint8Array(SLOT_BYTES);
      let len = 0;
      for (let f = 0; len + 2100 < SLOT_BYTES && f < 400; f++) {
        const body = 1 + ((i * 977 + f * 131) % 2000);
        for (let k = 0; k < body; k++) c[len + 9 + k] = (i + f + k) & 0xff;
        len += sealFrame(c, len, 1, body);
      }
      want.push(c.slice(0, len));
      for (let off = 0; off < len; ) {
        const length = c[off]! | (c[off + 1]! << 8) | (c[off + 2]! << 16) | (c[off + 3]! << 24);
        c.fill(0, off + 4, off + 8);
        off += FRAME_HEADER_BYTES + length;
      }
      expect(wb.write(fd, path, c, 0, len, pos, true)).toBe(true);
      pos += len;
    }
    wb.close();
    closeSync(fd);
    expect(readFileSync(path).equals(Buffer.concat(want)), 'a frame reached the file without its CRC (S_CRC, sealFrameCrcs in doWrite)').toBe(true);
  });

  it('a write larger than a slot is handed back (false) with every earlier write done', () => {
    const path = join(tempDir('seglog-wb-'), 'f');
    const fd = openSync(path, 'w+');
    const wb = start();
    const a = chunk(1, 1000);
    wb.write(fd, path, a, 0, a.length, 0);
    expect(wb.write(fd, path, chunk(2, SLOT_BYTES + 1), 0, SLOT_BYTES + 1, a.length)).toBe(false);
    expect(readFileSync(path).equals(Buffer.from(a)), 'the earlier write must be in the file when the caller gets a write back').toBe(true);
    wb.close();
    closeSync(fd);
  });

  it('a failed write is thrown as an FsError naming its file, and no write queued after it is done', () => {
    const dir = tempDir('seglog-wb-');
    const good = join(dir, 'good');
    const bad = join(dir, 'bad');
    const gfd = openSync(good, 'w+');
    const bfd = openSync(bad, 'w+');
    const rfd = openSync(bad, 'r'); // writing a read-only descriptor: EBADF
    const wb = start();
    wb.write(gfd, good, chunk(0, 100), 0, 100, 0);
    wb.write(rfd, bad, chunk(1, 100), 0, 100, 0);
    wb.write(gfd, good, chunk(2, 100), 0, 100, 100);
    let err: unknown;
    try {
      wb.drain();
    } catch (e) {
      err = e;
    }
    expect(err, 'drain must throw the failed write').toBeDefined();
    expect((err as { code?: string }).code).toBe('EBADF');
    expect((err as { path?: string }).path).toBe(bad);
    expect((err as Error).message).toMatch(/^EBADF: .*, write '.*bad'$/);
    expect(() => wb.write(gfd, good, chunk(3, 10), 0, 10, 200), 'every later call throws the failure too').toThrow(/EBADF/);
    wb.abandon();
    expect(statSync(good).size, 'the write queued after the failure must not be done').toBe(100);
    for (const fd of [gfd, bfd, rfd]) closeSync(fd);
  });

  it('abandon leaves a prefix of the queued writes (a dying store), and nothing lands after it', async () => {
    const path = join(tempDir('seglog-wb-'), 'f');
    const fd = openSync(path, 'w+');
    const wb = start();
    const len = 256 * 1024;
    for (let i = 0; i < 4; i++) wb.write(fd, path, chunk(i, len), 0, len, i * len);
    wb.abandon();
    const size = statSync(path).size;
    await new Promise((r) => setTimeout(r, 200));
    expect(statSync(path).size, 'a write landed after abandon returned').toBe(size);
    expect(size % len).toBe(0);
    const got = readFileSync(path);
    for (let i = 0; i < size / len; i++) expect(got.subarray(i * len, (i + 1) * len).equals(Buffer.from(chunk(i, len)))).toBe(true);
    closeSync(fd);
  });
});

/**
 * A bulk session (dist Store on RealFs) whose write-behind write fails in the middle:
 * the failure reaches the session as the I/O error a synchronous write would have been
 * (`bulk append failed (EBADF)`, naming the segment), the store refuses further writes,
 * and a reopen finds a clean prefix of the session's events (every event it holds is one
 * of them, in order; none is acknowledged, as for any bulk session that did not finish).
 * If this fails, look at how BulkAppender.flush and WriteState.settleWrites turn a
 * write-behind failure into poisoning.
 */
describe('WriteBehind: a failed queued write in a bulk session (dist Store)', () => {
  it('fails the session with the segment named, poisons the store, and a reopen finds a clean prefix', async () => {
    const { Store } = (await import(join(REPO_ROOT, 'dist', 'engine', 'store', 'store.js'))) as typeof import('../../../src/engine/store/store.js');
    const { RealFs } = (await import(join(REPO_ROOT, 'dist', 'engine', 'io', 'real-fs.js'))) as typeof import('../../../src/engine/io/real-fs.js');
    /** The fourth queued write goes to a read-only descriptor of the same file: EBADF in the thread. */
    class FailingFs extends RealFs {
      override writeBehind() {
        const wb = super.writeBehind();
        if (wb === null) return null;
        let n = 0;
        const write = wb.write.bind(wb);
        wb.write = (fd, path, buf, off, len, position, crc, frames) => (++n === 4 ? write(openSync(path, 'r'), path, buf, off, len, position, crc, frames) : write(fd, path, buf, off, len, position, crc, frames));
        return wb;
      }
    }
    const dir = join(tempDir('seglog-wb-fail-'), 's');
    const store = await Store.open(dir, { fs: new FailingFs(), clock: () => 1_700_000_000_000 });
    const bulk = store.bulk();
    const scope = Buffer.from('s');
    let err: unknown;
    let added = 0;
    try {
      for (let i = 0; i < 40_000; i++) {
        const entity = Buffer.from(`e${i % 97}`);
        const payload = Buffer.from(JSON.stringify({ i, pad: 'x'.repeat(i % 300) }));
        bulk.addRaw({ entity, entityStart: 0, entityEnd: entity.length, scope, scopeStart: 0, scopeEnd: 1, payload, payloadStart: 0, payloadEnd: payload.length, kindCategory: 1, kindType: 1 });
        added++;
      }
      bulk.finish();
    } catch (e) {
      err = e;
    }
    expect(err, 'the session must fail').toBeDefined();
    expect((err as Error).message).toMatch(/bulk append failed \(EBADF\)/);
    expect((err as { file?: string }).file).toMatch(/0000000000\.seg$/);
    expect(added, 'the failure should surface within a few chunks of the failed write').toBeLessThan(40_000);
    expect(() => store.append({ entity: 'x', scope: 's' }, { after: true }), 'a poisoned store refuses writes').toThrow(/reopen the store|failed/);
    store.close();
    // a poisoned store keeps its LOCK, as a dying process would leave it: this "process" is gone
    rmSync(join(dir, 'LOCK'));
    const again = await Store.open(dir, {});
    const evs = again.query({}, 1 << 30);
    evs.forEach((e, k) => expect(JSON.parse(Buffer.from(e.payload).toString()).i, `event ${k} after the reopen is not the session's event ${k}`).toBe(k));
    again.close();
  });
});
