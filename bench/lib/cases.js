// The benchmark cases: each one is our CLI against its peer on equivalent data.
//
// A case's prepare(ctx) does the untimed setup (building stores) and returns a spec:
//   { rows, rowsUnit, ours: Side, peers: [Side | Computed], target(summary) }
// Side     = { name, cmd, args | cliArgs, stdin?, stdout, beforeRun?, check? }
// Computed = { name, computed: true, seconds }   (a fixed reference, no process)
// prepare may throw: the case is then reported as an error with that message.
import fs from 'node:fs';
import path from 'node:path';
import { CLI_PATH, log, rmrf, mkdirp, copyDir, dirFingerprint, walkFiles, dirBytes, fmtBytes } from './util.js';
import { runQuiet } from './proc.js';

export const RSS_LIMIT_MIB = 200;
export const SEED_TARGET_TXN_PER_SEC = 2000;
export const WAL_TARGET_TXN_PER_SEC = 500_000;
export const VERIFY_MAX_RATIO = 0.6; // issue 18 (was 1.5)
export const REPAIR_MAX_SECONDS = 2; // issue 18: one flipped byte mid-store and a torn tail, 1M events
export const SIDX_REBUILD_STRIPPED_MAX_SECONDS = 1.5; // issue 18
export const SIDX_REBUILD_INTACT_MAX_SECONDS = 1; // issue 18
export const STARTUP_MAX_RATIO = 3;
export const OPEN_CKPT_MAX_SECONDS = 0.5; // issue 3, for a 1,000,000-event store
export const OPEN_SCAN_MIN_EVENTS_PER_SEC = 1_500_000; // issue 3
export const HEAD_MAX_SECONDS = 1; // issue 16, 1M events, merkle.idx current
export const PROVE_MAX_SECONDS = 0.3; // issue 16
export const CHECK_PROOF_MAX_SECONDS = 0.2; // issue 16
export const VERIFY_ANCHOR_MAX_RATIO = 1.1; // issue 16: verify --anchor vs verify of the same store

/** Environment for our CLI: production mode, so bin/run.js never loads src/ (see STACK-NOTES). */
export function cliEnv() {
  return { ...process.env, NODE_ENV: 'production', NO_COLOR: '1' };
}

/** Run our CLI untimed (setup steps). */
export function cli(ctx, args, opts = {}) {
  return runQuiet(process.execPath, [CLI_PATH, ...args], { env: cliEnv(), timeoutMs: ctx.timeoutMs, ...opts });
}

function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Depth-first search for the first numeric field with one of these names. */
function findNumber(obj, names, depth = 0) {
  if (!obj || typeof obj !== 'object' || depth > 4) return undefined;
  for (const n of names) if (typeof obj[n] === 'number') return obj[n];
  for (const v of Object.values(obj)) {
    const r = findNumber(v, names, depth + 1);
    if (r !== undefined) return r;
  }
  return undefined;
}

// ---------------------------------------------------------------- stores we build

/** init --sync batch, then append the whole events file (untimed). */
async function buildStore(ctx, dir) {
  rmrf(dir);
  const init = await cli(ctx, ['init', dir, '--sync', 'batch']);
  if (init.error) throw new Error(`seglog init failed: ${init.error}`);
  const args = ['append', dir, '--file', ctx.ds.events];
  if (ctx.batchSize) args.push('--batch-size', String(ctx.batchSize));
  const app = await cli(ctx, args);
  if (app.error) throw new Error(`seglog append failed: ${app.error}`);
}

/** The store that verify/dump/stats read: the append case's last output, or built here. */
export async function ensureRefStore(ctx) {
  if (ctx.refStore?.dir) return ctx.refStore.dir;
  if (ctx.refStore?.error) throw new Error(ctx.refStore.error);
  const dir = path.join(ctx.workDir, 'store');
  log(`building the reference store (${ctx.ds.count} events) with seglog init + append ...`);
  const t0 = Date.now();
  try {
    await buildStore(ctx, dir);
  } catch (e) {
    ctx.refStore = { error: `could not build the store: ${e.message}` };
    throw new Error(ctx.refStore.error);
  }
  log(`  built in ${((Date.now() - t0) / 1000).toFixed(1)} s, ${fmtBytes(dirBytes(dir))}`);
  ctx.refStore = { dir };
  return dir;
}

