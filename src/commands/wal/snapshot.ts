import { RealFs } from '../../engine/io/real-fs.js';
import { realLockEnv, StoreLock } from '../../engine/io/lock.js';
import { storePaths } from '../../engine/io/layout.js';
import { DEFAULT_SNAPSHOTS_KEPT, writeSnapshot, type WriteSnapshotResult } from '../../engine/wal/snapshot.js';
import { Flags } from '@oclif/core';
import { BaseCommand } from '../../ui/base-command.js';
import { intFlag, storeArg } from '../../ui/flags.js';
import { formatBytes, formatCount } from '../../ui/format.js';
import { segmentFileName } from '../../engine/io/layout.js';

interface SnapshotOutput extends WriteSnapshotResult {
  store: string;
}

export default class WalSnapshot extends BaseCommand<typeof WalSnapshot> {
  static override summary = 'Write the key/value state at the current commit position to snapshots/';
  static override description =
    'Replays the log (from the newest snapshot that fits it, unless --full) under the store lock and writes the state, ' +
    'its position and the replay statistics to snapshots/<segment>-<offset>.snap (temp file, fsync, rename, directory fsync). ' +
    '`wal replay` then starts from it. Exit status: 0 written; 1 the log is damaged where replay must read it (nothing written); ' +
    '2 usage errors, a missing store, a held lock.';
  static override examples = ['<%= config.bin %> wal snapshot ./events', '<%= config.bin %> wal snapshot ./events --keep 5 --json'];
  static override args = { store: storeArg() };
  static override flags = {
    keep: intFlag({ description: 'keep the N newest snapshots, this one included; 0 keeps all', min: 0, max: 1_000_000, default: DEFAULT_SNAPSHOTS_KEPT }),
    full: Flags.boolean({ description: 'replay the whole log instead of starting from the newest snapshot', default: false }),
  };

  async run(): Promise<void> {
    const { store } = this.args;
    const fs = new RealFs();
    // the lock keeps a writer (and a prune) out while the position is taken
    const lock = StoreLock.acquire(fs, storePaths(store).lock, realLockEnv(), (m) => this.warn(m));
    this.onInterrupt(() => lock.release());
    let r: WriteSnapshotResult;
    try {
      r = await writeSnapshot(store, { fs, keep: this.flags.keep, incremental: !this.flags.full });
    } finally {
      lock.release();
    }
    if (!this.json) for (const w of r.snapshotWarnings) this.warn(w);
    this.emit<SnapshotOutput>({ store, ...r }, render);
  }
}

function render(o: SnapshotOutput): string {
  const lines = [
    `snapshot written to ${o.file} (${formatBytes(o.bytes)})`,
    `position         ${segmentFileName(o.position.segmentId)}:${o.position.offset}`,
    `resume from      ${segmentFileName(o.resume.segmentId)}:${o.resume.offset}`,
    `nextSeq          ${o.nextSeq}`,
    `nextTxnId        ${o.nextTxnId}`,
    `finalVersion     ${o.finalVersion}`,
    `liveKeys         ${formatCount(o.entries)}`,
    `built from       ${o.from ?? 'a full replay'}`,
  ];
  for (const f of o.removed) lines.push(`removed old snapshot ${f}`);
  return lines.join('\n');
}
