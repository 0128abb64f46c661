import { listCursors } from '../../tools/live/cursor-admin.js';
import { RealFs } from '../../engine/io/real-fs.js';
import { Store } from '../../engine/store/store.js';
import { BaseCommand } from '../../ui/base-command.js';
import { storeArg } from '../../ui/flags.js';
import { formatBytes, formatCount } from '../../ui/format.js';

export default class CursorList extends BaseCommand<typeof CursorList> {
  static override summary = 'List the named cursors of a store with their position and lag';
  static override description =
    'committedThrough: sequence of the last committed event; deliveredThrough: the furthest a read without --commit delivered; ' +
    'lagEvents: sequence numbers after the committed position; lagBytes: frame bytes after it. Read-only: takes no lock.';
  static override args = { store: storeArg() };

  async run(): Promise<void> {
    const fs = new RealFs();
    const store = await Store.open(this.args.store, { readOnly: true, onWarning: (m) => this.warn(m) });
    const nextSeq = store.recovery.nextSeq;
    store.close();
    const cursors = listCursors(fs, store.dir, nextSeq).map((c) => ({
      name: c.name,
      committedThrough: c.committedThrough,
      deliveredThrough: c.deliveredThrough,
      lagEvents: c.lagEvents,
      lagBytes: c.lagBytes,
      position: c.position,
    }));
    this.emit({ store: this.args.store, nextSeq, cursors }, () =>
      cursors.length === 0
        ? 'no cursors'
        : [
            'name\tcommitted\tdelivered\tlag events\tlag bytes',
            ...cursors.map((c) => `${c.name}\t${c.committedThrough < 0 ? '-' : `#${c.committedThrough}`}\t${c.deliveredThrough < 0 ? '-' : `#${c.deliveredThrough}`}\t${formatCount(c.lagEvents)}\t${formatBytes(c.lagBytes)}`),
          ].join('\n'),
    );
  }
}
