/**
 * SIGKILL of the real CLI at seeded moments of `append --file --batch-size`, `sidx
 * rebuild --yes` and `repair --yes`, on realistic stores (over the 4 MiB read chunk,
 * a dozen 384 KiB segments, batches crossing segment boundaries), then the properties
 * a crash must keep (kill-harness.ts has the machinery):
 *
 * - append: the next writer opens the store; verify is clean; the killed append
 *   committed a prefix of its input in whole batches (nothing twice, nothing out of
 *   order); lost+found/ holds every byte recovery cut.
 * - sidx rebuild: no event changes; the next writer opens the store and verify is clean;
 *   a rerun finishes the job, and the segments are byte for byte what a clean close wrote.
 * - repair: the next writer opens the store; a rerun completes; verify is clean; the
 *   store holds exactly the events an uninterrupted repair of the same damage keeps, and
 *   lost+found/ the same quarantined ranges (long mode: and a third run finds nothing to do).
 *
 * `npm test` runs a few kills (seed 1). `npm run test:long:kills` runs at least 100 and
 * prints kills tried, how many landed, failures and time. `SEGLOG_KILLS_SEED=N` changes
 * the base seed; `SEGLOG_KILLS_REPLAY=<scenario>:<seed>` replays one kill (printed with
 * every failure).
 */
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, removeTempDirs, runCli, tempDir } from '../commands/cli-helpers.js';
import {
  copyStore,
  describeCli,
  dumpLines,
  frameEndOfFile,
  type InputLine,
  type KillMoment,
  type KillOutcome,
  killSeed,
  lostFoundHoldsCuts,
  makeInput,
  type Problem,
  Rng,
  runAndKill,
  SEGMENT_MAX_BYTES,
  segmentNamesIn,
  treeBytes,
  verifyClean,
} from './kill-harness.js';

type Scenario = 'append' | 'rebuild' | 'repair';

const LONG = process.env.SEGLOG_KILLS_LONG === '1';
const BASE_SEED = Number(process.env.SEGLOG_KILLS_SEED ?? '1');
const REPLAY = process.env.SEGLOG_KILLS_REPLAY;
/** Kills per scenario: a few in `npm test`, at least 100 in all in long mode. */
const COUNTS: Record<Scenario, number> = LONG ? { append: 50, rebuild: 25, repair: 30 } : { append: 3, rebuild: 1, repair: 2 };

/** Base events (~4.5 MB of frames: over the 4 MiB read chunk on their own). */
const BASE_LINES = 4600;
/** The killed append's input (~2 MB of frames, over the 1 MiB bulk chunk). */
const MORE_LINES = 2000;
/** Read chunks: the default (4 MiB) or small, so that batches and frames cross chunk boundaries. */
const READ_CHUNKS = [undefined, undefined, '65536', '4099', '100003'] as const;

interface World {
  dir: string;
  /** A clean store of BASE_LINES events, closed cleanly (every segment sealed). */
  template: string;
  templateDump: string[];
  more: { lines: InputLine[]; path: string; bytes: number };
  /** The template with its footers and checkpoint stripped (what sidx rebuild starts from). */
  stripped: string;
  /** The template with a flipped byte in a sealed middle segment and a torn tail. */
  damaged: string;
  /** What an uninterrupted `repair --yes` of `damaged` leaves. */
  repairedDump: string[];
  repairedLostFound: string[];
  /** Bytes a repair of `damaged` writes before it renames anything (backups + lost+found + temps). */
  repairPeakBytes: number;
}

let world: World;

async function cli(args: string[], env: Record<string, string> = {}): Promise<ReturnType<typeof runCli>> {
  return runCli(args, { env, timeoutMs: 120_000 });
}

async function must(args: string[], env: Record<string, string> = {}): Promise<void> {
  const r = await cli(args, env);
  if (r.code !== 0) throw new Error(`setup failed: ${describeCli(r)}`);
}

