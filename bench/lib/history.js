// The bench history: one JSON line per full or quick run (bench/results/history.jsonl),
// and one self-contained SVG chart per case drawn from it (bench/results/charts/), so a
// regression is seen, not read. Charts plot the ratio to the case's peer (ours/peer,
// below 1 = faster than the peer) when the case has one, else the median in seconds;
// full runs and quick runs are separate series (their sizes differ tenfold).
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { RESULTS_DIR, mkdirp } from './util.js';

export const HISTORY_FILE = path.join(RESULTS_DIR, 'history.jsonl');
export const CHARTS_DIR = path.join(RESULTS_DIR, 'charts');

function gitCommit() {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no', '--', 'src', 'bin', 'package.json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return dirty ? `${head}+dirty` : head;
  } catch {
    return 'unknown';
  }
}

/** The history line of one results object (bench/run.js's `results`). */
export function historyEntry(results, commit = gitCommit()) {
  const cases = {};
  for (const c of results.cases) {
    const s = c.ours?.summary;
    if (!s) continue;
    const peer = (c.peers ?? []).find((p) => !p.info && p.ratio != null && !p.computed);
    cases[c.name] = {
      median: round(s.median, 4),
      ratio: peer ? round(peer.ratio, 3) : null,
      peer: peer ? peer.name : null,
      peakRssMiB: s.peakRssMiB == null ? null : round(s.peakRssMiB, 1),
      met: c.target?.met ?? null,
    };
    // a case's own figures (the live cases: latency, bytes located, events/s), its reference runs' too
    if (c.metrics) cases[c.name].metrics = c.metrics;
    if (c.chart) cases[c.name].chart = c.chart; // the figure to chart instead of the median (follow-latency: p99Ms)
    const refs = (c.peers ?? []).filter((p) => p.metrics);
    if (refs.length) cases[c.name].peerMetrics = Object.fromEntries(refs.map((p) => [p.name, p.metrics]));
  }
  return { date: results.date, commit, quick: results.quick, events: results.events, load: results.machine?.loadavg?.map((x) => round(x, 2)) ?? null, cases };
}

function round(x, digits) {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export function readHistory(file = HISTORY_FILE) {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim().length > 0)
    .map((l) => JSON.parse(l));
}

export function appendHistory(entry, file = HISTORY_FILE) {
  mkdirp(path.dirname(file));
  fs.appendFileSync(file, `${JSON.stringify(entry)}\n`);
}

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** One case's chart as an SVG document (no scripts, no external references). */
export function chartSvg(name, history) {
  const W = 720;
  const H = 300;
  const left = 64;
  const right = 16;
  const top = 36;
  const bottom = 64;
  const series = [
    { label: 'full (1M)', quick: false, color: '#1f6feb' },
    { label: 'quick (100k)', quick: true, color: '#d1242f' },
  ];
  const usable = history.filter((h) => h.cases[name]);
  const metric = usable.at(-1)?.cases[name].chart ?? null;
  const byRatio = !metric && usable.some((h) => h.cases[name].ratio != null);
  const value = (h) => (metric ? h.cases[name].metrics?.[metric] ?? null : byRatio ? h.cases[name].ratio : h.cases[name].median);
  const points = usable.filter((h) => value(h) != null);
  const ys = points.map(value);
  const maxY = Math.max(byRatio ? 1.2 : 0, ...ys) * 1.1 || 1;
  const x = (i) => left + (points.length <= 1 ? (W - left - right) / 2 : (i * (W - left - right)) / (points.length - 1));
  const y = (v) => top + (1 - v / maxY) * (H - top - bottom);
  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`);
  out.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  const unit = metric
    ? `${esc(metric)} (lower is better)`
    : byRatio
      ? `ratio ours/${esc(points.at(-1)?.cases[name].peer ?? 'peer')} (lower is better; 1 = the peer)`
      : 'median seconds (lower is better)';
  out.push(`<text x="${left}" y="20" font-size="14" font-weight="bold">${esc(name)}</text>`);
  out.push(`<text x="${left + 8 + name.length * 8}" y="20" fill="#555">${unit}</text>`);
  for (let k = 0; k <= 4; k++) {
    const v = (maxY * k) / 4;
    out.push(`<line x1="${left}" x2="${W - right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end" fill="#555">${v.toPrecision(2)}</text>`);
  }
  if (byRatio) out.push(`<line x1="${left}" x2="${W - right}" y1="${y(1).toFixed(1)}" y2="${y(1).toFixed(1)}" stroke="#888" stroke-dasharray="4 3"/>`);
  points.forEach((h, i) => {
    const label = `${h.commit} ${String(h.date).slice(5, 10)}`;
    out.push(`<text transform="translate(${x(i).toFixed(1)},${H - bottom + 14}) rotate(30)" fill="#555">${esc(label)}</text>`);
  });
  for (const s of series) {
    const idx = points.map((h, i) => [h, i]).filter(([h]) => Boolean(h.quick) === s.quick);
    if (idx.length === 0) continue;
    const d = idx.map(([h, i], k) => `${k === 0 ? 'M' : 'L'}${x(i).toFixed(1)},${y(value(h)).toFixed(1)}`).join(' ');
    out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"/>`);
    for (const [h, i] of idx) {
      const v = value(h);
      out.push(`<circle cx="${x(i).toFixed(1)}" cy="${y(v).toFixed(1)}" r="3.5" fill="${s.color}"><title>${esc(`${h.commit} ${h.date}: ${v}${metric ? '' : byRatio ? 'x' : ' s'}; load ${(h.load ?? []).join(' ')}`)}</title></circle>`);
    }
  }
  series.forEach((s, k) => {
    out.push(`<rect x="${W - right - 200 + k * 100}" y="10" width="10" height="10" fill="${s.color}"/>`);
    out.push(`<text x="${W - right - 186 + k * 100}" y="19">${s.label}</text>`);
  });
  if (points.length === 0) out.push(`<text x="${W / 2}" y="${H / 2}" text-anchor="middle" fill="#555">no runs yet</text>`);
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** Writes charts/<case>.svg for every case in the history; returns the files written. */
export function writeCharts(history = readHistory(), dir = CHARTS_DIR) {
  mkdirp(dir);
  const names = [...new Set(history.flatMap((h) => Object.keys(h.cases)))];
  const files = [];
  for (const n of names) {
    const f = path.join(dir, `${n}.svg`);
    fs.writeFileSync(f, chartSvg(n, history));
    files.push(f);
  }
  return files;
}
