// Small helpers shared by bench/run.js and bench/profile.js. Node stdlib only.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const ROOT_DIR = path.resolve(BENCH_DIR, '..');
export const DATA_DIR = path.join(BENCH_DIR, 'data');
export const RESULTS_DIR = path.join(BENCH_DIR, 'results');
/** The CLI under test; SEGLOG_BENCH_CLI points the harness at another build (a baseline). */
export const CLI_PATH = process.env.SEGLOG_BENCH_CLI ? path.resolve(process.env.SEGLOG_BENCH_CLI) : path.join(ROOT_DIR, 'bin', 'run.js');

/** Progress goes to stderr so stdout carries only the final table. */
export function log(msg) {
  process.stderr.write(`[bench] ${msg}\n`);
}

export function rmrf(p) {
  fs.rmSync(p, { recursive: true, force: true, maxRetries: 3 });
}

export function mkdirp(p) {
  fs.mkdirSync(p, { recursive: true });
}

export function fileSize(p) {
  try {
    return fs.statSync(p).size;
  } catch {
    return -1;
  }
}

/** Total bytes of the regular files under a directory (recursively). */
export function dirBytes(dir) {
  let total = 0;
  for (const f of walkFiles(dir)) total += fileSize(f);
  return total;
}

export function walkFiles(dir) {
  const out = [];
  let entries;
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...walkFiles(p));
    else if (e.isFile()) out.push(p);
  }
  return out.sort();
}

/**
 * A cheap fingerprint of a directory (names, sizes, mtimes): used to notice that a
 * command wrote into a store (a checkpoint, a truncated WAL) so that the next run
 * gets a pristine copy again.
 */
export function dirFingerprint(dir) {
  return walkFiles(dir)
    .map((f) => {
      const st = fs.statSync(f);
      return `${path.relative(dir, f)}:${st.size}:${st.mtimeMs}`;
    })
    .join('|');
}

export function copyDir(src, dst) {
  rmrf(dst);
  fs.cpSync(src, dst, { recursive: true, preserveTimestamps: true });
}

/**
 * copyDir, then every file and directory of the copy fsynced: a store at rest, as a
 * command meets it in use. Without it the first fsync of a timed run (the store's LOCK)
 * waits for an ext4 journal commit that writes the fresh copy out (0.07-1.5 s measured
 * in round five for a 443 MB store): the copy's cost, not the command's.
 */
export function copyDirDurable(src, dst) {
  copyDir(src, dst);
  const syncPath = (p) => {
    const fd = fs.openSync(p, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  };
  for (const f of walkFiles(dst)) syncPath(f);
  const dirs = (d) => [d, ...fs.readdirSync(d, { withFileTypes: true }).filter((e) => e.isDirectory()).flatMap((e) => dirs(path.join(d, e.name)))];
  for (const d of dirs(dst)) syncPath(d);
  syncPath(path.dirname(dst));
}

/** Find an executable on PATH (what `command -v` does), or null. */
export function which(name) {
  if (name.includes('/')) return isExecutable(name) ? name : null;
  for (const dir of (process.env.PATH || '/usr/local/bin:/usr/bin:/bin').split(':')) {
    if (!dir) continue;
    const p = path.join(dir, name);
    if (isExecutable(p)) return p;
  }
  return null;
}

function isExecutable(p) {
  try {
    const st = fs.statSync(p);
    if (!st.isFile()) return false;
    fs.accessSync(p, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function median(xs) {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function summarize(runs) {
  const ok = runs.filter((r) => !r.error && !r.warmup);
  const secs = ok.map((r) => r.seconds);
  const rss = ok.map((r) => r.rssKB).filter((x) => typeof x === 'number');
  const cpu = ok.map((r) => r.cpuSeconds).filter((x) => typeof x === 'number');
  if (secs.length === 0) return null;
  return {
    runs: secs.length,
    median: median(secs),
    cpuMedian: cpu.length ? median(cpu) : null,
    min: Math.min(...secs),
    max: Math.max(...secs),
    peakRssMiB: rss.length ? Math.max(...rss) / 1024 : null,
  };
}

export function fmtSec(s) {
  if (s == null || !Number.isFinite(s)) return '—';
  if (s < 1) return `${(s * 1000).toFixed(s < 0.01 ? 2 : 1)} ms`;
  return `${s.toFixed(s < 10 ? 3 : 2)} s`;
}

export function fmtRate(r) {
  if (r == null || !Number.isFinite(r)) return '—';
  if (r >= 1e6) return `${(r / 1e6).toFixed(2)} M/s`;
  if (r >= 1e3) return `${(r / 1e3).toFixed(1)} k/s`;
  return `${r.toFixed(0)}/s`;
}

export function fmtBytes(b) {
  if (b == null || b < 0) return '—';
  if (b >= 1 << 30) return `${(b / (1 << 30)).toFixed(2)} GiB`;
  if (b >= 1 << 20) return `${(b / (1 << 20)).toFixed(1)} MiB`;
  if (b >= 1 << 10) return `${(b / (1 << 10)).toFixed(1)} KiB`;
  return `${b} B`;
}

export function fmtCount(n) {
  return n.toLocaleString('en-US');
}
