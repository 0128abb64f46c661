/**
 * The differential harness: runs every read path of the CLI on a store and compares
 * what it prints with the reference reader (test/support/reference-reader.ts).
 * Commands run in-process (test/ui/run-command.ts); the fast paths that only exist in
 * the built CLI (worker threads: they load dist/engine/verify/verify-worker.js) run from
 * dist/ in-process too, and a sample spawns the real CLI.
 */
import fs, { cpSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import Dump from '../../src/commands/dump.js';
import Verify from '../../src/commands/verify.js';
import Stats from '../../src/commands/stats.js';
import WalDump from '../../src/commands/wal/dump.js';
import WalReplay from '../../src/commands/wal/replay.js';
import CursorRead from '../../src/commands/cursor/read.js';
import Repair from '../../src/commands/repair.js';
import SidxShow from '../../src/commands/sidx/show.js';
import { Store } from '../../src/engine/store/store.js';
import { READ_CHUNK_BYTES, setDefaultReadChunkBytes } from '../../src/engine/segment/segment-reader.js';
import { SeglogError } from '../../src/engine/io/errors.js';
import type { Blake3 } from '../../src/format/hash/blake3.js';
import { type CommandRun, type Runnable, runCommand } from '../ui/run-command.js';
import { expectedRecord, type RefEvent, type RefStore } from '../support/reference-reader.js';
import { REPO_ROOT } from '../engine/test-store.js';
import { ENTITIES, KINDS, SCOPES } from './shapes.js';

export class Mismatch extends Error {}

export interface Filter {
  entity?: number;
  prefix?: number;
  scope?: number;
  kind?: number;
  kindCategoryOnly?: boolean;
  from?: number;
  to?: number;
  limit?: number;
  system: boolean;
}

export interface CursorStep {
  max: number;
  commit: boolean;
}

/** Every command run goes through here: an `internal error` or a stack trace is always a failure. */
export async function run(Cmd: Runnable, argv: string[], env: Record<string, string | undefined>): Promise<CommandRun> {
  // dump and wal dump stream through StdoutSink, which writes fd 1 with fs.writeSync (not process.stdout)
  const original = fs.writeSync;
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const capture = ((...args: unknown[]): number => {
    const [fd, data, offset, length] = args as [number, Uint8Array | string, number | undefined, number | undefined];
    if (fd !== 1 && fd !== 2) return (original as (...a: unknown[]) => number)(...args);
    const bytes = typeof data === 'string' ? Buffer.from(data) : Buffer.from(data.buffer, data.byteOffset + (offset ?? 0), length ?? data.length - (offset ?? 0));
    (fd === 1 ? out : err).push(Buffer.from(bytes));
    return bytes.length;
  }) as typeof fs.writeSync;
  fs.writeSync = capture;
  syncBuiltinESMExports();
  let r: CommandRun;
  try {
    r = await runCommand(Cmd, argv, { env });
  } finally {
    fs.writeSync = original;
    syncBuiltinESMExports();
  }
  r = { ...r, stdout: Buffer.concat(out).toString('utf8') + r.stdout, stderr: Buffer.concat(err).toString('utf8') + r.stderr };
  const all = `${r.stdout}\n${r.stderr}`;
  if (/internal error/i.test(all) || /^\s{4}at /m.test(r.stderr) || r.exitCode === -1 || (r.exitCode !== 0 && r.exitCode !== 1 && r.exitCode !== 2)) {
    throw new Mismatch(`seglog ${argv.join(' ')} crashed (exit ${r.exitCode}): ${String((r.error as Error)?.stack ?? '')}\n--- stdout\n${r.stdout.slice(0, 1500)}\n--- stderr\n${r.stderr.slice(0, 1500)}`);
  }
  return r;
}

/**
 * A problem as compared: code, severity, file and offset. A damaged footer's offset is
 * where the engine's footer check stopped inside it (an implementation detail the docs
 * leave open), so sidx_mismatch is compared without it.
 */
export function problemKey(p: { code: string; severity: string; segment: string; offset: number }): string {
  return p.code === 'sidx_mismatch' ? `${p.code}/${p.severity} ${p.segment}` : `${p.code}/${p.severity} ${p.segment}@${p.offset}`;
}

const FRAME_DAMAGE = new Set(['bad_header', 'crc_mismatch', 'bad_frame', 'truncated_segment', 'torn_tail']);

/**
 * The problem lists compared: verify does not judge a footer (sidx_mismatch) behind
 * damaged frames or a damaged header in the same segment ("the footer cannot be judged
 * against them", src/engine/index/sidx.ts), though CLI.md says a footer whose checksum fails is
 * always reported: a finding (README.md), so such footers are left out on both sides.
 */
export function comparableProblems(ref: RefStore, got: { code: string; severity: string; segment: string; offset: number }[]): { got: string[]; want: string[]; wantOk: boolean; gotOk: boolean } {
  const damaged = new Set(ref.problems.filter((p) => FRAME_DAMAGE.has(p.code)).map((p) => p.segment));
  const keep = (p: { code: string; segment: string }): boolean => !(p.code === 'sidx_mismatch' && damaged.has(p.segment));
  const kept = ref.problems.filter(keep);
  const keptGot = got.filter(keep);
  return { got: keptGot.map(problemKey).sort(), want: kept.map(problemKey).sort(), wantOk: !kept.some((p) => p.severity === 'error'), gotOk: !keptGot.some((p) => p.severity === 'error') };
}

function fail(what: string, detail: string): never {
  throw new Mismatch(`${what}\n${detail}`);
}

const text = (o: unknown): string => JSON.stringify(o);

/** The events a region selects, as CLI.md's filters define them (Region in src/engine/log/region.ts). */
export function selectEvents(events: RefEvent[], f: Filter): RefEvent[] {
  const entity = f.entity !== undefined ? ENTITIES[f.entity]! : undefined;
  const prefix = f.prefix !== undefined ? ENTITIES[f.prefix]!.slice(0, 3) : undefined;
  const scope = f.scope !== undefined ? SCOPES[f.scope]! : undefined;
  const kind = f.kind !== undefined ? (f.kind < 0 ? { category: 0 } : KINDS[f.kind]!) : undefined;
  const out: RefEvent[] = [];
  for (const e of events) {
    if (f.from !== undefined && e.seq < f.from) continue;
    if (f.to !== undefined && e.seq > f.to) continue;
    if (e.kindCategory === 0 && !f.system && !(kind && kind.category === 0)) continue;
    if (kind && (e.kindCategory !== kind.category || (!f.kindCategoryOnly && 'type' in kind && e.kindType !== kind.type))) continue;
    if (entity !== undefined && e.entity !== entity) continue;
    if (prefix !== undefined && !Buffer.from(e.entity).subarray(0, Buffer.byteLength(prefix)).equals(Buffer.from(prefix))) continue;
    if (scope !== undefined && e.scope !== scope) continue;
    out.push(e);
  }
  return f.limit !== undefined ? out.slice(0, f.limit) : out;
}

export function filterArgs(f: Filter): string[] {
  const a: string[] = [];
  if (f.entity !== undefined) a.push('--entity', ENTITIES[f.entity]!);
  if (f.prefix !== undefined) a.push('--entity-prefix', ENTITIES[f.prefix]!.slice(0, 3));
  if (f.scope !== undefined) a.push('--scope', SCOPES[f.scope]!);
  if (f.kind !== undefined) {
    const k = f.kind < 0 ? { category: 0, type: 0 } : KINDS[f.kind]!;
    a.push('--kind', f.kindCategoryOnly || f.kind < 0 ? String(k.category) : `${k.category}:${k.type}`);
  }
  if (f.from !== undefined) a.push('--from', String(f.from));
  if (f.to !== undefined) a.push('--to', String(f.to));
  if (f.limit !== undefined) a.push('--limit', String(f.limit));
  if (f.system) a.push('--system');
  return a;
}

/** dump's text line for an event (src/ui/render/event-json.ts eventLine), from the reference's decode. */
function expectedLine(e: RefEvent): string {
  let payload: string;
  try {
    payload = new TextDecoder('utf-8', { fatal: true }).decode(e.payload);
  } catch {
    payload = `<${e.payload.length} bytes, not UTF-8>`;
  }
  if (payload.length > 120) payload = `${payload.slice(0, 117)}...`;
  const txn = e.txnId ? ` txn=${e.txnId}` : '';
  return `#${e.seq} ${e.entity} ${e.scope} kind=${e.kindCategory}:${e.kindType} clock=${e.clock} wall=${new Date(e.wallMs).toISOString()}${txn} id=${e.eventId} ${payload}`;
}

/** Parsed records compared as JSON text (so -0 and 0, key order of parsed payloads, compare as printed). */
function compareRecords(what: string, got: unknown[], want: Record<string, unknown>[]): void {
  if (got.length !== want.length) fail(`${what}: ${got.length} events printed, the reference sees ${want.length}`, `first printed: ${text(got[0])?.slice(0, 400)}\nfirst expected: ${text(want[0])?.slice(0, 400)}`);
  for (let i = 0; i < got.length; i++) {
    const g = text(got[i]);
    const w = text(want[i]);
    if (g !== w) fail(`${what}: event #${i} differs from the reference (look at how this read path decodes or orders events)`, `printed:  ${g.slice(0, 1200)}\nexpected: ${w.slice(0, 1200)}`);
  }
}

function jsonl(out: string): unknown[] {
  return out
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as unknown);
}

