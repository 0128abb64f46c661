// The live cases' runs (issue 14): a follower process (`dump --follow`) beside a writer
// process, both real, each in its own process group, every one of them killed on a
// deadline so that a follower that never sees its last event cannot hang the bench.
//
// A run returns what proc.js's measure() returns for the follower (wall seconds, CPU
// seconds and peak RSS through GNU time, an error) plus `metrics`: the case's figures.
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { CLI_PATH, rmrf } from './util.js';
import { GNU_TIME, lastNonEmptyLine, trackChild, untrackChild } from './proc.js';

const WRITER_SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'live-writer.js');
/** The engine of the CLI under test (SEGLOG_BENCH_CLI may point at another build). */
const DIST_INDEX = path.join(path.dirname(CLI_PATH), '..', 'dist', 'index.js');
/** How long a follower may take to exit after SIGINT before it gets SIGKILL. */
const EXIT_GRACE_MS = 5000;
/** How long a follower may take to show what was committed, after the writer is done. */
const DRAIN_MS = 10_000;
const STDERR_TAIL_BYTES = 16 * 1024;

/** Wall-clock ms since the epoch with sub-ms resolution, comparable across processes on one machine. */
export const nowMs = () => performance.timeOrigin + performance.now();

/**
 * `cmd args` in its own process group, under GNU time when rssMethod is 'time'.
 * onStdout(chunk, atMs) sees stdout as it arrives. Returns { child, done, kill }:
 * done resolves to { seconds, cpuSeconds, rssKB, exitCode, signal, stderrTail }.
 */
export function spawnGroup(cmd, args, { env, rssMethod, tmpDir, stdin = 'ignore', onStdout }) {
  let file = cmd;
  let argv = args;
  let rssFile = null;
  if (rssMethod === 'time') {
    rssFile = path.join(tmpDir, `rss-live-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}.txt`);
    file = GNU_TIME;
    argv = ['-f', '%U %S %M', '-o', rssFile, cmd, ...args];
  }
  const t0 = process.hrtime.bigint();
  const child = spawn(file, argv, { env, stdio: [stdin, onStdout ? 'pipe' : 'ignore', 'pipe'], detached: true });
  if (child.pid) trackChild(child.pid);
  let stderrTail = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d) => {
    stderrTail = (stderrTail + d).slice(-STDERR_TAIL_BYTES);
  });
  if (onStdout) child.stdout.on('data', (buf) => onStdout(buf, nowMs()));
  let t1 = null;
  child.on('exit', () => {
    t1 ??= process.hrtime.bigint();
  });
  const done = new Promise((resolve) => {
    child.on('error', (e) => resolve({ seconds: null, exitCode: null, error: `spawn failed: ${e.message}`, stderrTail }));
    child.on('close', (code, signal) => {
      untrackChild(child.pid);
      t1 ??= process.hrtime.bigint();
      let cpuSeconds = null;
      let rssKB = null;
      if (rssFile) {
        try {
          const last = fs.readFileSync(rssFile, 'utf8').trim().split('\n').pop().trim();
          const m = /^(\d+(?:\.\d+)?) (\d+(?:\.\d+)?) (\d+)$/.exec(last);
          if (m) {
            cpuSeconds = Number(m[1]) + Number(m[2]);
            rssKB = Number(m[3]);
          }
        } catch {
          /* time could not run the command */
        }
        fs.rmSync(rssFile, { force: true });
      }
      resolve({ seconds: Number(t1 - t0) / 1e9, cpuSeconds, rssKB, exitCode: code, signal: signal ?? null, stderrTail });
    });
  });
  const kill = (sig) => {
    try {
      process.kill(-child.pid, sig);
    } catch {
      /* gone */
    }
  };
  return { child, done, kill };
}

/** SIGINT (a follower's Ctrl-C, exit 130), then SIGKILL after EXIT_GRACE_MS. */
async function stop(proc) {
  proc.kill('SIGINT');
  let timer;
  const late = new Promise((r) => {
    timer = setTimeout(() => {
      proc.kill('SIGKILL');
      r();
    }, EXIT_GRACE_MS);
  });
  const r = await Promise.race([proc.done, late.then(() => proc.done)]);
  clearTimeout(timer);
  return r;
}

/** Resolves when check() is true (polled every 5 ms) or after ms; returns check(). */
async function until(check, ms) {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
  return check();
}

/** Splits a byte stream into lines; each complete line goes to onLine(line, atMs). */
function lineSplitter(onLine) {
  let rest = '';
  return (buf, at) => {
    const text = rest + buf.toString('utf8');
    const lines = text.split('\n');
    rest = lines.pop();
    for (const l of lines) if (l) onLine(l, at);
  };
}

