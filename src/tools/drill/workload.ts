/**
 * Drill workloads: deterministic lists of steps (open, append, batch, close) built from a
 * seed. Every payload carries its step and item index (`{"drill":[step,item],...}`), so
 * a checker can tell which write an event on disk came from without trusting the disk.
 */
import { utf8 } from '../../format/bytes.js';
import { Prng } from '../../sim/sim-fs.js';
import type { StoreOptions } from '../../engine/io/options.js';
import { mixSeed } from './sim-env.js';

export type WorkloadName = 'default' | 'batches' | 'singles' | 'txn' | 'bounded';
export const WORKLOAD_NAMES: readonly WorkloadName[] = ['default', 'batches', 'singles', 'txn', 'bounded'];
/**
 * The workloads the seeded simulation (simulation.ts) picks from by seed: the list it
 * had when its regression seeds were found, so each seed keeps its workload.
 */
export const SIMULATION_WORKLOADS: readonly WorkloadName[] = ['default', 'batches', 'singles', 'txn'];
/** Where the `bounded` workload's prunes archive their segments, on the simulated disk. */
export const SIM_ARCHIVE_DIR = '/archive';

export interface ItemSpec {
  entity: string;
  scope: string;
  /** The event's payload; for a key/value operation, the value's JSON (put) or nothing (delete), without the version. */
  payload: Uint8Array;
  /** A key/value operation of an interactive transaction (store.beginTxn()). */
  kv?: { op: 'put' | 'delete'; key: string };
}

export type Step =
  /** A new process opens the store read-write (recovery runs). */
  | { kind: 'open' }
  /** Clean close: seal, fsync, release the lock. */
  | { kind: 'close' }
  | { kind: 'append'; item: ItemSpec }
  | { kind: 'batch'; items: ItemSpec[] }
  /** An operation of the interactive transaction that step `txn` started (its first op begins it). */
  | { kind: 'txnOp'; txn: number; item: ItemSpec }
  | { kind: 'txnCommit'; txn: number }
  | { kind: 'txnAbort'; txn: number }
  /** A key/value snapshot at the current commit position (engine/snapshot.ts), as a writer takes one. */
  | { kind: 'snapshot' }
  /**
   * The writer stops (clean close) and `seglog prune` runs as its own process
   * (tools/prune.ts, through the engine API): cut at `fraction` of the next sequence, the
   * segments moved to SIM_ARCHIVE_DIR when `archive`. The next write reopens the store.
   */
  | { kind: 'prune'; fraction: number; archive: boolean };

export interface Workload {
  name: WorkloadName;
  /** Options for a store the workload creates (an existing store keeps its own). */
  storeOptions: Partial<StoreOptions>;
  steps: Step[];
}

/** The payload tag: which step and item wrote an event. */
export interface PayloadTag {
  step: number;
  item: number;
}

const ENTITY_COUNT = 6;
const SCOPE = 'tenant:drill';
/** Small segments so a workload rotates often and batches span segments. */
const DRILL_SEGMENT_MAX_BYTES = 4096;
/** Smallest segment size the engine accepts; batches of ~300-byte items span it. */
const SPANNING_ITEM_PAD_BYTES = 320;

/**
 * A drill runs several episodes of a workload, each on its own copy of the starting
 * store. Short episodes keep every crash state's store small, so checking it is cheap,
 * and each episode crosses the early-life operations (store creation, first rotation)
 * again with other sizes. `default`: about 2,000 mutating operations, 8,000 crash states
 * in four modes.
 */
const EPISODES: Record<WorkloadName, { count: number; steps: number }> = {
  default: { count: 6, steps: 46 },
  batches: { count: 6, steps: 30 },
  singles: { count: 6, steps: 150 },
  txn: { count: 6, steps: 90 },
  bounded: { count: 4, steps: 80 },
};
/** `bounded`: chance (percent) of a prune at a step, and the cut's range as a fraction of the log. */
const PRUNE_PERCENT = 7;
const PRUNE_MIN_FRACTION = 0.3;
/** Interactive transactions open at once (their frames interleave in the log). */
const MAX_OPEN_TXNS = 3;
const KV_KEYS = 8;

