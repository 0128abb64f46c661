#!/usr/bin/env node
// seglog benchmark harness: our built CLI against real peers on equivalent data.
// Usage: node bench/run.js [--quick] [--cases a,b,...] [--runs N] [--warmup N]
//          [--timeout S] [--batch-size N] [--rss-method time|poll] [--no-install] [--keep]
//          [--ref-store DIR]
// See bench/README.md. Progress goes to stderr; the final table to stdout.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CLI_PATH, RESULTS_DIR, copyDir, log, mkdirp, rmrf } from './lib/util.js';
import { ensurePeers } from './lib/peers.js';
import { ensureDatasets, PAYLOAD_BYTES, ENTITIES } from './lib/datasets.js';
import { CASES, resolveCaseNames, cli } from './lib/cases.js';
import { runCase } from './lib/runner.js';
import { markdownReport, markdownTable } from './lib/report.js';
import { gnuTimeWorks, killAllChildren } from './lib/proc.js';
import { appendHistory, historyEntry, readHistory, writeCharts } from './lib/history.js';

const USAGE = `usage: node bench/run.js [options]
  --quick              100,000 events / transactions instead of 1,000,000; 3 runs
  --cases a,b,...      cases to run (default all): ${CASES.map((c) => c.name).join(', ')}
                       (aliases: wal, cold-open)
  --runs N             timed runs per command (default 5, quick 3)
  --warmup N           untimed warm-up runs per command, the first also checks output (default 1)
  --timeout S          per-process timeout in seconds (default 300)
  --batch-size N       pass --batch-size N to seglog append
  --rss-method M       time (/usr/bin/time -f %M, default when present) or poll (/proc VmHWM)
  --no-install         do not apt-get install missing peers
  --keep               keep the scratch stores in bench/data/n<COUNT>/work
  --ref-store DIR      copy DIR (a store of this dataset's events) as the reference store
                       instead of building it (it is never written to)
  -h, --help`;

function parse() {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        quick: { type: 'boolean', default: false },
        cases: { type: 'string' },
        runs: { type: 'string' },
        warmup: { type: 'string' },
        timeout: { type: 'string' },
        'batch-size': { type: 'string' },
        'rss-method': { type: 'string' },
        'no-install': { type: 'boolean', default: false },
        keep: { type: 'boolean', default: false },
        'ref-store': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    }));
  } catch (e) {
    process.stderr.write(`${e.message}\n${USAGE}\n`);
    process.exit(2);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const int = (v, name, min) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) {
      process.stderr.write(`--${name} must be an integer ≥ ${min}\n`);
      process.exit(2);
    }
    return n;
  };
  const quick = values.quick;
  let caseNames;
  try {
    caseNames = values.cases ? resolveCaseNames(values.cases.split(',')) : CASES.map((c) => c.name);
  } catch (e) {
    process.stderr.write(`${e.message}\n`);
    process.exit(2);
  }
  const rssMethod = values['rss-method'] ?? null; // null: decided after the peers are installed
  if (rssMethod !== null && !['time', 'poll'].includes(rssMethod)) {
    process.stderr.write('--rss-method must be time or poll\n');
    process.exit(2);
  }
  return {
    quick,
    caseNames,
    count: quick ? 100_000 : 1_000_000,
    txns: quick ? 100_000 : 1_000_000,
    runs: int(values.runs, 'runs', 1) ?? (quick ? 3 : 5),
    warmup: int(values.warmup, 'warmup', 0) ?? 1,
    timeoutMs: (int(values.timeout, 'timeout', 1) ?? 300) * 1000,
    batchSize: int(values['batch-size'], 'batch-size', 1),
    rssMethod,
    install: !values['no-install'],
    keep: values.keep,
    refStore: values['ref-store'] ? path.resolve(values['ref-store']) : null,
  };
}

function machineInfo() {
  const cpus = os.cpus();
  return {
    hostname: os.hostname(),
    platform: os.platform(),
    release: os.release(),
    arch: os.arch(),
    cpus: cpus.length,
    cpuModel: cpus[0]?.model?.trim() ?? 'unknown CPU',
    memGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    loadavg: os.loadavg(),
  };
}

