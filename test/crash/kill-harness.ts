/**
 * Real process crashes on the real filesystem (issue 12, item 5): the built CLI is
 * started on a realistic store and killed with SIGKILL at a seeded moment, then what it
 * left is checked with the CLI itself. The drills (`seglog drill`) cut the power on a
 * simulated disk after every operation; this is the complement: a real kernel, real
 * page cache, a real process dying between any two instructions.
 *
 * A kill moment is chosen by a seeded generator, deterministically: either a delay
 * after the spawn, or a progress point (the store's files grew by a chosen number of
 * bytes). When the kill lands is then up to the machine; the choice, the seed and what
 * was observed are printed with every failure, and `SEGLOG_KILLS_REPLAY=<scenario>:<seed>`
 * runs that one kill again.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RealFs } from '../../src/engine/io/real-fs.js';
import { frameEndOf } from '../../src/engine/segment/segment-end.js';
import { BIN, type CliResult, runCli, tempDir } from '../commands/cli-helpers.js';

/** mulberry32: small, fast, and the same sequence everywhere for a seed. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
}

/** The seed of the i-th kill of a run with base seed `base` (an integer hash, so neighbours differ). */
export function killSeed(base: number, i: number): number {
  let h = (Math.imul(base >>> 0, 0x9e3779b1) ^ Math.imul(i + 1, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  return (h ^ (h >>> 15)) >>> 0;
}

// ---- the stores ----

/** Segments are small enough that a batch often crosses one, and a store has a dozen. */
export const SEGMENT_MAX_BYTES = 384 * 1024;
const ENTITIES = 37;

export interface InputLine {
  entity: string;
  scope: string;
  kind: string;
  payload: { n: number; src: string; pad: string };
}

/** `count` deterministic JSONL lines of ~150..1400 bytes (JSON.stringify: compact, so dump's payload re-stringifies to the same text). */
export function makeInput(src: string, count: number, seed: number): { lines: InputLine[]; text: string } {
  const rng = new Rng(seed);
  const lines: InputLine[] = [];
  for (let n = 0; n < count; n++) {
    const len = rng.int(150, 1400);
    let pad = '';
    while (pad.length < len) pad += String.fromCharCode(97 + rng.int(0, 25)).repeat(rng.int(1, 9));
    lines.push({ entity: `acct:${rng.int(0, ENTITIES - 1)}`, scope: `tenant:${n % 3}`, kind: `1:${n % 5}`, payload: { n, src, pad: pad.slice(0, len) } });
  }
  return { lines, text: lines.map((l) => JSON.stringify(l)).join('\n') + '\n' };
}

export function segmentNamesIn(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => /^\d{10}\.seg$/.test(n))
    .sort();
}

/** Where a segment's frames end (before its SIDX footer, if any). */
export function frameEndOfFile(path: string): number {
  const fs = new RealFs();
  const fd = fs.open(path, 'r');
  try {
    return frameEndOf(fs, fd, fs.fstat(fd).sizeBytes);
  } finally {
    fs.close(fd);
  }
}

/** Bytes of every file under `dir` (recursively), 0 for what vanished meanwhile. */
export function treeBytes(dir: string, filter: (name: string) => boolean = () => true): number {
  let total = 0;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const name of names) {
    const p = join(dir, name);
    try {
      const s = statSync(p);
      if (s.isDirectory()) total += treeBytes(p, filter);
      else if (filter(name)) total += s.size;
    } catch {
      // renamed or removed while we looked
    }
  }
  return total;
}

export function copyStore(from: string, label: string): string {
  const to = join(tempDir(`seglog-kill-${label}-`), 'store');
  cpSync(from, to, { recursive: true });
  return to;
}

// ---- one kill ----

export type KillMoment = { how: 'delay'; delayMs: number } | { how: 'progress'; targetBytes: number; ofBytes: number };

export interface KillOutcome {
  /** The process died of our SIGKILL (false: it finished first). */
  killed: boolean;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** When the kill was sent, ms after the spawn, and how far progress had got. */
  atMs: number;
  atBytes: number;
  stderr: string;
}

/** Generous: a run that is neither killed nor finished by then is a hang. */
export const HANG_MS = 120_000;
const POLL_MS = 2;

/**
 * Runs the CLI and SIGKILLs it at `moment`: after a delay, or once `progress()` (bytes
 * the command has written so far) reaches the target.
 */
export function runAndKill(args: string[], env: Record<string, string>, moment: KillMoment, progress: () => number): Promise<KillOutcome> {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, NODE_ENV: 'production', NO_COLOR: '1', SEGLOG_DEBUG: undefined, ...env } as NodeJS.ProcessEnv,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const started = Date.now();
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
  let sent = false;
  let atMs = -1;
  let atBytes = -1;
  let exited = false;
  const kill = (): void => {
    if (sent || exited) return;
    sent = true;
    atMs = Date.now() - started;
    child.kill('SIGKILL');
  };
  const poll = (): void => {
    if (exited || sent) return;
    const elapsed = Date.now() - started;
    if (elapsed > HANG_MS) return kill();
    if (moment.how === 'delay') {
      if (elapsed >= moment.delayMs) return kill();
    } else {
      const bytes = progress();
      if (bytes >= moment.targetBytes) {
        atBytes = bytes;
        return kill();
      }
    }
    setTimeout(poll, POLL_MS);
  };
  setTimeout(poll, 0);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      exited = true;
      if (atBytes < 0 && moment.how === 'progress') atBytes = progress();
      resolve({ killed: sent && signal === 'SIGKILL', code, signal, atMs, atBytes, stderr });
    });
  });
}

