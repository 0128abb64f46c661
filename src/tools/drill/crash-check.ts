/**
 * What a drill does with one crash state: recover the store, then check invariants 1-6.
 *
 * 1. Recover (a read-write open by a new process: lock takeover, tail cut).
 * 2. Check the committed events against the recorder (1, 2, 3) and run verify (4).
 * 3. Close cleanly, reopen, and compare heads, counters and committed events (6).
 * 4. Append a single event and a batch: their receipts must continue the sequence and
 *    the entity clocks (5).
 * The crashed file system is consumed (recovery writes to it); callers pass a fork.
 */
import { HASH_BYTES } from '../../format/hash/blake3.js';
import type { Blake3 } from '../../format/hash/blake3.js';
import { equalBytes } from '../../format/bytes.js';
import type { DecodedEvent } from '../../format/event.js';
import type { FileSystem } from '../../engine/io/fs-types.js';
import { exists, readFully } from '../../engine/io/fs-util.js';
import { storePaths } from '../../engine/io/layout.js';
import type { StoreOptions } from '../../engine/io/options.js';
import type { EntityHead } from '../../engine/recovery/recovery-scan.js';
import type { Store } from '../../engine/store/store.js';
import { type Problem, verifySegments } from '../../engine/verify/verify.js';
import { listSegments } from '../../engine/segment/walker.js';
import { listSnapshots, replayWithSnapshotsSync, type SnapshotReplayResult, snapshotHasherSync } from '../../engine/wal/snapshot.js';
import { loadBase, segmentsFromBase } from '../../engine/segment/prune-base.js';
import type { PruneBase } from '../../format/base.js';
import { ARCHIVE_MANIFEST, archiveView } from '../archive.js';
import { SIM_ARCHIVE_DIR } from './workload.js';
import { stateToJson } from '../../engine/wal/wal-replay.js';
import type { AckRecorder } from './ack-recorder.js';
import { checkVisible, type Violation, ViolationList } from './invariants.js';
import { SIM_STORE_DIR, type SimMachine } from './sim-env.js';

/** Opens the store after a crash. The engine's recovery, or the canary's broken one. */
export type RecoverFn = (fs: FileSystem, machine: SimMachine, hasher: Blake3, storeOptions: Partial<StoreOptions>) => Store;

export const engineRecovery: RecoverFn = (fs, machine, hasher, storeOptions) => machine.openStore(fs, hasher, storeOptions);

export interface RecoveryEnv {
  hasher: Blake3;
  storeOptions: Partial<StoreOptions>;
  recover: RecoverFn;
  /** The machine the checker's processes run on (its own pids and clock). */
  machine: SimMachine;
  /** Verify problems the starting store already had (a damaged fixture's): not findings. */
  knownProblems?: ReadonlySet<string>;
}

export interface CrashCheckEnv extends RecoveryEnv {
  recorder: AckRecorder;
  /** No power was lost (only the process died): every acknowledged unit must survive. */
  processOnly?: boolean;
}

/**
 * What recovery made of one crashed disk. It depends on the disk's bytes alone (the
 * engine is deterministic), so the explorer reuses it for identical crash states and
 * only re-checks the visible events against each point's own acknowledgements.
 */
export interface RecoveryOutcome {
  /** Violations of invariants 4, 5 and 6 (and a store that does not reopen). */
  violations: Violation[];
  /** Committed events after recovery, in commit order; null when the store did not reopen. */
  visible: DecodedEvent[] | null;
  nextSeq: number;
  /** The recovered store's base: events below this sequence were pruned (0: none). */
  prunedBelowSeq: number;
}

export interface CrashCheckResult {
  violations: Violation[];
  /** Steps whose events are visible after recovery (for AckRecorder.rebase). */
  visibleSteps: Set<number>;
  /** Committed events after recovery (-1 when the store did not reopen), and the next sequence. */
  visibleCount: number;
  nextSeq: number;
}

