#!/usr/bin/env node
// seglog entry point: runs the compiled commands in dist/, found through
// oclif.manifest.json (written by `npm run build`).
//
// Under NODE_ENV=development or test, oclif would look for src/*.ts and try to register
// a TypeScript loader, which this package does not ship: an inherited NODE_ENV (a test
// runner spawning the CLI, a developer's shell) would make the installed binary warn
// or load the wrong files. Auto-transpiling is switched off: the CLI is always dist/.
//
// `seglog --version` answers before loading oclif: importing @oclif/core is most of the
// start-up time (~0.2 s of ~0.3 s), and the answer is oclif's user agent line, built
// here the same way (name/version platform-arch node-version). Under WSL oclif says
// "wsl" for the platform: there the normal path runs.
//
// `head`, `prove`, `check-proof`, `stats`, `verify`, a plain `dump` (text or jsonl), `sidx rebuild --yes`,
// `repair STORE --yes` and `append --file FILE` take a fast path without oclif too (all but the first four only when stderr is not a terminal)
// (dist/ui/fast-path.js, issue 16's and issue 18's speed targets): it runs only a command
// line it fully understands and leaves everything else (--help, errors in the flags) to oclif. SEGLOG_FAST_PATH=0 turns it off.
import { existsSync, readFileSync } from 'node:fs';
import { arch, platform, release } from 'node:os';

function versionLine() {
  if (process.argv[2] !== '--version' || platform() === 'win32') return null;
  if (platform() === 'linux') {
    let proc = '';
    try {
      proc = readFileSync('/proc/version', 'utf8');
    } catch {
      // no /proc: not WSL
    }
    if (/microsoft/i.test(release()) || /microsoft/i.test(proc)) return null;
  }
  const pjson = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  // a hook other than command_not_found might change what --version prints
  const hooks = Object.keys(pjson.oclif?.hooks ?? {}).filter((name) => name !== 'command_not_found');
  if (pjson.oclif?.additionalVersionFlags || hooks.length > 0) return null;
  return `${pjson.name}/${pjson.version} ${platform()}-${arch() === 'ia32' ? 'x86' : arch()} node-${process.version}\n`;
}

// dist/ is built by `npm run build` (also run by `npm ci`/`npm install` through the
// `prepare` script, and by `npm test`). Without it oclif would say "command verify:<path>
// not found", which hides the cause: say it in one line instead.
function missingBuild() {
  const root = new URL('../', import.meta.url);
  for (const f of ['dist/commands/verify.js', 'oclif.manifest.json']) {
    if (!existsSync(new URL(f, root))) return f;
  }
  return null;
}

const FAST_COMMANDS = new Set(['head', 'prove', 'check-proof', 'stats', 'dump', 'verify', 'sidx', 'repair', 'append']);

async function ranFast() {
  if (process.env.SEGLOG_FAST_PATH === '0' || !FAST_COMMANDS.has(process.argv[2])) return false;
  const { runFast } = await import('../dist/ui/fast-path.js');
  return runFast(process.argv.slice(2));
}

// A command that will run a large job in a worker thread (dist/ui/job/run-job.js) gets
// that worker started now, so its boot overlaps oclif's start-up (dist/ui/job/prewarm.js:
// a guess from the command line; the command still decides). SEGLOG_JOB_PREWARM=0 turns it off.
const JOB_COMMANDS = new Set(['dump', 'verify', 'append', 'wal', 'sidx', 'repair']);

async function prewarmJob() {
  if (process.env.SEGLOG_JOB_WORKER === '0' || process.env.SEGLOG_JOB_PREWARM === '0' || !JOB_COMMANDS.has(process.argv[2])) return;
  const { prewarm } = await import('../dist/ui/job/prewarm.js');
  prewarm(process.argv.slice(2));
}

const version = versionLine();
const missing = version === null ? missingBuild() : null;
if (missing !== null) {
  process.stderr.write(`seglog: the CLI is not built (${missing} is missing): run \`npm run build\` (or \`npm ci\`) in ${decodeURIComponent(new URL('../', import.meta.url).pathname).replace(/\/$/, '')}\n`);
  process.exitCode = 2;
} else if (version !== null) {
  process.stdout.write(version);
} else {
  // the warm worker serves the fast path's dump as well as oclif's commands
  await prewarmJob();
  if (!(await ranFast())) {
    const { execute, settings } = await import('@oclif/core');
    settings.enableAutoTranspile = false;
    await execute({ dir: import.meta.url });
  }
}
