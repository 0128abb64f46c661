/**
 * Drill workloads: deterministic lists of steps (open, append, batch, close) built from a
 * seed. Every payload carries its step and item index (`{"drill":[step,item],...}`), so
 * a checker can tell which write an event on disk came from without trusting the disk.
 */
import { utf8 } from '../../format/bytes.js';
import { Prng } from '../fs/sim-fs.js';
import type { StoreOptions } from '../options.js';
import { mixSeed } from './sim-env.js';

export type WorkloadName = 'default' | 'batches' | 'singles';
export const WORKLOAD_NAMES: readonly WorkloadName[] = ['default', 'batches', 'singles'];

export interface ItemSpec {
  entity: string;
  scope: string;
  payload: Uint8Array;
}

export type Step =
  /** A new process opens the store read-write (recovery runs). */
  | { kind: 'open' }
  /** Clean close: seal, fsync, release the lock. */
  | { kind: 'close' }
  | { kind: 'append'; item: ItemSpec }
  | { kind: 'batch'; items: ItemSpec[] };

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

/** Step counts of each workload, sized for about 1,500 mutating operations (6,000 crash states in four modes). */
const STEP_COUNTS: Record<WorkloadName, number> = { default: 330, batches: 170, singles: 620 };

export function payloadFor(step: number, item: number, padBytes: number, rng: Prng): Uint8Array {
  let pad = '';
  for (let i = 0; i < padBytes; i++) pad += String.fromCharCode(97 + rng.nextInt(26));
  return utf8.encode(JSON.stringify({ drill: [step, item], pad }));
}

/** The step/item tag of a drill payload, or null when the event was not written by a drill. */
export function parsePayloadTag(payload: Uint8Array): PayloadTag | null {
  // Drill payloads start with this exact prefix; anything else (fixture events) is not ours.
  if (payload.length < 12 || payload[0] !== 0x7b || payload[2] !== 0x64) return null;
  try {
    const v = JSON.parse(Buffer.from(payload.buffer, payload.byteOffset, payload.length).toString('utf8')) as { drill?: unknown };
    const d = v.drill;
    if (Array.isArray(d) && d.length === 2 && Number.isInteger(d[0]) && Number.isInteger(d[1])) {
      return { step: d[0] as number, item: d[1] as number };
    }
  } catch {
    // not JSON: not a drill payload
  }
  return null;
}

function entityName(i: number): string {
  return `acct:${i}`;
}

/**
 * Builds a workload. `default` mixes single appends, small batches, batches that span
 * segments, and clean close/reopen cycles; `batches` and `singles` stress one path.
 */
export function buildWorkload(name: WorkloadName, seed: number): Workload {
  const rng = new Prng(mixSeed(seed, 0x3017));
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
  const total = STEP_COUNTS[name];
  while (steps.length < total) {
    const s = steps.length;
    const r = rng.nextInt(100);
    if (name === 'singles') {
      if (r < 4) steps.push({ kind: 'close' }, { kind: 'open' });
      else steps.push({ kind: 'append', item: item(s, 0, 10 + rng.nextInt(300)) });
    } else if (name === 'batches') {
      if (r < 5) steps.push({ kind: 'close' }, { kind: 'open' });
      else if (r < 25) steps.push(batch(s, 10 + rng.nextInt(6), () => SPANNING_ITEM_PAD_BYTES + rng.nextInt(80)));
      else steps.push(batch(s, 1 + rng.nextInt(6), () => 10 + rng.nextInt(200)));
    } else if (r < 4) {
      steps.push({ kind: 'close' }, { kind: 'open' });
    } else if (r < 52) {
      steps.push({ kind: 'append', item: item(s, 0, 10 + rng.nextInt(300)) });
    } else if (r < 88) {
      steps.push(batch(s, 1 + rng.nextInt(6), () => 10 + rng.nextInt(200)));
    } else {
      steps.push(batch(s, 10 + rng.nextInt(6), () => SPANNING_ITEM_PAD_BYTES + rng.nextInt(80)));
    }
  }
  steps.push({ kind: 'close' });
  const storeOptions: Partial<StoreOptions> =
    name === 'singles'
      ? { segmentMaxBytes: DRILL_SEGMENT_MAX_BYTES, sync: 'batch', syncEveryNEvents: 5 }
      : { segmentMaxBytes: DRILL_SEGMENT_MAX_BYTES, sync: 'batch', syncEveryNEvents: 3 };
  return { name, storeOptions, steps };
}
