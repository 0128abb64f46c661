#!/usr/bin/env node
// Regenerates test/fixtures/ deterministically: every run writes byte-identical files.
//
//   npm run fixtures                      # build, then regenerate every fixture
//   node scripts/make-fixtures.js clean   # only the named fixtures
//   node scripts/make-fixtures.js --out /tmp/fx   # write somewhere else (determinism checks)
//   node scripts/make-fixtures.js --list  # names and what each one is
//
// It drives the BUILT engine (dist/), so run `npm run build` first. Determinism comes
// from an injected clock and an injected random source: each fixture gets its own,
// seeded from the fixture's name, so adding or changing one fixture never changes the
// bytes of another. Damage is applied afterwards, to closed stores, by plain byte edits
// whose exact location the script prints (test/fixtures/README.md records them, and
// test/engine/verify.test.ts asserts what `verify` says about each one).
//
// Adding a fixture: write an `async function buildX(ctx)` under its own heading below
// and add one entry to FIXTURES. A builder owns exactly the path named by its entry
// (a store directory or a single file under the output root) and nothing else.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');
if (!existsSync(join(dist, 'engine', 'store', 'store.js'))) {
  console.error('make-fixtures: dist/ is missing; run `npm run build` first (or `npm run fixtures`)');
  process.exit(2);
}
const { Store } = await import('../dist/engine/store/store.js');
const { checkFrame, FrameType, FRAME_PREFIX_BYTES } = await import('../dist/format/frame.js');
const { crc32c } = await import('../dist/format/hash/crc32c.js');
const { ev, EV } = await import('../dist/format/event.js');
const { SEGMENT_HEADER_BYTES } = await import('../dist/format/segment-header.js');
const { MARKER_FRAME_BYTES } = await import('../dist/format/marker.js');
const { frameEndOf } = await import('../dist/engine/segment/segment-end.js');
const { RealFs } = await import('../dist/engine/io/real-fs.js');
const { CHECKPOINT_FILE, LOCK_FILE } = await import('../dist/engine/io/layout.js');
const { stripFooters } = await import('../dist/tools/sidx-maintenance.js');
const { resolveTarget } = await import('../dist/engine/segment/target.js');

/** Wall clock of every fixture's first event: 2023-11-14T22:13:20Z. */
const FIXTURE_EPOCH_MS = 1_700_000_000_000;
/** Each clock reading advances by this much, so wall times differ and stay monotonic. */
const CLOCK_STEP_MS = 7;
/** The smallest segment size the engine accepts: small fixtures with several segments. */
const SMALL_SEGMENT_BYTES = 4096;
/** checkFrame's FrameStatus.Valid (a const enum: not present in the compiled JS). */
const FRAME_VALID = 0;

// ------------------------------------------------------------------ shared helpers

