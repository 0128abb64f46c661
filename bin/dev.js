#!/usr/bin/env node
// Development entry point. Node 20 cannot run TypeScript and this project has no
// TypeScript loader (tsx is not a dependency), so dev runs the compiled dist/ exactly
// like bin/run.js. To pick up edits without a manual `npm run build`, it first rebuilds
// (tsc + manifest, output on stderr) when any file under src/ is newer than the last
// build's manifest. SEGLOG_DEV_NO_BUILD=1 skips that check. For a clean build (files
// deleted from src/ also leave dist/), run `npm run build`.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const manifest = join(root, 'oclif.manifest.json');

function mtimeMs(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return -1;
  }
}

function newestMtimeMs(dir) {
  let newest = -1;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtimeMs(path) : mtimeMs(path));
  }
  return newest;
}

function step(args) {
  const done = spawnSync(process.execPath, args, {
    cwd: root,
    stdio: ['ignore', 2, 2], // stdout stays clean for the command's own output
    env: { ...process.env, NODE_ENV: 'production' },
  });
  if (done.status !== 0) {
    process.stderr.write(`seglog dev: build step failed: node ${args.join(' ')}\n`);
    process.exit(2);
  }
}

if (process.env.SEGLOG_DEV_NO_BUILD !== '1') {
  const builtAt = mtimeMs(manifest);
  if (builtAt < 0 || newestMtimeMs(join(root, 'src')) > builtAt) {
    process.stderr.write('seglog dev: src/ changed, rebuilding dist/\n');
    step([join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.json')]);
    step([join(root, 'scripts', 'manifest.js')]);
  }
}

const { execute, settings } = await import('@oclif/core');
settings.enableAutoTranspile = false;
await execute({ development: false, dir: import.meta.url });
