import { Args } from '@oclif/core';
import { commitThrough, openLockedCursor } from '../../tools/live/cursor-admin.js';
import { crashPoint } from '../../engine/io/crash-point.js';
import { BaseCommand } from '../../ui/base-command.js';
import { intFlag, storeArg } from '../../ui/flags.js';

export default class CursorCommit extends BaseCommand<typeof CursorCommit> {
  static override summary = 'Commit what a consumer processed after reading without --commit (at-least-once)';
  static override description =
    'Persists the cursor past the whole batches delivered by earlier reads that end at or before sequence SEQ. ' +
    'A SEQ inside a batch commits the batches before it only: that batch comes back on the next read. ' +
    'Refuses a SEQ before the committed position or past what reads delivered. ' +
    'Pass the "through" value a read printed to commit everything it delivered.';
  static override examples = [
    '<%= config.bin %> cursor read ./events projector --json   # process, then:',
    '<%= config.bin %> cursor commit ./events projector --through 1234',
  ];
  static override args = {
    store: storeArg(),
    name: Args.string({ required: true, description: 'cursor name' }),
  };
  static override flags = {
    through: intFlag({ description: 'sequence of the last event processed', required: true }),
  };

  async run(): Promise<void> {
    const { fs, dir, cursor, lock } = openLockedCursor(this.args.store, this.args.name, (m) => this.warn(m));
    this.onInterrupt(() => lock.release());
    try {
      const r = commitThrough(fs, dir, cursor, this.flags.through);
      crashPoint('cursor-commit:after-commit');
      this.emit(
        { cursor: this.args.name, committedThrough: r.committedThrough, deliveredThrough: r.deliveredThrough, units: r.units, events: r.events },
        () =>
          r.units === 0
            ? `nothing to commit: cursor ${this.args.name} stays committed through ${r.committedThrough < 0 ? 'nothing' : `#${r.committedThrough}`}`
            : `committed ${r.events} events in ${r.units} units: cursor ${this.args.name} is committed through #${r.committedThrough}`,
      );
    } finally {
      lock.release();
    }
  }
}
