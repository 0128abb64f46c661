/**
 * The sequence, clock, hash-chain and wall-time rules of the log (docs/FORMAT.md
 * section 3, rules 1-4, and the gap records of section 5.2), once.
 *
 * A ChainFold consumes EVENT frames and gap records in file order, keeps the next
 * expected global sequence and each entity's head (clock, last event_hash, wall time),
 * and emits a fact when a frame breaks a rule; its consumer (the open-time scan,
 * verify) decides what the fact means: a semantic fault that makes a read-write open
 * refuse, or a reported problem. docs/FORMAT.md section 4.2 is the table.
 *
 * Repair's analysis (repair/analyzer.ts) applies the same rules but does not use this
 * fold: it does not judge a frame that breaks them, it works out where the missing
 * events were lost (which damaged range, how many links) and plans gap records there.
 *
 * Hot path: two calls per EVENT frame (`lookup`, then `advance`), no allocation per
 * frame: the entity is found by its bytes in place (entity-table.ts), the chain link is
 * compared and the head's hash copied in place, a 32-bit word at a time when the heads
 * carry a word view (verify's), else byte by byte.
 */
import { HASH_BYTES } from '../../format/hash/blake3.js';
import { EV, ev } from '../../format/event.js';
import { gap, GapKind } from '../../format/gap.js';
import { EntityTable } from './entity-table.js';

/** An entity's head: what the next event of the entity must continue. Updated in place, never replaced. */
export interface ChainHead {
  clock: number;
  hash: Uint8Array;
  wallMs: number;
}

/** A head whose hash is also seen as 32-bit words (verify's hot loop compares and copies words). */
export interface WordHead extends ChainHead {
  words: DataView<ArrayBufferLike>;
}

export function newWordHead(clock: number, wallMs: number): WordHead {
  const hash = new Uint8Array(HASH_BYTES);
  const head = { clock, wallMs, hash } as WordHead;
  // not enumerable: a second view of `hash`, not state (heads compare equal with plain ones:
  // the open-time scan's heads are word heads, a checkpoint's are not)
  Object.defineProperty(head, 'words', { value: new DataView(hash.buffer), enumerable: false, writable: false });
  return head;
}

export function newPlainHead(clock: number, wallMs: number): ChainHead {
  return { clock, wallMs, hash: new Uint8Array(HASH_BYTES) };
}

/**
 * Facts about a frame that breaks a rule. Called during `advance` / `gap`, in this
 * order; `fold.seq` and `fold.entity` describe the frame.
 */
export interface ChainFacts {
  /** An EVENT whose sequence is not the next one. */
  sequenceJump(seq: number, expected: number): void;
  /** An EVENT whose entity clock is not its entity's next. */
  clockGap(clock: number, expected: number): void;
  /** An EVENT whose prev_hash is not its entity's last event_hash. */
  chainBreak(): void;
  /** An EVENT whose wall time is before its entity's previous one. */
  wallRegression(wallMs: number, previousMs: number): void;
  /** A sequence gap record whose first sequence is not the next one. */
  gapSequenceOutOfPlace(first: number, expected: number): void;
  /** An entity gap record whose first clock is not its entity's next. */
  gapClockOutOfPlace(first: number, expected: number): void;
}

/** A zero hash as words: what an entity's first prev_hash must be. */
const ZERO_WORDS = new DataView(new ArrayBuffer(HASH_BYTES));
const ZERO_BYTES = new Uint8Array(HASH_BYTES);

export interface ChainFoldOptions<H extends ChainHead> {
  /** Makes the head of an entity met for the first time. */
  newHead: (clock: number, wallMs: number) => H;
  /** Heads carry `words` (WordHead): links are compared and copied a word at a time. */
  words: boolean;
  /**
   * The frames start mid-log (a lone segment file): the first sequence is taken as
   * given, and so is an entity's first clock and link when it is not 0.
   */
  midChain: boolean;
}

