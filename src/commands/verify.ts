import { Flags } from '@oclif/core';
import { createHasher } from '../format/blake3.js';
import { RealFs } from '../engine/fs/real-fs.js';
import { resolveTarget } from '../engine/target.js';
import { logView } from '../engine/archive.js';
import { UsageError } from '../ui/errors.js';
import { type Problem, type VerifyReport, verifySegments } from '../engine/verify.js';
import { startParallelVerdicts } from '../engine/verify-parallel.js';
import { BaseCommand } from '../ui/base-command.js';
import { intFlag, storeArg } from '../ui/flags.js';
import { formatBytes, formatCount, plural } from '../ui/format.js';
import { renderTable } from '../ui/table.js';

type VerifyOutput = VerifyReport & { target: string };

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
    archive: Flags.string({ description: 'check the archive of pruned segments (prune --archive) and the store together as one log', helpValue: '<dir>' }),
  };

  async run(): Promise<void> {
    const fs = new RealFs();
    const target = resolveTarget(fs, this.args.store);
    if (this.flags.archive !== undefined && target.kind !== 'store') throw new UsageError('--archive needs a store directory, not a segment file');
    // a pruned store starts at its base (engine/prune-base.ts); --archive adds the pruned segments back
    const view = target.kind === 'store' ? await logView(fs, target.dir, this.flags.archive) : { segments: target.segments, base: null };
    const hasher = await createHasher();
    const spin = this.spinner('verifying');
    // worker threads hash sealed segments ahead of the walk; the report is the same either way
    const verdicts = startParallelVerdicts(fs, view.segments, { loneFile: target.kind === 'segment' });
    let report: VerifyReport;
    try {
      report = verifySegments(fs, view.segments, hasher, {
        ...(view.base !== null ? { base: view.base } : {}),
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
    else process.stdout.write(render(out, format as 'text' | 'junit' | 'github'));
    if (!report.ok || (this.flags.strict && report.warnings > 0)) this.markDataProblems();
  }
}

function render(r: VerifyOutput, format: 'text' | 'junit' | 'github'): string {
  if (format === 'github') return renderGithub(r);
  if (format === 'junit') return renderJunit(r);
  const lines: string[] = [];
  if (r.problems.length > 0) {
    lines.push(
      renderTable(
        ['severity', 'code', 'segment', 'offset', 'seq', 'entity', 'message'],
        r.problems.map((p) => [p.severity, p.code, p.segment, p.offset, p.seq ?? '', p.entity ?? '', p.message]),
      ),
    );
  }
  lines.push(
    `${r.target}: ${formatCount(r.events)} events, ${plural(r.segments, 'segment')}, ${formatCount(r.entities)} entities, ${formatBytes(r.bytes)}` +
      (r.stoppedEarly ? ' (stopped early at --max-errors)' : ''),
  );
  lines.push(summaryLine(r));
  return `${lines.join('\n')}\n`;
}

/**
 * The last line: errors and warnings are problems; info items (an acknowledged gap left by
 * repair) are reported but are not problems, so a repaired store reads "no problems found".
 */
function summaryLine(r: VerifyOutput): string {
  const infos = r.problems.length - r.errors - r.warnings;
  const notes = infos > 0 ? ` (${plural(infos, 'note')})` : '';
  if (r.errors + r.warnings === 0) return `no problems found${notes}`;
  return `${plural(r.errors, 'error')}, ${plural(r.warnings, 'warning')}: ${plural(r.errors + r.warnings, 'problem')} found${notes}`;
}

function renderGithub(r: VerifyOutput): string {
  const esc = (s: string): string => s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
  const lines = r.problems.map((p: Problem) => {
    const level = p.severity === 'error' ? 'error' : p.severity === 'warning' ? 'warning' : 'notice';
    return `::${level} file=${esc(p.segment)},title=${p.code}::${esc(`offset ${p.offset}: ${p.message}`)}`;
  });
  lines.push(`${plural(r.problems.length, 'problem')} found`);
  return `${lines.join('\n')}\n`;
}

function renderJunit(r: VerifyOutput): string {
  const x = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  const cases = r.problems.map((p) => {
    const name = x(`${p.code} ${p.segment}@${p.offset}`);
    if (p.severity === 'error') return `    <testcase name="${name}" classname="seglog.verify"><failure type="${p.code}" message="${x(p.message)}"/></testcase>`;
    return `    <testcase name="${name}" classname="seglog.verify"><system-out>${x(`${p.severity}: ${p.message}`)}</system-out></testcase>`;
  });
  if (cases.length === 0) cases.push(`    <testcase name="${x(r.target)}" classname="seglog.verify"/>`);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites><testsuite name="seglog verify" tests="${cases.length}" failures="${r.errors}">`,
    ...cases,
    '</testsuite></testsuites>',
    '',
  ].join('\n');
}
