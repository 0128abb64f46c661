/**
 * `seglog repair` end to end (the built CLI) and, for the terminal path, in process with
 * a mocked prompt: the plan, the refusals (each exits 2 and changes no byte), backups,
 * lost+found/, a clean verify afterwards and a second run with nothing to do.
 */
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import Repair from '../../src/commands/repair.js';
import { runCommand } from '../ui/run-command.js';
import { assertBuilt, CLI_TEST_TIMEOUT_MS, describeRun, expectOneLineError, freshStorePath, jsonOf, removeTempDirs, runCli, tempDir } from './cli-helpers.js';

const answer = vi.hoisted(() => ({ value: false, asked: [] as string[] }));
vi.mock('@inquirer/prompts', () => ({
  confirm: async (q: { message: string }) => {
    answer.asked.push(q.message);
    return answer.value;
  },
}));

beforeAll(assertBuilt);
afterAll(removeTempDirs);

/** Every file under `dir`, relative path → bytes. */
function snapshot(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string): void => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(relative(dir, p), readFileSync(p));
    }
  };
  walk(dir);
  return out;
}

function flip(path: string, offset: number): void {
  const b = readFileSync(path);
  b[offset] = b[offset]! ^ 0x08;
  writeFileSync(path, b);
}

let template = '';

/** A store with a corrupt frame in a sealed segment and a torn tail (a fresh copy each time). */
async function damagedStore(): Promise<string> {
  if (template === '') {
    template = freshStorePath();
    const init = await runCli(['init', template, '--segment-max-bytes', '4096']);
    expect(init.code, describeRun(init)).toBe(0);
    const input = Array.from({ length: 40 }, (_, i) => JSON.stringify({ entity: `order:${i % 4}`, scope: 't', payload: { i, note: 'x'.repeat(120) } })).join('\n');
    const r = await runCli(['append', template, '--create', '--file', '-'], { input });
    expect(r.code, describeRun(r)).toBe(0);
    flip(join(template, '0000000001.seg'), 600);
    const segs = readdirSync(template).filter((n) => n.endsWith('.seg')).sort();
    const last = join(template, segs[segs.length - 1]!);
    writeFileSync(last, readFileSync(last).subarray(0, statSync(last).size - 200));
  }
  const store = freshStorePath();
  cpSync(template, store, { recursive: true });
  return store;
}

interface RepairJson {
  clean: boolean;
  ok: boolean;
  dryRun: boolean;
  actions: { action: string; segment: string; offset: number | null; reason: string }[];
  lostEvents: { seq: number; entity: string | null; segment: string; offset: number }[];
  result?: { backupDir: string | null; backupFiles: string[]; lostFound: string[]; rewritten: string[] };
  lockHeldBy?: { pid: number };
}