export interface CheckContext {
  dir: string;
  ref: RefStore;
  env: Record<string, string | undefined>;
  filters: Filter[];
  cursor: CursorStep[];
  /** `cursor read --entity/--scope/--kind` for the whole sequence of reads (position moves past others). */
  cursorFilter?: Filter;
  hasher: Blake3;
  /** Run the built CLI's worker paths (dist) on this store. */
  workers: boolean;
  /** Spawn the real CLI for a sample. */
  spawn: boolean;
  scratch: string;
  /**
   * Which of the rotating checks run on this shape (n % 4 picks them; -1: all of them).
   * Each read path still meets a quarter to a half of all shapes; the long mode runs all.
   */
  rotation: number;
}

/** Every read path against the reference; throws Mismatch naming the first difference. */
export async function checkReadPaths(c: CheckContext): Promise<void> {
  const { dir, ref, env } = c;
  const visible = selectEvents(ref.committed, { system: false });

  // ---- dump: the three formats
  const all = c.rotation < 0;
  const turn = (k: number): boolean => all || c.rotation % 4 === k;
  const j = await run(Dump, [dir, '--format', 'jsonl'], env);
  compareRecords('dump --format jsonl', jsonl(j.stdout), visible.map(expectedRecord));
  let js: CommandRun | null = null;
  if (turn(0) || (c.workers && ref.segments.length >= 2)) {
    js = await run(Dump, [dir, '--json'], env);
    compareRecords('dump --json', (JSON.parse(js.stdout) as { events: unknown[] }).events, visible.map(expectedRecord));
  }
  if (turn(1)) {
    const t = await run(Dump, [dir], env);
    const wantText = visible.map((e) => `${expectedLine(e)}\n`).join('');
    if (t.stdout !== wantText) fail('dump (text) differs from the reference', `printed:\n${firstDiff(t.stdout, wantText)}`);
  }
  const dumpExit = ref.problems.some((p) => p.severity === 'error' && ['bad_header', 'crc_mismatch', 'bad_frame', 'truncated_segment'].includes(p.code)) ? 1 : 0;
  if (j.exitCode !== dumpExit && !ref.problems.some((p) => p.code === 'bad_header')) fail(`dump exit ${j.exitCode}, expected ${dumpExit} (a torn tail alone is exit 0, corruption 1)`, j.stderr);

  // ---- dump: filters, --hex, --markers
  for (const f of c.filters) {
    const r = await run(Dump, [dir, '--format', 'jsonl', ...filterArgs(f)], env);
    compareRecords(`dump --format jsonl ${filterArgs(f).join(' ')}`, jsonl(r.stdout), selectEvents(ref.committed, f).map(expectedRecord));
  }
  if (turn(2)) {
    const hx = await run(Dump, [dir, '--format', 'jsonl', '--hex', '--system'], env);
    compareRecords('dump --hex --system', jsonl(hx.stdout), selectEvents(ref.committed, { system: true }).map((e) => ({ ...expectedRecord(e), hex: Buffer.from(e.frame).toString('hex') })));
  }
  if (turn(3)) {
    const mk = await run(Dump, [dir, '--markers', '--format', 'jsonl', '--system'], env);
    compareRecords('dump --markers --system', jsonl(mk.stdout), expectedMarkers(ref));
    const mkt = await run(Dump, [dir, '--markers', '--system'], env);
    const mktLines = mkt.stdout.split('\n').filter((l) => /^\d{10}\.seg@\d+ /.test(l)).length;
    if (mktLines !== ref.frames.length) fail(`dump --markers (text) printed ${mktLines} frame lines, the reference has ${ref.frames.length} valid frames`, mkt.stdout.slice(0, 2000));
  }

  // ---- cursor read: every visible event exactly once, in order, whole units
  await checkCursor(c);

  // ---- wal replay / wal dump
  const stateFile = join(c.scratch, 'state.json');
  rmSync(stateFile, { force: true });
  const wr = await run(WalReplay, [dir, '--json', '--state', stateFile, '--max-warnings', '0'], env);
  const wro = JSON.parse(wr.stdout) as { stats: unknown; corruption: { code: string; file: string; offset: number } | null };
  const wantCorruption = ref.replayCorruption;
  if (!!wro.corruption !== !!wantCorruption || (wantCorruption && (wro.corruption!.offset !== wantCorruption.offset || !wro.corruption!.file.endsWith(wantCorruption.segment) || wro.corruption!.code !== wantCorruption.code))) {
    fail('wal replay: corruption differs from the reference (replay stops at the first bad frame or bad KV event)', `got ${text(wro.corruption)}\nexpected ${text(wantCorruption)}`);
  }
  if (!isDeepStrictEqual(wro.stats, ref.replay)) fail('wal replay --json: stats differ from the reference replay (FORMAT.md 8.3)', `got      ${text(wro.stats)}\nexpected ${text(ref.replay)}`);
  if (!wantCorruption) {
    const state = JSON.parse(readFileSync(stateFile, 'utf8')) as Record<string, unknown>;
    const want: Record<string, unknown> = {};
    for (const [k, v] of [...ref.kvState].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) want[k] = { value: JSON.parse(v.value) as unknown, version: v.version };
    if (text(state) !== text(want)) fail('wal replay --state: final state differs from the reference', `got      ${text(state).slice(0, 1500)}\nexpected ${text(want).slice(0, 1500)}`);
  }
  if (!wantCorruption && (turn(0) || turn(2))) {
    const wd = await run(WalDump, [dir, '--json'], env);
    const rows = (JSON.parse(wd.stdout) as { txns: unknown[] }).txns;
    const wantRows = ref.txns.map((x) => ({ txn: x.txn, status: x.status, ops: x.ops, puts: x.puts, deletes: x.deletes, first: x.first, last: x.last }));
    if (text(rows) !== text(wantRows)) fail('wal dump --json: transaction rows differ from the reference grouping (FORMAT.md 8.3)', `got      ${text(rows).slice(0, 2000)}\nexpected ${text(wantRows).slice(0, 2000)}`);
  }

  // ---- verify: the problem list; workers on and off give the same report
  const v = await run(Verify, [dir, '--json'], env);
  const vo = JSON.parse(v.stdout) as { ok: boolean; events: number; eventFrames: number; batches: number; problems: { code: string; severity: string; segment: string; offset: number }[] };
  const { got, want, wantOk, gotOk } = comparableProblems(ref, vo.problems);
  if (text(got) !== text(want)) fail('verify --json: problems differ from the reference (code/severity segment@offset)', `got      ${got.join(', ')}\nexpected ${want.join(', ')}`);
  if (gotOk !== wantOk || v.exitCode !== (vo.ok ? 0 : 1)) fail(`verify: ok ${vo.ok} exit ${v.exitCode}, the reference says ok ${wantOk}`, v.stdout.slice(0, 1000));
  if (wantOk && (vo.events !== ref.committed.length || vo.eventFrames !== ref.eventFrames || vo.batches !== ref.committedBatches)) {
    fail('verify: counts differ from the reference', `got events ${vo.events} frames ${vo.eventFrames} batches ${vo.batches}; expected ${ref.committed.length} ${ref.eventFrames} ${ref.committedBatches}`);
  }

  // ---- stats: counts
  const st = turn(1) || turn(3) ? await run(Stats, [dir, '--json'], env) : null;
  if (st && st.exitCode === 0 && wantOk) {
    const so = JSON.parse(st.stdout) as { totals: { events: number; batches: number; nextSeq: number; segments: number; entities: number }; segments: { file: string; eventFrames: number; firstSeq: number | null; lastSeq: number | null; bytes: number }[] };
    const wantTotals = { events: ref.committed.length, batches: ref.committedBatches, nextSeq: ref.nextSeq, segments: ref.segments.length, entities: ref.heads.size };
    const gotTotals = { events: so.totals.events, batches: so.totals.batches, nextSeq: so.totals.nextSeq, segments: so.totals.segments, entities: so.totals.entities };
    if (text(gotTotals) !== text(wantTotals)) fail('stats --json: totals differ from the reference', `got      ${text(gotTotals)}\nexpected ${text(wantTotals)}`);
    const gotSegs = so.segments.map((s) => [s.file, s.bytes, s.eventFrames, s.firstSeq, s.lastSeq]);
    const wantSegs = ref.segments.map((s) => [s.name, s.sizeBytes, s.eventFrames, s.firstSeq >= 0 ? s.firstSeq : null, s.lastSeq >= 0 ? s.lastSeq : null]);
    if (text(gotSegs) !== text(wantSegs)) fail('stats --json: segments differ from the reference', `got      ${text(gotSegs)}\nexpected ${text(wantSegs)}`);
  }

  // ---- sidx show: each footer present / valid as the reference finds it (2.5)
  if (turn(1)) {
    const sx = await run(SidxShow, [dir, '--json'], env);
    const got = (JSON.parse(sx.stdout) as { segments: { segment: string; present: boolean; valid: boolean }[] }).segments.map((x) => [x.segment, x.present, x.valid]);
    const want = ref.segments.map((x) => [x.name, x.footer !== 'absent', x.footer === 'valid']);
    if (text(got) !== text(want)) fail('sidx show --json: footers present/valid differ from the reference', `got      ${text(got)}\nexpected ${text(want)}`);
  }

  // ---- repair --dry-run: nothing to do on a clean store
  const clean = !ref.problems.some((p) => p.severity !== 'info');
  const rp = turn(0) || turn(2) ? await run(Repair, [dir, '--dry-run', '--json'], env) : null;
  const rpo = rp ? (JSON.parse(rp.stdout) as { clean: boolean; actions: unknown[] }) : null;
  if (rpo && rpo.clean !== clean) fail(`repair --dry-run: clean ${rpo.clean}, but the reference finds ${clean ? 'no problem' : 'problems'}`, `${text(rpo.actions).slice(0, 1500)}\nreference: ${ref.problems.map((p) => `${p.code} ${p.segment}@${p.offset}`).join(', ')}`);

  // ---- the state a read-write open recovers (on a copy: recovery cuts tails)
  if (turn(1) || turn(3)) await checkOpenState(c);

  if (c.workers && ref.segments.length >= 2) await checkWorkers(c, j.stdout, js!.stdout, v.stdout);
  if (c.spawn) await checkSpawned(c, j.stdout, v.stdout);
}

