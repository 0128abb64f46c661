/**
 * Random store shapes for the differential suites, built with the engine's own API
 * (Store, Txn, writeRaw) on SimFs (fast, no fsync cost), then written to a real temp
 * directory so the commands can read them. A shape is plain data (JSON-printable), so a
 * failure prints the exact shape and fast-check can shrink it.
 */
import fc from 'fast-check';
import { mkdirSync, readFileSync, rmSync, truncateSync, writeFileSync, appendFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Blake3 } from '../../src/format/hash/blake3.js';
import { CRASH_MODES, type CrashMode, SimFs } from '../../src/sim/sim-fs.js';
import { type OpenOptions, Store } from '../../src/engine/store/store.js';
import type { Txn } from '../../src/engine/store/txn.js';
import { SIM_LOCK_ENV } from '../engine/store-shapes.js';
import { segmentNames, stripFootersAndCheckpoint } from '../engine/test-store.js';

const SIM_DIR = '/s';

/** Entities: ASCII, multi-byte UTF-8, JSON-escaped characters, a long one. */
export const ENTITIES = ['order:1', 'order:2', 'ü-user', '日本:3', 'x'.repeat(70), 'audit', 'q"uo\\te', 'tab\tnl\n'];
export const SCOPES = ['', 't', 'tenant:acme', 'ü'];
export const KINDS = [
  { category: 1, type: 0 },
  { category: 2, type: 5 },
  { category: 65535, type: 65535 },
];
const KEYS = ['k0', 'k1', 'k2', 'ключ', ''];

export type Payload =
  | { p: 'json'; v: unknown }
  | { p: 'pad'; n: number }
  | { p: 'bytes'; b: number[] }
  | { p: 'text'; s: string }
  | { p: 'deep'; depth: number; obj: boolean }
  | { p: 'wide'; n: number }
  | { p: 'lit'; s: string };

/** Literal payloads that once were, or could be, edge cases for a JSON fast path. */
const LITERALS = [
  '',
  'null',
  '-0',
  '1e400',
  '12345678901234567890',
  '"\\u00e9\\ud83d\\ude00"',
  '"\\ud800"',
  '{"a":1,"a":2}',
  ' {"a":1} ',
  '\uFEFF{"bom":true}',
  '{"k":"\\u0000\\u001f\\""}',
  '[1,2,3]\n',
  '"ünïcödé ✓ 😀"',
  '{"__proto__":{"x":1}}',
  '0.1',
  '1.0',
  '{}',
  '[]',
];

const payloadArb: fc.Arbitrary<Payload> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ p: fc.constant('json' as const), v: fc.jsonValue({ maxDepth: 3 }) }) },
  { weight: 4, arbitrary: fc.record({ p: fc.constant('pad' as const), n: fc.nat(400) }) },
  { weight: 1, arbitrary: fc.record({ p: fc.constant('pad' as const), n: fc.integer({ min: 1000, max: 65536 }) }) },
  { weight: 1, arbitrary: fc.record({ p: fc.constant('bytes' as const), b: fc.array(fc.nat(255), { maxLength: 200 }) }) },
  { weight: 1, arbitrary: fc.record({ p: fc.constant('text' as const), s: fc.string({ unit: 'grapheme', maxLength: 80 }) }) },
  { weight: 1, arbitrary: fc.record({ p: fc.constant('deep' as const), depth: fc.integer({ min: 1, max: 300 }), obj: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ p: fc.constant('wide' as const), n: fc.integer({ min: 1, max: 600 }) }) },
  { weight: 2, arbitrary: fc.record({ p: fc.constant('lit' as const), s: fc.constantFrom(...LITERALS) }) },
);

export function payloadBytes(p: Payload): Uint8Array {
  switch (p.p) {
    case 'json':
      return Buffer.from(JSON.stringify(p.v) ?? 'null', 'utf8');
    case 'pad':
      return Buffer.from(`{"pad":"${'y'.repeat(p.n)}"}`, 'utf8');
    case 'bytes':
      return Uint8Array.from(p.b);
    case 'text':
      return Buffer.from(p.s, 'utf8');
    case 'deep':
      return Buffer.from(p.obj ? `${'{"a":'.repeat(p.depth)}1${'}'.repeat(p.depth)}` : `${'['.repeat(p.depth)}${']'.repeat(p.depth)}`, 'utf8');
    case 'wide': {
      const o: Record<string, number> = {};
      for (let i = 0; i < p.n; i++) o[`k${i}`] = i;
      return Buffer.from(JSON.stringify(o), 'utf8');
    }
    case 'lit':
      return Buffer.from(p.s, 'utf8');
  }
}

