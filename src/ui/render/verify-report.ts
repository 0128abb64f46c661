import type { AnchorOutcome } from '../../engine/anchor/verify-anchor.js';
/**
 * Renderers of a verify report: text (table + summary), GitHub workflow commands and
 * JUnit XML. Every format ends with the same summary wording (`summaryLine`).
 */
import type { Problem, VerifyReport } from '../../engine/verify/verify.js';
import type { GroupedProblem } from '../../engine/verify/verify-causes.js';
import { formatBytes, formatCount, plural } from '../format.js';
import { renderTable } from '../table.js';
import { terminalColumns, wrapLine } from '../term-width.js';

export type VerifyOutput = Omit<VerifyReport, 'problems'> & { target: string; problems: GroupedProblem[]; consequences?: number; anchors?: AnchorOutcome[] };

/** Below this many terminal columns problems print one per line instead of in a table. */
export const TABLE_MIN_COLUMNS = 100;

function followNote(p: GroupedProblem): string {
  const n = p.causedBy?.length ?? 0;
  return n > 0 ? ` (and ${n === 1 ? '1 problem that follows' : `${plural(n, 'problem')} that follow`} from it)` : '';
}

export interface RenderVerifyOptions {
  /** List the problems that follow from a root cause too (text). */
  verbose?: boolean;
}

export function renderVerify(r: VerifyOutput, format: 'text' | 'junit' | 'github', opts: RenderVerifyOptions = {}): string {
  if (format === 'github') return renderGithub(r);
  if (format === 'junit') return renderJunit(r);
  return renderText(r, opts.verbose ?? false, terminalColumns());
}

/** `error crc_mismatch 0000000001.seg@4242 seq 17 order:1: message`, wrapped to the width. */
function problemLine(p: Problem, width: number, indent = ''): string[] {
  const where = `${p.segment}@${p.offset}${p.seq !== undefined ? ` seq ${p.seq}` : ''}${p.entity !== undefined ? ` ${p.entity}` : ''}`;
  return wrapLine(`${indent}${p.severity} ${p.code} ${where}: ${p.message}`, width, 4);
}

function renderText(r: VerifyOutput, verbose: boolean, width: number): string {
  const lines: string[] = [];
  const rows: { p: Problem; indent: string; note: string }[] = [];
  for (const p of r.problems) {
    rows.push({ p, indent: '', note: followNote(p) });
    if (verbose) for (const c of p.causedBy ?? []) rows.push({ p: c, indent: '  ', note: '' });
  }
  if (rows.length > 0 && width < TABLE_MIN_COLUMNS) {
    for (const { p, indent, note } of rows) lines.push(...problemLine({ ...p, message: `${p.message}${note}` }, width, indent ? `${indent}└ ` : ''));
  } else if (rows.length > 0) {
    lines.push(
      renderTable(
        ['severity', 'code', 'segment', 'offset', 'seq', 'entity', 'message'],
        rows.map(({ p, indent, note }) => [`${indent ? '└ ' : ''}${p.severity}`, p.code, p.segment, p.offset, p.seq ?? '', p.entity ?? '', `${p.message}${note}`]),
        { maxWidth: width },
      ),
    );
  }
  const more = r.consequences ?? 0;
  if (more > 0 && !verbose) lines.push(`(${formatCount(more)} more ${more === 1 ? 'problem follows' : 'problems follow'} from the ones above: --verbose lists them)`);
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
    return `::${level} file=${esc(p.segment)},title=${p.code}::${esc(`offset ${p.offset}: ${p.message}${followNote(p)}`)}`;
  });
  lines.push(summaryLine(r));
  return `${lines.join('\n')}\n`;
}

export function renderJunit(r: VerifyOutput): string {
  const x = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  const cases = r.problems.map((p) => {
    const name = x(`${p.code} ${p.segment}@${p.offset}`);
    if (p.severity === 'error') return `    <testcase name="${name}" classname="seglog.verify"><failure type="${p.code}" message="${x(`${p.message}${followNote(p)}`)}"/></testcase>`;
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