function firstDiff(a: string, b: string): string {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return `at char ${i}:\n  got      ${JSON.stringify(a.slice(Math.max(0, i - 80), i + 200))}\n  expected ${JSON.stringify(b.slice(Math.max(0, i - 80), i + 200))}`;
}

function expectedMarkers(ref: RefStore): Record<string, unknown>[] {
  const names: Record<number, string> = { 1: 'EVENT', 2: 'BEGIN', 3: 'COMMIT', 4: 'ABORT', 5: 'GAP' };
  return ref.frames.map((f) => {
    const at = { frame: names[f.type], segment: f.segment, offset: f.offset };
    if (f.type === 1) return { ...at, ...expectedRecord(f.event!) };
    return { ...at, txnId: f.txnId, ...(f.type === 2 || f.type === 3 ? { count: f.count } : {}) };
  });
}

let cursorNames = 0;

/** cursor read in a sequence of reads, with and without --commit (CLI.md "cursor read"). */
async function checkCursor(c: CheckContext): Promise<void> {
  const { dir, ref, env } = c;
  const name = `diff${++cursorNames}`;
  let unit = 0;
  const units = ref.units;
  const delivered: RefEvent[] = [];
  let total = 0;
  const cf: Filter = { ...(c.cursorFilter ?? {}), system: false, from: undefined, to: undefined, limit: undefined, prefix: undefined, kindCategoryOnly: false };
  const fargs = filterArgs(cf);
  for (const step of [...c.cursor, { max: 1_000_000, commit: true }]) {
    const r = await run(CursorRead, [dir, name, '--max', String(step.max), '--json', ...fargs, ...(step.commit ? ['--commit'] : [])], env);
    if (r.exitCode !== 0) fail(`cursor read --max ${step.max} exit ${r.exitCode}`, r.stderr.slice(0, 1500));
    const o = JSON.parse(r.stdout) as { events: unknown[]; more: boolean; delivered: number };
    // the model: whole units from the position until at least `max` visible events
    const want: RefEvent[] = [];
    let u = unit;
    while (u < units.length && want.length < step.max) want.push(...selectEvents(units[u++]!, cf));
    compareRecords(`cursor read --max ${step.max} ${fargs.join(' ')}${step.commit ? ' --commit' : ''} (after ${total} committed events)`, o.events, want.map(expectedRecord));
    if (o.more !== u < units.length) fail(`cursor read: more=${o.more}, the reference has ${units.length - u} units left`, r.stdout.slice(0, 500));
    if (o.delivered !== total + want.length) fail(`cursor read: delivered=${o.delivered}, expected ${total + want.length}`, '');
    if (step.commit) {
      unit = u;
      total += want.length;
      delivered.push(...want);
    }
  }
  const all = selectEvents(ref.committed, cf);
  if (delivered.length !== all.length) fail(`cursor: ${delivered.length} events delivered over the committed reads, ${all.length} visible`, '');
}

