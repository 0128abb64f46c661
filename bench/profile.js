#!/usr/bin/env node
// Profile one of our benchmark cases: runs the same command as bench/run.js under
// `node --cpu-prof` and prints the functions with the most self time.
// Usage: node bench/profile.js <case> [--quick] [--top N] [--batch-size N]
// Profiles land in bench/results/profiles/<case>-<time>/ (gitignored); open one in
// Chrome DevTools (Performance tab) or VS Code for the flame chart.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CLI_PATH, ROOT_DIR, RESULTS_DIR, log, mkdirp, rmrf, fmtSec } from './lib/util.js';
import { ensureDatasets } from './lib/datasets.js';
import { CASES, CASE_ALIASES, cliEnv } from './lib/cases.js';
import { measure, gnuTimeWorks, killAllChildren } from './lib/proc.js';

const USAGE = `usage: node bench/profile.js <case> [--quick] [--top N] [--batch-size N]
  cases: ${CASES.map((c) => c.name).join(', ')}
  --quick      100,000 events / transactions instead of 1,000,000
  --top N      how many functions to list (default 15)`;

function parse() {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        quick: { type: 'boolean', default: false },
        top: { type: 'string', default: '15' },
        'batch-size': { type: 'string' },
        timeout: { type: 'string', default: '300' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (e) {
    process.stderr.write(`${e.message}\n${USAGE}\n`);
    process.exit(2);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  if (positionals.length !== 1) {
    process.stderr.write(`${USAGE}\n`);
    process.exit(2);
  }
  let name = positionals[0];
  if (CASE_ALIASES[name]) name = CASE_ALIASES[name][0];
  const def = CASES.find((c) => c.name === name);
  if (!def) {
    process.stderr.write(`unknown case "${positionals[0]}"\n${USAGE}\n`);
    process.exit(2);
  }
  return {
    def,
    quick: values.quick,
    top: Math.max(1, Number(values.top) || 15),
    batchSize: values['batch-size'] ? Number(values['batch-size']) : undefined,
    timeoutMs: (Number(values.timeout) || 300) * 1000,
  };
}

/** Self time per function, summed over every profile (the main thread and any workers). */
function selfTimes(profiles) {
  const byFn = new Map();
  let totalUs = 0;
  for (const prof of profiles) {
    const nodes = new Map(prof.nodes.map((n) => [n.id, n]));
    const selfUs = new Map();
    if (Array.isArray(prof.samples) && Array.isArray(prof.timeDeltas) && prof.timeDeltas.length === prof.samples.length) {
      // timeDeltas[i] is the time since the previous sample: charge it to samples[i].
      for (let i = 0; i < prof.samples.length; i++) {
        const dt = Math.max(0, prof.timeDeltas[i]);
        selfUs.set(prof.samples[i], (selfUs.get(prof.samples[i]) ?? 0) + dt);
      }
    } else {
      // No per-sample deltas: spread the profile's duration evenly over the hits.
      const hits = prof.nodes.reduce((a, n) => a + (n.hitCount ?? 0), 0) || 1;
      const per = (prof.endTime - prof.startTime) / hits;
      for (const n of prof.nodes) if (n.hitCount) selfUs.set(n.id, n.hitCount * per);
    }
    for (const [id, us] of selfUs) {
      const n = nodes.get(id);
      if (!n) continue;
      const cf = n.callFrame;
      const fn = cf.functionName || '(anonymous)';
      const url = cf.url ? cf.url.replace(/^file:\/\//, '') : '';
      const loc = url ? `${path.relative(ROOT_DIR, url) || url}:${cf.lineNumber + 1}:${cf.columnNumber + 1}` : '';
      const key = `${fn}\u0000${loc}`;
      const e = byFn.get(key) ?? { fn, loc, us: 0, hits: 0 };
      e.us += us;
      e.hits += n.hitCount ?? 0;
      byFn.set(key, e);
      totalUs += us;
    }
  }
  return { rows: [...byFn.values()].sort((a, b) => b.us - a.us), totalUs };
}

async function main() {
  const opts = parse();
  const count = opts.quick ? 100_000 : 1_000_000;
  if (!fs.existsSync(CLI_PATH)) {
    process.stderr.write(`[profile] ${CLI_PATH} does not exist: build first (npm run build)\n`);
    process.exit(2);
  }
  const ds = await ensureDatasets({ count, txns: count, sqlite3Path: null });
  const workDir = path.join(ds.dir, 'work-profile');
  rmrf(workDir);
  mkdirp(workDir);
  const ctx = { ds, workDir, tools: {}, runs: 1, warmup: 0, timeoutMs: opts.timeoutMs, rssMethod: 'poll', batchSize: opts.batchSize, refStore: null };

  const cleanup = () => rmrf(workDir);
  process.on('SIGINT', () => {
    killAllChildren();
    cleanup();
    process.exit(130);
  });

  let spec;
  try {
    spec = await opts.def.prepare(ctx);
    if (spec.ours.error) throw new Error(spec.ours.error);
    if (spec.ours.beforeRun) await spec.ours.beforeRun();
  } catch (e) {
    process.stderr.write(`[profile] setup failed: ${e.message}\n`);
    cleanup();
    process.exit(2);
  }

  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const profDir = path.join(RESULTS_DIR, 'profiles', `${opts.def.name}-${stamp}`);
  mkdirp(profDir);
  const args = ['--cpu-prof', `--cpu-prof-dir=${profDir}`, CLI_PATH, ...spec.ours.cliArgs];
  log(`profiling: node ${args.join(' ')}`);
  const r = await measure(process.execPath, args, {
    stdin: spec.ours.stdin,
    stdout: spec.ours.stdout === 'ignore' ? 'ignore' : 'capture',
    env: cliEnv(),
    timeoutMs: opts.timeoutMs,
    rssMethod: gnuTimeWorks() ? 'time' : 'poll',
    tmpDir: workDir,
  });
  cleanup();
  if (r.error) log(`the command failed (${r.error}); showing whatever profile it left`);
  log(`wall ${fmtSec(r.seconds)} under the profiler${r.rssKB ? `, peak RSS ${(r.rssKB / 1024).toFixed(1)} MiB` : ''}`);

  const files = fs.readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile'));
  if (files.length === 0) {
    process.stderr.write(`[profile] no .cpuprofile was written in ${profDir}\n`);
    process.exit(1);
  }
  const profiles = files.map((f) => JSON.parse(fs.readFileSync(path.join(profDir, f), 'utf8')));
  const { rows, totalUs } = selfTimes(profiles);
  const out = [
    `Top ${opts.top} functions by self time: case ${opts.def.name} (${count.toLocaleString('en-US')} ${spec.rowsUnit ?? 'rows'}), ` +
      `${files.length} profile(s) in ${path.relative(process.cwd(), profDir)}, ${(totalUs / 1000).toFixed(0)} ms sampled`,
    '',
    '| # | self ms | self % | function | location |',
    '|---|---|---|---|---|',
  ];
  rows.slice(0, opts.top).forEach((e, i) => {
    out.push(`| ${i + 1} | ${(e.us / 1000).toFixed(1)} | ${((100 * e.us) / (totalUs || 1)).toFixed(1)} | ${e.fn.replace(/\|/g, '\\|')} | ${e.loc || '(native/VM)'} |`);
  });
  process.stdout.write(`${out.join('\n')}\n`);
  if (r.error) process.exitCode = 1;
}

main().catch((e) => {
  killAllChildren();
  process.stderr.write(`[profile] fatal: ${e.stack || e.message}\n`);
  process.exit(2);
});