/**
 * A pristine template plus a working copy that is restored before a run whenever the
 * previous run changed it (a command may write a checkpoint, or consume a WAL).
 */
function pristineCopy(template, work) {
  const tplPrint = dirFingerprint(template);
  return () => {
    if (fs.existsSync(work) && dirFingerprint(work) === tplPrint) return;
    copyDir(template, work);
  };
}

/** Segment files of a store, for b3sum: numbered files (or *.seg), else every data file. */
export function segmentFiles(storeDir) {
  const skipDirs = new Set(['lost+found', 'cursors']);
  const files = walkFiles(storeDir).filter((f) => {
    const rel = path.relative(storeDir, f).split(path.sep);
    return !rel.slice(0, -1).some((d) => skipDirs.has(d));
  });
  const isAux = (f) => /^(index\.ckpt|LOCK|.*\.tmp|.*\.json)$/i.test(path.basename(f));
  const segs = files.filter((f) => !isAux(f) && (/^\d/.test(path.basename(f)) || /\.seg$/i.test(f)));
  return segs.length ? segs : files.filter((f) => !isAux(f));
}

// ---------------------------------------------------------------- the cases

export const CASES = [
  {
    name: 'startup',
    title: 'start-up: seglog --version vs node -e 0',
    async prepare() {
      return {
        rows: null,
        ours: {
          cliArgs: ['--version'],
          stdout: 'ignore',
          check: (r) => {
            const v = (r.stdout || '').trim().split('\n')[0];
            return v ? [] : ['seglog --version printed nothing'];
          },
        },
        peers: [{ name: 'node -e 0', cmd: process.execPath, args: ['-e', '0'], stdout: 'ignore' }],
        target: (ours, peers) => {
          const p = peers[0]?.summary;
          if (!ours || !p) return { text: `≤${STARTUP_MAX_RATIO}x node -e 0`, met: null };
          return { text: `≤${STARTUP_MAX_RATIO}x node -e 0`, met: ours.median <= STARTUP_MAX_RATIO * p.median };
        },
      };
    },
  },

  {
    name: 'append',
    title: 'append --file (sync batch) vs sqlite3 one transaction, synchronous=FULL',
    async prepare(ctx) {
      const store = path.join(ctx.workDir, 'append-store');
      const db = path.join(ctx.workDir, 'append.db');
      const args = ['append', store, '--file', ctx.ds.events];
      if (ctx.batchSize) args.push('--batch-size', String(ctx.batchSize));
      const sqlite3 = ctx.tools.sqlite3?.path;
      return {
        rows: ctx.ds.count,
        rowsUnit: 'events',
        ours: {
          cliArgs: args,
          stdout: 'ignore',
          beforeRun: async () => {
            rmrf(store);
            const r = await cli(ctx, ['init', store, '--sync', 'batch']);
            if (r.error) throw new Error(`seglog init --sync batch failed: ${r.error}`);
          },
        },
        peers: [
          sqlite3
            ? {
                name: 'sqlite3',
                cmd: sqlite3,
                args: [db],
                stdin: ctx.ds.sql,
                stdout: 'ignore',
                beforeRun: async () => {
                  for (const f of [db, `${db}-journal`, `${db}-wal`]) rmrf(f);
                },
                check: async () => {
                  const c = await runQuiet(sqlite3, [db, 'select count(*) from events'], { timeoutMs: 60_000 });
                  const n = Number(c.stdout.trim());
                  return n === ctx.ds.count ? [] : [`sqlite3 table holds ${c.stdout.trim() || c.error} rows, expected ${ctx.ds.count}`];
                },
              }
            : { name: 'sqlite3', skipped: 'sqlite3 not installed' },
        ],
        target: (ours, peers) => rowsTarget(ctx.ds.count, ours, peers[0]?.summary, 'sqlite3'),
        after: (oursOk) => {
          // The last append's output is exactly the reference store: keep it.
          if (oursOk && !ctx.refStore && fs.existsSync(store)) {
            const dst = path.join(ctx.workDir, 'store');
            rmrf(dst);
            fs.renameSync(store, dst);
            ctx.refStore = { dir: dst };
          }
          for (const f of [db, `${db}-journal`, `${db}-wal`]) rmrf(f);
        },
      };
    },
  },

  {
    name: 'verify',
    title: 'verify vs redis-check-aof (parse-only) and b3sum --num-threads 1 (hashing floor)',
    async prepare(ctx) {
      const rca = ctx.tools['redis-check-aof']?.path;
      const b3 = ctx.tools.b3sum?.path;
      let store = null;
      let storeError = null;
      try {
        store = await ensureRefStore(ctx);
      } catch (e) {
        storeError = e.message;
      }
      const segs = store ? segmentFiles(store) : [];
      const notes = [];
      if (store) notes.push(`store: ${segs.length} segment file(s), ${fmtBytes(segs.reduce((a, f) => a + fs.statSync(f).size, 0))}; AOF ${fmtBytes(ctx.ds.bytes['redis.aof'])}`);
      return {
        rows: ctx.ds.count,
        rowsUnit: 'events',
        notes,
        ours: store
          ? {
              cliArgs: ['verify', store, '--json'],
              stdout: 'capture',
              check: (r) => {
                const j = parseJson(r.stdout);
                if (!j) return ['verify --json did not print JSON'];
                const out = [];
                if (j.ok !== true) out.push(`verify reported ok=${j.ok}`);
                if (typeof j.events === 'number' && j.events !== ctx.ds.count) out.push(`verify counted ${j.events} events, expected ${ctx.ds.count}`);
                return out;
              },
            }
          : { error: storeError },
        peers: [
          rca
            ? {
                name: 'redis-check-aof',
                cmd: rca,
                args: [ctx.ds.aof], // without --fix it only checks and never prompts
                stdout: 'capture',
                check: (r) => (/is valid/.test(r.stdout) ? [] : ['redis-check-aof did not say the AOF is valid']),
              }
            : { name: 'redis-check-aof', skipped: 'redis-check-aof not installed (package redis-tools)' },
          !b3
            ? { name: 'b3sum', skipped: 'b3sum not installed', info: true }
            : !store
              ? { name: 'b3sum', skipped: `no store to hash (${storeError})`, info: true }
              : { name: 'b3sum', info: true, cmd: b3, args: ['--num-threads', '1', ...segs], stdout: 'ignore' },
        ],
        target: (ours, peers) => {
          const p = peers[0]?.summary;
          const text = `≤${VERIFY_MAX_RATIO}x redis-check-aof`;
          if (!ours || !p) return { text, met: null };
          return { text, met: ours.median <= VERIFY_MAX_RATIO * p.median };
        },
      };
    },
  },

  {
    name: 'dump',
    title: 'dump --format jsonl > /dev/null vs sqlite3 -json select * > /dev/null',
    async prepare(ctx) {
      const sqlite3 = ctx.tools.sqlite3?.path;
      let store = null;
      let storeError = null;
      try {
        store = await ensureRefStore(ctx);
      } catch (e) {
        storeError = e.message;
      }
      const n = ctx.ds.count;
      const linesOk = (who) => (r) => (r.stdoutLines === n || r.stdoutLines === n + 1 ? [] : [`${who} printed ${r.stdoutLines} lines, expected ${n}`]);
      return {
        rows: n,
        rowsUnit: 'events',
        ours: store
          ? { cliArgs: ['dump', store, '--format', 'jsonl'], stdout: 'ignore', checkStdout: 'count', check: linesOk('seglog dump') }
          : { error: storeError },
        peers: [
          !sqlite3
            ? { name: 'sqlite3 -json', skipped: 'sqlite3 not installed' }
            : !ctx.ds.db
              ? { name: 'sqlite3 -json', skipped: ctx.ds.dbError }
              : {
                  name: 'sqlite3 -json',
                  cmd: sqlite3,
                  args: ['-json', ctx.ds.db, 'select * from events'],
                  stdout: 'ignore',
                  checkStdout: 'count',
                  check: linesOk('sqlite3 -json'),
                },
        ],
        target: (ours, peers) => rowsTarget(n, ours, peers[0]?.summary, 'sqlite3 -json'),
      };
    },
  },

  {
    name: 'wal-replay',
    title: `wal replay of one-write transactions vs the seed target (${SEED_TARGET_TXN_PER_SEC} txn/s)`,
    async prepare(ctx) {
      const tpl = path.join(ctx.workDir, 'walstore-template');
      const work = path.join(ctx.workDir, 'walstore');
      const txns = ctx.ds.txns;
      if (!fs.existsSync(tpl) || !ctx.walBuilt) {
        rmrf(tpl);
        rmrf(work);
        log(`building the WAL store (${txns} transactions) with seglog fixture build ...`);
        const t0 = Date.now();
        const r = await cli(ctx, ['fixture', 'build', tpl, '--spec', ctx.ds.walSpec]);
        if (r.error) throw new Error(`seglog fixture build failed: ${r.error}`);
        log(`  built in ${((Date.now() - t0) / 1000).toFixed(1)} s, ${fmtBytes(dirBytes(tpl))}`);
        ctx.walBuilt = true;
      }
      return {
        rows: txns,
        rowsUnit: 'txns',
        ours: {
          cliArgs: ['wal', 'replay', work, '--json'],
          stdout: 'capture',
          beforeRun: pristineCopy(tpl, work),
          check: (r) => {
            const j = parseJson(r.stdout);
            if (!j) return ['wal replay --json did not print JSON'];
            const applied = j.stats?.txnsApplied ?? findNumber(j, ['txnsApplied']);
            return applied === txns ? [] : [`wal replay applied ${applied} transactions, expected ${txns}`];
          },
        },
        peers: [{ name: `seed target ${SEED_TARGET_TXN_PER_SEC} txn/s`, computed: true, seconds: txns / SEED_TARGET_TXN_PER_SEC }],
        target: (ours) => {
          const text = `≥${WAL_TARGET_TXN_PER_SEC.toLocaleString('en-US')} txn/s`;
          if (!ours) return { text, met: null };
          return { text, met: txns / ours.median >= WAL_TARGET_TXN_PER_SEC };
        },
      };
    },
  },

  {
    name: 'open-ckpt',
    title: 'cold open (stats) with index.ckpt',
    async prepare(ctx) {
      const store = await ensureRefStore(ctx);
      const notes = [];
      if (!walkFiles(store).some((f) => path.basename(f) === 'index.ckpt')) notes.push('the store has no index.ckpt: this measures the slow path');
      return {
        rows: ctx.ds.count,
        rowsUnit: 'events',
        notes,
        ours: { cliArgs: ['stats', store, '--json'], stdout: 'capture', check: statsCheck(ctx) },
        peers: [],
        target: (ours) => {
          const text = `≤${OPEN_CKPT_MAX_SECONDS} s (issue 3, 1M events)`;
          if (!ours) return { text, met: null };
          return { text, met: ours.median <= OPEN_CKPT_MAX_SECONDS };
        },
      };
    },
  },

  {
    name: 'open-scan',
    title: 'cold open (stats) without index.ckpt and SIDX footers (frame scan)',
    async prepare(ctx) {
      const store = await ensureRefStore(ctx);
      const tpl = path.join(ctx.workDir, 'nockpt-template');
      const work = path.join(ctx.workDir, 'nockpt');
      const notes = [];
      copyDir(store, tpl);
      for (const f of walkFiles(tpl)) if (path.basename(f) === 'index.ckpt') fs.rmSync(f, { force: true });
      const strip = await cli(ctx, ['sidx', 'strip', tpl, '--yes']);
      if (strip.error) notes.push(`sidx strip failed (${strip.error}): only index.ckpt was deleted, footers may remain`);
      // strip may have written a fresh checkpoint on close: delete again.
      for (const f of walkFiles(tpl)) if (path.basename(f) === 'index.ckpt') fs.rmSync(f, { force: true });
      return {
        rows: ctx.ds.count,
        rowsUnit: 'events',
        notes,
        ours: { cliArgs: ['stats', work, '--json'], stdout: 'capture', beforeRun: pristineCopy(tpl, work), check: statsCheck(ctx) },
        peers: [],
        target: (ours) => {
          const text = `≥${(OPEN_SCAN_MIN_EVENTS_PER_SEC / 1e6).toFixed(1)}M events/s (issue 3)`;
          if (!ours) return { text, met: null };
          return { text, met: ctx.ds.count / ours.median >= OPEN_SCAN_MIN_EVENTS_PER_SEC };
        },
        after: () => {
          rmrf(tpl);
          rmrf(work);
        },
      };
    },
  },

  {
    name: 'repair',
    title: 'repair --yes of a store with one flipped byte in a middle sealed segment and a torn tail',
    async prepare(ctx) {
      const store = await ensureRefStore(ctx);
      const tpl = path.join(ctx.workDir, 'damaged-template');
      const work = path.join(ctx.workDir, 'damaged');
      copyDir(store, tpl);
      const notes = damageForRepair(tpl);
      return {
        rows: ctx.ds.count,
        rowsUnit: 'events',
        notes,
        ours: {
          cliArgs: ['repair', work, '--yes', '--json'],
          stdout: 'capture',
          beforeRun: () => copyDir(tpl, work),
          check: (r) => {
            const j = parseJson(r.stdout);
            if (!j) return ['repair --json did not print JSON'];
            return r.exitCode === 0 || r.exitCode === 1 ? [] : [`repair exited ${r.exitCode}`];
          },
        },
        peers: [],
        target: (ours) => secondsTarget(ours, REPAIR_MAX_SECONDS, 'issue 18, torn tail included'),
        after: () => {
          rmrf(tpl);
          rmrf(work);
        },
      };
    },
  },

  sidxRebuildCase('sidx-rebuild-stripped', 'a store whose footers were stripped', SIDX_REBUILD_STRIPPED_MAX_SECONDS, async (ctx, tpl) => {
    const strip = await cli(ctx, ['sidx', 'strip', tpl, '--yes']);
    if (strip.error) throw new Error(`sidx strip failed: ${strip.error}`);
  }),
  sidxRebuildCase('sidx-rebuild-intact', 'a store whose footers are intact', SIDX_REBUILD_INTACT_MAX_SECONDS, async () => {}),
];