async function checkOpenState(c: CheckContext): Promise<void> {
  const copy = join(c.scratch, 'rw');
  rmSync(copy, { recursive: true, force: true });
  cpSync(c.dir, copy, { recursive: true });
  let state: ReturnType<Store['snapshotState']>;
  try {
    const s = Store.openSync(copy, { onWarning: () => {} }, c.hasher);
    state = s.snapshotState();
    s.close();
  } catch (err) {
    if (err instanceof SeglogError && err.code === 'needs_repair') {
      if (!c.ref.problems.some((p) => p.severity === 'error')) fail('a read-write open refused (needs_repair) a store the reference finds no error in', String(err));
      return;
    }
    throw err;
  }
  const { ReferenceReader } = await import('../support/reference-reader.js');
  const after = (await referenceReader(ReferenceReader)).readStore(copy);
  const gotHeads = [...state.heads].map(([k, h]) => [k, h.clock, Buffer.from(h.hash).toString('hex'), h.wallMs]).sort();
  const wantHeads = [...after.heads].map(([k, h]) => [k, h.clock, h.hash, h.wallMs]).sort();
  if (state.nextSeq !== after.nextSeq || text(gotHeads) !== text(wantHeads)) {
    fail('read-write open: recovered state differs from the reference on the recovered files', `nextSeq ${state.nextSeq} vs ${after.nextSeq}\nheads ${text(gotHeads).slice(0, 800)}\nvs    ${text(wantHeads).slice(0, 800)}`);
  }
  // recovery only cuts what no reader could see
  const before = c.ref.committed.map((e) => e.eventHash);
  const now = after.committed.map((e) => e.eventHash);
  if (text(before) !== text(now)) fail('read-write open: the committed events changed (recovery may only cut torn or incomplete tails)', `${before.length} before, ${now.length} after`);
}

