import { Flags } from '@oclif/core';
import { createHasher } from '../format/blake3.js';
import { RealFs } from '../engine/fs/real-fs.js';
import { resolveTarget } from '../engine/target.js';
import { type VerifyReport, verifySegments } from '../engine/verify.js';
import { startParallelVerdicts } from '../engine/verify-parallel.js';
import { BaseCommand } from '../ui/base-command.js';
import { intFlag, storeArg } from '../ui/flags.js';
import { formatBytes } from '../ui/format.js';
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
  };

  async run(): Promise<void> {
    const fs = new RealFs();
    const target = resolveTarget(fs, this.args.store);
    const hasher = await createHasher();
    const spin = this.spinner('verifying');
    // worker threads hash sealed segments ahead of the walk; the report is the same either way
    const verdicts = startParallelVerdicts(fs, target.segments, { loneFile: target.kind === 'segment' });
    let report: VerifyReport;
    try {
      report = verifySegments(fs, target.segments, hasher, {
        maxErrors: this.flags['max-errors'],
        loneFile: target.kind === 'segment',
        onProgress: (bytes) => spin.update(`verifying: ${formatBytes(bytes)}`),
        hashVerdicts: verdicts ?? undefined,
      });
    } finally {
      verdicts?.close();
    }
    spin.stop();
    const out: VerifyOutput = { ...report, target: this.args.store };
    const format = this.json ? 'json' : this.flags.format;
    if (format === 'json') this.emit(out, () => '');
    else process.stdout.write(renderVerify(out, format as 'text' | 'junit' | 'github'));
    if (!report.ok || (this.flags.strict && report.warnings > 0)) this.markDataProblems();
  }
}