describe('seglog repair (built CLI)', () => {
  it(
    '--dry-run lists the plan with every lost event and changes nothing: exit 1 when problems are found, 0 when clean',
    async () => {
      const store = await damagedStore();
      const before = snapshot(store);
      const r = await runCli(['repair', store, '--dry-run', '--json']);
      expect(r.code, describeRun(r)).toBe(1);
      const doc = jsonOf<RepairJson>(r);
      expect(doc.dryRun).toBe(true);
      expect(doc.clean).toBe(false);
      expect(doc.actions.map((a) => a.action)).toEqual(expect.arrayContaining(['quarantine', 'write_gap', 'cut_tail', 'rebuild_footer']));
      expect(doc.lostEvents).toEqual([expect.objectContaining({ entity: expect.stringMatching(/^order:\d$/), segment: '0000000001.seg', offset: expect.any(Number), seq: expect.any(Number) })]);
      expect(snapshot(store), 'a dry run changes no byte').toEqual(before);
      const text = await runCli(['repair', store, '--dry-run']);
      expect(text.code, describeRun(text)).toBe(1);
      expect(text.stdout).toMatch(/changes? planned, 1 event lost; nothing changed \(dry run\)\n$/);

      const clean = freshStorePath();
      await runCli(['append', clean, '--create', '--entity', 'a', '--scope', 's', '--payload', '{"x":1}']);
      const ok = await runCli(['repair', clean, '--dry-run', '--json']);
      expect(ok.code, describeRun(ok)).toBe(0);
      expect(jsonOf<RepairJson>(ok)).toMatchObject({ clean: true, actions: [], lostEvents: [] });
    },
    CLI_TEST_TIMEOUT_MS,
  );

  it(
    'refuses without a terminal and without --yes (also under --json, and --no-backup without --yes): exit 2, no byte changed',
    async () => {
      const store = await damagedStore();
      const before = snapshot(store);
      const plain = await runCli(['repair', store]);
      expectOneLineError(plain, { exitCode: 2, at: /refusing to change files without --yes/ });
      const json = await runCli(['repair', store, '--json']);
      expect(json.code, describeRun(json)).toBe(2);
      expect(jsonOf<{ error: { code: string } }>(json).error.code).toBe('usage');
      const nb = await runCli(['repair', store, '--no-backup']);
      expectOneLineError(nb, { exitCode: 2, at: '--no-backup is only accepted together with --yes' });
      expect(snapshot(store), 'refusals change nothing').toEqual(before);
    },
    CLI_TEST_TIMEOUT_MS,
  );

  it(
    'refuses a store locked by a live process: exit 2 naming the LOCK file and its holder, no byte changed',
    async () => {
      const store = await damagedStore();
      // the test runner's parent process is alive on this host
      writeFileSync(join(store, 'LOCK'), `${JSON.stringify({ pid: process.ppid, host: hostname(), sinceMs: 1_700_000_000_000 })}\n`);
      const before = snapshot(store);
      const r = await runCli(['repair', store, '--yes']);
      expectOneLineError(r, { exitCode: 2, file: join(store, 'LOCK'), at: `locked by pid ${process.ppid}` });
      expect(snapshot(store)).toEqual(before);
      // a dry run takes no lock: it plans, and says who holds it
      const dry = await runCli(['repair', store, '--dry-run', '--json']);
      expect(dry.code, describeRun(dry)).toBe(1);
      expect(jsonOf<RepairJson>(dry).lockHeldBy?.pid).toBe(process.ppid);
      expect(snapshot(store)).toEqual(before);
    },
    CLI_TEST_TIMEOUT_MS,
  );

  it(
    'refuses a path that is not a store (missing, a plain directory, a segment file): exit 2',
    async () => {
      const dir = tempDir();
      expectOneLineError(await runCli(['repair', join(dir, 'nope'), '--yes']), { exitCode: 2, at: 'no such store directory' });
      expectOneLineError(await runCli(['repair', dir, '--yes']), { exitCode: 2, at: 'not a seglog store' });
      const store = await damagedStore();
      const before = snapshot(store);
      expectOneLineError(await runCli(['repair', join(store, '0000000000.seg'), '--yes']), { exitCode: 2, at: 'not a store directory' });
      expect(snapshot(store)).toEqual(before);
    },
    CLI_TEST_TIMEOUT_MS,
  );

  it(
    '--yes --json repairs: backups are byte-identical copies, quarantined bytes are in lost+found/ with their record, verify is clean, a second run has nothing to do',
    async () => {
      const store = await damagedStore();
      const before = snapshot(store);
      const r = await runCli(['repair', store, '--yes', '--json']);
      expect(r.code, describeRun(r)).toBe(0);
      const doc = jsonOf<RepairJson>(r);
      expect(doc.ok).toBe(true);
      const res = doc.result!;
      expect(res.backupDir).toMatch(new RegExp(`^${join(store, 'backups')}/\\d{8}T\\d{9}Z$`));
      for (const f of res.backupFiles) {
        const name = relative(res.backupDir!, f);
        expect(readFileSync(f), `backup of ${name}`).toEqual(before.get(name));
      }
      expect(res.rewritten.length).toBe(2);
      expect(res.lostFound.length).toBe(2);
      for (const lf of res.lostFound) {
        const rec = JSON.parse(readFileSync(`${lf}.json`, 'utf8')) as { segment: string; offset: number; endOffset: number };
        expect(readFileSync(lf), `lost+found copy of ${rec.segment}@${rec.offset}`).toEqual(before.get(rec.segment)!.subarray(rec.offset, rec.endOffset));
      }
      const v = await runCli(['verify', store, '--json']);
      expect(v.code, describeRun(v)).toBe(0);
      expect(jsonOf<{ problems: { code: string; severity: string }[] }>(v).problems.map((p) => `${p.code}:${p.severity}`)).toEqual(['gap_acknowledged:info', 'gap_acknowledged:info']);
      const text = await runCli(['verify', store]);
      expect(text.stdout.trimEnd().split('\n').at(-1), `verify's summary counts acknowledged gaps as notes, not problems (src/ui/render/verify-report.ts summaryLine): ${describeRun(text)}`).toBe('no problems found (2 notes)');
      const again = await runCli(['repair', store, '--yes', '--json']);
      expect(again.code, describeRun(again)).toBe(0);
      expect(jsonOf<RepairJson>(again)).toMatchObject({ clean: true, actions: [] });
      const after = await runCli(['append', store, '--create', '--entity', 'order:1', '--scope', 't', '--payload', '{"after":true}']);
      expect(after.code, describeRun(after)).toBe(0);
      expect((await runCli(['verify', store])).code).toBe(0);
    },
    CLI_TEST_TIMEOUT_MS,
  );

  it(
    '--backup-dir puts the backup elsewhere; --no-backup --yes makes none',
    async () => {
      const store = await damagedStore();
      const elsewhere = join(tempDir(), 'safe');
      const r = await runCli(['repair', store, '--yes', '--json', '--backup-dir', elsewhere]);
      expect(r.code, describeRun(r)).toBe(0);
      expect(jsonOf<RepairJson>(r).result!.backupDir!.startsWith(`${elsewhere}/`)).toBe(true);
      expect(existsSync(join(store, 'backups'))).toBe(false);

      const other = await damagedStore();
      const nb = await runCli(['repair', other, '--yes', '--no-backup', '--json']);
      expect(nb.code, describeRun(nb)).toBe(0);
      expect(jsonOf<RepairJson>(nb).result!.backupDir).toBeNull();
      expect(existsSync(join(other, 'backups'))).toBe(false);
    },
    CLI_TEST_TIMEOUT_MS,
  );
});

