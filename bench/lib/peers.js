// The peer tools we compare against, found on PATH or installed from Debian packages.
import { which, log } from './util.js';
import { runQuiet, GNU_TIME } from './proc.js';

/** binary -> Debian package that provides it */
export const PEERS = [
  { bin: 'b3sum', pkg: 'b3sum', why: 'the hashing floor for verify' },
  { bin: 'redis-check-aof', pkg: 'redis-tools', why: 'the verify peer (AOF check)' },
  { bin: 'sqlite3', pkg: 'sqlite3', why: 'the append and dump peer' },
  { bin: 'hyperfine', pkg: 'hyperfine', why: 'for ad-hoc cross-checks of the timings' },
  // Not a peer: GNU time measures the peak RSS of every case (see README).
  { bin: GNU_TIME, pkg: 'time', why: 'peak RSS of each run (/usr/bin/time -f %M)' },
];

const VERSION_ARGS = {
  b3sum: ['--version'],
  sqlite3: ['--version'],
  hyperfine: ['--version'],
  'redis-check-aof': null, // has no --version; dpkg tells us the package version instead
  [GNU_TIME]: ['--version'],
};

/**
 * Find every peer; when some are missing and we are root and allowed to, run
 * `apt-get update` once and `apt-get install -y <pkg>` for each missing package.
 * Returns { tools: {bin: {path, version, pkg, installedNow}}, installed: [...], failed: [...] }.
 */
export async function ensurePeers({ install = true } = {}) {
  const tools = {};
  const installed = [];
  const failed = [];
  let missing = PEERS.filter((p) => !which(p.bin));

  if (missing.length > 0) {
    const names = missing.map((p) => p.pkg).join(' ');
    const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
    const apt = which('apt-get');
    if (!install) {
      log(`peers missing: ${names} (--no-install given; install with: apt-get install -y ${names})`);
    } else if (!apt) {
      log(`peers missing: ${names}; apt-get is not available here, so they cannot be installed automatically`);
    } else if (!isRoot) {
      log(`peers missing: ${names}; not running as root, so not installing (run: sudo apt-get install -y ${names})`);
    } else {
      const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
      log(`peers missing: ${names}; running apt-get update once...`);
      const upd = await runQuiet(apt, ['update', '-q'], { env, timeoutMs: 300_000 });
      if (upd.error) log(`apt-get update failed (${upd.error}); trying the install anyway`);
      for (const p of missing) {
        log(`apt-get install -y ${p.pkg} ...`);
        const r = await runQuiet(apt, ['install', '-y', '-q', p.pkg], { env, timeoutMs: 300_000 });
        if (!r.error && which(p.bin)) {
          installed.push(p.pkg);
          log(`installed ${p.pkg} (${p.why})`);
        } else {
          failed.push({ pkg: p.pkg, reason: r.error || `${p.bin} still not on PATH after install` });
          log(`could NOT install ${p.pkg}: ${r.error || `${p.bin} still not on PATH`}`);
        }
      }
      missing = PEERS.filter((p) => !which(p.bin));
    }
  }

  for (const p of PEERS) {
    const path = which(p.bin);
    let version = null;
    if (path) version = await toolVersion(p, path);
    tools[p.bin] = { path, version, pkg: p.pkg, installedNow: installed.includes(p.pkg) };
  }
  const stillMissing = PEERS.filter((p) => !tools[p.bin].path).map((p) => p.pkg);
  log(
    `peers: ${PEERS.map((p) => `${p.bin === GNU_TIME ? 'time' : p.bin}=${tools[p.bin].path ? (tools[p.bin].version || 'ok') : 'MISSING'}`).join(', ')}` +
      (installed.length ? `; installed now: ${installed.join(', ')}` : '') +
      (stillMissing.length ? `; still missing: ${stillMissing.join(', ')}` : ''),
  );
  return { tools, installed, failed, missing: stillMissing };
}

async function toolVersion(p, path) {
  const args = VERSION_ARGS[p.bin];
  if (args) {
    const r = await runQuiet(path, args, { timeoutMs: 10_000 });
    const line = `${r.stdout}\n${r.stderr}`.split('\n').map((l) => l.trim()).find(Boolean);
    return line ? line.slice(0, 80) : null;
  }
  const dpkg = which('dpkg-query');
  if (!dpkg) return null;
  const r = await runQuiet(dpkg, ['-W', '-f=${Version}', p.pkg], { timeoutMs: 10_000 });
  return r.error ? null : `${p.pkg} ${r.stdout.trim()}`;
}
