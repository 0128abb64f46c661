// The markdown table (bench/results/latest.md and stdout) built from the results object.
import { fmtSec, fmtRate, fmtCount } from './util.js';

const esc = (s) => String(s).replace(/\|/g, '\\|').replace(/\n/g, ' ');
const clip = (s, n = 90) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

function yesNo(met) {
  return met === true ? 'yes' : met === false ? '**NO**' : 'n/a';
}

function fmtRatio(r) {
  if (r == null || !Number.isFinite(r)) return '—';
  if (r >= 0.1) return `${r.toFixed(2)}x`;
  return `${r.toPrecision(2)}x`;
}

function oursCell(c) {
  const s = c.ours?.summary;
  if (s) return `${fmtSec(s.median)} (${fmtSec(s.min)}–${fmtSec(s.max)})${s.cpuMedian != null ? `, CPU ${fmtSec(s.cpuMedian)}` : ''}${c.status === 'error' ? ' (some runs failed)' : ''}`;
  const err = c.error || c.ours?.error || 'no result';
  return `error: ${clip(err)}`;
}

function peerCell(p) {
  if (!p) return '—';
  if (p.status === 'skipped') return `${p.name}: skipped: ${clip(p.skipped, 60)}`;
  if (p.status === 'error' && !p.summary) return `${p.name}: error: ${clip(p.error, 60)}`;
  if (p.computed) return `${p.name}: ${fmtSec(p.summary.median)} (computed)`;
  return `${p.name}: ${fmtSec(p.summary.median)}`;
}

function ratesCell(c, p) {
  if (!c.rows) return '—';
  const ours = c.ours?.rowsPerSec != null ? fmtRate(c.ours.rowsPerSec) : '—';
  const unit = c.rowsUnit === 'txns' ? ' txn' : '';
  if (p?.rowsPerSec != null && !p.computed) return `${ours}${unit} (peer ${fmtRate(p.rowsPerSec)})`;
  return `${ours}${unit}`;
}

function targetCell(c, p) {
  // a reference row; the target is on the row of the primary peer, or here when there is none
  if (p?.info && c.peers.some((x) => !x.info)) return '— (reference only)';
  const t = c.target ? `${yesNo(c.target.met)} (${c.target.text})` : 'n/a';
  const rss = c.rss ? `RSS<${c.rss.limitMiB} MiB: ${yesNo(c.rss.met)}` : '';
  return [t, rss].filter(Boolean).join('; ');
}

function fmtMetrics(m) {
  return Object.entries(m)
    .map(([k, v]) => `${k} ${typeof v === 'number' ? v.toLocaleString('en-US') : v}`)
    .join(', ');
}

export function markdownTable(results) {
  const lines = [
    '| case | ours median (min–max) | peer median | ratio ours/peer | rows/s | peak RSS (ours) | target met |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const c of results.cases) {
    const peers = c.peers?.length ? c.peers : [null];
    for (const p of peers) {
      const name = p ? `${c.name} vs ${p.name}` : c.name;
      const rss = c.ours?.summary?.peakRssMiB != null ? `${c.ours.summary.peakRssMiB.toFixed(1)} MiB` : '—';
      lines.push(
        `| ${[name, oursCell(c), peerCell(p), fmtRatio(p?.ratio), ratesCell(c, p), rss, targetCell(c, p)].map(esc).join(' | ')} |`,
      );
    }
  }
  return lines.join('\n');
}

export function markdownReport(results) {
  const m = results.machine;
  const head = [
    `# seglog benchmark${results.quick ? ' (quick)' : ''}`,
    '',
    `${results.date} · ${m.cpuModel} × ${m.cpus} · ${m.memGiB} GiB RAM · ${m.platform} ${m.release} · Node ${results.node} · seglog ${results.seglogVersion ?? '(not available)'}`,
    '',
    `${fmtCount(results.events)} events (${results.payloadBytes}-byte payloads, ${results.entities} entities), ` +
      `${fmtCount(results.txns)} WAL transactions; ${results.runs} timed runs per command after ${results.warmup} warm-up; ` +
      `peak RSS via ${results.rssMethod === 'time' ? '`/usr/bin/time -f %M`' : 'polling VmHWM in /proc/<pid>/status'}. ` +
      'Ratio = our median time / peer median time (>1: we are slower).',
    '',
  ];
  const notes = [];
  for (const c of results.cases) {
    if (c.error && !c.ours?.summary) notes.push(`- **${c.name}**: error: ${c.error}`);
    for (const n of c.notes ?? []) notes.push(`- ${c.name}: ${n}`);
    if (c.metrics) notes.push(`- ${c.name}: figures: ${fmtMetrics(c.metrics)}`);
    for (const p of c.peers ?? []) if (p.metrics) notes.push(`- ${c.name}: figures of ${p.name}: ${fmtMetrics(p.metrics)}`);
    for (const n of c.ours?.checks ?? []) notes.push(`- ${c.name}: check failed: ${n}`);
    for (const p of c.peers ?? []) {
      if (p.status === 'skipped') notes.push(`- ${c.name}: peer ${p.name} skipped: ${p.skipped}`);
      if (p.status === 'error') notes.push(`- ${c.name}: peer ${p.name} error: ${p.error}`);
      for (const n of p.checks ?? []) notes.push(`- ${c.name}: peer ${p.name} check failed: ${n}`);
    }
  }
  if (results.peerInstall?.installed?.length) notes.push(`- installed peers this run: ${results.peerInstall.installed.join(', ')}`);
  if (results.peerInstall?.missing?.length) notes.push(`- peers missing: ${results.peerInstall.missing.join(', ')}`);
  if (results.interrupted) notes.push('- the run was interrupted: results are partial');
  return [...head, markdownTable(results), '', ...(notes.length ? ['Notes:', '', ...notes, ''] : [])].join('\n');
}