/**
 * issue 16: a copy of the reference store with merkle.idx (written by a first, untimed
 * `head`), a head of the whole log, a head of a prefix merkle.idx covers (90% of it), an
 * event in that prefix and its inclusion proof. Made once for the four anchor cases.
 */
async function ensureAnchorStore(ctx) {
  if (ctx.anchorStore) return ctx.anchorStore;
  const store = await ensureRefStore(ctx);
  const dir = path.join(ctx.workDir, 'anchored');
  copyDir(store, dir);
  const run = async (args) => {
    const r = await cli(ctx, args, { stdout: 'capture' });
    if (r.error) throw new Error(`seglog ${args[0]} failed: ${r.error}`);
    return r.stdout;
  };
  await run(['head', dir]); // writes merkle.idx
  const all = parseJson(await run(['head', dir, '--json']));
  if (!all) throw new Error('head --json did not print JSON');
  const headAll = path.join(ctx.workDir, 'head-all.txt');
  fs.writeFileSync(headAll, all.note);
  const size = Math.max(1, Math.floor((all.cache?.cachedEvents ?? all.size) * 0.9));
  const part = parseJson(await run(['head', dir, '--size', String(size), '--json']));
  const headPart = path.join(ctx.workDir, 'head-part.txt');
  fs.writeFileSync(headPart, part.note);
  const seq = part.lastSeq;
  const proof = path.join(ctx.workDir, 'proof.json');
  fs.writeFileSync(proof, await run(['prove', dir, '--seq', String(seq), '--head', headPart]));
  ctx.anchorStore = { dir, headAll, headPart, size, seq, proof, cached: all.cache?.cachedEvents ?? 0 };
  return ctx.anchorStore;
}