const PROBE_SCOPE = 'tenant:drill';
const PROBE_ENTITY = 'acct:0';
const PROBE_BATCH_ENTITIES = ['acct:1', 'drill:probe'];
/** Every committed event, the engine's key/value operations included. */
const ALL_EVENTS = { includeSystem: true };
/** Problems from verify listed per crash state; the rest are counted. */
const MAX_VERIFY_DETAILS = 3;

/** Recovery plus every invariant: the whole check of one crash state. */
export function checkCrashedStore(fs: FileSystem, env: CrashCheckEnv): CrashCheckResult {
  return judge(recoverCrashedStore(fs, env), env.recorder, env.processOnly ?? false);
}

/** Invariants 1-3 of a recovery outcome against what was acknowledged at the crash. */
export function judge(outcome: RecoveryOutcome, recorder: AckRecorder, processOnly: boolean): CrashCheckResult {
  if (!outcome.visible) return { violations: outcome.violations, visibleSteps: new Set(), visibleCount: -1, nextSeq: -1 };
  const vis = checkVisible(outcome.visible, recorder, { processOnly, prunedBelowSeq: outcome.prunedBelowSeq });
  const out = new ViolationList();
  out.addAll(vis.violations);
  out.addAll(outcome.violations);
  return { violations: out.list(), visibleSteps: vis.visibleSteps, visibleCount: outcome.visible.length, nextSeq: outcome.nextSeq };
}

/** Recovers a crashed disk and checks what depends on the disk alone (4, 5, 6). Consumes `fs`. */
export function recoverCrashedStore(fs: FileSystem, env: RecoveryEnv): RecoveryOutcome {
  const out = new ViolationList();
  let first: Store;
  try {
    first = env.recover(fs, env.machine, env.hasher, env.storeOptions);
  } catch (err) {
    out.add('reopen-appends', `the store does not reopen after the crash: ${describe(err)}`);
    return { violations: out.list(), visible: null, nextSeq: -1, prunedBelowSeq: 0 };
  }
  try {
    const visible = first.query(ALL_EVENTS);
    const state = first.snapshotState();
    const base = loadBase(fs, SIM_STORE_DIR);
    checkVerify(fs, env.hasher, out, env.knownProblems);
    checkSnapshotReplay(fs, out, base);
    checkArchive(fs, env.hasher, out);
    first.close();
    checkLostFound(fs, out);
    checkSecondOpen(fs, env, visible, state, out);
    return { violations: out.list(), visible, nextSeq: state.nextSeq, prunedBelowSeq: base?.nextSeq ?? 0 };
  } catch (err) {
    try {
      first.close();
    } catch {
      // already failing; the first error is the one to report
    }
    out.add('reopen-appends', `the recovered store failed: ${describe(err)}`);
    return { violations: out.list(), visible: null, nextSeq: -1, prunedBelowSeq: 0 };
  }
}

/**
 * The store as every reader sees it: its segments from its base (a pruned store's),
 * files an interrupted prune left below the base ignored (FORMAT.md 11, rule 1).
 */
function verifyStore(fs: FileSystem, hasher: Blake3): ReturnType<typeof verifySegments> {
  const base = loadBase(fs, SIM_STORE_DIR);
  return verifySegments(fs, segmentsFromBase(listSegments(fs, SIM_STORE_DIR), base), hasher, base ? { base } : {});
}

/** Invariant 4: no verify error (from the base, if pruned), and recovery left no torn tail behind. */
function checkVerify(fs: FileSystem, hasher: Blake3, out: ViolationList, known: ReadonlySet<string> = new Set()): void {
  const report = verifyStore(fs, hasher);
  let listed = 0;
  for (const p of report.problems) {
    if ((p.severity !== 'error' && p.code !== 'torn_tail') || known.has(problemKey(p))) continue;
    if (listed++ >= MAX_VERIFY_DETAILS) continue;
    out.add('chain-verifies', `verify after recovery: ${p.code} in ${p.segment} at byte ${p.offset}${p.seq !== undefined ? ` (seq ${p.seq})` : ''}: ${p.message}`);
  }
  if (listed > MAX_VERIFY_DETAILS) out.add('chain-verifies', `verify after recovery: ${listed - MAX_VERIFY_DETAILS} more problems`);
}