/** FNV-1a of a string: a fixture's name becomes its seed. */
function seedOf(name) {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** mulberry32: a small seeded PRNG; `next()` returns a u32. */
function makePrng(seed) {
  let a = seed >>> 0;
  return {
    next() {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return (t ^ (t >>> 14)) >>> 0;
    },
    fill(buf) {
      for (let i = 0; i < buf.length; i++) buf[i] = this.next() & 0xff;
    },
    int(maxExclusive) {
      return this.next() % maxExclusive;
    },
  };
}

/**
 * What a builder gets: where to write, a deterministic `open` for stores, byte-edit
 * helpers and `note()` to print where the damage went (copied into the README).
 */
function makeContext(name, outRoot) {
  const prng = makePrng(seedOf(name));
  let nowMs = FIXTURE_EPOCH_MS;
  const ctx = {
    name,
    path: join(outRoot, name),
    prng,
    /** Opens (creating) a store with the deterministic clock and random source. */
    open(dir, options = {}) {
      return Store.open(dir, {
        ...options,
        clock: () => (nowMs += CLOCK_STEP_MS),
        random: (buf) => prng.fill(buf),
        onWarning: (m) => console.error(`make-fixtures: ${name}: warning: ${m}`),
      });
    },
    /** Deterministic filler text, so payload sizes vary but bytes repeat run to run. */
    filler(lengthChars) {
      const letters = 'abcdefghijklmnopqrstuvwxyz';
      let s = '';
      for (let i = 0; i < lengthChars; i++) s += letters[prng.int(letters.length)];
      return s;
    },
    note(message) {
      console.log(`  ${name}: ${message}`);
    },
    /**
     * Leaves an open store as a crashed process would: it is never closed, so nothing
     * more is written (no footer on the active segment, no checkpoint), and its LOCK,
     * which names this script's pid, is removed so the fixture opens anywhere without
     * a takeover. Its descriptors go when the script exits.
     */
    abandon(store) {
      rmSync(join(store.dir, LOCK_FILE), { force: true });
    },
    /**
     * Removes index.ckpt from a closed store. A checkpoint is only an accelerator, and
     * one written before a byte edit is stale: removing it keeps a damage fixture about
     * one kind of damage (stale checkpoints have fixtures of their own).
     */
    dropCheckpoint(dir) {
      rmSync(join(dir, CHECKPOINT_FILE), { force: true });
    },
  };
  return ctx;
}

/** Where a segment file's frames end: its size, or where a sealed segment's footer starts. */
function frameEndOfFile(path) {
  const fs = new RealFs();
  const fd = fs.open(path, 'r');
  try {
    return frameEndOf(fs, fd, fs.fstat(fd).sizeBytes);
  } finally {
    fs.close(fd);
  }
}

/** Every frame of a segment file (up to `frameEnd`): offset, size, type, and for events seq/entity/txn. */
function listFrames(bytes, frameEnd = bytes.length) {
  const frames = [];
  const slot = { type: 0, length: 0, sizeBytes: 0 };
  let off = SEGMENT_HEADER_BYTES;
  while (off < frameEnd) {
    const st = checkFrame(bytes, off, frameEnd, slot);
    if (st !== FRAME_VALID) throw new Error(`listFrames: frame status ${st} at byte ${off}: fixtures are damaged only after listing`);
    const body = off + FRAME_PREFIX_BYTES;
    const f = { offset: off, sizeBytes: slot.sizeBytes, type: slot.type, body };
    if (slot.type === FrameType.EVENT) {
      f.seq = ev.seq(bytes, body);
      f.clock = ev.clock(bytes, body);
      f.entity = ev.entity(bytes, body);
      f.txnId = ev.txnId(bytes, body);
      f.payloadStart = ev.payloadStart(bytes, body);
      f.payloadBytes = ev.payloadLen(bytes, body);
    }
    frames.push(f);
    off += slot.sizeBytes;
  }
  return frames;
}

function segmentPath(storeDir, id) {
  return join(storeDir, `${String(id).padStart(10, '0')}.seg`);
}

/** Recomputes the CRC of the frame at `off` after its type or body was edited. */
function resealFrame(bytes, off) {
  const length = bytes[off] | (bytes[off + 1] << 8) | (bytes[off + 2] << 16) | (bytes[off + 3] << 24);
  const crc = crc32c(bytes, off + 8, off + 8 + (length >>> 0));
  bytes[off + 4] = crc & 0xff;
  bytes[off + 5] = (crc >>> 8) & 0xff;
  bytes[off + 6] = (crc >>> 16) & 0xff;
  bytes[off + 7] = (crc >>> 24) & 0xff;
}

function payload(obj) {
  return JSON.stringify(obj);
}

// ------------------------------------------------------------------ clean
// Several 4 KiB segments; single events and batches (a same-entity multi-item batch, a
// reaction batch with correlation/causation, an intra-batch causation, a batch that
// spans a segment boundary); six entities in three scopes. Verifies with no problem.

async function buildClean(ctx) {
  const store = await ctx.open(ctx.path, { segmentMaxBytes: SMALL_SEGMENT_BYTES });
  const acme = 'tenant:acme';
  const globex = 'tenant:globex';
  for (let i = 1; i <= 4; i++) {
    store.append({ entity: `order:${i}`, scope: acme }, payload({ type: 'created', total: i * 10, note: ctx.filler(20) }), { kind: { category: 1, type: 1 } });
  }
  store.append({ entity: 'user:alice', scope: globex }, payload({ type: 'signed-up', email: 'alice@example.com' }), { kind: { category: 2, type: 1 } });
  // one entity, three items: a continuous chain inside one batch
  const lines = store.appendBatch(
    [1, 2, 3].map((n) => ({ entity: 'order:1', scope: acme, kind: { category: 1, type: 2 }, payload: payload({ type: 'line-added', line: n, sku: `sku-${n}` }) })),
  );
  // a reaction: every item carries the correlation and causation of what caused it
  store.appendReactionBatch(
    [
      { entity: 'inventory:sku-1', scope: acme, kind: { category: 3, type: 1 }, payload: payload({ type: 'reserved', qty: 1 }) },
      { entity: 'inventory:sku-2', scope: acme, kind: { category: 3, type: 1 }, payload: payload({ type: 'reserved', qty: 2 }) },
    ],
    lines[0].eventId,
    lines[2].eventId,
  );
  // item 1 is caused by item 0 of the same batch
  store.appendBatch([
    { entity: 'order:2', scope: acme, kind: { category: 1, type: 3 }, payload: payload({ type: 'paid', amount: 20 }) },
    { entity: 'user:bob', scope: globex, kind: { category: 2, type: 2 }, payload: payload({ type: 'notified', order: 'order:2' }), causationItem: 0 },
  ]);
  for (let i = 0; i < 24; i++) {
    const entity = ['order:3', 'order:4', 'user:alice', 'user:bob'][i % 4];
    const scope = entity.startsWith('user:') ? globex : acme;
    store.append({ entity, scope }, payload({ type: 'touched', i, note: ctx.filler(30 + (i % 5) * 20) }), { kind: { category: 1, type: 9 } });
  }
  // ten ~400-byte items cannot fit in one 4 KiB segment: this batch spans a boundary
  store.appendBatch(
    Array.from({ length: 10 }, (_, i) => ({
      entity: `order:${1 + (i % 4)}`,
      scope: acme,
      kind: { category: 1, type: 4 },
      payload: payload({ type: 'shipped-part', part: i, note: ctx.filler(200) }),
    })),
  );
  for (let i = 0; i < 8; i++) {
    store.append({ entity: 'audit:log', scope: 'tenant:system' }, payload({ type: 'audit', i }), { kind: { category: 9, type: 1 } });
  }
  store.close();
  ctx.note(`${countSegments(ctx.path)} segments, ${store.committedEvents} events, ${store.committedBatches} batches`);
}

function countSegments(dir) {
  return readdirSync(dir).filter((n) => /^\d{10}\.seg$/.test(n)).length;
}

// ------------------------------------------------------------------ torn-tail
// One segment, left as a crashed writer leaves it (no footer, no checkpoint); the last
// frame (a standalone event) is cut in the middle, as a crash during its write leaves
// it. verify: a torn_tail warning at that frame (exit 0).

async function buildTornTail(ctx) {
  const store = await ctx.open(ctx.path);
  for (let i = 0; i < 5; i++) store.append({ entity: `order:${i % 2}`, scope: 'tenant:acme' }, payload({ i, note: ctx.filler(16) }));
  store.appendBatch([
    { entity: 'order:0', scope: 'tenant:acme', payload: payload({ type: 'batched', n: 1 }) },
    { entity: 'order:1', scope: 'tenant:acme', payload: payload({ type: 'batched', n: 2 }) },
  ]);
  store.append({ entity: 'order:0', scope: 'tenant:acme' }, payload({ type: 'last', note: 'this event is torn' }));
  ctx.abandon(store);
  const seg = segmentPath(ctx.path, 0);
  const bytes = readFileSync(seg);
  const last = listFrames(bytes).at(-1);
  const keep = last.offset + Math.floor(last.sizeBytes / 2);
  writeFileSync(seg, bytes.subarray(0, keep));
  ctx.note(`0000000000.seg cut to ${keep} bytes: frame at ${last.offset} (seq ${last.seq}, ${last.sizeBytes} bytes) is torn`);
}

// ------------------------------------------------------------------ flipped-bit
// Two segments; one bit of one event's payload, in the sealed first segment, is
// flipped. The frame CRC catches it. The event's entity has no other event, so the
// only other consequence is the hole in the global sequence right after it.

async function buildFlippedBit(ctx) {
  const store = await ctx.open(ctx.path, { segmentMaxBytes: SMALL_SEGMENT_BYTES });
  for (let i = 0; i < 30; i++) {
    const entity = i === 5 ? 'audit:lonely' : `order:${i % 3}`;
    store.append({ entity, scope: 'tenant:acme' }, payload({ i, note: ctx.filler(40) }));
  }
  store.close();
  ctx.dropCheckpoint(ctx.path);
  const seg = segmentPath(ctx.path, 0);
  const bytes = readFileSync(seg);
  const frames = listFrames(bytes, frameEndOfFile(seg));
  const victim = frames.find((f) => f.entity === 'audit:lonely');
  const at = victim.payloadStart + 3;
  bytes[at] ^= 0x04;
  writeFileSync(seg, bytes);
  const next = frames[frames.indexOf(victim) + 1];
  ctx.note(`0000000000.seg: bit 2 of byte ${at} flipped, in the payload of the frame at ${victim.offset} (seq ${victim.seq}); next frame at ${next.offset} (seq ${next.seq})`);
}

// ------------------------------------------------------------------ chain-break
// Two segments; in the sealed first segment one event's prev_hash is altered (its
// first byte inverted) and the frame CRC recomputed, so framing and CRC are valid.
// event_hash is left as it was: it no longer matches the event's bytes
// (hash_mismatch) and prev_hash no longer names the entity's previous event
// (chain_break). The entity's next event still links to the stored event_hash.

async function buildChainBreak(ctx) {
  const store = await ctx.open(ctx.path, { segmentMaxBytes: SMALL_SEGMENT_BYTES });
  for (let i = 0; i < 30; i++) store.append({ entity: `order:${i % 3}`, scope: 'tenant:acme' }, payload({ i, note: ctx.filler(40) }));
  store.close();
  ctx.dropCheckpoint(ctx.path);
  const seg = segmentPath(ctx.path, 0);
  const bytes = readFileSync(seg);
  // the third event of order:1 (clock 2), mid-chain and mid-segment
  const victim = listFrames(bytes, frameEndOfFile(seg)).find((f) => f.entity === 'order:1' && f.clock === 2);
  bytes[victim.body + EV.PREV_HASH] ^= 0xff;
  resealFrame(bytes, victim.offset);
  writeFileSync(seg, bytes);
  ctx.note(`0000000000.seg: prev_hash of the frame at ${victim.offset} (seq ${victim.seq}, entity ${victim.entity}, clock ${victim.clock}) altered, CRC recomputed`);
}

// ------------------------------------------------------------------ incomplete-batch
// One segment ending in a batch's BEGIN and its three items with no COMMIT, as a crash
// before the COMMIT was written leaves it (no footer, no checkpoint). verify: an incomplete_batch warning at the
// BEGIN (exit 0); readers never see the three items.

async function buildIncompleteBatch(ctx) {
  const store = await ctx.open(ctx.path);
  for (let i = 0; i < 4; i++) store.append({ entity: `order:${i % 2}`, scope: 'tenant:acme' }, payload({ i }));
  store.appendBatch([
    { entity: 'order:0', scope: 'tenant:acme', payload: payload({ type: 'committed', n: 1 }) },
    { entity: 'order:1', scope: 'tenant:acme', payload: payload({ type: 'committed', n: 2 }) },
  ]);
  store.appendBatch([
    { entity: 'order:0', scope: 'tenant:acme', payload: payload({ type: 'never-committed', n: 1 }) },
    { entity: 'order:1', scope: 'tenant:acme', payload: payload({ type: 'never-committed', n: 2 }) },
    { entity: 'order:2', scope: 'tenant:acme', payload: payload({ type: 'never-committed', n: 3 }) },
  ]);
  ctx.abandon(store);
  const seg = segmentPath(ctx.path, 0);
  const bytes = readFileSync(seg);
  const frames = listFrames(bytes);
  const commit = frames.at(-1);
  if (commit.type !== FrameType.COMMIT || commit.sizeBytes !== MARKER_FRAME_BYTES) throw new Error('incomplete-batch: the last frame should be a COMMIT');
  const begin = frames.at(-5);
  writeFileSync(seg, bytes.subarray(0, commit.offset));
  ctx.note(`0000000000.seg cut to ${commit.offset} bytes (COMMIT removed); the open batch's BEGIN is at ${begin.offset}`);
}

// ------------------------------------------------------------------ absurd-length
// One segment; the length field of a frame in the middle is overwritten with
// 0xFFFFFFF0. Readers must bound it by the file, never allocate for it, and resync
// to the next valid frame: a bad_frame error, and the hole in the sequence after it.

async function buildAbsurdLength(ctx) {
  const store = await ctx.open(ctx.path);
  for (let i = 0; i < 8; i++) store.append({ entity: 'sensor:1', scope: 'site:a' }, payload({ i, reading: 20 + i }));
  for (let i = 0; i < 4; i++) store.append({ entity: `sensor:${2 + i}`, scope: 'site:a' }, payload({ i, reading: 30 + i }));
  store.close();
  ctx.dropCheckpoint(ctx.path);
  const seg = segmentPath(ctx.path, 0);
  const bytes = readFileSync(seg);
  const frames = listFrames(bytes, frameEndOfFile(seg));
  // the last event of sensor:1: no later event of its entity, so no chain consequences
  const victim = frames.filter((f) => f.entity === 'sensor:1').at(-1);
  bytes.writeUInt32LE(0xfffffff0, victim.offset);
  writeFileSync(seg, bytes);
  const next = frames[frames.indexOf(victim) + 1];
  ctx.note(`0000000000.seg: length of the frame at ${victim.offset} (seq ${victim.seq}) set to 0xFFFFFFF0; next frame at ${next.offset} (seq ${next.seq})`);
}

// ------------------------------------------------------------------ garbage.seg
// 1536 seeded random bytes given as a lone segment file: not a segment at all.

async function buildGarbage(ctx) {
  const bytes = new Uint8Array(1536);
  ctx.prng.fill(bytes);
  writeFileSync(ctx.path, bytes);
  ctx.note(`${bytes.length} random bytes`);
}

// ------------------------------------------------------------------ empty.seg
// A zero-byte file given as a lone segment.

async function buildEmpty(ctx) {
  writeFileSync(ctx.path, new Uint8Array(0));
  ctx.note('0 bytes');
}

// ------------------------------------------------------------------ wal-* (issue 4: transactions, the WAL view)
// Key/value transaction logs, written with the fixture builder (src/tools/fixture-build.ts)
// from the specs below: the same ops `seglog fixture build --spec` reads, one frame per op.
// Each is built with the builder's own determinism options (seed = FNV-1a of the fixture's
// name, wall time fixed at FIXTURE_EPOCH_MS, 4 KiB segments), so the CLI rebuilds
// `wal-mixed` byte for byte from `wal-mixed.spec.jsonl` (test/commands/wal.test.ts).
// test/fixtures/README.md gives the exact replay statistics and state of each.

const { buildFixtureFromOps } = await import('../dist/tools/fixture-build.js');
const { replayWal } = await import('../dist/engine/wal/wal-replay.js');

const walBegin = (txn) => ({ type: 'begin', txn });
const walCommit = (txn) => ({ type: 'commit', txn });
const walAbort = (txn) => ({ type: 'abort', txn });
const walPut = (txn, key, value, version) => ({ type: 'put', txn, key, value, version });
const walDelete = (txn, key, version) => ({ type: 'delete', txn, key, version });

/** Committed, interleaved, aborted, incomplete (mid-log) and orphaned, over three segments. */
const WAL_MIXED_OPS = [
  walBegin(1),
  walPut(1, 'user:1', { name: 'ada' }, 1),
  walPut(1, 'user:2', { name: 'bob' }, 2),
  walCommit(1),
  // 2 and 3 interleave; 3 commits first
  walBegin(2),
  walBegin(3),
  walPut(2, 'cart:1', [1, 2], 3),
  walPut(3, 'user:1', { name: 'ada', admin: true }, 4),
  walDelete(2, 'user:2', 5),
  walCommit(3),
  walCommit(2),
  // 4 aborts
  walBegin(4),
  walPut(4, 'user:3', 'nope', 6),
  walDelete(4, 'user:1', 7),
  walAbort(4),
  // orphans: a transaction never begun, and a KV operation outside any transaction
  walPut(9, 'ghost', 'boo', 8),
  walDelete(0, 'user:1', 9),
  { type: 'event', entity: 'order:1', scope: 'tenant:acme', payload: { type: 'created', total: 12 } },
  // 5 never finishes (kept mid-log by what follows)
  walBegin(5),
  walPut(5, 'user:4', 1, 10),
  // 6: larger values, crossing into the next segments
  walBegin(6),
  ...Array.from({ length: 8 }, (_, i) => walPut(6, `counter:${i}`, { n: i, note: 'x'.repeat(300 + 40 * i) }, 11 + i)),
  walDelete(6, 'cart:1', 19),
  walCommit(6),
  // an item of 6 after its COMMIT: orphaned
  walPut(6, 'late', true, 20),
  walBegin(7),
  walPut(7, 'user:5', { name: 'eve' }, 21),
  walCommit(7),
];

/** Committed work, then two interleaved transactions the log ends inside (what a crash leaves). */
const WAL_TAIL_OPS = [
  walBegin(1),
  walPut(1, 'a', 1, 1),
  walPut(1, 'b', 2, 2),
  walCommit(1),
  walBegin(2),
  walDelete(2, 'a', 3),
  walCommit(2),
  walBegin(3),
  walBegin(4),
  walPut(3, 'c', 3, 4),
  walPut(4, 'b', 'never', 5),
  walPut(3, 'd', 4, 6),
];

/** Forty one-write transactions over three segments; damaged afterwards. */
const WAL_CORRUPT_OPS = Array.from({ length: 40 }, (_, i) => [walBegin(i + 1), walPut(i + 1, `k${i % 6}`, { i, pad: 'q'.repeat(60) }, i + 1), walCommit(i + 1)]).flat();

function walBuildOptions(name) {
  return {
    seed: seedOf(name),
    wallMs: FIXTURE_EPOCH_MS,
    segmentMaxBytes: SMALL_SEGMENT_BYTES,
    onWarning: (m) => console.error(`make-fixtures: ${name}: warning: ${m}`),
  };
}

function noteReplay(ctx, dir) {
  const r = replayWal(dir, { keepValues: true });
  ctx.note(`replay stats ${JSON.stringify(r.stats)}${r.corruption ? `, stops at ${relative(dir, r.corruption.file)} @ ${r.corruption.offset}` : ''}`);
}

async function buildWalMixed(ctx) {
  await buildFixtureFromOps(ctx.path, WAL_MIXED_OPS, walBuildOptions('wal-mixed'));
  ctx.note(`seed ${seedOf('wal-mixed')}, ${WAL_MIXED_OPS.length} frames`);
  noteReplay(ctx, ctx.path);
}

async function buildWalMixedSpec(ctx) {
  writeFileSync(ctx.path, WAL_MIXED_OPS.map((op) => JSON.stringify(op)).join('\n') + '\n');
  ctx.note(`${WAL_MIXED_OPS.length} lines; rebuild: seglog fixture build DIR --spec ${ctx.name} --seed ${seedOf('wal-mixed')} --time ${FIXTURE_EPOCH_MS} --segment-max-bytes ${SMALL_SEGMENT_BYTES}`);
}

async function buildWalTailIncomplete(ctx) {
  await buildFixtureFromOps(ctx.path, WAL_TAIL_OPS, walBuildOptions(ctx.name));
  ctx.note(`${WAL_TAIL_OPS.length} frames, the last five of transactions 3 and 4, never finished`);
  noteReplay(ctx, ctx.path);
}

async function buildWalCorrupt(ctx) {
  await buildFixtureFromOps(ctx.path, WAL_CORRUPT_OPS, walBuildOptions(ctx.name));
  ctx.dropCheckpoint(ctx.path);
  const seg = segmentPath(ctx.path, 0);
  const bytes = readFileSync(seg);
  const frames = listFrames(bytes, frameEndOfFile(seg));
  // the put of the sixth transaction: one payload bit, CRC left as it was
  const victim = frames.filter((f) => f.type === FrameType.EVENT)[5];
  const at = victim.payloadStart + 20;
  bytes[at] ^= 0x04;
  writeFileSync(seg, bytes);
  ctx.note(`0000000000.seg: bit 2 of byte ${at} flipped, inside the put frame at ${victim.offset} (seq ${victim.seq}, txn ${victim.txnId})`);
  noteReplay(ctx, ctx.path);
}

// ------------------------------------------------------------------ sidx / checkpoint (issue 3)
// Three stores of the same shape (4 KiB segments, single events on three entities),
// closed cleanly, then changed only in their index structures: the frames are exactly
// as written, so every event is there and readable; only the accelerators differ.

async function buildIndexedStore(ctx, events) {
  const store = await ctx.open(ctx.path, { segmentMaxBytes: SMALL_SEGMENT_BYTES });
  for (let i = 0; i < events; i++) store.append({ entity: `order:${i % 3}`, scope: 'tenant:acme' }, payload({ i, note: ctx.filler(60) }));
  return store;
}

// stripped-footers: `sidx strip`: no footer on any segment and no index.ckpt, exactly
// what an unclean shutdown of a store whose segments were never sealed leaves.
// verify: one sidx_missing warning per sealed segment (all but the last), exit 0.
async function buildStrippedFooters(ctx) {
  const store = await buildIndexedStore(ctx, 45);
  store.close();
  const fs = new RealFs();
  const r = stripFooters(fs, resolveTarget(fs, ctx.path), {});
  ctx.note(`stripped ${r.segments.filter((x) => x.action === 'stripped').map((x) => `${x.segment} to ${x.frameEnd} bytes`).join(', ')}; index.ckpt removed`);
}

// stale-checkpoint: the index.ckpt of an earlier clean close put back after five more
// events were appended and the store closed again. verify: checkpoint_stale warning on
// index.ckpt, exit 0; an open ignores it with a warning and reads the footers.
async function buildStaleCheckpoint(ctx) {
  const store = await buildIndexedStore(ctx, 25);
  store.close();
  const old = readFileSync(join(ctx.path, CHECKPOINT_FILE));
  const again = await ctx.open(ctx.path);
  for (let i = 0; i < 5; i++) again.append({ entity: 'order:9', scope: 'tenant:acme' }, payload({ i, late: true }));
  again.close();
  writeFileSync(join(ctx.path, CHECKPOINT_FILE), old);
  ctx.note(`index.ckpt (${old.length} bytes) is the one written before the last 5 events`);
}

// damaged-footer: one byte of an entry's event hash, in the footer of the sealed first
// segment, inverted; index.ckpt removed. The frames are intact. verify: sidx_mismatch
// error at the footer's body (its checksum fails), exit 1; opens ignore the footer.
async function buildDamagedFooter(ctx) {
  const store = await buildIndexedStore(ctx, 30);
  store.close();
  rmSync(join(ctx.path, CHECKPOINT_FILE), { force: true });
  const seg = segmentPath(ctx.path, 0);
  const start = frameEndOfFile(seg);
  const bytes = readFileSync(seg);
  // footer head is 24 bytes; entry 0's event hash is at entry bytes 48..80
  const at = start + 24 + 48;
  bytes[at] ^= 0xff;
  writeFileSync(seg, bytes);
  ctx.note(`0000000000.seg: footer starts at ${start}; byte ${at} (entry 0's event hash) inverted`);
}

// ------------------------------------------------------------------ repair (issue 6)
// Damaged stores for `seglog repair`, each a directory holding the store (`store/`) and
// the plan the repair must make for it (`expected-plan.json`), written here from what
// the builder damaged (never by running the planner): the actions as (action, segment,
// offset, reason), every lost event (seq, entity, segment, offset), and the events whose
// visibility the repair settles. test/engine/repair/fixtures.test.ts plans a copy,
// compares, repairs, and checks verify is clean with exactly `eventsAfter` events.

const REPAIR_STORE_DIR = 'store';

/** Frames of every segment of a store: [{ name, path, frameEnd, frames }]. */
function storeFrames(dir) {
  return readdirSync(dir)
    .filter((n) => /^\d{10}\.seg$/.test(n))
    .sort()
    .map((name) => {
      const path = join(dir, name);
      const frameEnd = frameEndOfFile(path);
      return { name, path, frameEnd, frames: listFrames(readFileSync(path), frameEnd) };
    });
}

function flipByte(path, at, mask) {
  const bytes = readFileSync(path);
  bytes[at] ^= mask;
  writeFileSync(path, bytes);
}

function writeExpectedPlan(ctx, plan) {
  writeFileSync(join(ctx.path, 'expected-plan.json'), `${JSON.stringify(plan, null, 2)}\n`);
  ctx.note(`expected plan: ${plan.actions.map((a) => `${a.action} ${a.segment}@${a.offset ?? '-'} (${a.reason})`).join('; ')}`);
}

/** Thirty single events on three entities around one 3-item batch, in 4 KiB segments. */
async function buildRepairShape(ctx, dir) {
  const store = await ctx.open(dir, { segmentMaxBytes: SMALL_SEGMENT_BYTES });
  for (let i = 0; i < 14; i++) store.append({ entity: `order:${i % 3}`, scope: 'tenant:acme' }, payload({ i, note: ctx.filler(60) }));
  store.appendBatch([0, 1, 2].map((k) => ({ entity: `order:${k}`, scope: 'tenant:acme', payload: payload({ batch: k, note: ctx.filler(40) }) })));
  for (let i = 14; i < 30; i++) store.append({ entity: `order:${i % 3}`, scope: 'tenant:acme' }, payload({ i, note: ctx.filler(60) }));
  return store;
}

function batchOf(segs) {
  const items = [];
  let commit = null;
  for (const s of segs) {
    for (const f of s.frames) {
      if (f.type === FrameType.EVENT && f.txnId !== 0) items.push({ seg: s, f });
      if (f.type === FrameType.COMMIT) commit = { seg: s, f };
    }
  }
  return { items, commit };
}

// repair-corrupt-batch: a crashed store (no footer on the active segment, no checkpoint)
// with one bit flipped in the payload of the middle item of the batch (a sealed segment)
// and the active segment's last event torn. The repair quarantines the item (a sequence
// gap and an entity gap take its place), replaces the batch's COMMIT by an ABORT (the
// other two items become invisible: no batch is shown in part) and cuts the torn tail.
async function buildRepairCorruptBatch(ctx) {
  mkdirSync(ctx.path);
  const dir = join(ctx.path, REPAIR_STORE_DIR);
  const store = await buildRepairShape(ctx, dir);
  ctx.abandon(store);
  const segs = storeFrames(dir);
  const { items, commit } = batchOf(segs);
  const victim = items[1];
  const last = segs[segs.length - 1];
  if (victim.seg === last || commit.seg === last) throw new Error('repair-corrupt-batch: the batch must sit in sealed segments');
  flipByte(victim.seg.path, victim.f.payloadStart + 5, 0x04);
  const torn = last.frames[last.frames.length - 1];
  writeFileSync(last.path, readFileSync(last.path).subarray(0, torn.offset + Math.floor(torn.sizeBytes / 2)));
  const actions = [];
  // the segment's first event lost: its header must name the next one's sequence
  if (victim.seg.frames.find((f) => f.type === FrameType.EVENT) === victim.f) actions.push({ action: 'rewrite_header', segment: victim.seg.name, offset: 0, reason: 'first_sequence' });
  actions.push(
    { action: 'quarantine', segment: victim.seg.name, offset: victim.f.offset, reason: 'crc_mismatch' },
    { action: 'write_gap', segment: victim.seg.name, offset: victim.f.offset, reason: 'corrupt_frames' },
    { action: 'write_gap', segment: victim.seg.name, offset: victim.f.offset, reason: 'corrupt_frames' },
  );
  if (commit.seg !== victim.seg) actions.push({ action: 'rebuild_footer', segment: victim.seg.name, offset: victim.seg.frameEnd, reason: 'segment_rewritten' });
  actions.push(
    { action: 'quarantine', segment: commit.seg.name, offset: commit.f.offset, reason: 'commit_mismatch' },
    { action: 'insert_abort', segment: commit.seg.name, offset: commit.f.offset, reason: 'transaction_inert' },
    { action: 'rebuild_footer', segment: commit.seg.name, offset: commit.seg.frameEnd, reason: 'segment_rewritten' },
    { action: 'cut_tail', segment: last.name, offset: torn.offset, reason: 'torn_tail' },
  );
  writeExpectedPlan(ctx, {
    actions,
    lostEvents: [{ seq: victim.f.seq, entity: victim.f.entity, segment: victim.seg.name, offset: victim.f.offset }],
    affectedEvents: items.filter((x) => x !== victim).map((x) => ({ seq: x.f.seq, reason: 'transaction_damaged' })),
    // 30 single events less the torn one; the batch is no longer visible
    eventsAfter: 30 - 1,
  });
  ctx.note(`${victim.seg.name}: bit 2 of byte ${victim.f.payloadStart + 5} flipped (batch item seq ${victim.f.seq}, ${victim.f.entity}); COMMIT at ${commit.seg.name}@${commit.f.offset}; ${last.name} cut to ${torn.offset + Math.floor(torn.sizeBytes / 2)} bytes (event seq ${torn.seq} torn)`);
}

// repair-lost-begin: a cleanly closed store (checkpoint removed) whose batch lost its
// BEGIN (the frame zeroed) and which holds an interactive transaction left open
// mid-log. The repair quarantines the zeroed BEGIN, inserts a BEGIN before the first
// item (its COMMIT's count matches: the batch is visible again, nothing lost) and an
// ABORT after the open transaction's item (inert for good, every byte kept).
async function buildRepairLostBegin(ctx) {
  mkdirSync(ctx.path);
  const dir = join(ctx.path, REPAIR_STORE_DIR);
  const store = await buildRepairShape(ctx, dir);
  const t = store.beginTxn();
  t.put('cart:7', { qty: 2 });
  for (let i = 0; i < 3; i++) store.append({ entity: 'audit', scope: 'tenant:acme' }, payload({ i, note: ctx.filler(30) }));
  store.close();
  ctx.dropCheckpoint(dir);
  const segs = storeFrames(dir);
  const { items } = batchOf(segs);
  const first = items[0];
  const begin = first.seg.frames[first.seg.frames.indexOf(first.f) - 1];
  if (begin.type !== FrameType.BEGIN) throw new Error('repair-lost-begin: the frame before the first item must be its BEGIN');
  const bytes = readFileSync(first.seg.path);
  bytes.fill(0, begin.offset, begin.offset + begin.sizeBytes);
  writeFileSync(first.seg.path, bytes);
  // the open transaction: the last EVENT of kind category 0 (a key/value put)
  const openItem = segs.flatMap((s) => s.frames.map((f) => ({ seg: s, f }))).find((x) => x.f.type === FrameType.EVENT && x.f.entity.startsWith('kv:'));
  const actions = [
    { action: 'quarantine', segment: first.seg.name, offset: begin.offset, reason: 'bad_frame' },
    { action: 'insert_begin', segment: first.seg.name, offset: first.f.offset, reason: 'begin_lost' },
  ];
  if (openItem.seg !== first.seg) actions.push({ action: 'rebuild_footer', segment: first.seg.name, offset: first.seg.frameEnd, reason: 'segment_rewritten' });
  actions.push(
    { action: 'insert_abort', segment: openItem.seg.name, offset: openItem.f.offset + openItem.f.sizeBytes, reason: 'transaction_inert' },
    { action: 'rebuild_footer', segment: openItem.seg.name, offset: openItem.seg.frameEnd, reason: 'segment_rewritten' },
  );
  writeExpectedPlan(ctx, {
    actions,
    lostEvents: [],
    affectedEvents: [{ seq: openItem.f.seq, reason: 'transaction_unfinished' }],
    // 30 single events, the batch's 3 items (visible again) and 3 audit events
    eventsAfter: 30 + 3 + 3,
  });
  ctx.note(`${first.seg.name}: BEGIN at ${begin.offset} (${begin.sizeBytes} bytes) zeroed; open transaction's item at ${openItem.seg.name}@${openItem.f.offset}`);
}

// repair-header-footer: a cleanly closed store with one byte of the sealed segment 1's
// header flipped, one byte of segment 0's SIDX footer flipped, and the index.ckpt the
// close wrote (now stale: it fingerprints the last bytes of each segment). Nothing is
// lost: a new header, two footers rebuilt, the checkpoint removed.
async function buildRepairHeaderFooter(ctx) {
  mkdirSync(ctx.path);
  const dir = join(ctx.path, REPAIR_STORE_DIR);
  const store = await buildRepairShape(ctx, dir);
  store.close();
  const segs = storeFrames(dir);
  if (segs.length < 3) throw new Error('repair-header-footer: needs at least 3 segments');
  flipByte(segs[1].path, 10, 0x01);
  flipByte(segs[0].path, segs[0].frameEnd + 24 + 48, 0xff);
  writeExpectedPlan(ctx, {
    actions: [
      { action: 'rebuild_footer', segment: segs[0].name, offset: segs[0].frameEnd, reason: 'footer_damaged' },
      { action: 'rewrite_header', segment: segs[1].name, offset: 0, reason: 'bad_header' },
      { action: 'rebuild_footer', segment: segs[1].name, offset: segs[1].frameEnd, reason: 'segment_rewritten' },
      { action: 'remove_checkpoint', segment: 'index.ckpt', offset: null, reason: 'checkpoint_stale' },
    ],
    lostEvents: [],
    affectedEvents: [],
    eventsAfter: 30 + 3,
  });
  ctx.note(`${segs[1].name}: header byte 10 flipped; ${segs[0].name}: footer byte ${segs[0].frameEnd + 72} inverted; index.ckpt kept (stale)`);
}

// ------------------------------------------------------------------ the list

/** Every fixture: its path under the output root, what it is, and its builder. */
const FIXTURES = [
  { name: 'clean', summary: 'clean store: 4 KiB segments, singles and batches, several entities', build: buildClean },
  { name: 'torn-tail', summary: 'last frame of the active segment cut in half', build: buildTornTail },
  { name: 'flipped-bit', summary: 'one payload bit flipped in a sealed segment (crc_mismatch)', build: buildFlippedBit },
  { name: 'chain-break', summary: 'prev_hash altered, CRC recomputed (hash_mismatch + chain_break)', build: buildChainBreak },
  { name: 'incomplete-batch', summary: 'BEGIN and items at the tail, no COMMIT', build: buildIncompleteBatch },
  { name: 'absurd-length', summary: 'a frame length field of 0xFFFFFFF0 mid-segment', build: buildAbsurdLength },
  { name: 'garbage.seg', summary: 'random bytes as a lone segment file', build: buildGarbage },
  { name: 'empty.seg', summary: 'a zero-byte file', build: buildEmpty },
  { name: 'wal-mixed', summary: 'KV transactions: committed, interleaved, aborted, incomplete, orphaned (3 segments)', build: buildWalMixed },
  { name: 'wal-mixed.spec.jsonl', summary: 'the fixture-build spec wal-mixed is made from', build: buildWalMixedSpec },
  { name: 'wal-tail-incomplete', summary: 'KV log ending inside two interleaved, never-finished transactions', build: buildWalTailIncomplete },
  { name: 'stripped-footers', summary: 'clean store after `sidx strip`: no footers, no index.ckpt (sidx_missing)', build: buildStrippedFooters },
  { name: 'stale-checkpoint', summary: 'index.ckpt from an earlier state of the store (checkpoint_stale)', build: buildStaleCheckpoint },
  { name: 'damaged-footer', summary: 'one byte of a sealed segment footer inverted (sidx_mismatch)', build: buildDamagedFooter },
  { name: 'wal-corrupt', summary: 'KV log with a flipped bit in a sealed segment: replay stops there', build: buildWalCorrupt },
  { name: 'repair-corrupt-batch', summary: 'repair: a batch item corrupt in a sealed segment, and a torn tail (store/ + expected-plan.json)', build: buildRepairCorruptBatch },
  { name: 'repair-lost-begin', summary: "repair: a batch's BEGIN zeroed, a transaction left open mid-log (store/ + expected-plan.json)", build: buildRepairLostBegin },
  { name: 'chunk-crossing', summary: 'issue 12: batches crossing 16 KiB segments and small read chunks; clean', build: buildChunkCrossing },
  { name: 'chunk-crossing.dump.jsonl', summary: 'the expected `dump --format jsonl` of chunk-crossing (after it)', build: buildChunkCrossingDump },
  { name: 'repair-header-footer', summary: 'repair: a bad segment header, a damaged footer, a stale checkpoint (store/ + expected-plan.json)', build: buildRepairHeaderFooter },
];

// ------------------------------------------------------------------ chunk-crossing
// Issue 12's regression store: batches of 1-40 items with payloads of 0-450 bytes in
// 8 KiB segments, so batches cross segment boundaries, and (read with
// SEGLOG_READ_CHUNK_BYTES=1024 or 4096) read-chunk boundaries. Readers that kept views
// of a batch's frames into the read buffer printed overwritten events here. Its expected
// `dump --format jsonl` is chunk-crossing.dump.jsonl, written beside it.

async function buildChunkCrossing(ctx) {
  const store = await ctx.open(ctx.path, { segmentMaxBytes: 8 * 1024 });
  const kinds = [
    (i) => payload({ type: 'text', i, note: ctx.filler(ctx.prng.int(400)) }),
    (i) => payload({ type: 'unicode', i, s: 'é€😀\u0000\u001f"\\'.repeat(1 + ctx.prng.int(10)) }),
    (i) => {
      let v = i;
      for (let d = ctx.prng.int(30); d >= 0; d--) v = d % 2 ? [v] : { d: v };
      return payload({ type: 'deep', i, v });
    },
    () => '',
    (i) => payload({ type: 'wide', i, ...Object.fromEntries(Array.from({ length: ctx.prng.int(20) }, (_, k) => [`k${k}`, k])) }),
  ];
  let i = 0;
  while (i < 240) {
    const single = ctx.prng.int(4) === 0;
    const n = single ? 1 : 1 + ctx.prng.int(40);
    const items = [];
    for (let k = 0; k < n; k++, i++) {
      const make = kinds[ctx.prng.int(kinds.length)];
      const p = make(i);
      items.push({ entity: `e${ctx.prng.int(25)}`, scope: `s${ctx.prng.int(3)}`, kind: { category: 1 + ctx.prng.int(3), type: ctx.prng.int(4) }, payload: p });
    }
    if (single) store.append({ entity: items[0].entity, scope: items[0].scope }, items[0].payload, { kind: items[0].kind });
    else store.appendBatch(items);
  }
  store.close();
  ctx.note(`${countSegments(ctx.path)} segments, ${store.committedEvents} events, ${store.committedBatches} batches`);
}

async function buildChunkCrossingDump(ctx) {
  const { execFileSync } = await import('node:child_process');
  const storeDir = join(dirname(ctx.path), 'chunk-crossing');
  // the expected dump is read with the default 4 MiB chunk, one read of each segment
  const out = execFileSync(process.execPath, [join(root, 'bin', 'run.js'), 'dump', storeDir, '--format', 'jsonl'], {
    cwd: root,
    env: { ...process.env, SEGLOG_READ_CHUNK_BYTES: '', SEGLOG_DUMP_WORKERS: '0' },
    maxBuffer: 64 * 1024 * 1024,
  });
  writeFileSync(ctx.path, out);
  ctx.note(`${out.toString('utf8').split('\n').length - 1} lines`);
}

// ------------------------------------------------------------------ main

function parseArgs(argv) {
  const out = { outRoot: join(root, 'test', 'fixtures'), names: [], list: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--out') out.outRoot = argv[++i];
    else if (a === '--list') out.list = true;
    else if (a.startsWith('-')) throw new Error(`unknown option ${a}`);
    else out.names.push(a);
  }
  if (!out.outRoot) throw new Error('--out needs a directory');
  return out;
}

function totalBytes(path) {
  const st = statSync(path);
  if (!st.isDirectory()) return st.size;
  let sum = 0;
  for (const name of readdirSync(path)) sum += totalBytes(join(path, name));
  return sum;
}

async function main() {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`make-fixtures: ${err.message}`);
    process.exit(2);
  }
  if (args.list) {
    for (const f of FIXTURES) console.log(`${f.name.padEnd(20)} ${f.summary}`);
    return;
  }
  const unknown = args.names.filter((n) => !FIXTURES.some((f) => f.name === n));
  if (unknown.length > 0) {
    console.error(`make-fixtures: unknown fixture ${unknown.join(', ')} (see --list)`);
    process.exit(2);
  }
  const chosen = args.names.length > 0 ? FIXTURES.filter((f) => args.names.includes(f.name)) : FIXTURES;
  mkdirSync(args.outRoot, { recursive: true });
  let sum = 0;
  for (const f of chosen) {
    const ctx = makeContext(f.name, args.outRoot);
    // a builder owns exactly its own path: remove it, never anything else
    rmSync(ctx.path, { recursive: true, force: true });
    mkdirSync(dirname(ctx.path), { recursive: true });
    await f.build(ctx);
    const bytes = totalBytes(ctx.path);
    sum += bytes;
    console.log(`${relative(process.cwd(), ctx.path) || ctx.path}: ${bytes} bytes`);
  }
  console.log(`make-fixtures: ${chosen.length} fixtures, ${sum} bytes`);
}

await main();