export function episodeCount(name: WorkloadName): number {
  return EPISODES[name].count;
}

export function payloadFor(step: number, item: number, padBytes: number, rng: Prng): Uint8Array {
  let pad = '';
  for (let i = 0; i < padBytes; i++) pad += String.fromCharCode(97 + rng.nextInt(26));
  return utf8.encode(JSON.stringify({ drill: [step, item], pad }));
}

/** The step/item tag of a drill payload, or null when the event was not written by a drill. */
const TAG_PREFIX = utf8.encode('{"drill":[');
const CHAR_0 = 0x30;
const CHAR_9 = 0x39;
const CHAR_COMMA = 0x2c;
const CHAR_CLOSE = 0x5d;
/** Longest step or item number a tag may carry (keeps the parse bounded). */
const MAX_TAG_DIGITS = 9;

/**
 * The step/item tag of a drill payload, or null when the event was not written by a
 * drill. Parsed in place from the fixed prefix `{"drill":[step,item]`: the checker runs
 * this for every visible event of every crash state, so no JSON.parse.
 */
export function parsePayloadTag(payload: Uint8Array): PayloadTag | null {
  if (payload.length < TAG_PREFIX.length + 4) return null;
  for (let i = 0; i < TAG_PREFIX.length; i++) if (payload[i] !== TAG_PREFIX[i]) return null;
  let pos = TAG_PREFIX.length;
  const number = (end: number): number => {
    let value = 0;
    let digits = 0;
    while (pos < payload.length && payload[pos]! >= CHAR_0 && payload[pos]! <= CHAR_9 && digits < MAX_TAG_DIGITS) {
      value = value * 10 + (payload[pos]! - CHAR_0);
      pos++;
      digits++;
    }
    if (digits === 0 || payload[pos] !== end) return -1;
    pos++;
    return value;
  };
  const step = number(CHAR_COMMA);
  if (step < 0) return null;
  const item = number(CHAR_CLOSE);
  if (item < 0) return null;
  return { step, item };
}

function entityName(i: number): string {
  return `acct:${i}`;
}

/**
 * Builds one episode of a workload. `default` mixes single appends, small batches, batches
 * that span segments, interleaved interactive transactions (key/value puts and deletes,
 * committed or aborted, some abandoned at a close), and clean close/reopen cycles;
 * `batches`, `singles` and `txn` stress one path; `bounded` mixes the writes with
 * snapshots and prunes (issue 17), archiving in every other episode.
 */