function writeResults(results) {
  mkdirp(RESULTS_DIR);
  fs.writeFileSync(path.join(RESULTS_DIR, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  fs.writeFileSync(path.join(RESULTS_DIR, 'latest.md'), markdownReport(results));
}

async function main() {
  const opts = parse();
  const started = Date.now();
  log(`seglog bench${opts.quick ? ' --quick' : ''}: cases ${opts.caseNames.join(', ')}; ${opts.runs} runs + ${opts.warmup} warm-up each`);

  // 1. Peers (and GNU time for RSS).
  const peerInstall = await ensurePeers({ install: opts.install });
  if (opts.rssMethod === 'time' && !gnuTimeWorks()) log('/usr/bin/time is not available: falling back to polling VmHWM');
  if (opts.rssMethod !== 'poll') opts.rssMethod = gnuTimeWorks() ? 'time' : 'poll';
  log(`peak RSS method: ${opts.rssMethod === 'time' ? '/usr/bin/time -f %M' : 'polling /proc/<pid>/status VmHWM'}`);

  // 2. Our CLI.
  let seglogVersion = null;
  let cliError = null;
  if (!fs.existsSync(CLI_PATH)) {
    cliError = `${path.relative(process.cwd(), CLI_PATH)} does not exist (build with npm run build)`;
  } else {
    const v = await cli({ timeoutMs: 60_000 }, ['--version']);
    if (v.error) cliError = `seglog --version failed: ${v.error}`;
    else seglogVersion = v.stdout.trim().split('\n')[0];
  }
  if (cliError) log(`WARNING: ${cliError}; our cases will report errors, peers are still measured`);
  else log(`seglog: ${seglogVersion}`);

  // 3. Datasets.
  const ds = await ensureDatasets({ count: opts.count, txns: opts.txns, sqlite3Path: peerInstall.tools.sqlite3?.path });
  const workDir = path.join(ds.dir, 'work');
  rmrf(workDir); // scratch stores are rebuilt by this CLI each run: the format may have changed
  mkdirp(workDir);

  const results = {
    date: new Date().toISOString(),
    machine: machineInfo(),
    node: process.version,
    seglogVersion,
    cliError,
    quick: opts.quick,
    runs: opts.runs,
    warmup: opts.warmup,
    timeoutSeconds: opts.timeoutMs / 1000,
    rssMethod: opts.rssMethod,
    batchSize: opts.batchSize ?? null,
    events: ds.count,
    txns: ds.txns,
    payloadBytes: PAYLOAD_BYTES,
    entities: ENTITIES,
    datasets: { dir: path.relative(process.cwd(), ds.dir) || ds.dir, bytes: ds.bytes, params: ds.params, sqliteDbError: ds.dbError },
    peers: peerInstall.tools,
    peerInstall: { installed: peerInstall.installed, failed: peerInstall.failed, missing: peerInstall.missing },
    cases: [],
  };

  const ctx = {
    ds,
    workDir,
    tools: peerInstall.tools,
    runs: opts.runs,
    warmup: opts.warmup,
    timeoutMs: opts.timeoutMs,
    rssMethod: opts.rssMethod,
    batchSize: opts.batchSize,
    refStore: cliError ? { error: `no store: ${cliError}` } : null,
  };

  if (opts.refStore && !ctx.refStore) {
    const dst = path.join(workDir, 'store');
    log(`copying the reference store from ${opts.refStore} ...`);
    try {
      copyDir(opts.refStore, dst);
      ctx.refStore = { dir: dst };
    } catch (e) {
      ctx.refStore = { error: `could not copy --ref-store ${opts.refStore}: ${e.message}` };
    }
  }

  let interrupted = false;
  const onSignal = (sig) => {
    if (interrupted) process.exit(130);
    interrupted = true;
    log(`${sig}: stopping children, writing partial results`);
    killAllChildren();
    if (!opts.keep) rmrf(workDir);
    results.interrupted = true;
    try {
      writeResults(results);
    } finally {
      process.exit(130);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  // 4. Cases, in canonical order (append first: its output is the reference store).
  for (const def of CASES.filter((c) => opts.caseNames.includes(c.name))) {
    let res;
    try {
      res = await runCase(ctx, def);
    } catch (e) {
      res = { name: def.name, title: def.title, status: 'error', error: `harness: ${e.stack || e.message}`, notes: [] };
    }
    results.cases.push(res);
    writeResults(results); // keep partial results on disk as we go
  }

  if (!opts.keep) rmrf(workDir);
  results.durationSeconds = Math.round((Date.now() - started) / 100) / 10;
  writeResults(results);

  // only whole runs of every case go into the history: a partial run is no point on the chart
  if (opts.caseNames.length === CASES.length) {
    appendHistory(historyEntry(results));
    const charts = writeCharts(readHistory());
    log(`history: appended to bench/results/history.jsonl; ${charts.length} charts in bench/results/charts/`);
  } else log('history: not appended (only some cases ran)');
  log(`done in ${results.durationSeconds} s; wrote bench/results/latest.json and bench/results/latest.md`);
  process.stdout.write(`\n${markdownTable(results)}\n`);
  const errors = results.cases.filter((c) => c.status === 'error').map((c) => c.name);
  if (errors.length) log(`cases with errors: ${errors.join(', ')} (details in bench/results/latest.md)`);
}

main().catch((e) => {
  killAllChildren();
  process.stderr.write(`[bench] fatal: ${e.stack || e.message}\n`);
  process.exit(2);
});
