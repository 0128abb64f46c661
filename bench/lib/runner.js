// Runs one case: its setup, our command and each peer, several times each, and
// derives the summary (median/min/max, rows/s, ratio, peak RSS, targets).
import path from 'node:path';
import { CLI_PATH, log, summarize, fmtSec } from './util.js';
import { measure } from './proc.js';
import { cliEnv, RSS_LIMIT_MIB } from './cases.js';

function quoteArg(a) {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

function commandLine(cmd, args, stdin, stdout) {
  let s = [cmd, ...args].map(quoteArg).join(' ');
  if (stdin) s += ` < ${quoteArg(stdin)}`;
  if (stdout === 'ignore') s += ' > /dev/null';
  return s;
}

/**
 * One side of a case (our command or a peer) as a runner of its runs one at a time:
 * `step(i)` does warm-up/timed run i and says whether the side goes on (false after an
 * error, or when it has nothing to run), `finish()` gives the side's result.
 */
function sideRunner(ctx, caseName, side, isOurs) {
  const out = { name: side.name, status: 'ok', runs: [], summary: null, checks: [] };
  const done = { out, step: async () => false, finish: () => out };
  if (side.info) out.info = true; // a reference point (b3sum), not the target's peer
  if (side.skipped) {
    out.status = 'skipped';
    out.skipped = side.skipped;
    log(`  ${side.name}: skipped: ${side.skipped}`);
    return done;
  }
  if (side.error) {
    out.status = 'error';
    out.error = side.error;
    log(`  ${side.name}: error: ${side.error}`);
    return done;
  }
  if (side.computed) {
    out.computed = true;
    out.summary = { runs: 0, median: side.seconds, min: side.seconds, max: side.seconds, peakRssMiB: null };
    return done;
  }
  const cmd = isOurs ? process.execPath : side.cmd;
  const args = side.run ? [] : isOurs ? [CLI_PATH, ...side.cliArgs] : side.args;
  // a peer that is our CLI too (another command as the reference) runs as ours does
  const env = side.env ?? (isOurs ? cliEnv() : process.env);
  // a side with run(): its own processes (the live cases: a writer and a follower), described by `command`
  out.command = side.run ? side.command : commandLine(isOurs ? 'node' : cmd, isOurs ? [path.relative(process.cwd(), CLI_PATH) || CLI_PATH, ...side.cliArgs] : args, side.stdin, side.stdout);

  const step = async (i) => {
    const warm = i < ctx.warmup;
    // The first warm-up run doubles as the correctness check (it may capture or count
    // stdout); with --warmup 0 the first timed run checks, when that costs nothing extra.
    const checkNow = side.check && (warm ? i === 0 : ctx.warmup === 0 && i === 0 && !side.checkStdout);
    const stdoutMode = checkNow ? side.checkStdout ?? (side.stdout === 'ignore' ? 'capture' : side.stdout) : side.stdout;
    const label = warm ? `warm-up ${i + 1}/${ctx.warmup}` : `run ${i - ctx.warmup + 1}/${ctx.runs}`;
    if (side.beforeRun) {
      try {
        await side.beforeRun();
      } catch (e) {
        out.status = 'error';
        out.error = `setup before ${label}: ${e.message}`;
        out.runs.push({ warmup: warm, error: out.error });
        log(`  [${caseName}] ${side.name} ${label}: ${out.error}`);
        return false;
      }
    }
    const r = side.run
      ? await side.run()
      : await measure(cmd, args, {
          stdin: side.stdin,
          stdout: stdoutMode,
          env,
          timeoutMs: ctx.timeoutMs,
          rssMethod: ctx.rssMethod,
          tmpDir: ctx.workDir,
        });
    const run = { warmup: warm, seconds: r.seconds, cpuSeconds: r.cpuSeconds ?? null, rssKB: r.rssKB, exitCode: r.exitCode };
    if (r.signal) run.signal = r.signal;
    if (r.metrics) run.metrics = r.metrics;
    if (side.observe && !r.error) {
      try {
        run.metrics = { ...run.metrics, ...side.observe(r) };
      } catch (e) {
        out.checks.push(`observe failed: ${e.message}`);
      }
    }
    if (stdoutMode === 'count') run.stdoutLines = r.stdoutLines;
    if (r.error) {
      run.error = r.error;
      out.runs.push(run);
      out.status = 'error';
      out.error = r.error;
      log(`  [${caseName}] ${side.name} ${label}: ERROR ${r.error}`);
      return false; // a failing command fails every time: do not spend the remaining runs
    }
    out.runs.push(run);
    log(
      `  [${caseName}] ${side.name} ${label}: ${fmtSec(r.seconds)}` +
        (r.cpuSeconds != null ? `, CPU ${fmtSec(r.cpuSeconds)}` : '') +
        (r.rssKB != null ? `, peak RSS ${(r.rssKB / 1024).toFixed(1)} MiB` : '') +
        (run.metrics ? `, ${JSON.stringify(run.metrics)}` : '') +
        (warm ? ' (not counted)' : ''),
    );
    if (checkNow) {
      try {
        const problems = (await side.check(r)) || [];
        for (const p of problems) {
          out.checks.push(p);
          log(`  [${caseName}] ${side.name} check: ${p}`);
        }
      } catch (e) {
        out.checks.push(`check failed: ${e.message}`);
      }
    }
    return true;
  };
  const finish = () => {
    out.summary = summarize(out.runs);
    // a case's own figures (latency, bytes read): the median over the timed runs, per field
    const withMetrics = out.runs.filter((x) => !x.warmup && !x.error && x.metrics);
    if (withMetrics.length) out.metrics = medianMetrics(withMetrics.map((x) => x.metrics));
    return out;
  };
  return { out, step, finish };
}

/**
 * Runs the sides of a case: one side's runs after the other's, or, for a case that asks
 * for it (`interleave`), run i of every side before run i + 1 of any (ours, then each
 * peer, warm-ups first). This machine's speed drifts by tens of percent within minutes
 * (a noisy neighbour: the same CPU-bound loop takes 1.5x as long); one side's runs all
 * in one window and the other's in the next would put that drift into the ratio, whereas
 * interleaved runs share it.
 */
export async function runSides(ctx, sides, interleave) {
  const total = ctx.warmup + ctx.runs;
  if (interleave) {
    const live = sides.map(() => true);
    for (let i = 0; i < total; i++) {
      for (let k = 0; k < sides.length; k++) if (live[k]) live[k] = await sides[k].step(i);
    }
  } else {
    for (const side of sides) {
      for (let i = 0; i < total; i++) if (!(await side.step(i))) break;
    }
  }
  return sides.map((side) => side.finish());
}

function medianMetrics(list) {
  const out = {};
  for (const k of Object.keys(list[0])) {
    const xs = list.map((m) => m[k]).filter((v) => typeof v === 'number').sort((a, b) => a - b);
    out[k] = xs.length ? xs[Math.floor((xs.length - 1) / 2)] : list[0][k];
  }
  return out;
}

export async function runCase(ctx, def) {
  const res = { name: def.name, title: def.title, status: 'ok', notes: [], rows: null, rowsUnit: null };
  log(`case ${def.name}: ${def.title}`);
  let spec;
  try {
    spec = await def.prepare(ctx);
  } catch (e) {
    res.status = 'error';
    res.error = e.message;
    log(`  [${def.name}] setup failed: ${e.message}`);
    return res;
  }
  res.rows = spec.rows;
  res.rowsUnit = spec.rowsUnit ?? null;
  res.notes.push(...(spec.notes ?? []));

  const sides = [sideRunner(ctx, def.name, { name: 'seglog', ...spec.ours }, true), ...spec.peers.map((p) => sideRunner(ctx, def.name, p, false))];
  const [oursOut, ...peersOut] = await runSides(ctx, sides, spec.interleave === true);
  res.ours = oursOut;
  res.peers = peersOut;
  if (spec.interleave) res.notes.push('runs interleaved: each run of ours is followed by one of each peer, so that a drift of the machine\'s speed falls on both sides of the ratio');
  try {
    spec.after?.(res.ours.status === 'ok');
  } catch (e) {
    res.notes.push(`cleanup: ${e.message}`);
  }

  const ours = res.ours.summary;
  if (res.rows && ours) res.ours.rowsPerSec = res.rows / ours.median;
  for (const p of res.peers) {
    if (!p.summary) continue;
    if (res.rows) p.rowsPerSec = res.rows / p.summary.median;
    if (ours && !spec.noRatio) p.ratio = ours.median / p.summary.median; // >1: we are slower
  }
  const primary = res.peers.filter((p) => !p.info);
  if (res.ours.metrics) res.metrics = res.ours.metrics;
  if (spec.chart) res.chart = spec.chart;
  res.target = spec.target(ours, primary, res);
  res.rss = {
    limitMiB: RSS_LIMIT_MIB,
    peakMiB: ours?.peakRssMiB ?? null,
    met: ours?.peakRssMiB == null ? null : ours.peakRssMiB < RSS_LIMIT_MIB,
  };
  if (res.ours.status === 'error') {
    res.status = 'error';
    res.error = res.ours.error;
  }
  return res;
}
