import { Flags } from '@oclif/core';
import { BaseCommand } from '../ui/base-command.js';
import { intFlag, storeArg } from '../ui/flags.js';
import { prepareVerify, printVerify, type VerifyFormat } from '../ui/verify-action.js';

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
    const f = this.flags;
    // ui/verify-action.ts: the same checks and output as the start-up fast path's (ui/verify-fast.ts)
    const a = {
      store: this.args.store,
      maxErrors: f['max-errors'],
      strict: f.strict,
      format: this.json ? 'json' : (f.format as VerifyFormat),
      quiet: f.quiet,
      verbose: f.verbose,
      anchors: f.anchor ?? [],
      pubkeys: f.pubkey ?? [],
      archive: f.archive,
    };
    const { input, sizeBytes } = prepareVerify(a);
    // a job (ui/job/verify-job.ts): in a worker thread for large stores, so Ctrl-C and progress work
    const report = await this.runJob('verify', input, { label: 'verifying', unit: null, sizeBytes, readOnly: true });
    if (printVerify(report, a, (out, render) => this.emit(out, render))) this.markDataProblems();
  }
}
