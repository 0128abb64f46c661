import { Args, Flags } from '@oclif/core';
import { join } from 'node:path';
import { parseKind } from '../../format/event.js';
import { Cursor } from '../../engine/log/cursor.js';
import { SeglogError } from '../../engine/io/errors.js';
import { RealFs } from '../../engine/io/real-fs.js';
import { ensureDir } from '../../engine/io/fs-util.js';
import { storePaths } from '../../engine/io/layout.js';
import { realLockEnv, StoreLock } from '../../engine/io/lock.js';
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
  };

  async run(): Promise<void> {
    const fs = new RealFs();
    const f = this.flags;
    const store = await Store.open(this.args.store, { readOnly: true, onWarning: (m) => this.warn(m) });
    const logNextSeq = store.recovery.nextSeq;
    store.close();
    const cursor = Cursor.open(fs, store.dir, this.args.name);
    const kind = f.kind !== undefined ? (parseKind(f.kind) ?? undefined) : undefined;
    if (f.kind !== undefined && !kind) throw new SeglogError('usage', `--kind must be category:type, got '${f.kind}'`);
    let lock: StoreLock | null = null;
    if (f.commit) {
      ensureDir(fs, storePaths(store.dir).cursors);
      lock = StoreLock.acquire(fs, join(storePaths(store.dir).cursors, `${this.args.name}.lock`), realLockEnv(), (m) => this.warn(m));
      this.onInterrupt(() => lock?.release());
    }
    try {
      const from = cursor.state();
      if (from.lastSeqPlusOne > logNextSeq) {
        throw new SeglogError('corrupt', `cursor has delivered up to sequence ${from.lastSeqPlusOne - 1} but the log ends before ${logNextSeq}: events it delivered were lost (unsynced writes and a crash?)`, { file: cursor.path });
      }
      const res = cursor.read(f.max, { entity: f.entity, scope: f.scope, kind }, from);
      if (f.commit) cursor.commit(res.next);
      const out = { cursor: this.args.name, committed: f.commit, more: res.more, delivered: res.next.delivered, events: res.events.map(eventRecord) };
      this.emit(out, () => [...res.events.map(eventLine), `${res.events.length} events${f.commit ? ', position committed' : ' (position not committed)'}${res.more ? '; more follow' : ''}`].join('\n'));
    } finally {
      lock?.release();
    }
  }
}