describe('seglog repair: the plan with worker threads', () => {
  it(
    "--dry-run --json is byte for byte the same with verify's worker threads (SEGLOG_VERIFY_WORKERS=1: hash verdicts, footer checks, CRCs trusted below a worker's checkedEnd) as with the walk alone (=0)",
    async () => {
      const store = await damagedStore();
      const on = await runCli(['repair', store, '--dry-run', '--json'], { env: { SEGLOG_VERIFY_WORKERS: '1' } });
      const off = await runCli(['repair', store, '--dry-run', '--json'], { env: { SEGLOG_VERIFY_WORKERS: '0' } });
      expect(off.code, describeRun(off)).toBe(1);
      // if this fails, look at analyzer.ts onSegment (crcTrustedBelow) and verify-parallel.ts checkedEnd
      expect(on.stdout, describeRun(on)).toBe(off.stdout);
      expect(on.code).toBe(off.code);
    },
    CLI_TEST_TIMEOUT_MS,
  );
});

describe('seglog repair: backups by hard link (real file system)', () => {
  interface Manifest {
    version: number;
    files: { name: string; sizeBytes: number; method: 'copy' | 'link'; crc32c: number | null }[];
  }
  const manifestOf = (dir: string): Manifest => JSON.parse(readFileSync(join(dir, 'backup.json'), 'utf8')) as Manifest;

  it(
    "each changed file is linked into the backup: the backup is the old inode with the old bytes, the store's name a new file",
    async () => {
      const store = await damagedStore();
      const before = snapshot(store);
      const inodes = new Map(readdirSync(store).filter((n) => n.endsWith('.seg') || n === 'index.ckpt').map((n) => [n, statSync(join(store, n)).ino]));
      const r = await runCli(['repair', store, '--yes', '--json'], { env: { SEGLOG_BACKUP_LINK: undefined } });
      expect(r.code, describeRun(r)).toBe(0);
      const res = jsonOf<RepairJson>(r).result!;
      const m = manifestOf(res.backupDir!);
      expect(m.files.map((f) => f.method), `links on one file system (backup.ts; SEGLOG_BACKUP_LINK unset): ${describeRun(r)}`).toEqual(m.files.map(() => 'link'));
      for (const f of m.files) {
        const p = join(res.backupDir!, f.name);
        expect(readFileSync(p), `backup of ${f.name}`).toEqual(before.get(f.name));
        expect(statSync(p).ino, `backup of ${f.name} is the old file itself`).toBe(inodes.get(f.name));
        // a changed segment is replaced by a rename, a stale checkpoint removed: neither is written in place
        if (existsSync(join(store, f.name))) expect(statSync(join(store, f.name)).ino, `${f.name} was replaced by a rename, not written in place`).not.toBe(inodes.get(f.name));
      }
    },
    CLI_TEST_TIMEOUT_MS,
  );

  it(
    'SEGLOG_BACKUP_LINK=0 copies; so does a --backup-dir on another file system (EXDEV), with CRCs',
    async () => {
      const store = await damagedStore();
      const before = snapshot(store);
      const r = await runCli(['repair', store, '--yes', '--json'], { env: { SEGLOG_BACKUP_LINK: '0' } });
      expect(r.code, describeRun(r)).toBe(0);
      const res = jsonOf<RepairJson>(r).result!;
      const m = manifestOf(res.backupDir!);
      expect(m.files.map((f) => f.method)).toEqual(m.files.map(() => 'copy'));
      for (const f of m.files) expect(readFileSync(join(res.backupDir!, f.name)), `copy of ${f.name}`).toEqual(before.get(f.name));

      // /dev/shm is a tmpfs on Linux: another file system than the temp dir, when it exists
      const shm = '/dev/shm';
      if (!existsSync(shm) || statSync(shm).dev === statSync(store).dev) return;
      const other = await damagedStore();
      const otherBefore = snapshot(other);
      const elsewhere = mkdtempSync(join(shm, 'seglog-backup-'));
      try {
        const x = await runCli(['repair', other, '--yes', '--json', '--backup-dir', elsewhere], { env: { SEGLOG_BACKUP_LINK: undefined } });
        expect(x.code, describeRun(x)).toBe(0);
        const xres = jsonOf<RepairJson>(x).result!;
        const xm = manifestOf(xres.backupDir!);
        expect(xm.files.map((f) => f.method), 'EXDEV: copies').toEqual(xm.files.map(() => 'copy'));
        for (const f of xm.files) {
          expect(readFileSync(join(xres.backupDir!, f.name)), `copy of ${f.name} across file systems`).toEqual(otherBefore.get(f.name));
          expect(typeof f.crc32c).toBe('number');
        }
      } finally {
        rmSync(elsewhere, { recursive: true, force: true });
      }
    },
    CLI_TEST_TIMEOUT_MS,
  );
});

