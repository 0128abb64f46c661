import { Flags } from '@oclif/core';
import { RealFs } from '../../engine/io/real-fs.js';
import { writeFileAtomic } from '../../engine/io/fs-util.js';
import { ioError } from '../../engine/io/errors.js';
import { storeSizeBytes } from '../../engine/segment/store-size.js';
import { resolveTarget } from '../../engine/segment/target.js';
import { replayInputBytes } from '../../engine/wal/snapshot.js';
import type { ReplayResult, WalWarning } from '../../engine/wal/wal-replay.js';
import type { SnapshotReplayResult } from '../../engine/wal/snapshot.js';
import { BaseCommand } from '../../ui/base-command.js';
import { intFlag, storeArg } from '../../ui/flags.js';
import { formatCount, plural } from '../../ui/format.js';

interface ReplayOutput {
  store: string;
  stats: ReplayResult['stats'];
  warnings: WalWarning[];
  warningsOmitted: number;
  corruption: ReplayResult['corruption'];
  /** Where the state was written (null without --state, or when replay stopped at corruption). */
  state: string | null;
  /** The snapshot replay started from (null: the whole log was replayed). */
  snapshot: SnapshotReplayResult['snapshot'];
  /** Snapshots skipped because they are damaged or do not fit the log. */
  snapshotWarnings: string[];
}

export default class WalReplay extends BaseCommand<typeof WalReplay> {
  static override summary = 'Replay the committed key/value transactions of a store and print the statistics';
  static override description =
    'Reads the log read-only (no lock): groups frames by transaction id, applies committed transactions in commit order ' +
    'with their recorded versions, and discards aborted and incomplete transactions and orphaned items (each warned about). ' +
    'Exit status: 0 when replay reaches the end of the log, discarded transactions included; 1 when it stops at corruption; ' +
    '2 for usage errors or a missing store.';
  static override examples = ['<%= config.bin %> wal replay ./events', '<%= config.bin %> wal replay ./events --state state.json --json'];
  static override args = { store: storeArg() };
  static override flags = {
    state: Flags.string({ description: 'write the final state to FILE as JSON {key: {value, version}} (atomically)', helpValue: '<file>' }),
    snapshot: Flags.string({ description: 'start from this snapshot file (an error if it does not fit the log)', helpValue: '<file>', exclusive: ['no-snapshot'] }),
    'no-snapshot': Flags.boolean({ description: 'replay the whole log, ignoring snapshots/', default: false }),
    'max-warnings': intFlag({ description: 'list at most N warnings (the statistics count all)', min: 0, max: 1_000_000, default: 100 }),
  };

  async run(): Promise<void> {
    const { store } = this.args;
    const statePath = this.flags.state;
    const fs = new RealFs();
    // a job (ui/job/wal-jobs.ts): in a worker thread for large stores, so Ctrl-C and progress work
    const r = await this.runJob(
      'walReplay',
      {
        store,
        keepValues: statePath !== undefined,
        maxWarnings: this.flags['max-warnings'],
        noSnapshot: this.flags['no-snapshot'],
        ...(this.flags.snapshot !== undefined ? { snapshotFile: this.flags.snapshot } : {}),
      },
      // what the replay reads: from the snapshot on (a worker costs more than a short tail)
      { label: 'replaying', unit: null, sizeBytes: replaySize(store, this.flags['no-snapshot'], this.flags.snapshot), readOnly: true },
    );
    let written: string | null = null;
    if (statePath !== undefined && r.corruption === null) {
      try {
        writeFileAtomic(fs, statePath, Buffer.from(r.stateJson ?? '{}', 'utf8'));
      } catch (err) {
        throw ioError(err, statePath, 'write the state');
      }
      written = statePath;
    }
    const out: ReplayOutput = { store, stats: r.stats, warnings: r.warnings, warningsOmitted: r.warningsOmitted, corruption: r.corruption, state: written, snapshot: r.snapshot, snapshotWarnings: r.snapshotWarnings };
    if (!this.json) {
      for (const w of r.snapshotWarnings) this.warn(w);
      for (const w of r.warnings) this.warn(`${w.file}: at byte ${w.offset}: ${w.message}`);
      if (r.warningsOmitted > 0) this.warn(`${plural(r.warningsOmitted, 'more warning')} not shown (--max-warnings)`);
      if (r.corruption) process.stderr.write(`seglog: ${r.corruption.file}: at byte ${r.corruption.offset}: ${r.corruption.message}: replay stopped here\n`);
      if (statePath !== undefined && written === null) this.warn(`state not written to ${statePath}: replay did not reach the end of the log`);
    }
    this.emit(out, render);
    if (r.corruption) this.markDataProblems();
  }
}

function render(o: ReplayOutput): string {
  const s = o.stats;
  const lines = [
    `txnsApplied      ${formatCount(s.txnsApplied)}`,
    `writesApplied    ${formatCount(s.writesApplied)}`,
    `deletesApplied   ${formatCount(s.deletesApplied)}`,
    `discardedTxns    ${formatCount(s.discardedTxns)}`,
    `abortedTxns      ${formatCount(s.abortedTxns)}`,
    `orphanedEntries  ${formatCount(s.orphanedEntries)}`,
    `finalVersion     ${s.finalVersion}`,
    `liveKeys         ${formatCount(s.liveKeys)}`,
  ];
  if (o.snapshot !== null) lines.push(`started from snapshot ${o.snapshot.file}`);
  if (o.state !== null) lines.push(`state written to ${o.state}`);
  lines.push(
    o.corruption
      ? `replay stopped at corruption in ${o.corruption.file} at byte ${o.corruption.offset}`
      : `replayed ${o.store}: ${plural(s.txnsApplied, 'transaction')} applied, ${formatCount(s.discardedTxns)} discarded, ${plural(s.orphanedEntries, 'orphaned entry', 'orphaned entries')}`,
  );
  return lines.join('\n');
}

/** Segment bytes the replay reads (engine/wal/snapshot.ts replayInputBytes); the whole store when it cannot tell. */
function replaySize(store: string, noSnapshot: boolean, snapshotFile: string | undefined): number {
  const fs = new RealFs();
  try {
    const t = resolveTarget(fs, store);
    if (t.kind !== 'store') return storeSizeBytes(store);
    return replayInputBytes(fs, t.dir, t.segments, { noSnapshot, ...(snapshotFile !== undefined ? { snapshotFile } : {}) });
  } catch {
    return storeSizeBytes(store);
  }
}
