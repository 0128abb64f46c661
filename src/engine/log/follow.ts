import { watch, type FSWatcher } from 'node:fs';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { CursorState } from '../../format/cursor.js';
import { decodeEvent, type DecodedEvent } from '../../format/event.js';
import { type UnitVisitor, walkUnits } from './cursor-units.js';
import type { FileSystem } from '../io/fs-types.js';
import type { Fault } from '../segment/walker.js';

/**
 * Following a store as it grows (`dump --follow`, `cursor read --follow`): read what is
 * committed from a position, then wait for the store directory to change and read
 * again from where the last pass stopped, forever.
 *
 * - Only whole units are ever delivered (cursor-units.ts): a transaction is held until
 *   its COMMIT, and a torn or unfinished tail (a writer mid-write, or killed mid-batch)
 *   is where a pass ends, not an error; the next pass starts again at the position
 *   before it (the BEGIN of the oldest open transaction), so what a recovery cut
 *   replaces is read afresh.
 * - A follower takes no lock and writes nothing: it never blocks the writer. Rotation
 *   needs nothing special: each pass lists the segments again, and a sealed segment's
 *   frames end where its footer's trailer says (or, while the footer is being written,
 *   where the footer's head starts).
 * - New commits are noticed through fs.watch on the store directory (inotify on Linux:
 *   a write to any segment file in it), with a poll every `pollIntervalMs` as a
 *   fallback (and the only way where watching is not supported).
 * - A pass delivers at most `MAX_UNITS_PER_PASS` units, then yields to the event loop,
 *   so Ctrl-C is handled during a long catch-up.
 */

/** Units one pass delivers before yielding to the event loop (bounds a catch-up's time between yields). */
export const MAX_UNITS_PER_PASS = 16_384;
/** Default poll interval when fs.watch works (a safety net) and when it does not. */
export const DEFAULT_POLL_INTERVAL_MS = 1000;
export const MIN_POLL_INTERVAL_MS = 10;
export const MAX_POLL_INTERVAL_MS = 3_600_000;

/**
 * SEGLOG_FOLLOW_WATCH=0 turns fs.watch off: polling only, as on a file system without
 * notifications (the bench measures the fallback's latency this way).
 */
export function followWatchEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.SEGLOG_FOLLOW_WATCH !== '0';
}

/** Wakes a follower when the store directory changes, or every `pollIntervalMs`. */
export class ChangeWaiter {
  private watcher: FSWatcher | null = null;
  private dirty = true;
  private wake: (() => void) | null = null;
  private closed = false;

  constructor(
    dir: string,
    private readonly pollIntervalMs: number,
    watchDir = true,
  ) {
    if (!watchDir) return; // poll only
    try {
      this.watcher = watch(dir, { persistent: false }, () => this.notify());
      this.watcher.on('error', () => {
        // the directory went away or watching broke: polling carries on
        this.watcher?.close();
        this.watcher = null;
      });
    } catch {
      this.watcher = null; // not supported here: poll only
    }
  }

  get watching(): boolean {
    return this.watcher !== null;
  }

  private notify(): void {
    this.dirty = true;
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  /** Resolves at the next change (at once if one came since the last call), at the next poll, or at close. */
  async wait(): Promise<void> {
    if (this.closed) return;
    if (this.dirty) {
      this.dirty = false;
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.wake = null;
        resolve();
      }, this.pollIntervalMs);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.dirty = false;
  }

  close(): void {
    this.closed = true;
    this.watcher?.close();
    this.watcher = null;
    this.notify();
  }
}

export interface FollowOptions {
  pollIntervalMs?: number;
  filter?: (buf: Uint8Array, b: number) => boolean;
  /** Damage other than a torn tail, reported once per place. */
  onFault?: (f: Fault) => void;
  /** After each pass that delivered something (flush output here: whole units only). */
  onPassEnd?: () => void;
  /** Checked between passes: true ends the follow (a closed pipe; the visitor's onUnit stops a pass). */
  shouldStop?: () => boolean;
  /** Stop at the end of the first pass that finds nothing new (no waiting). */
  once?: boolean;
}

/**
 * Delivers every unit from `from` on, as it is committed, until `shouldStop` (or, with
 * `once`, the end of what is committed now). Returns the position reached.
 */
export async function followUnits(fs: FileSystem, dir: string, from: CursorState, visitor: UnitVisitor, opts: FollowOptions = {}): Promise<CursorState> {
  const waiter = opts.once ? null : new ChangeWaiter(dir, opts.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS, followWatchEnabled());
  const seenFaults = new Set<string>();
  let pos = from;
  try {
    for (;;) {
      if (opts.shouldStop?.()) return pos;
      let units = 0;
      let visitorStopped = false;
      const res = walkUnits(
        fs,
        dir,
        pos,
        {
          beforeUnit: (u, before) => {
            if (!visitor.beforeUnit?.(u, before)) return false;
            visitorStopped = true;
            return true;
          },
          onEvent: visitor.onEvent,
          onUnit: (u, next) => {
            units++;
            if (visitor.onUnit?.(u, next)) {
              visitorStopped = true;
              return true;
            }
            return units >= MAX_UNITS_PER_PASS;
          },
          onFault: (f) => {
            // a torn tail is a writer at work (or one killed mid-write, to be cut by the next open): wait for it
            if (f.kind === 'torn') return;
            const key = `${f.path}:${f.offset}`;
            if (seenFaults.has(key)) return;
            seenFaults.add(key);
            opts.onFault?.(f);
          },
        },
        { filter: opts.filter },
      );
      pos = res.next;
      if (res.units > 0) opts.onPassEnd?.();
      if (opts.shouldStop?.()) return pos;
      if (visitorStopped) return pos;
      if (res.stopped) {
        await yieldToLoop(); // a long catch-up: let Ctrl-C in, then go on at once
        continue;
      }
      if (!waiter) return pos;
      await waiter.wait();
    }
  } finally {
    waiter?.close();
  }
}

export interface UnitsRead {
  events: DecodedEvent[];
  next: CursorState;
  more: boolean;
}

/**
 * Reads whole units from `from` until at least `max` events passed the filter (a cursor
 * read through the unit walker: used when the read needs what Cursor.read does not do,
 * wall-time bounds or waiting). With `waitForEvents`, waits until at least one event
 * arrives (or `shouldStop`).
 */
export async function readUnits(
  fs: FileSystem,
  dir: string,
  from: CursorState,
  max: number,
  opts: { filter?: (buf: Uint8Array, b: number) => boolean; waitForEvents?: boolean; pollIntervalMs?: number; shouldStop?: () => boolean; onFault?: (f: Fault) => void },
): Promise<UnitsRead> {
  const events: DecodedEvent[] = [];
  let full = false;
  let more = false;
  const next = await followUnits(
    fs,
    dir,
    from,
    {
      beforeUnit: () => {
        if (!full) return false;
        more = true;
        return true;
      },
      onEvent: (buf, b) => void events.push(decodeEvent(buf, b)),
      onUnit: () => {
        if (events.length >= max) full = true;
      },
    },
    {
      filter: opts.filter,
      pollIntervalMs: opts.pollIntervalMs,
      onFault: opts.onFault,
      once: !opts.waitForEvents,
      shouldStop: () => events.length > 0 || (opts.shouldStop?.() ?? false),
    },
  );
  return { events, next, more };
}