/**
 * snapshot-replay: whatever snapshots a crash left (a stale one, one whose position the
 * crash took away), replay through them equals a full replay. A snapshot that does not fit
 * is skipped with a warning, never used.
 *
 * A pruned store has no full replay to compare with (the transactions before the cut
 * are gone, or in the archive). What must hold there: when the pruned part held
 * key/value operations (the base's version counter), replay finds a snapshot that fits
 * (a crash in a prune must never leave the store without one: its state would be
 * silently missing the pruned transactions); and every snapshot that fits gives the same
 * state and statistics as the newest one (they describe one log).
 */
function checkSnapshotReplay(fs: FileSystem, out: ViolationList, base: PruneBase | null): void {
  const snapshots = listSnapshots(fs, SIM_STORE_DIR);
  if (snapshots.length === 0 && base === null) return;
  const h = snapshotHasherSync();
  const via = replayWithSnapshotsSync(SIM_STORE_DIR, h, { fs, keepValues: true, maxWarnings: 0 });
  if (via.corruption) return; // damage is chain-verifies' finding
  if (base === null) {
    const full = replayWithSnapshotsSync(SIM_STORE_DIR, h, { fs, keepValues: true, maxWarnings: 0, noSnapshot: true });
    if (!full.corruption) compareReplays(via, full, 'a full replay', out);
    return;
  }
  if (via.snapshot === null) {
    if (base.maxKvVersion > 0) out.add('snapshot-replay', `the store was pruned (base at seq ${base.nextSeq}, key/value versions up to ${base.maxKvVersion}) and no snapshot fits: replay misses the pruned transactions (${via.snapshotWarnings.join('; ') || 'no snapshot left'})`);
    return;
  }
  for (const s of snapshots) {
    if (s.path === via.snapshot.file) continue;
    let other: SnapshotReplayResult;
    try {
      other = replayWithSnapshotsSync(SIM_STORE_DIR, h, { fs, keepValues: true, maxWarnings: 0, snapshotFile: s.path });
    } catch (err) {
      if ((err as { code?: string }).code === 'corrupt') continue; // does not fit: never used
      throw err;
    }
    if (!other.corruption) compareReplays(via, other, `replay through ${s.path}`, out);
  }
}

function compareReplays(via: SnapshotReplayResult, other: SnapshotReplayResult, otherName: string, out: ViolationList): void {
  const a = JSON.stringify(via.stats);
  const b = JSON.stringify(other.stats);
  const name = `replay through ${via.snapshot?.file ?? 'no snapshot'}`;
  if (a !== b) out.add('snapshot-replay', `${name} gives ${a}, ${otherName} ${b}`);
  else if (stateToJson(via.state) !== stateToJson(other.state)) out.add('snapshot-replay', `${name} gives another state than ${otherName}`);
}

/**
 * archive-parity: once a prune archived segments (its manifest exists), every archived
 * file matches the manifest and the archive and the live store verify as one log, from
 * sequence 0, without a hole (what `verify --archive` checks). A crash between the copy
 * and the base leaves segments both archived and live: the view takes the live ones
 * from after the archive's last.
 */
