/**
 * Which chain-table slot holds each entity's latest hash while a bulk session's hashes
 * are completed by the write-behind thread (format/chain-hash.ts; bulk.ts). An entity
 * gets a slot at its first event after a synchronisation: that event carries its
 * prev_hash (the head's hash, complete then), and every later one takes it from the
 * slot. `release` hands each slot's hash to its entity head, once every queued hash is
 * complete, and starts a new generation: slots are given out afresh.
 */
import { CHAIN_TABLE_SLOTS, HASH_DONE } from '../../format/chain-hash.js';
import { HASH_BYTES } from '../../format/hash/blake3.js';
import type { EntityHead } from '../recovery/recovery-scan.js';

export class ChainSlots {
  private gen = 1;
  /** By session entity index: the generation its slot belongs to, and the slot. */
  private slotGen: Int32Array = new Int32Array(1024);
  private slotOf: Int32Array = new Int32Array(1024);
  /** By slot: the head its hash belongs to. */
  private readonly heads: (EntityHead | undefined)[] = [];
  private next = 0;

  /**
   * The chain code (format/chain-hash.ts) of the next event of session entity `entity`,
   * or HASH_DONE when the table is full: release first.
   */
  code(entity: number): number {
    if (entity < this.slotGen.length && this.slotGen[entity] === this.gen) return this.slotOf[entity]! * 2 + 1;
    if (this.next === CHAIN_TABLE_SLOTS) return HASH_DONE;
    if (entity >= this.slotGen.length) {
      const n = Math.max(entity + 1, this.slotGen.length * 2);
      this.slotGen = grown(this.slotGen, n);
      this.slotOf = grown(this.slotOf, n);
    }
    const slot = this.next++;
    this.slotGen[entity] = this.gen;
    this.slotOf[entity] = slot;
    return slot * 2;
  }

  /** The head whose hash the event of `code` completes. */
  bind(code: number, head: EntityHead): void {
    if ((code & 1) === 0) this.heads[code >>> 1] = head;
  }

  /** Every slot's hash into its head (every queued hash complete in `table`); a new generation. */
  release(table: Uint8Array): void {
    for (let s = 0; s < this.next; s++) {
      const h = this.heads[s]!.hash;
      const t = s * HASH_BYTES;
      for (let k = 0; k < HASH_BYTES; k++) h[k] = table[t + k]!;
      this.heads[s] = undefined;
    }
    this.next = 0;
    this.gen++;
  }
}

function grown(a: Int32Array, n: number): Int32Array {
  const b = new Int32Array(n);
  b.set(a);
  return b;
}