/** The quarantined ranges of lost+found/ (segment, offset, end, crc, reason) from its records. */
function lostFoundRecords(store: string): string[] {
  const dir = join(store, 'lost+found');
  if (!existsSync(dir)) return [];
  const names = readdirSync(dir);
  const out = new Set<string>();
  for (const n of names.filter((x) => x.endsWith('.json'))) {
    const r = JSON.parse(readFileSync(join(dir, n), 'utf8')) as { segment: string; offset: number; endOffset: number; crc32c: number; reason: string };
    out.add(`${r.segment} ${r.offset}..${r.endOffset} crc ${r.crc32c} ${r.reason}`);
  }
  return [...out].sort();
}

function flipByte(path: string, offset: number): void {
  const fd = openSync(path, 'r+');
  const b = Buffer.alloc(1);
  readSync(fd, b, 0, 1, offset);
  b[0] = b[0]! ^ 0x5a;
  writeSync(fd, b, 0, 1, offset);
  closeSync(fd);
}

async function buildWorld(): Promise<World> {
  const dir = tempDir('seglog-kills-');
  const base = makeInput('base', BASE_LINES, 11);
  const more = makeInput('more', MORE_LINES, 12);
  writeFileSync(join(dir, 'base.jsonl'), base.text);
  writeFileSync(join(dir, 'more.jsonl'), more.text);
  const template = join(dir, 'template');
  await must(['init', template, '--segment-max-bytes', String(SEGMENT_MAX_BYTES)]);
  await must(['append', template, '--file', join(dir, 'base.jsonl'), '--batch-size', '64']);
  const templateDump = await dumpLines(template, {});
  if (templateDump.problems.length > 0 || templateDump.lines.length !== BASE_LINES) throw new Error(`template dump: ${JSON.stringify(templateDump.problems)}`);

  const stripped = copyStore(template, 'stripped');
  await must(['sidx', 'strip', stripped, '--yes']);

  const damaged = copyStore(template, 'damaged');
  const segs = segmentNamesIn(damaged);
  if (segs.length < 8) throw new Error(`template has ${segs.length} segments; expected a dozen`);
  const middle = join(damaged, segs[Math.floor(segs.length / 2)]!);
  flipByte(middle, Math.floor(frameEndOfFile(middle) / 2));
  const last = join(damaged, segs[segs.length - 1]!);
  truncateSync(last, frameEndOfFile(last) - 100);

  const reference = copyStore(damaged, 'reference');
  await must(['repair', reference, '--yes']);
  const repairedDump = await dumpLines(reference, {});
  if (repairedDump.problems.length > 0) throw new Error(`reference dump: ${JSON.stringify(repairedDump.problems)}`);
  if (repairedDump.lines.length >= BASE_LINES) throw new Error('the reference repair lost no event: the damage did not take');
  const changedBytes = statSync(middle).size + statSync(last).size;
  return {
    dir,
    template,
    templateDump: templateDump.lines,
    more: { lines: more.lines, path: join(dir, 'more.jsonl'), bytes: Buffer.byteLength(more.text) },
    stripped,
    damaged,
    repairedDump: repairedDump.lines,
    repairedLostFound: lostFoundRecords(reference),
    repairPeakBytes: 2 * changedBytes,
  };
}

// ---- scenarios ----

interface KillReport {
  scenario: Scenario;
  seed: number;
  choice: string;
  outcome: KillOutcome;
  problems: Problem[];
}

function chunkEnv(rng: Rng): Record<string, string> {
  const chunk = rng.pick(READ_CHUNKS);
  return chunk === undefined ? {} : { SEGLOG_READ_CHUNK_BYTES: chunk };
}

function moment(rng: Rng, delayRangeMs: [number, number], progressOf: number): KillMoment {
  if (rng.next() < 0.4) return { how: 'delay', delayMs: rng.int(delayRangeMs[0], delayRangeMs[1]) };
  return { how: 'progress', targetBytes: 1 + Math.floor(rng.next() * progressOf * 0.97), ofBytes: progressOf };
}

function describeMoment(m: KillMoment): string {
  return m.how === 'delay' ? `after ${m.delayMs} ms` : `at +${m.targetBytes} of ~${m.ofBytes} bytes written`;
}