function checkArchive(fs: FileSystem, hasher: Blake3, out: ViolationList): void {
  if (!exists(fs, `${SIM_ARCHIVE_DIR}/${ARCHIVE_MANIFEST}`)) return;
  let view;
  try {
    view = archiveView(fs, SIM_ARCHIVE_DIR, SIM_STORE_DIR, snapshotHasherSync());
  } catch (err) {
    out.add('archive-parity', `archive and store do not make one log: ${describe(err)}`);
    return;
  }
  const report = verifySegments(fs, view.segments, hasher, view.base ? { base: view.base } : {});
  const errors = report.problems.filter((p) => p.severity === 'error');
  for (const p of errors.slice(0, MAX_VERIFY_DETAILS)) out.add('archive-parity', `verify --archive: ${p.code} in ${p.segment} at byte ${p.offset}: ${p.message}`);
}

/** Recovery's name for a cut tail: `<segment>.<offset>.<ms>.<reason>` (store.ts, cutTail). */
const CUT_TAIL_NAME = /^(.+)\.(\d+)\.(\d+)\.(torn-tail|incomplete-batch)$/;
/** Temp files of an interrupted copy (writeFileAtomic). */
const TEMP_SUFFIX = '.tmp';

/**
 * lost-found-clean: no leftover temp file, and no two copies of one cut tail (same
 * segment, offset, reason and bytes). Nothing reads lost+found/ back, so neither would be
 * misread; but it is where an operator looks for what a crash cost, and each copy there
 * should mean one cut. Tails the starting store already had in lost+found/ are counted
 * like the rest: a fixture with duplicates fails this on every state.
 */
function checkLostFound(fs: FileSystem, out: ViolationList): void {
  const dir = storePaths(SIM_STORE_DIR).lostFound;
  if (!exists(fs, dir)) return;
  const seen = new Map<string, Uint8Array[]>();
  for (const name of fs.readdir(dir).sort()) {
    if (name.endsWith(TEMP_SUFFIX)) {
      out.add('lost-found-clean', `lost+found/${name}: a temp file of an interrupted copy was left behind`);
      continue;
    }
    const m = CUT_TAIL_NAME.exec(name);
    if (!m) continue;
    const key = `${m[1]} ${m[2]} ${m[4]}`;
    const bytes = readWhole(fs, `${dir}/${name}`);
    const copies = seen.get(key) ?? [];
    if (copies.some((c) => c.length === bytes.length && equalBytes(c, 0, bytes, 0, bytes.length))) {
      out.add('lost-found-clean', `lost+found/${name}: the ${m[4]} of ${m[1]} at byte ${m[2]} is kept twice`);
    }
    copies.push(bytes);
    seen.set(key, copies);
  }
}

function readWhole(fs: FileSystem, path: string): Uint8Array {
  const fd = fs.open(path, 'r');
  try {
    const bytes = new Uint8Array(fs.fstat(fd).sizeBytes);
    readFully(fs, fd, bytes, 0, bytes.length, 0);
    return bytes;
  } finally {
    fs.close(fd);
  }
}

function problemKey(p: Problem): string {
  return `${p.code} ${p.segment} ${p.offset}`;
}

/** Errors (and torn tails) verify reports for the store on `fs`, as comparable keys. */
export function verifyProblemKeys(fs: FileSystem, hasher: Blake3): Set<string> {
  const report = verifyStore(fs, hasher);
  return new Set(report.problems.filter((p) => p.severity === 'error' || p.code === 'torn_tail').map(problemKey));
}

/** Invariants 6 (same state on a second reopen) and 5 (appends continue sequence and clock). */
function checkSecondOpen(
  fs: FileSystem,
  env: RecoveryEnv,
  visible: readonly DecodedEvent[],
  state: ReturnType<Store['snapshotState']>,
  out: ViolationList,
): void {
  let second: Store;
  try {
    second = env.recover(fs, env.machine, env.hasher, env.storeOptions);
  } catch (err) {
    out.add('idempotent', `the store reopens once but not twice: ${describe(err)}`);
    return;
  }
  try {
    const again = second.query(ALL_EVENTS);
    const state2 = second.snapshotState();
    const diff = diffStates(state, state2) ?? diffEvents(visible, again);
    if (diff) out.add('idempotent', `second reopen differs from the first: ${diff}`);
    probeAppends(second, state2, out);
  } catch (err) {
    out.add('reopen-appends', `the store failed after the second reopen: ${describe(err)}`);
  }
  // no close: the fork is thrown away, and a clean close (seal, footer, checkpoint) was
  // already checked by the first open's close; dropping the store is a process exit
}

