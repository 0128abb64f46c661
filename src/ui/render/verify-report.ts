/**
 * Renderers of a verify report: text (table + summary), GitHub workflow commands and
 * JUnit XML. Every format ends with the same summary wording (`summaryLine`).
 */
import type { Problem, VerifyReport } from '../../engine/verify.js';
import { formatBytes, formatCount, plural } from '../format.js';
import { renderTable } from '../table.js';

export type VerifyOutput = VerifyReport & { target: string };

export interface RenderVerifyOptions {
  /** List the problems that follow from a root cause too (text). */
  verbose?: boolean;
}

export function renderVerify(r: VerifyOutput, format: 'text' | 'junit' | 'github', _opts: RenderVerifyOptions = {}): string {
  if (format === 'github') return renderGithub(r);
  if (format === 'junit') return renderJunit(r);
  return renderText(r);
}

function renderText(r: VerifyOutput): string {
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
    `${r.target}: ${plural(r.events, 'event')}, ${plural(r.segments, 'segment')}, ${plural(r.entities, 'entity', 'entities')}, ${formatBytes(r.bytes)}` +
      (r.stoppedEarly ? ' (stopped early at --max-errors)' : ''),
  );
  lines.push(summaryLine(r));
  return `${lines.join('\n')}\n`;
}

/**
 * The last line: errors and warnings are problems; info items (an acknowledged gap left by
 * repair) are reported but are not problems, so a repaired store reads "no problems found".
 */
export function summaryLine(r: VerifyOutput): string {
  const infos = r.problems.length - r.errors - r.warnings;
  const notes = infos > 0 ? ` (${plural(infos, 'note')})` : '';
  if (r.errors + r.warnings === 0) return `no problems found${notes}`;
  return `${plural(r.errors, 'error')}, ${plural(r.warnings, 'warning')}: ${plural(r.errors + r.warnings, 'problem')} found${notes}`;
}

export function renderGithub(r: VerifyOutput): string {
  const esc = (s: string): string => s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
  const lines = r.problems.map((p: Problem) => {
    const level = p.severity === 'error' ? 'error' : p.severity === 'warning' ? 'warning' : 'notice';
    return `::${level} file=${esc(p.segment)},title=${p.code}::${esc(`offset ${p.offset}: ${p.message}`)}`;
  });
  lines.push(summaryLine(r));
  return `${lines.join('\n')}\n`;
}

export function renderJunit(r: VerifyOutput): string {
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