export interface Item {
  e: number;
  s: number;
  k: number;
  pl: Payload;
}

export type Op =
  | { t: 'one'; it: Item }
  | { t: 'batch'; items: Item[] }
  /** Many small items of one batch (a batch of up to 500 frames). */
  | { t: 'wideBatch'; n: number; pad: number }
  | { t: 'bulk'; items: Item[] }
  /** Starts an interactive transaction (kept open) with a put. */
  | { t: 'tbegin'; key: number }
  | { t: 'tput'; which: number; key: number; del: boolean }
  | { t: 'tend'; which: number; commit: boolean }
  /** Frames the API never writes on its own (fixture-build style). */
  | { t: 'raw'; what: 'orphan' | 'commitNoBegin' | 'abortNoBegin' | 'beginTwice' | 'countMismatch' | 'systemStandalone' | 'interleaved' }
  | { t: 'reopen' }
  | { t: 'crash'; mode: CrashMode };

export interface Shape {
  segmentMaxBytes: number;
  /** Read chunk of the segment reader (SEGLOG_READ_CHUNK_BYTES); 0: the default. */
  readChunkBytes: number;
  sync: 'batch' | 'none';
  ops: Op[];
  end: 'close' | 'crash';
  endCrash: CrashMode;
  /** After the build: footers and checkpoint stripped (an unclean shutdown's leftovers). */
  strip: boolean;
  checkpoint: 'keep' | 'remove' | 'damage' | 'stale';
  /** Cut this many bytes off the last segment (0: none), or append garbage (negative: zeros). */
  tail: number;
  /** Damage one sealed frame and run `seglog repair`, leaving GAP records. */
  repair: boolean;
  /** Big filler to make the store cross the 4 MiB read chunk (bytes; 0: none). */
  fillBytes: number;
  fillBatch: number;
}

const itemArb: fc.Arbitrary<Item> = fc.record({
  e: fc.nat(ENTITIES.length - 1),
  s: fc.nat(SCOPES.length - 1),
  k: fc.nat(KINDS.length - 1),
  pl: payloadArb,
});

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ t: fc.constant('one' as const), it: itemArb }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('batch' as const), items: fc.array(itemArb, { minLength: 1, maxLength: 12 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('wideBatch' as const), n: fc.integer({ min: 1, max: 500 }), pad: fc.nat(300) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('bulk' as const), items: fc.array(itemArb, { minLength: 1, maxLength: 10 }) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('tbegin' as const), key: fc.nat(KEYS.length - 1) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('tput' as const), which: fc.nat(7), key: fc.nat(KEYS.length - 1), del: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('tend' as const), which: fc.nat(7), commit: fc.boolean() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('raw' as const),
      what: fc.constantFrom('orphan' as const, 'commitNoBegin' as const, 'abortNoBegin' as const, 'beginTwice' as const, 'countMismatch' as const, 'systemStandalone' as const, 'interleaved' as const),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ t: 'reopen' as const }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('crash' as const), mode: fc.constantFrom(...CRASH_MODES) }) },
);

export interface ShapeLimits {
  maxOps: number;
  /** Allow the big filler (a store over 4 MiB). */
  big: boolean;
  /** Allow raw frames that make the log not clean (orphans, markers without BEGIN...). */
  raw: boolean;
}

export function shapeArb(limits: ShapeLimits): fc.Arbitrary<Shape> {
  const ops = fc.array(limits.raw ? opArb : opArb.filter((o) => o.t !== 'raw'), { minLength: 1, maxLength: limits.maxOps });
  return fc.record({
    segmentMaxBytes: fc.constantFrom(4096, 4096, 8192, 65536, 1024 * 1024, 8 * 1024 * 1024),
    readChunkBytes: fc.constantFrom(0, 4096, 4096, 8192, 16384, 65536),
    sync: fc.constantFrom('batch' as const, 'none' as const),
    ops,
    end: fc.constantFrom('close' as const, 'close' as const, 'crash' as const),
    endCrash: fc.constantFrom(...CRASH_MODES),
    strip: fc.boolean(),
    checkpoint: fc.constantFrom('keep' as const, 'keep' as const, 'remove' as const, 'damage' as const, 'stale' as const),
    tail: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -40, max: 120 }) }),
    repair: fc.oneof({ weight: 5, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    fillBytes: limits.big ? fc.integer({ min: 4_300_000, max: 5_000_000 }) : fc.constant(0),
    fillBatch: fc.integer({ min: 1, max: 500 }),
  });
}