function probeAppends(store: Store, state: ReturnType<Store['snapshotState']>, out: ViolationList): void {
  const heads = state.heads;
  const expectSeq = state.nextSeq;
  const head = heads.get(PROBE_ENTITY);
  let single;
  let batch;
  try {
    single = store.append({ entity: PROBE_ENTITY, scope: PROBE_SCOPE }, { probe: 'single' });
    batch = store.appendBatch(PROBE_BATCH_ENTITIES.map((entity, i) => ({ entity, scope: PROBE_SCOPE, payload: { probe: 'batch', i } })));
  } catch (err) {
    out.add('reopen-appends', `an append after recovery failed: ${describe(err)}`);
    return;
  }
  const expectClock = head ? head.clock + 1 : 0;
  if (single.seq !== expectSeq) out.add('reopen-appends', `first append after recovery got seq ${single.seq}, expected ${expectSeq}`);
  if (single.clock !== expectClock) out.add('reopen-appends', `first append to ${PROBE_ENTITY} got clock ${single.clock}, expected ${expectClock}`);
  if (head && single.wallMs < head.wallMs) out.add('reopen-appends', `append after recovery went back in time: ${single.wallMs} < ${head.wallMs}`);
  batch.forEach((r, i) => {
    if (r.seq !== expectSeq + 1 + i) out.add('reopen-appends', `batch item ${i} after recovery got seq ${r.seq}, expected ${expectSeq + 1 + i}`);
    const h = heads.get(PROBE_BATCH_ENTITIES[i]!);
    const c = h ? h.clock + 1 : 0;
    if (r.clock !== c) out.add('reopen-appends', `batch item ${i} (${PROBE_BATCH_ENTITIES[i]}) got clock ${r.clock}, expected ${c}`);
  });
}

function diffStates(a: ReturnType<Store['snapshotState']>, b: ReturnType<Store['snapshotState']>): string | null {
  if (a.nextSeq !== b.nextSeq) return `nextSeq ${a.nextSeq} then ${b.nextSeq}`;
  if (a.nextTxnId !== b.nextTxnId) return `nextTxnId ${a.nextTxnId} then ${b.nextTxnId}`;
  if (a.heads.size !== b.heads.size) return `${a.heads.size} entities then ${b.heads.size}`;
  for (const [entity, h] of a.heads) {
    const g = b.heads.get(entity);
    if (!g || !sameHead(h, g)) return `head of ${entity} differs`;
  }
  return null;
}

function sameHead(a: EntityHead, b: EntityHead): boolean {
  return a.clock === b.clock && a.wallMs === b.wallMs && equalBytes(a.hash, 0, b.hash, 0, HASH_BYTES);
}

function diffEvents(a: readonly DecodedEvent[], b: readonly DecodedEvent[]): string | null {
  if (a.length !== b.length) return `${a.length} committed events then ${b.length}`;
  for (let i = 0; i < a.length; i++) {
    if (a[i]!.eventHash !== b[i]!.eventHash) return `event ${i} in commit order differs (seq ${a[i]!.seq} then ${b[i]!.seq})`;
  }
  return null;
}

export function describe(err: unknown): string {
  if (err && typeof err === 'object') {
    const e = err as { code?: unknown; message?: unknown; oneLine?: () => string };
    if (typeof e.oneLine === 'function') return `[${String(e.code)}] ${e.oneLine()}`;
    if (typeof e.message === 'string') return e.code ? `[${String(e.code)}] ${e.message}` : e.message;
  }
  return String(err);
}
