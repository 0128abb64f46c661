// Running one child process and measuring it: wall-clock with process.hrtime, peak RSS
// with GNU time's %M (the kernel's ru_maxrss of the child, from wait4) or, when
// /usr/bin/time is absent, by polling VmHWM in /proc/<pid>/status.
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';

export const GNU_TIME = '/usr/bin/time';
const STDERR_TAIL_BYTES = 64 * 1024;
const STDOUT_CAPTURE_BYTES = 4 * 1024 * 1024;
const POLL_INTERVAL_MS = 5;

/** Children still running, by process-group id, so Ctrl-C can end them. */
const live = new Set();

/** For children spawned outside measure/runQuiet (bench/lib/live.js): Ctrl-C ends them too. */
export function trackChild(pgid) {
  live.add(pgid);
}

export function untrackChild(pgid) {
  live.delete(pgid);
}

export function killAllChildren() {
  for (const pgid of live) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  live.clear();
}

/** Whether GNU time works here (it is what `-f %M -o FILE` needs). */
export function gnuTimeWorks() {
  try {
    fs.accessSync(GNU_TIME, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Run `cmd args` once and measure it.
 * opts.stdin:  a file path to feed on stdin, or undefined (/dev/null)
 * opts.stdout: 'ignore' (/dev/null, like `> /dev/null`), 'capture' (keep up to 4 MiB),
 *              or 'count' (count newlines; used only on untimed/warm-up check runs)
 * opts.rssMethod: 'time' | 'poll'
 * opts.tmpDir: where GNU time writes its one-line report
 * Never throws: failures come back as { error } with the exit code and the last
 * stderr line.
 */
export function measure(cmd, args, opts = {}) {
  const {
    stdin,
    stdout = 'ignore',
    env = process.env,
    cwd,
    timeoutMs = 300_000,
    rssMethod = 'time',
    tmpDir,
  } = opts;

  return new Promise((resolve) => {
    let stdinFd = null;
    let rssFile = null;
    let file = cmd;
    let argv = args;
    if (rssMethod === 'time') {
      rssFile = path.join(tmpDir, `rss-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}.txt`);
      file = GNU_TIME;
      // user and system CPU seconds, then peak RSS in KiB: on a shared machine CPU time says more than wall time
      argv = ['-f', '%U %S %M', '-o', rssFile, cmd, ...args];
    }
    try {
      if (stdin) stdinFd = fs.openSync(stdin, 'r');
    } catch (e) {
      resolve({ error: `cannot open stdin file ${stdin}: ${e.message}`, exitCode: null, seconds: null, rssKB: null });
      return;
    }

    const stdio = [stdinFd ?? 'ignore', stdout === 'ignore' ? 'ignore' : 'pipe', 'pipe'];
    let child;
    const t0 = process.hrtime.bigint();
    try {
      // detached: the child leads its own process group, so a timeout can kill the
      // measured command too, not only the /usr/bin/time wrapper in front of it.
      child = spawn(file, argv, { stdio, env, cwd, detached: true });
    } catch (e) {
      if (stdinFd != null) fs.closeSync(stdinFd);
      resolve({ error: `spawn failed: ${e.message}`, exitCode: null, seconds: null, rssKB: null });
      return;
    }
    if (stdinFd != null) fs.closeSync(stdinFd);
    if (child.pid) live.add(child.pid);

    let t1 = null;
    let timedOut = false;
    let spawnError = null;
    let stderrTail = '';
    let stdoutText = '';
    let stdoutLines = 0;
    let stdoutBytes = 0;
    let pollHwmKB = null;

    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d) => {
      stderrTail = (stderrTail + d).slice(-STDERR_TAIL_BYTES);
    });
    if (child.stdout) {
      child.stdout.on('data', (buf) => {
        stdoutBytes += buf.length;
        if (stdout === 'count') {
          for (let i = buf.indexOf(10); i !== -1; i = buf.indexOf(10, i + 1)) stdoutLines++;
        } else if (stdoutText.length < STDOUT_CAPTURE_BYTES) {
          stdoutText += buf.toString('utf8');
        }
      });
    }

    let poller = null;
    if (rssMethod === 'poll' && child.pid) {
      const statusPath = `/proc/${child.pid}/status`;
      const sample = () => {
        try {
          const m = /VmHWM:\s+(\d+)\s+kB/.exec(fs.readFileSync(statusPath, 'utf8'));
          if (m) pollHwmKB = Math.max(pollHwmKB ?? 0, Number(m[1]));
        } catch {
          /* exited between samples */
        }
      };
      sample();
      poller = setInterval(sample, POLL_INTERVAL_MS);
    }

    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }, timeoutMs);

    child.on('error', (e) => {
      spawnError = e;
      if (t1 == null) t1 = process.hrtime.bigint();
    });
    child.on('exit', () => {
      if (t1 == null) t1 = process.hrtime.bigint();
      if (poller) clearInterval(poller);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (poller) clearInterval(poller);
      live.delete(child.pid);
      if (t1 == null) t1 = process.hrtime.bigint();
      const seconds = Number(t1 - t0) / 1e9;

      let rssKB = pollHwmKB;
      let cpuSeconds = null;
      let timeNote = null;
      if (rssFile) {
        try {
          const text = fs.readFileSync(rssFile, 'utf8');
          const lines = text.trim().split('\n');
          const last = lines[lines.length - 1].trim();
          const m = /^(\d+(?:\.\d+)?) (\d+(?:\.\d+)?) (\d+)$/.exec(last);
          if (m) {
            cpuSeconds = Number(m[1]) + Number(m[2]);
            rssKB = Number(m[3]);
          }
          if (lines.length > 1) timeNote = lines[0].trim(); // e.g. "Command exited with non-zero status 1"
        } catch {
          /* time could not run the command */
        }
        fs.rmSync(rssFile, { force: true });
      }

      const result = {
        seconds,
        exitCode: code,
        signal: signal ?? null,
        rssKB,
        cpuSeconds,
        stdoutBytes,
      };
      if (stdout === 'count') result.stdoutLines = stdoutLines;
      if (stdout === 'capture') result.stdout = stdoutText;

      const lastLine = lastNonEmptyLine(stderrTail) || lastNonEmptyLine(stdoutText);
      if (spawnError) {
        result.error = `spawn failed: ${spawnError.message}`;
      } else if (timedOut) {
        result.error = `timed out after ${timeoutMs / 1000} s`;
      } else if (code !== 0) {
        // GNU time exits 127 when it cannot run the command at all.
        const what = signal ? `killed by ${signal}` : `exit ${code}`;
        result.error = `${what}: ${lastLine || timeNote || '(no output)'}`;
      }
      // the tail is kept on success too: a case may read figures the command prints there (the since case)
      result.stderrTail = stderrTail.slice(-2000);
      resolve(result);
    });
  });
}

