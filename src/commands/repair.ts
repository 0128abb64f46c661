import { Flags } from '@oclif/core';
import { BaseCommand } from '../ui/base-command.js';
import { dryRunFlag, storeArg, yesFlag } from '../ui/flags.js';
import { type RepairHost, repairFlow } from '../ui/repair-flow.js';

export type { RepairOutput } from '../ui/repair-flow.js';

export default class Repair extends BaseCommand<typeof Repair> {
  static override summary = 'Repair torn and corrupt segments: plan, confirm, back up, then act';
  static override description =
    'Cuts a torn tail, quarantines damaged frames into lost+found/ and leaves a gap record where lost events were ' +
    '(so verify is clean and says what was lost), makes unfinished or damaged transactions inert, rebuilds SIDX ' +
    'footers and drops a stale checkpoint. Every changed file is first backed up into <store>/backups/<time>/ (or ' +
    '--backup-dir), as a hard link where it can (no byte copied: the repair never writes into it) or a copy; each ' +
    'segment is replaced through a temp file, fsync and rename. Takes the store lock. ' +
    'Asks first on a terminal; needs --yes otherwise. Exit status: 0 the store is clean (or nothing to do), ' +
    '1 problems remain (with --dry-run: problems found), 2 refused or failed (nothing changed by a refusal).';
  static override examples = [
    '<%= config.bin %> repair ./events --dry-run',
    '<%= config.bin %> repair ./events --yes --json',
    '<%= config.bin %> repair ./events --yes --backup-dir /mnt/safe',
  ];
  static override args = { store: storeArg() };
  static override flags = {
    'dry-run': dryRunFlag('print the plan and change nothing (no lock is taken)'),
    yes: yesFlag('do not ask before repairing; required when stdin is not a terminal'),
    'backup-dir': Flags.string({ description: 'where to back up changed files (a timestamped directory is made inside); default <store>/backups', helpValue: '<dir>' }),
    'no-backup': Flags.boolean({ description: 'do not back up changed files (only together with --yes)', default: false }),
    output: Flags.string({ description: 'write the repaired store to this new (or empty) directory; the original is not changed', helpValue: '<dir>' }),
  };

  async run(): Promise<void> {
    // the command's work is ui/repair-flow.ts's, shared with the start-up fast path (ui/repair-fast.ts)
    const host: RepairHost = {
      json: this.json,
      runJob: (name, input, display) => this.runJob(name, input, display),
      emit: (result, render) => this.emit(result, render),
      markDataProblems: () => this.markDataProblems(),
      onInterrupt: (cleanup) => this.onInterrupt(cleanup),
      warn: (m) => void this.warn(m),
      confirm: (message, yes) => this.confirm(message, yes),
    };
    const f = this.flags;
    await repairFlow(host, { store: this.args.store, dryRun: f['dry-run'], yes: f.yes, backupDir: f['backup-dir'], noBackup: f['no-backup'], output: f.output });
  }
}