function anchorCase(name, title, maxSeconds, args) {
  return {
    name,
    title,
    async prepare(ctx) {
      const a = await ensureAnchorStore(ctx);
      return {
        rows: ctx.ds.count,
        rowsUnit: 'events',
        notes: [`merkle.idx covers ${a.cached} of ${ctx.ds.count} committed events; prefix head of ${a.size}, proven event seq ${a.seq}`],
        ours: { cliArgs: args(a), stdout: 'capture', check: (r) => (r.exitCode === 0 ? [] : [`exited ${r.exitCode}`]) },
        peers: [],
        target: (ours) => secondsTarget(ours, maxSeconds, 'issue 16'),
      };
    },
  };
}

CASES.push(
  anchorCase('head', 'head of the store (merkle.idx current: the unsealed tail is read)', HEAD_MAX_SECONDS, (a) => ['head', a.dir]),
  anchorCase('prove', 'prove --seq N --head H (H within merkle.idx)', PROVE_MAX_SECONDS, (a) => ['prove', a.dir, '--seq', String(a.seq), '--head', a.headPart]),
  anchorCase('check-proof', 'check-proof of an inclusion proof against its head', CHECK_PROOF_MAX_SECONDS, (a) => ['check-proof', a.proof, '--head', a.headPart]),
  {
    name: 'verify-anchor',
    title: 'verify --anchor (head of the whole log) vs verify of the same store (merkle.idx present in both)',
    async prepare(ctx) {
      const a = await ensureAnchorStore(ctx);
      return {
        rows: ctx.ds.count,
        rowsUnit: 'events',
        ours: {
          cliArgs: ['verify', a.dir, '--anchor', a.headAll, '--json'],
          stdout: 'capture',
          check: (r) => {
            const j = parseJson(r.stdout);
            return j?.ok === true && j.anchors?.[0]?.ok === true ? [] : ['verify --anchor did not pass'];
          },
        },
        peers: [{ name: 'verify', cmd: process.execPath, args: [CLI_PATH, 'verify', a.dir, '--json'], stdout: 'ignore' }],
        target: (ours, peers) => {
          const p = peers[0]?.summary;
          const text = `≤${VERIFY_ANCHOR_MAX_RATIO}x verify (issue 16)`;
          if (!ours || !p) return { text, met: null };
          return { text, met: ours.median <= VERIFY_ANCHOR_MAX_RATIO * p.median };
        },
        after: () => rmrf(a.dir),
      };
    },
  },
);

