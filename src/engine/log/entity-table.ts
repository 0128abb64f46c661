/**
 * Per-entity state looked up by the entity's bytes, for the scan loops (verify, the
 * open-time scan). Those loops used to decode every event's entity to a string and
 * look it up in a Map: the UTF-8 decode, the string's hash and the Map probe were a
 * fifth of verify's time. This open-addressing table, keyed by the entity's bytes,
 * answers a known entity with a hash of its bytes and one byte comparison, no string
 * made; the string is decoded once per distinct entity.
 *
 * The Map stays the source of truth (callers read it at the end); the table only
 * remembers which Map value belongs to which bytes. Values must be updated in place,
 * never replaced, once inserted. Past MAX_CACHED_ENTITIES distinct entities, new ones
 * take the slow path (decode and Map lookup) every time: memory stays bounded.
 */
const INITIAL_SLOTS = 1024;
const MAX_CACHED_ENTITIES = 1 << 20;
/** Bytes of a long entity that go into its hash (its start and its end). */
const HASHED_EDGE_BYTES = 16;
const EMPTY = -1;

export class EntityTable<V> {
  readonly map: Map<string, V>;
  private mask = INITIAL_SLOTS - 1;
  private slotKey = new Int32Array(INITIAL_SLOTS).fill(EMPTY);
  private slotLen = new Int32Array(INITIAL_SLOTS);
  private slotHash = new Int32Array(INITIAL_SLOTS);
  private slotName: string[] = new Array<string>(INITIAL_SLOTS).fill('');
  private slotValue: (V | undefined)[] = new Array<V | undefined>(INITIAL_SLOTS).fill(undefined);
  private keyBytes = new Uint8Array(16 * 1024);
  private keyUsed = 0;
  private count = 0;
  /** Slot of the last `lookup` (-1: not cached). */
  private lastSlot = EMPTY;
  /** The entity name of the last `lookup` (UTF-8 decoded). */
  name = '';

  constructor(map: Map<string, V> = new Map()) {
    this.map = map;
  }

  /** The value for the entity at buf[start, start + len), or undefined; sets `name`. */
  lookup(buf: Uint8Array, start: number, len: number): V | undefined {
    const h = hashBytes(buf, start, len);
    const keys = this.keyBytes;
    let i = h & this.mask;
    for (;;) {
      const ko = this.slotKey[i]!;
      if (ko === EMPTY) break;
      if (this.slotHash[i] === h && this.slotLen[i] === len) {
        let j = 0;
        while (j < len && keys[ko + j] === buf[start + j]) j++;
        if (j === len) {
          this.lastSlot = i;
          this.name = this.slotName[i]!;
          let v = this.slotValue[i];
          if (v === undefined) this.slotValue[i] = v = this.map.get(this.name);
          return v;
        }
      }
      i = (i + 1) & this.mask;
    }
    const name = Buffer.from(buf.buffer, buf.byteOffset + start, len).toString('utf8');
    this.name = name;
    const v = this.map.get(name);
    this.lastSlot = this.count < MAX_CACHED_ENTITIES ? this.add(buf, start, len, h, name, v) : EMPTY;
    return v;
  }

  /** Adds the value for the entity of the last `lookup` (which returned undefined). */
  insert(v: V): void {
    this.map.set(this.name, v);
    if (this.lastSlot !== EMPTY) this.slotValue[this.lastSlot] = v;
  }

  private add(buf: Uint8Array, start: number, len: number, h: number, name: string, v: V | undefined): number {
    if (2 * (this.count + 1) > this.slotKey.length) this.rehash(this.slotKey.length * 2);
    if (this.keyUsed + len > this.keyBytes.length) {
      const bigger = new Uint8Array(Math.max(this.keyBytes.length * 2, this.keyUsed + len));
      bigger.set(this.keyBytes.subarray(0, this.keyUsed));
      this.keyBytes = bigger;
    }
    const ko = this.keyUsed;
    for (let j = 0; j < len; j++) this.keyBytes[ko + j] = buf[start + j]!;
    this.keyUsed += len;
    let i = h & this.mask;
    while (this.slotKey[i] !== EMPTY) i = (i + 1) & this.mask;
    this.slotKey[i] = ko;
    this.slotLen[i] = len;
    this.slotHash[i] = h;
    this.slotName[i] = name;
    this.slotValue[i] = v;
    this.count++;
    return i;
  }

  private rehash(slots: number): void {
    const { slotKey, slotLen, slotHash, slotName, slotValue } = this;
    this.mask = slots - 1;
    this.slotKey = new Int32Array(slots).fill(EMPTY);
    this.slotLen = new Int32Array(slots);
    this.slotHash = new Int32Array(slots);
    this.slotName = new Array<string>(slots).fill('');
    this.slotValue = new Array<V | undefined>(slots).fill(undefined);
    for (let s = 0; s < slotKey.length; s++) {
      if (slotKey[s] === EMPTY) continue;
      let i = slotHash[s]! & this.mask;
      while (this.slotKey[i] !== EMPTY) i = (i + 1) & this.mask;
      this.slotKey[i] = slotKey[s]!;
      this.slotLen[i] = slotLen[s]!;
      this.slotHash[i] = slotHash[s]!;
      this.slotName[i] = slotName[s]!;
      this.slotValue[i] = slotValue[s];
    }
  }
}

/** FNV-1a-style hash of the entity's bytes (of its first and last 16 when long), mixed. */
function hashBytes(buf: Uint8Array, start: number, len: number): number {
  let h = Math.imul(len, 0x9e3779b1) ^ 0x811c9dc5;
  if (len <= 2 * HASHED_EDGE_BYTES) {
    for (let j = 0; j < len; j++) h = Math.imul(h ^ buf[start + j]!, 0x01000193);
  } else {
    for (let j = 0; j < HASHED_EDGE_BYTES; j++) h = Math.imul(h ^ buf[start + j]!, 0x01000193);
    for (let j = len - HASHED_EDGE_BYTES; j < len; j++) h = Math.imul(h ^ buf[start + j]!, 0x01000193);
  }
  return h ^ (h >>> 15);
}