export function buildWorkload(name: WorkloadName, seed: number, episode = 0): Workload {
  const rng = new Prng(mixSeed(seed, 0x3017, episode));
  const steps: Step[] = [{ kind: 'open' }];
  const item = (step: number, index: number, padBytes: number): ItemSpec => ({
    entity: entityName(rng.nextInt(ENTITY_COUNT)),
    scope: SCOPE,
    payload: payloadFor(step, index, padBytes, rng),
  });
  const batch = (step: number, count: number, padBytes: () => number): Step => ({
    kind: 'batch',
    items: Array.from({ length: count }, (_, i) => item(step, i, padBytes())),
  });
  // open transactions: the step that started each, and how many operations it wrote
  const open: { txn: number; ops: number }[] = [];
  const closeAndReopen = (): void => {
    // transactions still open are abandoned with the process: recovery and replay drop them
    open.length = 0;
    steps.push({ kind: 'close' }, { kind: 'open' });
  };
  const txnStep = (s: number): void => {
    const r = rng.nextInt(100);
    if (open.length > 0 && r < 30) {
      const t = open.splice(rng.nextInt(open.length), 1)[0]!;
      steps.push(rng.nextInt(100) < 75 ? { kind: 'txnCommit', txn: t.txn } : { kind: 'txnAbort', txn: t.txn });
      return;
    }
    let t = open.length > 0 && (open.length >= MAX_OPEN_TXNS || r < 75) ? open[rng.nextInt(open.length)]! : undefined;
    if (!t) open.push((t = { txn: s, ops: 0 }));
    const key = `k${rng.nextInt(KV_KEYS)}`;
    const del = t.ops > 0 && rng.nextInt(100) < 20;
    const payload = del ? new Uint8Array(0) : payloadFor(t.txn, t.ops, 10 + rng.nextInt(120), rng);
    steps.push({ kind: 'txnOp', txn: t.txn, item: { entity: `kv:${key}`, scope: '', payload, kv: { op: del ? 'delete' : 'put', key } } });
    t.ops++;
  };
  /**
   * Finishes every open transaction (commit or abort): a transaction abandoned at a close
   * stays open in the log for ever, and its BEGIN holds every later snapshot's resume
   * point, so no prune could pass it (`bounded` abandons none).
   */
  const finishOpen = (): void => {
    while (open.length > 0) {
      const t = open.shift()!;
      steps.push(rng.nextInt(100) < 75 ? { kind: 'txnCommit', txn: t.txn } : { kind: 'txnAbort', txn: t.txn });
    }
  };
  // every other episode of `bounded` archives what it prunes (one archive, one contiguous run)
  const archive = episode % 2 === 1;
  const total = EPISODES[name].steps;
  while (steps.length < total) {
    const s = steps.length;
    const r = rng.nextInt(100);
    if (name === 'bounded') {
      if (r < 3) {
        finishOpen();
        steps.push({ kind: 'close' }, { kind: 'open' });
      } else if (r < 3 + PRUNE_PERCENT) {
        // a snapshot at the end of the log, then the prune that needs it
        finishOpen();
        steps.push({ kind: 'snapshot' }, { kind: 'prune', fraction: PRUNE_MIN_FRACTION + (1 - PRUNE_MIN_FRACTION) * (rng.nextInt(1000) / 1000), archive });
      } else if (r < 14) steps.push({ kind: 'snapshot' });
      else if (r < 35) steps.push({ kind: 'append', item: item(s, 0, 10 + rng.nextInt(300)) });
      else if (r < 50) steps.push(batch(s, 1 + rng.nextInt(6), () => 10 + rng.nextInt(200)));
      else if (r < 56) steps.push(batch(s, 10 + rng.nextInt(6), () => SPANNING_ITEM_PAD_BYTES + rng.nextInt(80)));
      else txnStep(s);
      continue;
    }
    if (name === 'singles') {
      if (r < 4) closeAndReopen();
      else steps.push({ kind: 'append', item: item(s, 0, 10 + rng.nextInt(300)) });
    } else if (name === 'batches') {
      if (r < 5) closeAndReopen();
      else if (r < 25) steps.push(batch(s, 10 + rng.nextInt(6), () => SPANNING_ITEM_PAD_BYTES + rng.nextInt(80)));
      else steps.push(batch(s, 1 + rng.nextInt(6), () => 10 + rng.nextInt(200)));
    } else if (name === 'txn') {
      if (r < 4) closeAndReopen();
      else if (r < 8) steps.push({ kind: 'snapshot' });
      else if (r < 20) steps.push({ kind: 'append', item: item(s, 0, 10 + rng.nextInt(300)) });
      else txnStep(s);
    } else if (r < 6) {
      closeAndReopen();
    } else if (r < 9) {
      steps.push({ kind: 'snapshot' });
    } else if (r < 40) {
      steps.push({ kind: 'append', item: item(s, 0, 10 + rng.nextInt(300)) });
    } else if (r < 65) {
      steps.push(batch(s, 1 + rng.nextInt(6), () => 10 + rng.nextInt(200)));
    } else if (r < 75) {
      steps.push(batch(s, 10 + rng.nextInt(6), () => SPANNING_ITEM_PAD_BYTES + rng.nextInt(80)));
    } else {
      txnStep(s);
    }
  }
  if (name === 'bounded') finishOpen();
  steps.push({ kind: 'close' });
  const storeOptions: Partial<StoreOptions> =
    name === 'singles'
      ? { segmentMaxBytes: DRILL_SEGMENT_MAX_BYTES, sync: 'batch', syncEveryNEvents: 5 }
      : { segmentMaxBytes: DRILL_SEGMENT_MAX_BYTES, sync: 'batch', syncEveryNEvents: 3 };
  return { name, storeOptions, steps };
}