export const CASE_ALIASES = { anchor: ['head', 'prove', 'check-proof', 'verify-anchor'], sidx: ['sidx-rebuild-stripped', 'sidx-rebuild-intact'], wal: ['wal-replay'], 'cold-open': ['open-ckpt', 'open-scan'], open: ['open-ckpt', 'open-scan'] };

/** `sidx rebuild --yes` of a copy of the reference store that `damage` prepared (untimed), restored before each run. */
function sidxRebuildCase(name, what, maxSeconds, damage) {
  return {
    name,
    title: `sidx rebuild --yes of ${what}`,
    async prepare(ctx) {
      const store = await ensureRefStore(ctx);
      const tpl = path.join(ctx.workDir, `${name}-template`);
      const work = path.join(ctx.workDir, name);
      copyDir(store, tpl);
      await damage(ctx, tpl);
      return {
        rows: ctx.ds.count,
        rowsUnit: 'events',
        ours: { cliArgs: ['sidx', 'rebuild', work, '--yes', '--json'], stdout: 'capture', beforeRun: () => copyDir(tpl, work) },
        peers: [],
        target: (ours) => secondsTarget(ours, maxSeconds, 'issue 18'),
        after: () => {
          rmrf(tpl);
          rmrf(work);
        },
      };
    },
  };
}