async function appendKill(seed: number): Promise<KillReport> {
  const rng = new Rng(seed);
  // batch 0: the bulk path (no --batch-size: each line its own event, 1 MiB chunks, with
  // its write-behind thread on or off: the events a kill leaves must still be a prefix)
  const pick = rng.pick([0, 0, 1, 2, 7, 16, 50, 64, 128, 333]);
  const batch = Math.max(1, pick);
  const env = {
    ...chunkEnv(rng),
    ...(rng.next() < 0.3 ? { SEGLOG_APPEND_WORKERS: '1' } : {}),
    ...(pick === 0 && rng.next() < 0.4 ? { SEGLOG_WRITE_BEHIND: '0' } : {}),
  };
  const m = moment(rng, [150, 3000], world.more.bytes);
  const store = copyStore(world.template, 'append');
  const startBytes = treeBytes(store);
  const outcome = await runAndKill(['append', store, '--file', world.more.path, ...(pick === 0 ? [] : ['--batch-size', String(batch)])], env, m, () => treeBytes(store) - startBytes);
  const choice = `${pick === 0 ? 'bulk' : `batch ${batch}`}, ${JSON.stringify(env)}, kill ${describeMoment(m)}`;
  const problems: Problem[] = [];
  if (!outcome.killed && outcome.code !== 0) problems.push({ what: `the append finished by itself with exit ${outcome.code}`, detail: outcome.stderr });

  // the next writer: one more event, on a copy (the original stays as the kill left it, to compare)
  const after = copyStore(store, 'append-after');
  const probe = await cli(['append', after, '--entity', 'probe', '--scope', 'kill', '--payload', '{"probe":true}'], env);
  if (probe.code !== 0) {
    problems.push({ what: 'the next writer could not open the store', detail: describeCli(probe) });
    return { scenario: 'append', seed, choice, outcome, problems };
  }
  const [verify, dump] = await Promise.all([verifyClean(after, env), dumpLines(after, env)]);
  problems.push(...verify, ...dump.problems, ...lostFoundHoldsCuts(store, after));
  if (dump.problems.length === 0) problems.push(...appendedPrefix(dump.lines, batch, outcome));
  return { scenario: 'append', seed, choice, outcome, problems };
}

/** The dump is the template's events, a prefix of the input in whole batches, then the probe. */
function appendedPrefix(lines: string[], batch: number, outcome: KillOutcome): Problem[] {
  const base = world.templateDump;
  const problems: Problem[] = [];
  for (let i = 0; i < base.length; i++) {
    if (lines[i] !== base[i]) return [{ what: `event ${i} of the store before the append changed or is missing`, detail: `${lines[i]?.slice(0, 300)}\nexpected ${base[i]!.slice(0, 300)}` }];
  }
  const rest = lines.slice(base.length).map((l) => JSON.parse(l) as { entity: string; scope: string; kind: string; payload: unknown });
  const probe = rest.pop();
  if (probe?.entity !== 'probe') return [{ what: 'the last event is not the probe appended after the kill', detail: JSON.stringify(probe)?.slice(0, 300) ?? 'none' }];
  const input = world.more.lines;
  if (rest.length > input.length) problems.push({ what: `${rest.length} events appended from ${input.length} input lines`, detail: '' });
  for (let i = 0; i < Math.min(rest.length, input.length); i++) {
    const ev = rest[i]!;
    const want = input[i]!;
    if (ev.entity !== want.entity || ev.scope !== want.scope || ev.kind !== want.kind || JSON.stringify(ev.payload) !== JSON.stringify(want.payload)) {
      const n = (ev.payload as { n?: number } | null)?.n;
      return [{ what: `appended event ${i} is not input line ${i} (not a prefix of the input${n !== undefined ? `: it is line ${n}` : ''})`, detail: JSON.stringify(ev).slice(0, 300) }];
    }
  }
  const m = rest.length;
  if (m !== input.length && m % batch !== 0) problems.push({ what: `${m} events of the input committed: not whole batches of ${batch}`, detail: '' });
  if (!outcome.killed && m !== input.length) problems.push({ what: `the append finished but only ${m} of ${input.length} events are there`, detail: '' });
  return problems;
}