let refReader: Promise<unknown> | undefined;
async function referenceReader<T>(R: { create(): Promise<T> }): Promise<T> {
  refReader ??= R.create();
  return refReader as Promise<T>;
}

interface DistCommands {
  Dump: Runnable;
  Verify: Runnable;
  /** dist's warm-precheck.ts: the next verify's (or dump's) first worker is one already booted. */
  startWarmPrecheck(job?: 'verify' | 'dump'): void;
}
let dist: Promise<DistCommands> | undefined;

/**
 * Sets the segment reader's read chunk for the commands this process runs next (src and
 * dist engines: the environment variable is read once per process) and returns the
 * environment for them (and for a spawned CLI). 0: the default 4 MiB.
 */
export async function useReadChunk(bytes: number): Promise<Record<string, string | undefined>> {
  const n = bytes > 0 ? bytes : READ_CHUNK_BYTES;
  setDefaultReadChunkBytes(n);
  const distReader = join(REPO_ROOT, 'dist', 'engine', 'segment', 'segment-reader.js');
  if (existsSync(distReader)) ((await import(distReader)) as { setDefaultReadChunkBytes(n: number): void }).setDefaultReadChunkBytes(n);
  return { SEGLOG_READ_CHUNK_BYTES: bytes > 0 ? String(bytes) : undefined, SEGLOG_DUMP_WORKERS: '0', SEGLOG_VERIFY_WORKERS: '0' };
}
/** The built command classes: under dist/ the worker file exists, so worker threads really start. */
export function distCommands(): Promise<DistCommands> {
  dist ??= (async () => {
    const d = join(REPO_ROOT, 'dist', 'commands');
    if (!existsSync(join(d, 'dump.js'))) throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
    return {
      Dump: ((await import(join(d, 'dump.js'))) as { default: Runnable }).default,
      Verify: ((await import(join(d, 'verify.js'))) as { default: Runnable }).default,
      startWarmPrecheck: ((await import(join(REPO_ROOT, 'dist', 'engine', 'verify', 'warm-precheck.js'))) as { startWarmPrecheck(job?: 'verify' | 'dump'): void }).startWarmPrecheck,
    };
  })();
  return dist;
}