export function quantile(sorted, q) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

const segCount = (store) => fs.readdirSync(store).filter((n) => n.endsWith('.seg')).length;

/** The follower's result as a run of the case, its exit by SIGINT (130) counted as success. */
function followerRun(r, error, metrics) {
  const out = { seconds: r.seconds, cpuSeconds: r.cpuSeconds, rssKB: r.rssKB, exitCode: r.exitCode, metrics };
  const ok = r.exitCode === 0 || r.exitCode === 130 || r.signal === 'SIGINT';
  if (error) out.error = error;
  else if (!ok) out.error = `follower ${r.signal ? `killed by ${r.signal}` : `exit ${r.exitCode}`}: ${lastNonEmptyLine(r.stderrTail) || '(no output)'}`;
  if (out.error) out.stderrTail = (r.stderrTail ?? '').slice(-2000);
  return out;
}

/**
 * Commit-to-output latency: the writer (live-writer.js, engine API) appends `batches`
 * batches of `batchEvents` events every `intervalMs` to a fresh store of small segments
 * while `dump --follow --format jsonl` runs; each event's latency is the time this
 * process read its line from the follower minus the time the writer's appendBatch
 * returned. pollMs: `--poll-interval pollMs` with notifications off (SEGLOG_FOLLOW_WATCH=0).
 */
export async function followLatencyRun(ctx, { store, env, init, batches, batchEvents, intervalMs, pollMs = null }) {
  rmrf(store);
  await init();
  const total = batches * batchEvents;
  const commitAt = new Float64Array(batches).fill(Number.NaN);
  const seenAt = new Float64Array(total).fill(Number.NaN);
  const sentAt = new Float64Array(total).fill(Number.NaN);
  let seen = 0;
  let primed = false;
  let writerDone = false;
  let writerReady = false;
  let bad = null;

  const writer = spawnGroup(process.execPath, [WRITER_SCRIPT, DIST_INDEX, store, String(batches), String(batchEvents), String(intervalMs)], {
    env,
    rssMethod: 'none',
    stdin: 'pipe',
    onStdout: lineSplitter((l) => {
      if (l === 'ready') writerReady = true;
      else if (l === 'done') writerDone = true;
      else {
        const m = /^\{"b":(\d+),"t":([\d.]+)\}$/.exec(l);
        if (m) commitAt[Number(m[1])] = Number(m[2]);
      }
    }),
  });
  const deadline = setTimeout(() => {
    bad ??= `timed out after ${ctx.timeoutMs / 1000} s`;
    writer.kill('SIGKILL');
  }, ctx.timeoutMs);
  let follower = null;
  try {
    if (!(await until(() => writerReady || bad, 30_000))) {
      const w = await stop(writer);
      return { seconds: null, exitCode: w.exitCode, error: `the writer never got ready: ${lastNonEmptyLine(w.stderrTail) || '(no output)'}` };
    }
    const args = [CLI_PATH, 'dump', store, '--follow', '--format', 'jsonl'];
    const fenv = { ...env };
    if (pollMs != null) {
      args.push('--poll-interval', String(pollMs));
      fenv.SEGLOG_FOLLOW_WATCH = '0';
    }
    follower = spawnGroup(process.execPath, args, {
      env: fenv,
      rssMethod: ctx.rssMethod,
      tmpDir: ctx.workDir,
      onStdout: lineSplitter((l, at) => {
        let p;
        try {
          p = JSON.parse(l).payload;
        } catch {
          bad ??= `the follower printed a line that is not JSON: ${l.slice(0, 80)}`;
          return;
        }
        if (p?.prime) primed = true;
        else if (Number.isInteger(p?.b) && Number.isInteger(p?.i)) {
          const k = p.b * batchEvents + p.i;
          if (Number.isNaN(seenAt[k])) {
            seenAt[k] = at;
            sentAt[k] = typeof p.sent === 'number' ? p.sent : Number.NaN;
            seen++;
          } else bad ??= `event ${k} printed twice`;
        }
      }),
    });
    // the priming event on the follower's output: it is up and has read the store
    if (!(await until(() => primed || bad, 30_000))) {
      bad ??= 'the follower never printed the priming event';
    } else {
      writer.child.stdin.write('go\n');
      await until(() => (writerDone && seen === total) || bad, batches * intervalMs + 30_000);
      if (writerDone && seen < total) await until(() => seen === total || bad, DRAIN_MS);
    }
  } finally {
    clearTimeout(deadline);
    writer.child.stdin?.end();
  }
  const w = writerDone ? await writer.done : await stop(writer);
  const f = await stop(follower);
  if (!writerDone) bad ??= `the writer stopped early: ${lastNonEmptyLine(w.stderrTail) || `exit ${w.exitCode}`}`;
  if (!bad && seen < total) bad = `the follower printed ${seen} of ${total} events within ${DRAIN_MS / 1000} s after the writer ended`;
  const lat = [];
  const fromSend = [];
  for (let k = 0; k < total; k++) {
    const c = commitAt[Math.floor(k / batchEvents)];
    if (!Number.isNaN(seenAt[k]) && !Number.isNaN(c)) lat.push(seenAt[k] - c);
    if (!Number.isNaN(seenAt[k]) && !Number.isNaN(sentAt[k])) fromSend.push(seenAt[k] - sentAt[k]);
  }
  lat.sort((a, b) => a - b);
  fromSend.sort((a, b) => a - b);
  const r3 = (x) => (x == null ? null : Math.round(x * 1000) / 1000);
  const metrics = {
    events: total,
    printed: seen,
    rotations: segCount(store) - 1,
    medianMs: r3(quantile(lat, 0.5)),
    p99Ms: r3(quantile(lat, 0.99)),
    maxMs: r3(lat.at(-1) ?? null),
    minMs: r3(lat[0] ?? null),
    // a batch is visible to readers once written, before appendBatch's fsync returns: negative
    // latencies above are that; from the payload's send time (before appendBatch) includes the fsync
    fromSendMedianMs: r3(quantile(fromSend, 0.5)),
    fromSendP99Ms: r3(quantile(fromSend, 0.99)),
  };
  return followerRun(f, bad, metrics);
}