async function rebuildKill(seed: number): Promise<KillReport> {
  const rng = new Rng(seed);
  const env = chunkEnv(rng);
  const store = copyStore(world.stripped, 'rebuild');
  const segBytes = treeBytes(store, (n) => n.endsWith('.seg'));
  const m = moment(rng, [150, 2500], segBytes);
  const outcome = await runAndKill(['sidx', 'rebuild', store, '--yes'], env, m, () => treeBytes(store, (n) => n.endsWith('.tmp')));
  const choice = `${JSON.stringify(env)}, kill ${describeMoment(m)}`;
  const problems: Problem[] = [];
  if (!outcome.killed && outcome.code !== 0) problems.push({ what: `the rebuild finished by itself with exit ${outcome.code}`, detail: outcome.stderr });

  const after = copyStore(store, 'rebuild-after');
  const [dump, probe] = await Promise.all([dumpLines(store, env), cli(['append', after, '--entity', 'probe', '--scope', 'kill', '--payload', '{"probe":true}'], env)]);
  problems.push(...dump.problems);
  if (dump.problems.length === 0 && dump.lines.join('\n') !== world.templateDump.join('\n')) problems.push({ what: 'an interrupted sidx rebuild changed the events', detail: `${dump.lines.length} events, expected ${world.templateDump.length}` });
  if (probe.code !== 0) problems.push({ what: 'the next writer could not open the store', detail: describeCli(probe) });
  // footers the killed rebuild had not written yet are missing: a warning, not a problem (exit 0)
  else problems.push(...(await verifyClean(after, env, (code) => code === 'sidx_missing')));

  const rerun = await cli(['sidx', 'rebuild', store, '--yes'], env);
  if (rerun.code !== 0) {
    problems.push({ what: 'rerunning sidx rebuild did not finish the job', detail: describeCli(rerun) });
    return { scenario: 'rebuild', seed, choice, outcome, problems };
  }
  problems.push(...(await verifyClean(store, env)));
  for (const name of segmentNamesIn(world.template)) {
    if (!readFileSync(join(store, name)).equals(readFileSync(join(world.template, name)))) problems.push({ what: `${name} is not byte for byte the segment a clean close wrote (footers are deterministic)`, detail: '' });
  }
  return { scenario: 'rebuild', seed, choice, outcome, problems };
}

async function repairKill(seed: number): Promise<KillReport> {
  const rng = new Rng(seed);
  const env = chunkEnv(rng);
  const store = copyStore(world.damaged, 'repair');
  const startBytes = treeBytes(store);
  const m = moment(rng, [150, 3500], world.repairPeakBytes);
  // growth of the whole tree: backups, lost+found and the .repair.tmp copies, before any rename
  const outcome = await runAndKill(['repair', store, '--yes'], env, m, () => treeBytes(store) - startBytes);
  const choice = `${JSON.stringify(env)}, kill ${describeMoment(m)}`;
  const problems: Problem[] = [];
  if (!outcome.killed && outcome.code !== 0) problems.push({ what: `the repair finished by itself with exit ${outcome.code}`, detail: outcome.stderr });

  const after = copyStore(store, 'repair-after');
  const probe = await cli(['append', after, '--entity', 'probe', '--scope', 'kill', '--payload', '{"probe":true}'], env);
  if (probe.code !== 0) problems.push({ what: 'the next writer could not open the store the killed repair left', detail: describeCli(probe) });

  const rerun = await cli(['repair', store, '--yes'], env);
  if (rerun.code !== 0) {
    problems.push({ what: 'rerunning the repair did not complete', detail: describeCli(rerun) });
    return { scenario: 'repair', seed, choice, outcome, problems };
  }
  const [verify, dump] = await Promise.all([verifyClean(store, env), dumpLines(store, env)]);
  problems.push(...verify, ...dump.problems);
  if (dump.problems.length === 0 && dump.lines.join('\n') !== world.repairedDump.join('\n')) {
    const i = dump.lines.findIndex((l, k) => l !== world.repairedDump[k]);
    problems.push({ what: 'an interrupted repair, rerun, keeps other events than an uninterrupted repair', detail: `${dump.lines.length} events vs ${world.repairedDump.length}; first difference at line ${i}: ${dump.lines[i]?.slice(0, 200)}` });
  }
  const records = lostFoundRecords(store);
  const missing = world.repairedLostFound.filter((r) => !records.includes(r));
  const foreign = records.filter((r) => !world.repairedLostFound.includes(r));
  if (missing.length > 0 || foreign.length > 0) problems.push({ what: 'lost+found/ does not hold the ranges an uninterrupted repair quarantines', detail: `missing: ${missing.join('; ')}\nforeign: ${foreign.join('; ')}` });
  if (!LONG) return { scenario: 'repair', seed, choice, outcome, problems };
  const again = await cli(['repair', store, '--yes', '--json'], env);
  if (again.code !== 0 || !/"clean":true/.test(again.stdout)) problems.push({ what: 'a third repair still found something to do', detail: describeCli(again) });
  return { scenario: 'repair', seed, choice, outcome, problems };
}

