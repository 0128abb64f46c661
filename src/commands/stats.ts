import { BaseCommand } from '../ui/base-command.js';
import { storeArg } from '../ui/flags.js';
import { statsAction, statsText } from '../ui/stats-action.js';

export default class Stats extends BaseCommand<typeof Stats> {
  static override summary = 'Show the segments of a store and its totals';
  static override examples = ['<%= config.bin %> stats ./events --json'];
  static override args = { store: storeArg() };

  async run(): Promise<void> {
    // the same action as the start-up fast path's (ui/fast-path.ts)
    this.emit(statsAction({ store: this.args.store }, (m) => this.warn(m)), statsText);
  }
}