// ---- what a run must leave ----

export interface Problem {
  what: string;
  detail: string;
}

export function describeCli(r: CliResult): string {
  return `${r.cmd} -> exit ${r.code}${r.timedOut ? ' (TIMED OUT)' : ''}; stderr: ${r.stderr.trim().slice(0, 1500)}`;
}

interface VerifyJson {
  ok: boolean;
  problems: { code: string; severity: string; segment: string; offset: number; message: string }[];
}

/** `verify --json`: exit 0 and no problem but those `allow` lets through (info notes always pass). */
export async function verifyClean(store: string, env: Record<string, string>, allow: (code: string) => boolean = () => false): Promise<Problem[]> {
  const r = await runCli(['verify', store, '--json'], { env, timeoutMs: HANG_MS });
  let doc: VerifyJson;
  try {
    doc = JSON.parse(r.stdout) as VerifyJson;
  } catch {
    return [{ what: 'verify did not print one JSON document', detail: describeCli(r) }];
  }
  const bad = doc.problems.filter((p) => p.severity !== 'info' && !allow(p.code));
  if (r.code !== 0 || bad.length > 0) {
    return [{ what: `verify is not clean (exit ${r.code})`, detail: bad.slice(0, 8).map((p) => `${p.code} ${p.severity} ${p.segment}@${p.offset}: ${p.message}`).join('\n') || describeCli(r) }];
  }
  return [];
}

export async function dumpLines(store: string, env: Record<string, string>): Promise<{ lines: string[]; problems: Problem[] }> {
  const r = await runCli(['dump', store, '--format', 'jsonl'], { env, timeoutMs: HANG_MS });
  if (r.code !== 0) return { lines: [], problems: [{ what: `dump failed (exit ${r.code})`, detail: describeCli(r) }] };
  return { lines: r.stdout.length === 0 ? [] : r.stdout.replace(/\n$/, '').split('\n'), problems: [] };
}

/**
 * lost+found/ holds every byte the recovery cut: for each segment of `before` (the
 * store as the kill left it) that `after` (the same store once a writer opened it)
 * shortened or removed, a lost+found file `<segment>.<offset>.*` holds exactly the
 * bytes from `offset` to the old end of file, and `after` keeps the old bytes before
 * `offset`. A segment nothing was cut from keeps its old frames as a prefix (its
 * footer, derived data, may be truncated without a copy: it is rebuilt at the next seal).
 */
export function lostFoundHoldsCuts(before: string, after: string): Problem[] {
  const problems: Problem[] = [];
  const lfDir = join(after, 'lost+found');
  const oldLf = new Set(existsSync(join(before, 'lost+found')) ? readdirSync(join(before, 'lost+found')) : []);
  const newLf = existsSync(lfDir) ? readdirSync(lfDir).filter((n) => !oldLf.has(n)) : [];
  for (const n of newLf) if (n.endsWith('.tmp')) problems.push({ what: 'a temp file of a lost+found copy was left behind', detail: n });
  for (const name of segmentNamesIn(before)) {
    const old = readFileSync(join(before, name));
    const cuts = newLf.filter((n) => n.startsWith(`${name}.`) && !n.endsWith('.tmp') && !n.endsWith('.json'));
    const nowPath = join(after, name);
    const now = existsSync(nowPath) ? readFileSync(nowPath) : null;
    // Several cuts of one segment are one recovery cutting in steps (docs/FORMAT.md 4.1: a
    // batch that spans segments is cut to the last one's header, then that empty segment
    // is removed): their copies, by offset, must tile the old bytes from the first cut on.
    if (cuts.length > 0) {
      const byOffset = cuts.map((n) => ({ n, offset: Number(n.split('.')[2]) })).sort((a, b) => a.offset - b.offset);
      for (let i = 0; i < byOffset.length; i++) {
        const { n, offset } = byOffset[i]!;
        const end = i + 1 < byOffset.length ? byOffset[i + 1]!.offset : old.length;
        const kept = readFileSync(join(lfDir, n));
        if (!kept.equals(old.subarray(offset, end))) problems.push({ what: `${name}: lost+found/${n} is not the bytes from ${offset} to ${end} (the old end of file is ${old.length})`, detail: `${kept.length} bytes kept` });
      }
      const first = byOffset[0]!.offset;
      if (now !== null && first > 0 && !now.subarray(0, first).equals(old.subarray(0, first))) problems.push({ what: `${name}: the bytes before the cut at ${first} changed`, detail: '' });
      if (now === null && first !== 0) problems.push({ what: `${name}: removed, but its cut copies start at ${first}, not 0`, detail: cuts.join(', ') });
      continue;
    }
    if (now === null) {
      problems.push({ what: `${name}: removed by recovery without a copy in lost+found`, detail: `${old.length} bytes` });
      continue;
    }
    const frameEnd = frameEndOfFile(join(before, name));
    let same = 0;
    const limit = Math.min(frameEnd, now.length);
    while (same < limit && old[same] === now[same]) same++;
    if (same < frameEnd && !isFooterStart(old, same)) {
      problems.push({ what: `${name}: bytes before ${frameEnd} (the old end of frames) changed at ${same} and lost+found holds no cut of it`, detail: `old ${old.length} bytes, now ${now.length}` });
    }
  }
  return problems;
}

/** A damaged SIDX footer head ('SIDX', version 1): what a torn footer write leaves. */
function isFooterStart(bytes: Buffer, offset: number): boolean {
  return bytes.length - offset >= 8 && bytes.toString('latin1', offset, offset + 4) === 'SIDX';
}

export function writeText(path: string, text: string): void {
  writeFileSync(path, text);
}