function deterministic(seed: number): Pick<OpenOptions, 'clock' | 'random'> {
  let t = 1_700_000_000_000;
  let x = seed >>> 0 || 1;
  let n = 0;
  return {
    // mostly forward, sometimes backwards: the writer clamps wall time per entity
    clock: () => (t += ++n % 17 === 0 ? -5 : 3),
    random: (out) => {
      for (let i = 0; i < out.length; i++) {
        x ^= x << 13;
        x >>>= 0;
        x ^= x >>> 17;
        x ^= x << 5;
        x >>>= 0;
        out[i] = x & 0xff;
      }
    },
  };
}

function batchItem(it: Item): { entity: string; scope: string; kind: { category: number; type: number }; payload: Uint8Array } {
  return { entity: ENTITIES[it.e]!, scope: SCOPES[it.s]!, kind: KINDS[it.k]!, payload: payloadBytes(it.pl) };
}

/** Builds the shape's store on SimFs (everything but the on-disk post-processing). */
function buildOnSim(shape: Shape, hasher: Blake3, seed: number): SimFs {
  const fs = new SimFs(seed);
  const base: OpenOptions = { fs, segmentMaxBytes: shape.segmentMaxBytes, sync: shape.sync, batchMaxBytes: 64 * 1024 * 1024, ...deterministic(seed) };
  let pid = 100;
  const open = (): Store => Store.openSync(SIM_DIR, { ...base, lockEnv: { ...SIM_LOCK_ENV, pid: ++pid } }, hasher);
  let store = open();
  let txns: Txn[] = [];
  const pick = (which: number): Txn | undefined => (txns.length === 0 ? undefined : txns[which % txns.length]);
  for (const op of shape.ops) {
    switch (op.t) {
      case 'one': {
        const it = batchItem(op.it);
        store.append({ entity: it.entity, scope: it.scope }, it.payload, { kind: it.kind });
        break;
      }
      case 'batch':
        store.appendBatch(op.items.map(batchItem));
        break;
      case 'wideBatch':
        store.appendBatch(Array.from({ length: op.n }, (_, i) => ({ entity: ENTITIES[i % 3]!, scope: 't', payload: Buffer.from(`{"i":${i},"p":"${'w'.repeat((op.pad * (i + 1)) % 301)}"}`) })));
        break;
      case 'bulk': {
        const b = store.bulk();
        for (const it of op.items) b.add(batchItem(it));
        b.finish();
        break;
      }
      case 'tbegin': {
        const t = store.beginTxn();
        t.put(KEYS[op.key]!, { v: op.key, at: txns.length });
        txns.push(t);
        break;
      }
      case 'tput': {
        const t = pick(op.which);
        if (!t) break;
        if (op.del) t.delete(KEYS[op.key]!);
        else t.put(KEYS[op.key]!, [op.key, 'v']);
        break;
      }
      case 'tend': {
        const t = pick(op.which);
        if (!t) break;
        if (op.commit) t.commit();
        else t.abort();
        txns = txns.filter((x) => x !== t);
        break;
      }
      case 'raw':
        writeRawOp(store, op.what);
        break;
      case 'reopen':
        store.close();
        txns = [];
        store = open();
        break;
      case 'crash':
        fs.crash(op.mode);
        txns = [];
        store = open();
        break;
    }
  }
  if (shape.fillBytes > 0) {
    let i = 0;
    for (let written = 0; written < shape.fillBytes; ) {
      const items = Array.from({ length: shape.fillBatch }, () => {
        const pad = 50 + ((i * 7919) % 200);
        i++;
        written += 230 + pad;
        return { entity: `e${i % 300}`, scope: 's', payload: Buffer.from(`{"m":${i},"pad":"${'y'.repeat(pad)}"}`) };
      });
      if (shape.fillBatch === 1) store.append({ entity: items[0]!.entity, scope: 's' }, items[0]!.payload);
      else store.appendBatch(items);
    }
  }
  if (shape.end === 'close') {
    store.close();
    if (shape.checkpoint === 'stale') {
      const ckpt = tryRead(fs, `${SIM_DIR}/index.ckpt`);
      const again = open();
      again.append({ entity: 'order:1', scope: 't' }, Buffer.from('{"stale":true}'));
      again.close();
      if (ckpt) writeSim(fs, `${SIM_DIR}/index.ckpt`, ckpt);
    }
  } else {
    fs.crash(shape.endCrash);
  }
  return fs;
}

