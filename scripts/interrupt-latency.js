#!/usr/bin/env node
// Measures how long each long command takes to end after a Ctrl-C (issue 15's target:
// 200 ms), at a real terminal: test/support/pty-run.py types the key once the command's
// progress shows (or its trigger fires) and times the exit. Not a test: the numbers
// depend on the machine's load, so they are printed, never asserted.
//
//   node scripts/interrupt-latency.js [--runs N] [--cli path/to/bin/run.js] [--only a,b]
//
// Builds its inputs in a temp directory (a 400,000-line JSONL file, a store of it, a
// damaged copy, a store of 2 MiB segments, a fixture spec); ~1 minute before the runs.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const runs = Number(opt('--runs', '5'));
const cli = opt('--cli', join(root, 'bin', 'run.js'));
const only = opt('--only', '')?.split(',').filter(Boolean) ?? [];
const PTY = join(root, 'test', 'support', 'pty-run.py');
const env = { ...process.env, NODE_ENV: 'production', NO_COLOR: '1', SEGLOG_DEBUG: '' };

const dir = mkdtempSync(join(tmpdir(), 'seglog-latency-'));
const seglog = (...a) => execFileSync(process.execPath, [cli, ...a], { env, stdio: ['ignore', 'ignore', 'inherit'] });
const input = join(dir, 'events.jsonl');
const lines = [];
for (let i = 0; i < 400_000; i++) lines.push(JSON.stringify({ entity: `order:${i % 500}`, scope: 'tenant:acme', kind: '1:1', payload: { i, note: 'x'.repeat(i % 40) } }));
writeFileSync(input, `${lines.join('\n')}\n`);
const big = join(dir, 'big');
seglog('append', big, '--create', '--file', input);
const damaged = join(dir, 'damaged');
cpSync(big, damaged, { recursive: true });
const seg0 = join(damaged, '0000000000.seg');
const bytes = readFileSync(seg0);
bytes[Math.floor(bytes.length / 2)] ^= 0xff;
writeFileSync(seg0, bytes);
const small = join(dir, 'small');
seglog('init', small, '--segment-max-bytes', String(2 * 1024 * 1024));
seglog('append', small, '--file', input);
const stripped = join(dir, 'stripped');
cpSync(big, stripped, { recursive: true });
seglog('sidx', 'strip', stripped, '--yes');
const spec = join(dir, 'spec.jsonl');
writeFileSync(spec, `${lines.map((_, i) => JSON.stringify({ type: 'event', entity: `e:${i % 300}`, scope: 's', payload: { i, pad: 'y'.repeat(60) } })).join('\n')}\n`);

/** name, trigger, command (args after the CLI), setup (fresh copies), stdout file, typed text. */
const cases = [
  { name: 'append --file', trigger: 'after:ETA', cmd: (d) => ['append', join(d, 'a'), '--create', '--file', input] },
  { name: 'append --file --batch-size 100', trigger: 'after:ETA', cmd: (d) => ['append', join(d, 'a'), '--create', '--file', input, '--batch-size', '100'] },
  {
    name: 'append --file - (typed)',
    trigger: (d) => `aftergrow:${join(d, 't', '0000000000.seg')}`,
    setup: (d) => seglog('append', join(d, 't'), '--create', '--entity', 'a:0', '--scope', 't', '--payload', '0'),
    cmd: (d) => ['append', join(d, 't'), '--file', '-'],
    typed: '{"entity":"a:1","scope":"t","payload":1}\n{"entity":"a:2","sco',
  },
  { name: 'verify', trigger: 'after:verifying  ', cmd: () => ['verify', big] },
  { name: 'dump --json', trigger: 'afterbytes:200000', stdout: true, cmd: () => ['dump', big, '--json'] },
  { name: 'wal replay', trigger: 'after:replaying', cmd: () => ['wal', 'replay', big] },
  { name: 'sidx strip', trigger: 'after:stripping footers', setup: (d) => cpSync(small, join(d, 's'), { recursive: true }), cmd: (d) => ['sidx', 'strip', join(d, 's'), '--yes'] },
  { name: 'repair --dry-run (plan)', trigger: 'after:planning', cmd: () => ['repair', damaged, '--dry-run'] },
  { name: 'repair --yes (writing)', trigger: 'after:repairing: writing', setup: (d) => cpSync(damaged, join(d, 'r'), { recursive: true }), cmd: (d) => ['repair', join(d, 'r'), '--yes'] },
  { name: 'repair --output (copying)', trigger: 'after:copying', cmd: (d) => ['repair', damaged, '--output', join(d, 'o'), '--yes'] },
  { name: 'sidx rebuild (90 MB segment)', trigger: 'after:rebuilding footers', setup: (d) => cpSync(stripped, join(d, 'b'), { recursive: true }), cmd: (d) => ['sidx', 'rebuild', join(d, 'b'), '--yes'] },
  { name: 'drill', trigger: 'after:crash states', cmd: () => ['drill'] },
  { name: 'fixture build', trigger: 'after:writing frames', cmd: (d) => ['fixture', 'build', join(d, 'f'), '--spec', spec] },
];

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`Ctrl-C to exit, ms (${runs} runs each; cli ${cli}; load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')})`);
console.log('| command | median | min | max | exit codes |\n|---|---|---|---|---|');
for (const c of cases) {
  if (only.length > 0 && !only.some((o) => c.name.startsWith(o))) continue;
  const times = [];
  const codes = new Set();
  for (let i = 0; i < runs; i++) {
    const d = mkdtempSync(join(dir, 'run-'));
    c.setup?.(d);
    const trigger = typeof c.trigger === 'function' ? c.trigger(d) : c.trigger;
    const extra = c.typed ? [`type:${JSON.stringify(c.typed)}`] : [];
    const out = execFileSync('python3', [PTY, '80', '30', trigger, c.stdout ? join(d, 'stdout') : '-', ...extra, '--', process.execPath, cli, ...c.cmd(d)], { env, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
    const r = JSON.parse(out);
    codes.add(r.exit);
    if (r.interruptedAtMs !== null) times.push(r.exitedAtMs - r.interruptedAtMs);
    rmSync(d, { recursive: true, force: true });
  }
  const row = times.length === 0 ? ['never interrupted', '', ''] : [median(times), Math.min(...times), Math.max(...times)];
  console.log(`| ${c.name} | ${row.join(' | ')} | ${[...codes].join(',')} |`);
}
rmSync(dir, { recursive: true, force: true });