async function checkWorkers(c: CheckContext, jsonlOff: string, jsonOff: string, verifyOff: string): Promise<void> {
  const d = await distCommands();
  for (const [flag, off] of [
    [['--format', 'jsonl'], jsonlOff],
    [['--json'], jsonOff],
  ] as const) {
    // the worker's streamed progress on (default) and off; a warm precheck worker (warm-precheck.ts) adopted: it owns segment 0, which the walk follows
    for (const [extra, warm] of [[{}, false], [{ SEGLOG_DUMP_STREAM: '0' }, false], [{}, true], [{ SEGLOG_DUMP_STREAM: '0' }, true]] as const) {
      if (warm) d.startWarmPrecheck('dump');
      const on = await run(d.Dump, [c.dir, ...flag], { ...c.env, SEGLOG_DUMP_WORKERS: '1', ...extra });
      if (on.stdout !== off) fail(`dump ${flag.join(' ')}: output with SEGLOG_DUMP_WORKERS=1 ${text(extra)}${warm ? ', a warm precheck worker' : ''} (dist) differs from the walk alone`, firstDiff(on.stdout, off));
    }
    // the byte-level JSON writer off
    const slow = await run(d.Dump, [c.dir, ...flag], { ...c.env, SEGLOG_DUMP_FAST: '0' });
    if (slow.stdout !== off) fail(`dump ${flag.join(' ')}: output with SEGLOG_DUMP_FAST=0 (JSON.stringify per record) differs from the byte-level writer`, firstDiff(slow.stdout, off));
    // round four's CRC-32C kernel (segments of 256 KiB and more are checked in WebAssembly memory)
    const crc = await run(d.Dump, [c.dir, ...flag], { ...c.env, SEGLOG_CRC_FAST: '0' });
    if (crc.stdout !== off) fail(`dump ${flag.join(' ')}: output with SEGLOG_CRC_FAST=0 (round four's CRC kernel) differs from the default kernel`, firstDiff(crc.stdout, off));
  }
  // the worker's streamed progress on (default) and off; a warm precheck worker (warm-precheck.ts) adopted
  for (const [extra, warm] of [[{}, false], [{ SEGLOG_BLAKE3_SIMD: '0' }, false], [{ SEGLOG_CRC_FAST: '0' }, false], [{ SEGLOG_VERIFY_STREAM: '0' }, false], [{}, true]] as const) {
    if (warm) d.startWarmPrecheck();
    const on = await run(d.Verify, [c.dir, '--json'], { ...c.env, SEGLOG_VERIFY_WORKERS: '1', ...extra });
    const a = normalizeVerify(on.stdout);
    const b = normalizeVerify(verifyOff);
    if (a !== b) fail(`verify --json with SEGLOG_VERIFY_WORKERS=1 ${text(extra)}${warm ? ', a warm precheck worker' : ''} (dist) differs from the walk alone`, firstDiff(a, b));
  }
}