/** Raw frames under fresh transaction ids (`beginTxn().id` reserves one and writes nothing). */
function writeRawOp(store: Store, what: Extract<Op, { t: 'raw' }>['what']): void {
  const ev = (txnId: number, i: number) => ({ type: 'event' as const, txnId, entity: ENTITIES[i % ENTITIES.length]!, scope: 't', kind: { category: 1, type: i }, payload: Buffer.from(`{"raw":${i}}`) });
  const a = store.beginTxn().id;
  switch (what) {
    case 'orphan':
      store.writeRaw([ev(a, 0), ev(a, 1)], true);
      return;
    case 'commitNoBegin':
      store.writeRaw([{ type: 'commit', txnId: a, count: 0 }], true);
      return;
    case 'abortNoBegin':
      store.writeRaw([{ type: 'abort', txnId: a, count: 0 }], true);
      return;
    case 'beginTwice':
      store.writeRaw([{ type: 'begin', txnId: a, count: 0 }, ev(a, 2), { type: 'begin', txnId: a, count: 0 }, ev(a, 3), { type: 'commit', txnId: a, count: 1 }], true);
      return;
    case 'countMismatch':
      store.writeRaw([{ type: 'begin', txnId: a, count: 3 }, ev(a, 4), { type: 'commit', txnId: a, count: 2 }], true);
      return;
    case 'systemStandalone':
      store.writeRaw([{ type: 'event', txnId: 0, entity: 'sys', scope: '', kind: { category: 0, type: 9 }, payload: Buffer.from('{"sys":1}') }], true);
      return;
    case 'interleaved': {
      const b = store.beginTxn().id;
      store.writeRaw(
        [{ type: 'begin', txnId: a, count: 2 }, { type: 'begin', txnId: b, count: 0 }, ev(a, 5), ev(b, 6), ev(a, 7), { type: 'commit', txnId: b, count: 1 }, { type: 'commit', txnId: a, count: 2 }],
        true,
      );
      return;
    }
  }
}

function tryRead(fs: SimFs, path: string): Uint8Array | null {
  try {
    return fs.dumpFile(path);
  } catch {
    return null;
  }
}

function writeSim(fs: SimFs, path: string, bytes: Uint8Array): void {
  const fd = fs.open(path, 'w');
  fs.truncate(fd, 0);
  fs.write(fd, bytes, 0, bytes.length, 0);
  fs.fsync(fd);
  fs.close(fd);
}

/** Writes the store's regular files (segments, seglog.json, index.ckpt) to `dir`. */
function materialize(fs: SimFs, dir: string): void {
  mkdirSync(dir, { recursive: true });
  for (const name of fs.readdir(SIM_DIR)) {
    const p = `${SIM_DIR}/${name}`;
    if (fs.stat(p).isDirectory || name === 'LOCK') continue;
    writeFileSync(join(dir, name), fs.dumpFile(p));
  }
}

/** Builds `shape` into `dir` (created); `repairWith` runs `seglog repair --yes` on it. */
export async function buildShape(shape: Shape, hasher: Blake3, dir: string, seed: number, repairWith: (dir: string) => Promise<void>): Promise<void> {
  const fs = buildOnSim(shape, hasher, seed);
  rmSync(dir, { recursive: true, force: true });
  materialize(fs, dir);
  const segs = segmentNames(dir);
  if (shape.repair && segs.length >= 2) {
    // one flipped byte in the first sealed segment's frames: repair quarantines it and writes gap records
    const p = join(dir, segs[0]!);
    const b = readFileSync(p);
    if (b.length > 200) {
      const at = 32 + ((seed >>> 0) % Math.max(1, Math.min(b.length, 3000) - 40));
      b[at] ^= 0x10;
      writeFileSync(p, b);
      await repairWith(dir);
    }
  }
  if (shape.strip) stripFootersAndCheckpoint(dir);
  const ckpt = join(dir, 'index.ckpt');
  if (existsSync(ckpt)) {
    if (shape.checkpoint === 'remove') rmSync(ckpt);
    else if (shape.checkpoint === 'damage') {
      const b = readFileSync(ckpt);
      b[(seed >>> 3) % b.length] ^= 0x01;
      writeFileSync(ckpt, b);
    }
  }
  if (shape.tail !== 0) {
    const last = segmentNames(dir).at(-1);
    if (last) {
      const p = join(dir, last);
      const size = readFileSync(p).length;
      if (shape.tail > 0) truncateSync(p, Math.max(32, size - shape.tail));
      else appendFileSync(p, Buffer.alloc(-shape.tail, shape.tail % 2 === 0 ? 0 : 0xa5));
    }
  }
}