/**
 * The line that best says what went wrong: the last `...Error: ...` line when there is
 * one (Node prints a stack, an object dump and its own version after it), else the last
 * line that is not Node's version banner or a stack frame.
 */
export function lastNonEmptyLine(text) {
  if (!text) return '';
  // Strip ANSI colour codes a CLI may print even when piped.
  const clean = text.replace(/\x1b\[[0-9;]*m/g, '');
  // oclif prints its errors as wrapped lines prefixed with `›`: join them into one.
  const oclif = clean
    .split('\n')
    .filter((l) => /^\s*›/.test(l))
    .map((l) => l.replace(/^\s*›\s*/, '').trim())
    .filter(Boolean);
  if (oclif.length) return oclif.join(' ').replace(/\s+/g, ' ').slice(0, 300);
  const lines = clean
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^Node\.js v\d/.test(l) && !/^at\s/.test(l));
  const errLine = [...lines].reverse().find((l) => /^(\w*Error|Error)(\s*\[\w+\])?:/.test(l));
  return (errLine || lines[lines.length - 1] || '').slice(0, 300);
}

/** Run a command untimed (setup steps): resolves { code, stdout, stderr, error }. */
export function runQuiet(cmd, args, { env = process.env, cwd, timeoutMs = 300_000, stdin } = {}) {
  return new Promise((resolve) => {
    let stdinFd = null;
    try {
      if (stdin) stdinFd = fs.openSync(stdin, 'r');
    } catch (e) {
      resolve({ code: null, stdout: '', stderr: '', error: e.message });
      return;
    }
    let child;
    try {
      child = spawn(cmd, args, { env, cwd, stdio: [stdinFd ?? 'ignore', 'pipe', 'pipe'], detached: true });
    } catch (e) {
      if (stdinFd != null) fs.closeSync(stdinFd);
      resolve({ code: null, stdout: '', stderr: '', error: e.message });
      return;
    }
    if (stdinFd != null) fs.closeSync(stdinFd);
    if (child.pid) live.add(child.pid);
    let out = '';
    let err = '';
    let timedOut = false;
    let spawnError = null;
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d) => {
      if (out.length < STDOUT_CAPTURE_BYTES) out += d;
    });
    child.stderr.on('data', (d) => {
      err = (err + d).slice(-STDERR_TAIL_BYTES);
    });
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }, timeoutMs);
    child.on('error', (e) => {
      spawnError = e;
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      live.delete(child.pid);
      let error = null;
      if (spawnError) error = spawnError.message;
      else if (timedOut) error = `timed out after ${timeoutMs / 1000} s`;
      else if (code !== 0) error = `exit ${code}: ${lastNonEmptyLine(err) || lastNonEmptyLine(out) || '(no output)'}`;
      resolve({ code, stdout: out, stderr: err, error });
    });
  });
}