function secondsTarget(ours, maxSeconds, why) {
  const text = `<${maxSeconds} s (${why})`;
  if (!ours) return { text, met: null };
  return { text, met: ours.median < maxSeconds };
}

const SIDX_TRAILER_BYTES = 32;

/** Where a sealed segment's frames end (its SIDX trailer's footer start), or its size. */
function framesEnd(file) {
  const size = fs.statSync(file).size;
  if (size < SIDX_TRAILER_BYTES) return size;
  const fd = fs.openSync(file, 'r');
  try {
    const t = Buffer.alloc(SIDX_TRAILER_BYTES);
    fs.readSync(fd, t, 0, SIDX_TRAILER_BYTES, size - SIDX_TRAILER_BYTES);
    if (t.toString('latin1', 28, 32) !== 'SIDX') return size;
    return Number(t.readBigUInt64LE(0));
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The damage of issue 18's repair case, on a closed store: one byte flipped in the
 * frames of the middle segment (a crc_mismatch repair must cut and record as a GAP),
 * and the last segment cut 37 bytes into its last frame, its footer gone (a torn tail).
 * index.ckpt is removed: it would be stale.
 */
function damageForRepair(dir) {
  const segs = walkFiles(dir).filter((f) => /^\d{10}\.seg$/.test(path.basename(f))).sort();
  if (segs.length === 0) throw new Error('the store has no segment');
  // a sealed segment when there are two or more (the quick run's store has one)
  const mid = segs[Math.floor((segs.length - 1) / 2)];
  const at = Math.floor(framesEnd(mid) / (segs.length === 1 ? 4 : 2));
  const fd = fs.openSync(mid, 'r+');
  const b = Buffer.alloc(1);
  fs.readSync(fd, b, 0, 1, at);
  b[0] ^= 0x10;
  fs.writeSync(fd, b, 0, 1, at);
  fs.closeSync(fd);
  const last = segs[segs.length - 1];
  const end = framesEnd(last);
  fs.truncateSync(last, end - 37);
  for (const f of walkFiles(dir)) if (path.basename(f) === 'index.ckpt') fs.rmSync(f, { force: true });
  return [`flipped a byte of ${path.basename(mid)} at ${at}; ${path.basename(last)} cut to ${end - 37} bytes (torn tail)`];
}

function statsCheck(ctx) {
  return (r) => {
    const j = parseJson(r.stdout);
    if (!j) return ['stats --json did not print JSON'];
    const n = j.totals?.events ?? findNumber(j, ['events']);
    return n === undefined || n === ctx.ds.count ? [] : [`stats counted ${n} events, expected ${ctx.ds.count}`];
  };
}

function rowsTarget(rows, ours, peer, peerName) {
  const text = `rows/s ≥ ${peerName}`;
  if (!ours || !peer) return { text, met: null };
  return { text, met: rows / ours.median >= rows / peer.median };
}

export function resolveCaseNames(list) {
  const names = [];
  for (const raw of list) {
    const n = raw.trim();
    if (!n) continue;
    const expanded = CASE_ALIASES[n] ?? [n];
    for (const e of expanded) {
      if (!CASES.some((c) => c.name === e)) throw new Error(`unknown case "${n}" (cases: ${CASES.map((c) => c.name).join(', ')}; aliases: ${Object.keys(CASE_ALIASES).join(', ')})`);
      if (!names.includes(e)) names.push(e);
    }
  }
  // Keep the canonical order: append first, so its output becomes the reference store.
  return CASES.map((c) => c.name).filter((n) => names.includes(n));
}

export { mkdirp };
