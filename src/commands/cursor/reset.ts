import { Args, Flags } from '@oclif/core';
import { openLockedCursor, resetCursor, type ResetTarget } from '../../tools/live/cursor-admin.js';
import { parseTimeSpec } from '../../engine/index/time-locate.js';
import { BaseCommand } from '../../ui/base-command.js';
import { storeArg } from '../../ui/flags.js';

export default class CursorReset extends BaseCommand<typeof CursorReset> {
  static override summary = 'Move a named cursor: to the start, the end, a sequence or a time';
  static override description =
    '--to start: the next read delivers from the first event. --to end: past everything committed now. ' +
    '--to SEQ: from the batch holding sequence SEQ (whole). --to TIME (ISO 8601, or 10m, 2h, 3d before now): ' +
    'from the first batch with an event at or after that wall time. What was delivered but not committed is forgotten.';
  static override examples = ['<%= config.bin %> cursor reset ./events projector --to 2h', '<%= config.bin %> cursor reset ./events projector --to start'];
  static override args = {
    store: storeArg(),
    name: Args.string({ required: true, description: 'cursor name' }),
  };
  static override flags = {
    to: Flags.string({ description: 'start | end | SEQ | TIME', required: true }),
  };

  async run(): Promise<void> {
    const to = parseResetTarget(this.flags.to);
    const { fs, dir, cursor, lock } = openLockedCursor(this.args.store, this.args.name, (m) => this.warn(m));
    this.onInterrupt(() => lock.release());
    try {
      const pos = resetCursor(fs, dir, cursor, to);
      const through = pos.lastSeqPlusOne - 1;
      this.emit(
        { cursor: this.args.name, to: this.flags.to, committedThrough: through, position: pos },
        () => `cursor ${this.args.name} reset to ${this.flags.to}: ${through < 0 ? 'the next read starts at the first event' : `committed through #${through}`}`,
      );
    } finally {
      lock.release();
    }
  }
}

function parseResetTarget(s: string): ResetTarget {
  if (s === 'start' || s === 'beginning') return { to: 'start' };
  if (s === 'end') return { to: 'end' };
  if (/^\d{1,12}$/.test(s)) return { to: 'seq', seq: Number(s) };
  return { to: 'time', ms: parseTimeSpec(s, Date.now(), '--to') };
}