export class ChainFold<H extends ChainHead> {
  /** The next expected global sequence (-1: not known yet, mid-chain). */
  nextSeq: number;
  /** The frame being folded: its sequence and its entity's name. */
  seq = 0;
  entity = '';
  private readonly entities: EntityTable<H>;
  private readonly newHead: (clock: number, wallMs: number) => H;
  private readonly words: boolean;
  private readonly midChain: boolean;
  /** A DataView over the frames' buffer `frameViewOf`, remembered (by identity: reading `buf.buffer` per event costs more than the compares). */
  private frameViewOf: Uint8Array | null = null;
  private frameView: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));

  constructor(
    readonly heads: Map<string, H>,
    private readonly facts: ChainFacts,
    opts: ChainFoldOptions<H>,
  ) {
    this.entities = new EntityTable(heads);
    this.newHead = opts.newHead;
    this.words = opts.words;
    this.midChain = opts.midChain;
    this.nextSeq = opts.midChain ? -1 : 0;
  }

  /** The head of the EVENT at body `b` (undefined: its entity's first event); sets `seq` and `entity`. */
  lookup(buf: Uint8Array, b: number): H | undefined {
    this.seq = ev.seq(buf, b);
    const head = this.entities.lookup(buf, b + EV.VAR, ev.entityLen(buf, b));
    this.entity = this.entities.name;
    return head;
  }

  /** Applies the rules to the EVENT at body `b` whose head `lookup` just returned, then advances. */
  advance(buf: Uint8Array, b: number, found: H | undefined): H {
    const facts = this.facts;
    const seq = this.seq;
    if (this.nextSeq >= 0 && seq !== this.nextSeq) facts.sequenceJump(seq, this.nextSeq);
    this.nextSeq = seq + 1;
    const clock = ev.clock(buf, b);
    const wall = ev.wallMs(buf, b);
    const expectClock = found ? found.clock + 1 : 0;
    // mid-chain, an entity's first event there is taken as given
    const known = found !== undefined || clock === 0 || !this.midChain;
    if (known && clock !== expectClock) facts.clockGap(clock, expectClock);
    const hs = ev.hashStart(buf, b);
    if (this.words) {
      if (buf !== this.frameViewOf) {
        this.frameViewOf = buf;
        this.frameView = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
      }
      const f = this.frameView;
      if (known && !sameWords(f, b + EV.PREV_HASH, found ? (found as unknown as WordHead).words : ZERO_WORDS)) facts.chainBreak();
      if (found && wall < found.wallMs) facts.wallRegression(wall, found.wallMs);
      const head = found ?? this.insert(clock, wall);
      head.clock = clock;
      head.wallMs = Math.max(head.wallMs, wall);
      const hw = (head as unknown as WordHead).words;
      for (let i = 0; i < HASH_BYTES; i += 4) hw.setInt32(i, f.getInt32(hs + i, true), true);
      return head;
    }
    if (known && !sameBytes(buf, b + EV.PREV_HASH, found ? found.hash : ZERO_BYTES)) facts.chainBreak();
    if (found && wall < found.wallMs) facts.wallRegression(wall, found.wallMs);
    const head = found ?? this.insert(clock, wall);
    head.clock = clock;
    head.wallMs = Math.max(head.wallMs, wall);
    const hh = head.hash;
    for (let i = 0; i < HASH_BYTES; i++) hh[i] = buf[hs + i]!;
    return head;
  }

  private insert(clock: number, wall: number): H {
    const head = this.newHead(clock, wall);
    this.entities.insert(head);
    return head;
  }

  /**
   * A repair's gap record at body `b` (format/gap.ts, checked: its fields are below
   * 2^53). A sequence gap moves the next sequence past its run (never back); an entity
   * gap moves the entity's clock past its lost links, sets its chain head to the resume
   * hash and raises its wall time to the floor.
   */
  gap(buf: Uint8Array, b: number): void {
    const first = gap.first(buf, b);
    const count = gap.count(buf, b);
    if (gap.kind(buf, b) === GapKind.SEQUENCE) {
      this.seq = first;
      this.entity = '';
      if (this.nextSeq >= 0 && first !== this.nextSeq) this.facts.gapSequenceOutOfPlace(first, this.nextSeq);
      this.nextSeq = Math.max(this.nextSeq, first + count);
      return;
    }
    const s = gap.entityStart(b);
    let head = this.entities.lookup(buf, s, gap.entityLen(buf, b));
    this.entity = this.entities.name;
    const expected = head ? head.clock + 1 : 0;
    const known = head !== undefined || first === 0 || !this.midChain;
    if (known && first !== expected) this.facts.gapClockOutOfPlace(first, expected);
    if (!head) head = this.insert(0, 0);
    head.clock = first + count - 1;
    const h = gap.resumeHashOffset(b);
    for (let i = 0; i < HASH_BYTES; i++) head.hash[i] = buf[h + i]!;
    head.wallMs = Math.max(head.wallMs, gap.wallFloorMs(buf, b));
  }
}

/** Whether the 32 bytes at `f`[off] equal the hash in `h`. */
function sameWords(f: DataView<ArrayBufferLike>, off: number, h: DataView<ArrayBufferLike>): boolean {
  for (let i = 0; i < HASH_BYTES; i += 4) if (f.getInt32(off + i, true) !== h.getInt32(i, true)) return false;
  return true;
}

function sameBytes(buf: Uint8Array, off: number, h: Uint8Array): boolean {
  for (let i = 0; i < HASH_BYTES; i++) if (buf[off + i] !== h[i]) return false;
  return true;
}
