import { Args, Flags } from '@oclif/core';
import { parseKind } from '../../format/event.js';
import { Cursor } from '../../engine/log/cursor.js';
import { SeglogError } from '../../engine/io/errors.js';
import { RealFs } from '../../engine/io/real-fs.js';
import { lockCursor, recordDelivered } from '../../tools/live/cursor-admin.js';
import { crashPoint } from '../../engine/io/crash-point.js';
import { readLive } from '../../tools/live/cursor-live.js';
import { followFlags, parseLiveFlags, timeFlags } from '../../ui/live-flags.js';
import { Store } from '../../engine/store/store.js';
import { BaseCommand } from '../../ui/base-command.js';
import { eventLine, eventRecord } from '../../ui/render/event-json.js';
import { intFlag, storeArg } from '../../ui/flags.js';

export default class CursorRead extends BaseCommand<typeof CursorRead> {
  static override summary = 'Read the next committed events for a durable named cursor';
  static override description =
    'Without --commit the cursor does not move: the same events come back next time (at-least-once). ' +
    'With --commit the new position is written atomically before the command returns, so they never come back. ' +
    'Batches are delivered whole.';
  static override examples = ['<%= config.bin %> cursor read ./events projector --max 100 --commit --json'];
  static override args = {
    store: storeArg(),
    name: Args.string({ required: true, description: 'cursor name ([A-Za-z0-9._-], up to 128 characters)' }),
  };
  static override flags = {
    max: intFlag({ description: 'read about N events (whole batches)', min: 1, max: 1_000_000, default: 100 }),
    commit: Flags.boolean({ description: 'persist the new position', default: false }),
    entity: Flags.string({ description: 'only this entity (the position still moves past others)' }),
    scope: Flags.string({ description: 'only this scope' }),
    kind: Flags.string({ description: 'only this kind, category:type' }),
    ...timeFlags(),
    ...followFlags(),
  };

  async run(): Promise<void> {
    const fs = new RealFs();
    const f = this.flags;
    const store = await Store.open(this.args.store, { readOnly: true, onWarning: (m) => this.warn(m) });
    const logNextSeq = store.recovery.nextSeq;
    store.close();
    const cursor = Cursor.open(fs, store.dir, this.args.name);
    const live = parseLiveFlags(f, { store: true });
    const kind = f.kind !== undefined ? (parseKind(f.kind) ?? undefined) : undefined;
    if (f.kind !== undefined && !kind) throw new SeglogError('usage', `--kind must be category:type, got '${f.kind}'`);
    // the cursor's own lock, also without --commit: the read records what it delivered (cursor-admin.ts)
    const lock = lockCursor(fs, store.dir, this.args.name, (m) => this.warn(m));
    this.onInterrupt(() => lock.release());
    try {
      const from = cursor.state();
      if (from.lastSeqPlusOne > logNextSeq) {
        throw new SeglogError('corrupt', `cursor has delivered up to sequence ${from.lastSeqPlusOne - 1} but the log ends before ${logNextSeq}: events it delivered were lost (unsynced writes and a crash?)`, { file: cursor.path });
      }
      const region = { entity: f.entity, scope: f.scope, kind };
      // wall-time bounds and --follow read through the unit walker (engine/log/follow.ts); the rest through Cursor.read
      const res = live ? await readLive(fs, store.dir, from, f.max, region, live) : cursor.read(f.max, region, from);
      if (f.commit) {
        cursor.commit(res.next);
        crashPoint('cursor-read:after-commit');
      } else {
        recordDelivered(fs, cursor, res.next);
        crashPoint('cursor-read:after-record');
      }
      const through = res.next.lastSeqPlusOne - 1;
      const out = { cursor: this.args.name, committed: f.commit, more: res.more, delivered: res.next.delivered, through, events: res.events.map(eventRecord) };
      this.emit(out, () =>
        [...res.events.map(eventLine), `${res.events.length} events${f.commit ? ', position committed' : ` (position not committed: \`cursor commit --through ${through}\` when processed)`}${res.more ? '; more follow' : ''}`].join('\n'),
      );
      crashPoint('cursor-read:after-output');
    } finally {
      lock.release();
    }
  }
}