describe('seglog repair on a terminal (in process, prompt mocked)', () => {
  const realTTY = Object.getOwnPropertyDescriptor(process.stdin, 'isTTY');
  afterEach(() => {
    if (realTTY) Object.defineProperty(process.stdin, 'isTTY', realTTY);
    else delete (process.stdin as { isTTY?: boolean }).isTTY;
    answer.asked.length = 0;
  });

  it(
    'shows the plan and asks; "no" changes nothing (exit 1: the problems remain), "yes" repairs (exit 0)',
    async () => {
      const store = await damagedStore();
      const before = snapshot(store);
      Object.defineProperty(process.stdin, 'isTTY', { value: true, configurable: true });
      answer.value = false;
      const no = await runCommand(Repair, [store]);
      expect(no.exitCode, no.stderr).toBe(1);
      expect(answer.asked).toEqual([expect.stringMatching(/^Apply \d+ changes to .*\? Changed files are backed up first\.$/)]);
      expect(no.stderr).toMatch(/quarantine/);
      expect(snapshot(store), 'declining changes nothing').toEqual(before);
      answer.value = true;
      const yes = await runCommand(Repair, [store]);
      expect(yes.exitCode, yes.stderr).toBe(0);
      expect(yes.stdout).toMatch(/repaired: 2 segments rewritten/);
      expect(existsSync(join(store, 'backups'))).toBe(true);
    },
    CLI_TEST_TIMEOUT_MS,
  );
  it(
    '--output DIR writes the repaired store to DIR and leaves the original byte for byte as it was',
    async () => {
      const store = await damagedStore();
      const before = Object.fromEntries(readdirSync(store).sort().map((n) => [n, readFileSync(join(store, n)).toString('base64')]));
      const out = join(freshStorePath(), '..', 'repaired');
      const r = await runCli(['repair', store, '--output', out, '--yes', '--json']);
      expect(r.code, describeRun(r)).toBe(0);
      expect(jsonOf<RepairJson>(r)).toMatchObject({ ok: true, dryRun: false });
      const after = Object.fromEntries(readdirSync(store).sort().map((n) => [n, readFileSync(join(store, n)).toString('base64')]));
      expect(after, 'the original store is untouched').toEqual(before);
      const v = await runCli(['verify', out, '--json']);
      expect(jsonOf<{ errors: number }>(v).errors, describeRun(v)).toBe(0);
      const again = await runCli(['repair', store, '--output', out, '--yes']);
      expect(again.code, 'an --output that is not empty is refused').toBe(2);
    },
    CLI_TEST_TIMEOUT_MS,
  );
});
