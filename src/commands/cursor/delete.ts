import { Args } from '@oclif/core';
import { deleteCursor, openLockedCursor } from '../../tools/live/cursor-admin.js';
import { SeglogError } from '../../engine/io/errors.js';
import { BaseCommand } from '../../ui/base-command.js';
import { storeArg } from '../../ui/flags.js';

export default class CursorDelete extends BaseCommand<typeof CursorDelete> {
  static override summary = 'Delete a named cursor (its position and delivered mark)';
  static override description = 'The next read of that name starts from the beginning of the log. A missing cursor is a usage error (exit 2).';
  static override args = {
    store: storeArg(),
    name: Args.string({ required: true, description: 'cursor name' }),
  };

  async run(): Promise<void> {
    const { fs, cursor, lock } = openLockedCursor(this.args.store, this.args.name, (m) => this.warn(m));
    this.onInterrupt(() => lock.release());
    try {
      if (!deleteCursor(fs, cursor)) throw new SeglogError('not_found', `no cursor named '${this.args.name}'`, { file: cursor.path });
      this.emit({ cursor: this.args.name, deleted: true }, () => `deleted cursor ${this.args.name}`);
    } finally {
      lock.release();
    }
  }
}
