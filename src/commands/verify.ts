import { Flags } from '@oclif/core';
import { statSync } from 'node:fs';
import { readHeadFile, readVerifier } from '../engine/anchor/anchor-files.js';
import { storeSizeBytes } from '../engine/segment/store-size.js';
import { withRootCauses } from '../engine/verify/verify-causes.js';
import { BaseCommand } from '../ui/base-command.js';
import { UsageError } from '../ui/errors.js';
import { intFlag, storeArg } from '../ui/flags.js';
import { renderVerify, type VerifyOutput } from '../ui/render/verify-report.js';

export default class Verify extends BaseCommand<typeof Verify> {
  static override summary = 'Check every frame, hash, chain, sequence and batch of a store or segment';
  static override description =
    'Exit status: 0 clean (or warnings only), 1 errors found (or warnings with --strict), 2 could not run. ' +
    'Problem codes are listed in docs/CLI.md.';
  static override examples = ['<%= config.bin %> verify ./events', '<%= config.bin %> verify ./events --format github --strict'];
  static override args = { store: storeArg('store directory or segment file') };
  static override flags = {
    'max-errors': intFlag({ description: 'stop after N errors', min: 1 }),
    strict: Flags.boolean({ description: 'treat warnings as errors for the exit status', default: false }),
    format: Flags.string({ description: 'output format', options: ['text', 'json', 'junit', 'github'], default: 'text' }),
    quiet: Flags.boolean({ char: 'q', description: 'print nothing: the exit status only', default: false }),
    verbose: Flags.boolean({ char: 'v', description: 'also list the problems that follow from a root cause', default: false }),
    anchor: Flags.string({ description: 'a signed head (seglog head): the store\'s first SIZE events must give its root (repeatable)', multiple: true }),
    pubkey: Flags.string({ description: 'a verifier key (NAME.pub from seglog keygen): every --anchor must carry its valid signature (repeatable)', multiple: true }),
    archive: Flags.string({ description: 'check the archive of pruned segments (prune --archive) and the store together as one log', helpValue: '<dir>' }),
  };

  async run(): Promise<void> {
    const anchors = this.flags.anchor ?? [];
    const pubkeys = this.flags.pubkey ?? [];
    if (pubkeys.length > 0 && anchors.length === 0) throw new UsageError('--pubkey checks the signatures of --anchor heads; give at least one --anchor');
    // read here too, so a missing or malformed head or key fails before the walk, naming its file
    anchors.forEach(readHeadFile);
    pubkeys.forEach(readVerifier);
    if (anchors.length > 0 && !statSync(this.args.store, { throwIfNoEntry: false })?.isDirectory()) throw new UsageError('--anchor needs a whole store, not a segment file');
    // a job (ui/job/verify-job.ts): in a worker thread for large stores, so Ctrl-C and progress work
    const report = await this.runJob(
      'verify',
      { store: this.args.store, maxErrors: this.flags['max-errors'], anchors, pubkeys, archive: this.flags.archive },
      { label: 'verifying', unit: null, sizeBytes: storeSizeBytes(this.args.store), readOnly: true },
    );
    // consequences of one damaged range are grouped under it (causedBy): engine/verify/verify-causes.ts
    const out: VerifyOutput = { ...withRootCauses(report), target: this.args.store, ...(report.anchors ? { anchors: report.anchors } : {}) };
    const format = this.json ? 'json' : this.flags.format;
    if (this.flags.quiet) {
      // exit status only
    } else if (format === 'json') this.emit(out, () => '');
    else process.stdout.write(renderVerify(out, format as 'text' | 'junit' | 'github', { verbose: this.flags.verbose }));
    if (!report.ok || (this.flags.strict && report.warnings > 0)) this.markDataProblems();
  }
}
