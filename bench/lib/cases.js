// The benchmark cases: each one is our CLI against its peer on equivalent data.
//
// A case's prepare(ctx) does the untimed setup (building stores) and returns a spec:
//   { rows, rowsUnit, ours: Side, peers: [Side | Computed], target(summary) }
// Side     = { name, cmd, args | cliArgs, stdin?, stdout, beforeRun?, check? }
// Computed = { name, computed: true, seconds }   (a fixed reference, no process)
// prepare may throw: the case is then reported as an error with that message.
import fs from 'node:fs';
import path from 'node:path';
import { CLI_PATH, log, rmrf, mkdirp, copyDir, copyDirDurable, dirFingerprint, walkFiles, dirBytes, fmtBytes, which } from './util.js';
import { runQuiet } from './proc.js';
import { followLatencyRun, followThroughputRun } from './live.js';

export const RSS_LIMIT_MIB = 200;
export const SEED_TARGET_TXN_PER_SEC = 2000;
export const WAL_TARGET_TXN_PER_SEC = 500_000;
export const VERIFY_MAX_RATIO = 0.6; // issue 18 (was 1.5)
export const VERIFY_MAX_B3SUM_RATIO = 5; // issue 18: verify at most 5x `b3sum --num-threads 1` over the segment files
export const REPAIR_MAX_SECONDS = 2; // issue 18: one flipped byte mid-store and a torn tail, 1M events
export const SIDX_REBUILD_STRIPPED_MAX_SECONDS = 1.5; // issue 18
export const SIDX_REBUILD_INTACT_MAX_SECONDS = 1; // issue 18
export const STARTUP_MAX_RATIO = 3;
export const OPEN_CKPT_MAX_SECONDS = 0.5; // issue 3, for a 1,000,000-event store
export const OPEN_SCAN_MIN_EVENTS_PER_SEC = 1_500_000; // issue 3
export const SNAPSHOT_MAX_SECONDS = 2; // issue 17: 1M live keys (and under RSS_LIMIT_MIB)
export const SNAPSHOT_REPLAY_MAX_SECONDS = 0.3; // issue 17: a snapshot plus 10,000 transactions
export const SNAPSHOT_REPLAY_TAIL_TXNS = 10_000;
export const PRUNE_MAX_SECONDS = 1; // issue 17: 100 segments
export const PRUNE_SEGMENTS = 100;
export const VERIFY_ARCHIVE_MAX_RATIO = 1.1; // issue 17: verify --archive of a store pruned in half vs verify of the unpruned one
export const SINCE_MAX_SECONDS = 0.3; // issue 14: dump --since 1m on a 1M-event store
export const SINCE_FRESH_EVENTS = 5000;
export const FOLLOW_MEDIAN_MAX_MS = 50; // issue 14, with notifications
export const FOLLOW_P99_MAX_MS = 200; // issue 14, with notifications
export const FOLLOW_POLL_INTERVAL_MS = 100;
export const FOLLOW_POLL_SLACK_MS = 50; // issue 14: within the poll interval plus 50 ms
export const FOLLOW_THROUGHPUT_MIN_RATIO = 0.9; // issue 14
/** The since window (`--since 1m`), and how much older than it the store's other events must be. */
const SINCE_WINDOW_MS = 60_000;
const SINCE_MARGIN_MS = 5_000;
/** follow-latency: batches of 10 every 20 ms into segments of 64 KiB (200 batches: 8 rotations or so). */
const FOLLOW_SEGMENT_BYTES = 64 * 1024;
const FOLLOW_BATCHES = 200;
const FOLLOW_BATCH_EVENTS = 10;
const FOLLOW_INTERVAL_MS = 20;
const FOLLOW_MIN_ROTATIONS = 3;
/** Puts per transaction in the live-keys spec (one BEGIN/COMMIT pair per chunk keeps the spec close to the keys). */
const KV_PUTS_PER_TXN = 1000;
/** The prune case's segments: small, so 100 of them are a small store. */
const PRUNE_SEGMENT_BYTES = 256 * 1024;
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
        interleave: true,
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
        interleave: true,
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
        target: (ours, peers, res) => {
          const p = peers[0]?.summary;
          // issue 18: and at most VERIFY_MAX_B3SUM_RATIO x b3sum (one thread) over the segment files, when b3sum ran
          const b = res.peers.find((x) => x.name === 'b3sum')?.summary;
          const text = `≤${VERIFY_MAX_RATIO}x redis-check-aof` + (b ? ` and ≤${VERIFY_MAX_B3SUM_RATIO}x b3sum` : '');
          if (!ours || !p) return { text, met: null };
          return { text, met: ours.median <= VERIFY_MAX_RATIO * p.median && (!b || ours.median <= VERIFY_MAX_B3SUM_RATIO * b.median) };
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
        interleave: true,
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
      const tpl = await ensureWalTemplate(ctx);
      const work = path.join(ctx.workDir, 'walstore');
      const txns = ctx.ds.txns;
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
      const notes = [...damageForRepair(tpl), 'the store is copied from its template and fsynced (untimed) before each run: a store at rest, not 443 MB of fresh page cache that the first fsync of the run would write out'];
      return {
        rows: ctx.ds.count,
        rowsUnit: 'events',
        notes,
        ours: {
          cliArgs: ['repair', work, '--yes', '--json'],
          stdout: 'capture',
          beforeRun: () => copyDirDurable(tpl, work),
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

  {
    name: 'snapshot',
    title: 'wal snapshot of a store with 1M live keys, from the snapshot before it (as a writer takes them), and the first one (a full replay)',
    async prepare(ctx) {
      const keys = ctx.ds.txns; // 1,000,000 (quick: 100,000)
      const store = path.join(ctx.workDir, 'kvstore');
      const snapshots = path.join(store, 'snapshots');
      const saved = path.join(ctx.workDir, 'kvstore-snapshots');
      rmrf(store);
      const spec = path.join(ctx.workDir, 'kv-keys.jsonl');
      writeLiveKeysSpec(spec, keys);
      log(`building the live-keys store (${keys} keys in transactions of ${KV_PUTS_PER_TXN}) with seglog fixture build ...`);
      const t0 = Date.now();
      const r = await cli(ctx, ['fixture', 'build', store, '--spec', spec]);
      if (r.error) throw new Error(`seglog fixture build failed: ${r.error}`);
      rmrf(spec);
      const first = await cli(ctx, ['wal', 'snapshot', store]);
      if (first.error) throw new Error(`seglog wal snapshot failed: ${first.error}`);
      copyDir(snapshots, saved);
      log(`  built in ${((Date.now() - t0) / 1000).toFixed(1)} s, ${fmtBytes(dirBytes(store))}`);
      // every run starts from the one snapshot the store had: it loads it (1M entries) and writes the new one
      const restore = () => copyDir(saved, snapshots);
      const entriesCheck = (who) => (res) => {
        const j = parseJson(res.stdout);
        if (!j) return [`${who} --json did not print JSON`];
        return j.entries === keys ? [] : [`${who}: the snapshot holds ${j.entries} keys, expected ${keys}`];
      };
      return {
        rows: keys,
        rowsUnit: 'keys',
        notes: ['ours: from the previous snapshot (load its entries, replay what follows: nothing here, write the new one); the reference: `--full`, a replay of the whole log, as for a store\'s first snapshot'],
        ours: { cliArgs: ['wal', 'snapshot', store, '--json'], stdout: 'capture', beforeRun: restore, check: entriesCheck('wal snapshot') },
        peers: [
          { name: 'wal snapshot --full', info: true, cmd: process.execPath, args: [CLI_PATH, 'wal', 'snapshot', store, '--full', '--json'], env: cliEnv(), stdout: 'capture', beforeRun: restore, check: entriesCheck('wal snapshot --full') },
        ],
        target: (ours) => secondsTarget(ours, SNAPSHOT_MAX_SECONDS, `issue 17, and RSS <${RSS_LIMIT_MIB} MiB`),
        after: () => {
          rmrf(store);
          rmrf(saved);
        },
      };
    },
  },

  {
    name: 'snapshot-replay',
    title: `wal replay through a snapshot plus ${SNAPSHOT_REPLAY_TAIL_TXNS.toLocaleString('en-US')} one-write transactions after it (the WAL store)`,
    async prepare(ctx) {
      const tpl = await ensureWalTemplate(ctx);
      const store = path.join(ctx.workDir, 'snapreplay');
      copyDir(tpl, store);
      const snap = await cli(ctx, ['wal', 'snapshot', store]);
      if (snap.error) throw new Error(`seglog wal snapshot failed: ${snap.error}`);
      const tail = path.join(ctx.workDir, 'tail-spec.jsonl');
      writeTailSpec(tail, ctx.ds.txns, SNAPSHOT_REPLAY_TAIL_TXNS);
      const more = await cli(ctx, ['fixture', 'build', store, '--spec', tail]);
      if (more.error) throw new Error(`seglog fixture build (the ${SNAPSHOT_REPLAY_TAIL_TXNS} transactions after the snapshot) failed: ${more.error}`);
      rmrf(tail);
      const total = ctx.ds.txns + SNAPSHOT_REPLAY_TAIL_TXNS;
      return {
        rows: SNAPSHOT_REPLAY_TAIL_TXNS,
        rowsUnit: 'txns',
        notes: [`the snapshot holds the state after ${ctx.ds.txns.toLocaleString('en-US')} transactions; the full replay (--no-snapshot) is the reference`],
        ours: {
          cliArgs: ['wal', 'replay', store, '--json'],
          stdout: 'capture',
          check: (r) => {
            const j = parseJson(r.stdout);
            if (!j) return ['wal replay --json did not print JSON'];
            const out = [];
            if (!j.snapshot) out.push('wal replay used no snapshot');
            if (j.stats?.txnsApplied !== total) out.push(`wal replay applied ${j.stats?.txnsApplied} transactions, expected ${total}`);
            return out;
          },
        },
        peers: [{ name: 'wal replay --no-snapshot', info: true, cmd: process.execPath, args: [CLI_PATH, 'wal', 'replay', store, '--json', '--no-snapshot'], env: cliEnv(), stdout: 'ignore' }],
        target: (ours) => secondsTarget(ours, SNAPSHOT_REPLAY_MAX_SECONDS, 'issue 17'),
        after: () => rmrf(store),
      };
    },
  },

  {
    name: 'prune',
    title: `prune --yes of ${PRUNE_SEGMENTS} segments (${PRUNE_SEGMENT_BYTES / 1024} KiB each) of an events store`,
    async prepare(ctx) {
      const tpl = path.join(ctx.workDir, 'prune-template');
      const work = path.join(ctx.workDir, 'prune-store');
      const cut = await buildPruneStore(ctx, tpl);
      const notes = [`cut: --before ${cut} (the first event of segment ${PRUNE_SEGMENTS})`];
      notes.push(...(await pruneSyscalls(ctx, tpl, work)));
      return {
        rows: PRUNE_SEGMENTS,
        rowsUnit: 'segments',
        notes,
        ours: {
          cliArgs: ['prune', work, '--before', String(cut), '--yes', '--json'],
          stdout: 'capture',
          beforeRun: () => copyDirDurable(tpl, work),
          check: (r) => {
            const j = parseJson(r.stdout);
            if (!j) return ['prune --json did not print JSON'];
            return j.done && j.segments?.length === PRUNE_SEGMENTS ? [] : [`prune removed ${j.segments?.length} segments (done: ${j.done}), expected ${PRUNE_SEGMENTS}`];
          },
        },
        peers: [],
        target: (ours) => secondsTarget(ours, PRUNE_MAX_SECONDS, 'issue 17'),
        after: () => {
          rmrf(tpl);
          rmrf(work);
        },
      };
    },
  },

  {
    name: 'verify-archive',
    title: 'verify --archive of a store pruned in half (prune --archive) vs verify of the same store unpruned',
    async prepare(ctx) {
      const whole = path.join(ctx.workDir, 'varch-whole');
      const pruned = path.join(ctx.workDir, 'varch-pruned');
      const archive = path.join(ctx.workDir, 'varch-archive');
      // enough segments that half of them can go (the reference store's 80 MiB segments are 6, quick 1)
      const segmentBytes = Math.max(1 << 20, 2 ** Math.floor(Math.log2((ctx.ds.bytes['events.jsonl'] ?? fs.statSync(ctx.ds.events).size) / 24)));
      rmrf(whole);
      const init = await cli(ctx, ['init', whole, '--sync', 'batch', '--segment-max-bytes', String(segmentBytes)]);
      if (init.error) throw new Error(`seglog init failed: ${init.error}`);
      const app = await cli(ctx, ['append', whole, '--file', ctx.ds.events]);
      if (app.error) throw new Error(`seglog append failed: ${app.error}`);
      copyDir(whole, pruned);
      rmrf(archive);
      const p = await cli(ctx, ['prune', pruned, '--before', String(Math.floor(ctx.ds.count / 2)), '--yes', '--archive', archive, '--json']);
      if (p.error) throw new Error(`seglog prune --archive failed: ${p.error}`);
      const plan = parseJson(p.stdout);
      const segs = (dir) => fs.readdirSync(dir).filter((n) => n.endsWith('.seg')).length;
      const notes = [`${segs(whole)} segments of ${fmtBytes(segmentBytes)}; ${plan?.segments?.length} archived, ${segs(pruned)} left in the store (first kept: ${plan?.firstKept})`];
      const verifyCheck = (who) => (r) => {
        const j = parseJson(r.stdout);
        if (!j) return [`${who} --json did not print JSON`];
        const out = [];
        if (j.ok !== true) out.push(`${who} reported ok=${j.ok}`);
        if (j.events !== ctx.ds.count) out.push(`${who} counted ${j.events} events, expected ${ctx.ds.count}`);
        return out;
      };
      return {
        rows: ctx.ds.count,
        rowsUnit: 'events',
        notes,
        ours: { cliArgs: ['verify', pruned, '--archive', archive, '--json'], stdout: 'capture', check: verifyCheck('verify --archive') },
        peers: [{ name: 'verify (unpruned)', cmd: process.execPath, args: [CLI_PATH, 'verify', whole, '--json'], env: cliEnv(), stdout: 'capture', check: verifyCheck('verify') }],
        target: (ours, peers) => {
          const q = peers[0]?.summary;
          const text = `≤${VERIFY_ARCHIVE_MAX_RATIO}x verify of the unpruned store (issue 17)`;
          if (!ours || !q) return { text, met: null };
          return { text, met: ours.median <= VERIFY_ARCHIVE_MAX_RATIO * q.median };
        },
        after: () => {
          rmrf(whole);
          rmrf(pruned);
          rmrf(archive);
        },
      };
    },
  },

  sidxRebuildCase('sidx-rebuild-stripped', 'a store whose footers were stripped', SIDX_REBUILD_STRIPPED_MAX_SECONDS, async (ctx, tpl) => {
    const strip = await cli(ctx, ['sidx', 'strip', tpl, '--yes']);
    if (strip.error) throw new Error(`sidx strip failed: ${strip.error}`);
  }),
  sidxRebuildCase('sidx-rebuild-intact', 'a store whose footers are intact', SIDX_REBUILD_INTACT_MAX_SECONDS, async () => {}),

  {
    name: 'follow-latency',
    title: `dump --follow: writer commit to follower output, ${FOLLOW_BATCHES} batches of ${FOLLOW_BATCH_EVENTS} every ${FOLLOW_INTERVAL_MS} ms, ${FOLLOW_SEGMENT_BYTES / 1024} KiB segments`,
    async prepare(ctx) {
      const store = path.join(ctx.workDir, 'follow-latency-store');
      const init = async () => {
        const r = await cli(ctx, ['init', store, '--segment-max-bytes', String(FOLLOW_SEGMENT_BYTES)]);
        if (r.error) throw new Error(`seglog init failed: ${r.error}`);
      };
      const side = (pollMs) => ({
        run: () => followLatencyRun(ctx, { store, env: cliEnv(), init, batches: FOLLOW_BATCHES, batchEvents: FOLLOW_BATCH_EVENTS, intervalMs: FOLLOW_INTERVAL_MS, pollMs }),
        command:
          `node bench/lib/live-writer.js (engine API: appendBatch of ${FOLLOW_BATCH_EVENTS} every ${FOLLOW_INTERVAL_MS} ms) | ` +
          `node bin/run.js dump <store> --follow --format jsonl${pollMs ? ` --poll-interval ${pollMs} (SEGLOG_FOLLOW_WATCH=0)` : ''}`,
      });
      const latencyText = (m) => (m ? `median ${m.medianMs} ms, p99 ${m.p99Ms} ms, max ${m.maxMs} ms, ${m.rotations} rotations` : 'no figures');
      return {
        rows: null,
        noRatio: true, // two followers' lifetimes: their latencies are the figures
        chart: 'p99Ms',
        notes: [`latency = when the harness read the event's line from the follower's stdout minus when the writer's appendBatch returned (sync batch: after the fsync); wall, CPU and RSS are the follower process's`],
        ours: side(null),
        peers: [{ name: `--poll-interval ${FOLLOW_POLL_INTERVAL_MS}, no notifications`, info: true, ...side(FOLLOW_POLL_INTERVAL_MS) }],
        target: (ours, peers, res) => {
          const m = res?.ours?.metrics;
          const q = res?.peers?.[0]?.metrics;
          const pollMax = FOLLOW_POLL_INTERVAL_MS + FOLLOW_POLL_SLACK_MS;
          const text =
            `notify: median <${FOLLOW_MEDIAN_MAX_MS} ms, p99 <${FOLLOW_P99_MAX_MS} ms (${latencyText(m)}); ` +
            `poll ${FOLLOW_POLL_INTERVAL_MS} ms: p99 ≤${pollMax} ms (${latencyText(q)}); ≥${FOLLOW_MIN_ROTATIONS} rotations (issue 14)`;
          if (!m || !q) return { text, met: null };
          const met = m.medianMs < FOLLOW_MEDIAN_MAX_MS && m.p99Ms < FOLLOW_P99_MAX_MS && q.p99Ms <= pollMax && m.rotations >= FOLLOW_MIN_ROTATIONS && q.rotations >= FOLLOW_MIN_ROTATIONS;
          return { text, met };
        },
        after: () => rmrf(store),
      };
    },
  },

  {
    name: 'follow-throughput',
    title: 'dump --follow --format jsonl while append --file appends every event at full speed, vs dump of the finished store',
    async prepare(ctx) {
      const store = path.join(ctx.workDir, 'follow-throughput-store');
      const n = ctx.ds.count;
      const init = async () => {
        const r = await cli(ctx, ['init', store, '--sync', 'batch']);
        if (r.error) throw new Error(`seglog init failed: ${r.error}`);
        const p = await cli(ctx, ['append', store, '--entity', 'bench:prime', '--scope', 'bench', '--payload', '{"prime":true}']);
        if (p.error) throw new Error(`seglog append (the priming event) failed: ${p.error}`);
      };
      return {
        rows: n,
        rowsUnit: 'events',
        notes: [
          'ours: from the writer\'s start to the follower\'s last line (stdout piped to the harness, lines counted); the peer, plain dump of the store the run left, is piped and counted the same way',
          `target: the follower's events/s ≥ ${FOLLOW_THROUGHPUT_MIN_RATIO * 100}% of the slower of dump's and the writer's (a follower cannot outrun its writer)`,
        ],
        ours: {
          run: () => followThroughputRun(ctx, { store, env: cliEnv(), init, events: ctx.ds.events, count: n }),
          command: `node bin/run.js dump <store> --follow --format jsonl | (count) while node bin/run.js append <store> --file ${path.basename(ctx.ds.events)}`,
        },
        peers: [{ name: 'dump (finished store)', cmd: process.execPath, args: [CLI_PATH, 'dump', store, '--format', 'jsonl'], env: cliEnv(), stdout: 'count' }],
        target: (ours, peers, res) => {
          const m = res?.ours?.metrics;
          const dumpRate = peers[0]?.summary ? n / peers[0].summary.median : null;
          const fmt = (x) => (x == null ? '?' : `${Math.round(x / 1000)}k/s`);
          const text =
            `≥${FOLLOW_THROUGHPUT_MIN_RATIO * 100}% of min(dump, writer) events/s (follower ${fmt(m?.followerEventsPerSec)}, dump ${fmt(dumpRate)}, writer ${fmt(m?.writerEventsPerSec)}; ` +
            `${dumpRate && m?.followerEventsPerSec ? Math.round((m.followerEventsPerSec / dumpRate) * 100) : '?'}% of dump) (issue 14)`;
          if (!m?.followerEventsPerSec || !dumpRate || !m.writerEventsPerSec) return { text, met: null };
          return { text, met: m.followerEventsPerSec >= FOLLOW_THROUGHPUT_MIN_RATIO * Math.min(dumpRate, m.writerEventsPerSec) };
        },
        after: () => rmrf(store),
      };
    },
  },

  {
    name: 'since',
    title: `dump --since 1m --format jsonl > /dev/null: ${SINCE_FRESH_EVENTS.toLocaleString('en-US')} fresh events after the reference store's`,
    async prepare(ctx) {
      const ref = await ensureRefStore(ctx);
      const store = path.join(ctx.workDir, 'since-store');
      const fresh = path.join(ctx.workDir, 'since-fresh.jsonl');
      // the reference store's events must be outside the window: wait when it was just built
      const last = parseJson((await cli(ctx, ['dump', ref, '--last', '1', '--format', 'jsonl'])).stdout.trim());
      if (typeof last?.wallMs !== 'number') throw new Error('dump --last 1 of the reference store printed no event');
      const waitMs = last.wallMs + SINCE_WINDOW_MS + SINCE_MARGIN_MS - Date.now();
      if (waitMs > 0) {
        log(`  [since] waiting ${(waitMs / 1000).toFixed(0)} s: the reference store was just written, its events must fall outside --since 1m`);
        await new Promise((r) => setTimeout(r, waitMs));
      }
      const text = fs.readFileSync(ctx.ds.events, 'utf8');
      let end = 0;
      for (let i = 0; i < SINCE_FRESH_EVENTS && end < text.length; i++) end = text.indexOf('\n', end) + 1 || text.length;
      fs.writeFileSync(fresh, text.slice(0, end));
      let appendedAt = 0;
      const build = async () => {
        copyDir(ref, store);
        const r = await cli(ctx, ['append', store, '--file', fresh]);
        if (r.error) throw new Error(`seglog append of the fresh events failed: ${r.error}`);
        appendedAt = Date.now();
      };
      await build();
      const check = await cli(ctx, ['dump', store, '--since', '1m', '--format', 'jsonl']);
      const lines = check.stdout.split('\n').filter(Boolean).length;
      const notes = [`check (untimed): --since 1m printed ${lines} events, expected ${SINCE_FRESH_EVENTS}${check.error ? ` (${check.error})` : ''}`];
      return {
        rows: SINCE_FRESH_EVENTS,
        rowsUnit: 'events',
        notes,
        ours: {
          cliArgs: ['dump', store, '--since', '1m', '--format', 'jsonl'],
          env: { ...cliEnv(), SEGLOG_DEBUG: '1' },
          stdout: 'ignore',
          // the fresh events must stay inside the window: rebuilt when they are getting old
          beforeRun: async () => {
            if (Date.now() - appendedAt > SINCE_WINDOW_MS - 15_000) await build();
          },
          observe: (r) => {
            const m = /located start(?: in segment (\d+) of (\d+) \((\d+) to read\))? after reading (\d+) bytes/.exec(r.stderrTail ?? '');
            if (!m) throw new Error('dump printed no "located start" line with SEGLOG_DEBUG=1');
            return { locateBytes: Number(m[4]), segments: Number(m[2]), segmentsRead: Number(m[3]) };
          },
        },
        peers: [],
        target: (ours, peers, res) => {
          const m = res?.ours?.metrics;
          const t = secondsTarget(ours, SINCE_MAX_SECONDS, 'issue 14');
          const read = m ? `; located after reading ${fmtBytes(m.locateBytes)}, ${m.segmentsRead} of ${m.segments} segments read` : '';
          return { text: `${t.text}${read}`, met: t.met === null ? null : t.met && lines === SINCE_FRESH_EVENTS };
        },
        after: () => {
          rmrf(store);
          rmrf(fresh);
        },
      };
    },
  },
];


/** The WAL store (ds.walSpec, one-write transactions), built once per run and shared by the WAL cases. */
async function ensureWalTemplate(ctx) {
  const tpl = path.join(ctx.workDir, 'walstore-template');
  if (fs.existsSync(tpl) && ctx.walBuilt) return tpl;
  rmrf(tpl);
  rmrf(path.join(ctx.workDir, 'walstore'));
  log(`building the WAL store (${ctx.ds.txns} transactions) with seglog fixture build ...`);
  const t0 = Date.now();
  const r = await cli(ctx, ['fixture', 'build', tpl, '--spec', ctx.ds.walSpec]);
  if (r.error) throw new Error(`seglog fixture build failed: ${r.error}`);
  log(`  built in ${((Date.now() - t0) / 1000).toFixed(1)} s, ${fmtBytes(dirBytes(tpl))}`);
  ctx.walBuilt = true;
  return tpl;
}

/** `keys` distinct keys, each put once, in transactions of KV_PUTS_PER_TXN: that many live keys at the end. */
function writeLiveKeysSpec(file, keys) {
  const fd = fs.openSync(file, 'w');
  try {
    for (let t = 0; t * KV_PUTS_PER_TXN < keys; t++) {
      const lines = [`{"type":"begin","txn":${t + 1}}`];
      for (let k = t * KV_PUTS_PER_TXN; k < Math.min(keys, (t + 1) * KV_PUTS_PER_TXN); k++) lines.push(`{"type":"put","txn":${t + 1},"key":"key-${k}","value":{"n":${k}}}`);
      lines.push(`{"type":"commit","txn":${t + 1}}`);
      fs.writeSync(fd, `${lines.join('\n')}\n`);
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** `n` one-write transactions over the WAL keys, numbered (and versioned) after the WAL spec's `after`. */
function writeTailSpec(file, after, n) {
  const lines = [];
  for (let i = 1; i <= n; i++) {
    const t = after + i;
    lines.push(`{"type":"begin","txn":${t}}`, `{"type":"put","txn":${t},"key":"k${i % 10_000}","value":"tail-${t}","version":${t}}`, `{"type":"commit","txn":${t}}`);
  }
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
}

/**
 * An events store of at least PRUNE_SEGMENTS + 10 small segments (the first events of
 * ds.events); returns the sequence that cuts exactly PRUNE_SEGMENTS of them.
 */
async function buildPruneStore(ctx, dir) {
  rmrf(dir);
  const wantBytes = (PRUNE_SEGMENTS + 12) * PRUNE_SEGMENT_BYTES;
  const events = path.join(ctx.workDir, 'prune-events.jsonl');
  const src = fs.readFileSync(ctx.ds.events, 'utf8');
  let end = 0;
  // the store's frames are a little larger than the JSON lines: the byte count errs on the safe side
  while (end < src.length && end < wantBytes) end = src.indexOf('\n', end) + 1 || src.length;
  fs.writeFileSync(events, src.slice(0, end));
  const init = await cli(ctx, ['init', dir, '--sync', 'batch', '--segment-max-bytes', String(PRUNE_SEGMENT_BYTES)]);
  if (init.error) throw new Error(`seglog init failed: ${init.error}`);
  const app = await cli(ctx, ['append', dir, '--file', events]);
  if (app.error) throw new Error(`seglog append failed: ${app.error}`);
  rmrf(events);
  const st = await cli(ctx, ['stats', dir, '--json']);
  const segs = parseJson(st.stdout)?.segments ?? [];
  if (segs.length <= PRUNE_SEGMENTS) throw new Error(`the prune store has ${segs.length} segments, ${PRUNE_SEGMENTS} + 1 needed (the events file is too small)`);
  return segs[PRUNE_SEGMENTS].firstSeq;
}

/**
 * File system calls of a prune of 10 segments and of PRUNE_SEGMENTS (strace -c, untimed):
 * they should grow with the segments removed, not with the store. A note, or nothing
 * without strace.
 */
async function pruneSyscalls(ctx, tpl, work) {
  const strace = which('strace');
  if (!strace) return ['strace not installed: file operations not counted'];
  const st = parseJson((await cli(ctx, ['stats', tpl, '--json'])).stdout);
  const count = async (n) => {
    copyDir(tpl, work);
    const out = path.join(ctx.workDir, `strace-${n}.txt`);
    const calls = 'openat,unlinkat,unlink,rename,renameat,renameat2,fsync,fdatasync,pread64,read,pwrite64,write';
    const r = await runQuiet(strace, ['-f', '-c', '-o', out, '-e', `trace=${calls}`, process.execPath, CLI_PATH, 'prune', work, '--before', String(st.segments[n].firstSeq), '--yes', '--json'], { env: cliEnv(), timeoutMs: ctx.timeoutMs });
    const text = fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : '';
    rmrf(out);
    if (r.error) return null;
    const per = {};
    for (const m of text.matchAll(/^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)\s*$/gm)) per[m[2]] = Number(m[1]);
    return per;
  };
  const small = await count(10);
  const big = await count(PRUNE_SEGMENTS);
  if (!small || !big) return ['strace of prune failed: file operations not counted'];
  const kinds = ['openat', 'unlink', 'unlinkat', 'fsync', 'fdatasync', 'pread64', 'read', 'write', 'pwrite64', 'rename'].filter((k) => small[k] || big[k]);
  return [`syscalls (strace -f -c, node start-up included), 10 vs ${PRUNE_SEGMENTS} segments pruned: ${kinds.map((k) => `${k} ${small[k] ?? 0}/${big[k] ?? 0}`).join(', ')}`];
}
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

export const CASE_ALIASES = { anchor: ['head', 'prove', 'check-proof', 'verify-anchor'], bounded: ['snapshot', 'snapshot-replay', 'prune', 'verify-archive'], live: ['follow-latency', 'follow-throughput', 'since'], sidx: ['sidx-rebuild-stripped', 'sidx-rebuild-intact'], wal: ['wal-replay'], 'cold-open': ['open-ckpt', 'open-scan'], open: ['open-ckpt', 'open-scan'] };

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
        notes: ['the store is copied from its template and fsynced (untimed) before each run: a store at rest, not 443 MB of fresh page cache that the first fsync of the run would write out'],
        ours: { cliArgs: ['sidx', 'rebuild', work, '--yes', '--json'], stdout: 'capture', beforeRun: () => copyDirDurable(tpl, work) },
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