/**
 * Follower throughput: `dump --follow --format jsonl` on a fresh store (one priming
 * event) while `append --file events` appends `count` events at full speed. The run's
 * seconds are from the writer's start to the follower's last line: the follower's
 * events/s is count over that.
 */
export async function followThroughputRun(ctx, { store, env, init, events, count }) {
  rmrf(store);
  await init(); // creates the store and appends one priming event
  let lines = 0;
  let lastAt = null;
  let bad = null;
  const want = count + 1;
  const follower = spawnGroup(process.execPath, [CLI_PATH, 'dump', store, '--follow', '--format', 'jsonl'], {
    env,
    rssMethod: ctx.rssMethod,
    tmpDir: ctx.workDir,
    onStdout: (buf, at) => {
      for (let i = buf.indexOf(10); i !== -1; i = buf.indexOf(10, i + 1)) lines++;
      if (lines >= want && lastAt == null) lastAt = at;
    },
  });
  let writer = null;
  let writerStart = null;
  let writerEnd = null;
  let w = null;
  const deadline = setTimeout(() => {
    bad ??= `timed out after ${ctx.timeoutMs / 1000} s`;
    writer?.kill('SIGKILL');
  }, ctx.timeoutMs);
  try {
    if (!(await until(() => lines >= 1 || bad, 30_000))) bad ??= 'the follower never printed the priming event';
    else {
      writerStart = nowMs();
      writer = spawnGroup(process.execPath, [CLI_PATH, 'append', store, '--file', events], { env, rssMethod: ctx.rssMethod, tmpDir: ctx.workDir });
      w = await writer.done;
      writerEnd = nowMs();
      if (w.exitCode !== 0) bad ??= `the writer failed: exit ${w.exitCode}: ${lastNonEmptyLine(w.stderrTail) || '(no output)'}`;
      else await until(() => lastAt != null || bad, DRAIN_MS + ctx.timeoutMs / 10);
    }
  } finally {
    clearTimeout(deadline);
  }
  const f = await stop(follower);
  if (!bad && lastAt == null) bad = `the follower printed ${lines - 1} of ${count} events`;
  const windowMs = lastAt != null ? lastAt - writerStart : null;
  const r1 = (x) => (x == null ? null : Math.round(x));
  const metrics = {
    events: count,
    followerEventsPerSec: windowMs ? r1((count / windowMs) * 1000) : null,
    writerEventsPerSec: w?.seconds ? r1(count / w.seconds) : null,
    writerSeconds: w?.seconds ?? null,
    writerCpuSeconds: w?.cpuSeconds ?? null,
    writerPeakRssMiB: w?.rssKB != null ? Math.round((w.rssKB / 1024) * 10) / 10 : null,
    lagAfterWriterMs: lastAt != null && writerEnd != null ? r1(lastAt - writerEnd) : null,
    followerProcessSeconds: f.seconds,
  };
  const run = followerRun(f, bad, metrics);
  if (windowMs != null) run.seconds = windowMs / 1000; // the measured window, so rows/s is the follower's rate
  return run;
}
