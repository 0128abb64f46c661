#!/usr/bin/env node
// `npm run drill:long`: the long drill, outside the default test run (issue 5). Every
// workload, several seeds, every crash point in every mode, and crashes during recovery
// for 64 sampled points each; then the canary, which must be caught. Prints one JSON
// summary on stdout (progress on stderr) and exits 1 on any violation or a missed canary,
// 2 when a drill could not run.
//
//   node scripts/drill-long.js [--seeds 1,2,3] [--workloads default,txn] [--recovery-points N]
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../bin/run.js', import.meta.url));

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

const seeds = arg('seeds', '1,2,3').split(',').map(Number);
const workloads = arg('workloads', 'default,batches,singles,txn,bounded').split(',');
const recoveryPoints = arg('recovery-points', '64');

function drill(args) {
  const started = Date.now();
  const r = spawnSync(process.execPath, [CLI, 'drill', ...args, '--json'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  let json = null;
  try {
    json = JSON.parse(r.stdout);
  } catch {
    // reported below
  }
  return { status: r.status, json, stderr: r.stderr.trim().split('\n').at(-1) ?? '', seconds: (Date.now() - started) / 1000 };
}

const runs = [];
let failed = false;
let broken = false;
for (const workload of workloads) {
  for (const seed of seeds) {
    const r = drill(['--workload', workload, '--seed', String(seed), '--points', 'all', '--recovery-points', recoveryPoints]);
    const j = r.json;
    const line = j
      ? { workload, seed, crashStates: j.crashStates, recoveryCrashStates: j.recoveryCrashStates, violations: j.violations, digest: j.digest, seconds: r.seconds, reproduce: j.reproduce }
      : { workload, seed, error: r.stderr, exit: r.status, seconds: r.seconds };
    process.stderr.write(`${JSON.stringify(line)}\n`);
    runs.push(line);
    if (!j) broken = true;
    else if (j.violations > 0) failed = true;
  }
}
const canary = drill(['--canary', '--points', '500']);
const canaryCaught = canary.status === 0 && canary.json !== null && canary.json.violations > 0;
process.stderr.write(`canary: ${canaryCaught ? 'caught' : 'NOT caught'}\n`);
const sum = (k) => runs.reduce((n, r) => n + (r[k] ?? 0), 0);
process.stdout.write(
  `${JSON.stringify({ runs, crashStates: sum('crashStates'), recoveryCrashStates: sum('recoveryCrashStates'), violations: sum('violations'), canaryCaught, seconds: sum('seconds') }, null, 1)}\n`,
);
process.exit(broken ? 2 : failed || !canaryCaught ? 1 : 0);