const RUNNERS: Record<Scenario, (seed: number) => Promise<KillReport>> = { append: appendKill, rebuild: rebuildKill, repair: repairKill };

function reproduce(r: KillReport): string {
  return `SEGLOG_KILLS_REPLAY=${r.scenario}:${r.seed} npx vitest run test/crash`;
}

function formatReport(r: KillReport): string {
  const o = r.outcome;
  const fate = o.killed ? `killed at ${o.atMs} ms${o.atBytes >= 0 ? `, +${o.atBytes} bytes` : ''}` : `not killed: finished with exit ${o.code}`;
  return `${r.scenario} seed ${r.seed} (${r.choice}; ${fate})\n${r.problems.map((p) => `  - ${p.what}${p.detail ? `\n    ${p.detail.replace(/\n/g, '\n    ')}` : ''}`).join('\n')}\n  reproduce: ${reproduce(r)}`;
}

function plannedKills(): { scenario: Scenario; seed: number }[] {
  if (REPLAY !== undefined) {
    const [scenario, seed] = REPLAY.split(':');
    if (!(scenario! in RUNNERS) || !Number.isInteger(Number(seed))) throw new Error(`SEGLOG_KILLS_REPLAY must be <append|rebuild|repair>:<seed>, got '${REPLAY}'`);
    return [{ scenario: scenario as Scenario, seed: Number(seed) }];
  }
  const out: { scenario: Scenario; seed: number }[] = [];
  let i = 0;
  const max = Math.max(...Object.values(COUNTS));
  for (let k = 0; k < max; k++) for (const s of Object.keys(COUNTS) as Scenario[]) if (k < COUNTS[s]) out.push({ scenario: s, seed: killSeed(BASE_SEED, i++) });
  return out;
}

beforeAll(async () => {
  assertBuilt();
  world = await buildWorld();
}, 300_000);
afterAll(removeTempDirs);

describe('SIGKILL of the real CLI at seeded moments: the next writer opens, verify is clean, appends commit whole batches of a prefix, interrupted rebuild and repair finish to the uninterrupted result', () => {
  it(`${LONG ? 'long mode' : 'a few kills'} of append --batch-size, sidx rebuild and repair (base seed ${BASE_SEED})`, { timeout: LONG ? 4 * 3600_000 : 300_000 }, async () => {
    const started = Date.now();
    const reports: KillReport[] = [];
    for (const k of plannedKills()) {
      const r = await RUNNERS[k.scenario](k.seed);
      reports.push(r);
      if (LONG) process.stderr.write(`${reports.length}. ${r.scenario} seed ${r.seed}: ${r.outcome.killed ? `killed at ${r.outcome.atMs} ms` : 'finished'}${r.problems.length ? ` FAILED (${r.problems.length})` : ''}\n`);
    }
    const failed = reports.filter((r) => r.problems.length > 0);
    const landed = reports.filter((r) => r.outcome.killed).length;
    const byScenario = (Object.keys(COUNTS) as Scenario[]).map((s) => `${s} ${reports.filter((r) => r.scenario === s).length}`).join(', ');
    const summary = `kills tried ${reports.length} (${byScenario}), landed ${landed}, failures ${failed.length}, time ${((Date.now() - started) / 1000).toFixed(1)} s, base seed ${BASE_SEED}`;
    process.stderr.write(`seglog kills: ${summary}\n`);
    expect(failed.map(formatReport), `${summary}\nEach failure names its seed; look at what the killed command (see the choice) leaves at that moment and at the recovery or rerun that follows`).toEqual([]);
  });
});