function normalizeVerify(s: string): string {
  const o = JSON.parse(s) as Record<string, unknown>;
  return text(o);
}

/** The spawned CLI (stderr piped: the start-up fast path, ui/fast-path.ts) against the in-process command classes (oclif's path). */
async function checkSpawned(c: CheckContext, jsonlInProcess: string, verifyInProcess: string): Promise<void> {
  const { runCli } = await import('../commands/cli-helpers.js');
  const r = await runCli(['dump', c.dir, '--format', 'jsonl'], { env: c.env });
  if (r.timedOut || r.stdout !== jsonlInProcess || /internal error/i.test(r.stderr)) fail('the spawned CLI (bin/run.js dump --format jsonl) differs from the in-process run', `${r.code} ${r.stderr.slice(0, 500)}\n${firstDiff(r.stdout, jsonlInProcess)}`);
  const v = await runCli(['verify', c.dir, '--json'], { env: c.env });
  if (v.timedOut || /internal error/i.test(v.stderr)) fail('the spawned CLI (bin/run.js verify --json) failed', `${v.code} ${v.stderr.slice(0, 500)}`);
  const [a, b] = [normalizeVerify(v.stdout), normalizeVerify(verifyInProcess)];
  if (a !== b) fail('the spawned CLI (bin/run.js verify --json) differs from the in-process run', firstDiff(a, b));
}
