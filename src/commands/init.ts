import { Flags } from '@oclif/core';
import { SeglogError } from '../engine/io/errors.js';
import { RealFs } from '../engine/io/real-fs.js';
import { exists } from '../engine/io/fs-util.js';
import { storePaths } from '../engine/io/layout.js';
import { OPTION_LIMITS, SYNC_MODES } from '../engine/io/options.js';
import { Store } from '../engine/store/store.js';
import { BaseCommand } from '../ui/base-command.js';
import { intFlag, storeArg } from '../ui/flags.js';
import { formatBytes } from '../ui/format.js';

export default class Init extends BaseCommand<typeof Init> {
  static override summary = 'Create a new, empty store';
  static override description = 'Options given here are fixed for the life of the store and saved in its seglog.json.';
  static override examples = ['<%= config.bin %> init ./events --segment-max-bytes 67108864 --sync batch'];
  static override args = { store: storeArg('directory to create the store in (missing or empty)') };
  static override flags = {
    'segment-max-bytes': intFlag({ description: 'seal a segment and start a new one at this size', ...OPTION_LIMITS.segmentMaxBytes }),
    'batch-max-size': intFlag({ description: 'most items in one atomic batch', ...OPTION_LIMITS.batchMaxSize }),
    'batch-max-bytes': intFlag({ description: 'most encoded bytes in one atomic batch', ...OPTION_LIMITS.batchMaxBytes }),
    sync: Flags.string({ description: 'when appends are fsynced', options: [...SYNC_MODES] }),
    'sync-every': intFlag({ description: 'with --sync batch: fsync single appends every N events', ...OPTION_LIMITS.syncEveryNEvents }),
  };

  async run(): Promise<void> {
    const { store: dir } = this.args;
    const f = this.flags;
    if (exists(new RealFs(), storePaths(dir).meta)) throw new SeglogError('usage', 'a store already exists here', { file: dir });
    const store = await Store.open(dir, {
      segmentMaxBytes: f['segment-max-bytes'],
      batchMaxSize: f['batch-max-size'],
      batchMaxBytes: f['batch-max-bytes'],
      sync: f.sync as 'always' | 'batch' | 'none' | undefined,
      syncEveryNEvents: f['sync-every'],
    });
    const result = { store: dir, created: true, options: store.options };
    store.close();
    this.emit(result, (r) => `created store ${r.store} (segments of ${formatBytes(r.options.segmentMaxBytes)}, sync ${r.options.sync})`);
  }
}
