/**
 * The start-up fast path (src/ui/fast-path.ts) must be invisible: the same command line
 * gives the same stdout, stderr and exit status with it (default) and without it
 * (SEGLOG_FAST_PATH=0, oclif), and it refuses every line it does not fully understand.
 * `repair --yes` changes the store, so it runs on two copies of the same damaged store,
 * one each way, and the repaired stores must read the same (ui/repair-fast.ts).
 */
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import CheckProof from '../../src/commands/check-proof.js';
import Head from '../../src/commands/head.js';
import Prove from '../../src/commands/prove.js';
import Stats from '../../src/commands/stats.js';
import Dump from '../../src/commands/dump.js';
import Verify from '../../src/commands/verify.js';
import SidxRebuild from '../../src/commands/sidx/rebuild.js';
import Repair from '../../src/commands/repair.js';
import Append from '../../src/commands/append.js';
import { FAST_COMMANDS, parseFast } from '../../src/ui/fast-path.js';
import { assertBuilt, CLI_TEST_TIMEOUT_MS, describeRun, FIXTURES_DIR, jsonOf, removeTempDirs, runCli, tempDir } from './cli-helpers.js';

beforeAll(assertBuilt);
afterAll(removeTempDirs);

interface OclifFlag {
  multiple?: boolean;
  required?: boolean;
  helpValue?: string;
  type: string;
}

describe('the fast path knows exactly the oclif commands\' flags', () => {
  it('same flag names, repeatable and required flags, integer flags and argument as the command classes', () => {
    // `sidx` is `sidx rebuild` (FastCommandSpec.sub)
    const classes = { head: Head, prove: Prove, 'check-proof': CheckProof, stats: Stats, dump: Dump, verify: Verify, sidx: SidxRebuild, repair: Repair, append: Append } as const;
    expect(Object.keys(FAST_COMMANDS).sort()).toEqual(Object.keys(classes).sort());
    for (const [name, cls] of Object.entries(classes)) {
      const spec = FAST_COMMANDS[name]!;
      const flags = (cls.flags ?? {}) as Record<string, OclifFlag>;
      // a subset (dump): every flag it takes is the command's; any other goes to oclif
      if (spec.subset) for (const f of Object.keys(spec.flags)) expect(Object.keys(flags), `${name} --${f}`).toContain(f);
      else expect(Object.keys(spec.flags).sort(), `${name}: update FAST_COMMANDS in src/ui/fast-path.ts`).toEqual(Object.keys(flags).sort());
      for (const [f, def] of Object.entries(flags)) {
        const mine = spec.flags[f];
        if (mine === undefined) continue;
        expect({ multiple: !!mine.multiple, required: !!mine.required, int: mine.kind === 'int', boolean: mine.kind === 'boolean' }, `${name} --${f}`).toEqual({
          multiple: !!def.multiple,
          required: !!def.required,
          int: def.helpValue === '<n>',
          boolean: def.type === 'boolean',
        });
      }
      expect(Object.keys(cls.args), name).toEqual([spec.arg]);
    }
  });
});

describe('parseFast', () => {
  it('takes plain command lines', () => {
    expect(parseFast(['check-proof', 'p.json', '--head', 'a', '--head=b', '--json'])).toEqual({ command: 'check-proof', arg: 'p.json', json: true, flags: { head: ['a', 'b'] } });
    expect(parseFast(['prove', '--seq', '41', 's', '--head', 'h'])).toEqual({ command: 'prove', arg: 's', json: false, flags: { seq: 41, head: 'h' } });
    expect(parseFast(['head', 's', '--at=7', '--key', 'k'])).toEqual({ command: 'head', arg: 's', json: false, flags: { at: 7, key: ['k'] } });
    expect(parseFast(['stats', 's', '--json'])).toEqual({ command: 'stats', arg: 's', json: true, flags: {} });
    expect(parseFast(['verify', 's', '--strict', '--format', 'github', '--anchor', 'h', '--max-errors=3'])).toEqual({
      command: 'verify',
      arg: 's',
      json: false,
      flags: { strict: true, format: 'github', anchor: ['h'], 'max-errors': 3 },
    });
    expect(parseFast(['sidx', 'rebuild', 's', '--yes', '--json'])).toEqual({ command: 'sidx', arg: 's', json: true, flags: { yes: true } });
    expect(parseFast(['sidx', 'rebuild', '--dry-run', 's'])).toEqual({ command: 'sidx', arg: 's', json: false, flags: { 'dry-run': true } });
    expect(parseFast(['repair', 's', '--yes', '--json'])).toEqual({ command: 'repair', arg: 's', json: true, flags: { yes: true } });
    expect(parseFast(['repair', 's'])).toEqual({ command: 'repair', arg: 's', json: false, flags: {} });
    expect(parseFast(['append', 's', '--file', 'in.jsonl', '--batch-size=7', '--kind', '2:3'])).toEqual({ command: 'append', arg: 's', json: false, flags: { file: 'in.jsonl', 'batch-size': 7, kind: '2:3' } });
  });

  it('leaves to oclif everything it would explain or read differently', () => {
    const refused = [
      ['verify', 's', '-q'],
      ['verify', 's', '--quiet=true'],
      ['verify', 's', '--strict', '--strict'],
      ['verify', 's', '--no-strict'],
      ['head'],
      ['head', 's', 't'],
      ['head', 's', '--help'],
      ['head', 's', '-h'],
      ['head', 's', '--nope'],
      ['head', 's', '--'],
      ['head', ''],
      ['head', 's', '--at'],
      ['head', 's', '--at', '-1'],
      ['head', 's', '--at', '1e3'],
      ['head', 's', '--at', ' 7'],
      ['head', 's', '--at', '1', '--at', '2'],
      ['head', 's', '--origin='],
      ['head', 's', '--json', '--json'],
      ['head', 's', '--json=true'],
      ['check-proof', 'p.json'],
      ['check-proof', '--head', 'h', 'p.json'],
      ['check-proof', '--head=h', 'p.json'],
      ['prove', 's', '--seq', '99999999999999999'],
      ['stats'],
      ['stats', 's', 't'],
      ['stats', 's', '--help'],
      ['stats', 's', '--key', 'k'],
      ['dump', 's', '--follow'],
      ['dump', 's', '--since', '1m', '--poll-interval', '100'],
      ['sidx', 's', '--yes'],
      ['sidx', 'strip', 's', '--yes'],
      ['sidx', 'show', 's'],
      ['sidx', '--yes', 'rebuild', 's'],
      ['sidx', 'rebuild'],
      ['sidx', 'rebuild', 's', 't', '--yes'],
      ['sidx', 'rebuild', 's', '--yes', '--yes'],
      ['sidx', 'rebuild', 's', '--yes=true'],
      ['sidx', 'rebuild', 's', '-y'],
      ['sidx', 'rebuild', 's', '--help'],
      ['repair', 's', '--yes=true'],
      ['repair', 's', '--yes', '--yes'],
      ['repair', 's', '-y'],
      ['repair', 's', '--yes', '--dry-run'],
      ['repair', 's', '--yes', '--backup-dir', 'b'],
      ['repair', 's', '--yes', '--no-backup'],
      ['repair', 's', '--yes', '--output', 'o'],
      ['repair', '--yes'],
      // append: stdin, short flags and the flags it leaves to oclif
      ['append', 's', '--file', '-'],
      ['append', 's', '-f', 'in.jsonl'],
      ['append', 's', '--file', 'in.jsonl', '--create'],
      ['append', 's', '--payload', '{}'],
      ['append', 's', '--file', 'in.jsonl', '--flush-interval', '5'],
    ];
    for (const argv of refused) expect(parseFast(argv), argv.join(' ')).toBeNull();
  });
});

describe('the same answers with and without the fast path', () => {
  it(
    'stdout, stderr and exit status agree for successes, failures, usage errors and --json',
    async () => {
      const dir = tempDir('seglog-fast-');
      const store = join(dir, 'store');
      const run = async (args: string[], env: Record<string, string> = {}) => {
        const [fast, slow] = await Promise.all([runCli(args, { env }), runCli(args, { env: { ...env, SEGLOG_FAST_PATH: '0' } })]);
        const show = (r: typeof fast) => ({ code: r.code, stdout: r.stdout, stderr: r.stderr });
        expect(show(fast), `fast path differs from oclif\n--- fast\n${describeRun(fast)}\n--- oclif\n${describeRun(slow)}`).toEqual(show(slow));
        return fast;
      };
      const must = async (args: string[]) => {
        const r = await runCli(args);
        if (r.code !== 0) throw new Error(describeRun(r));
        return r.stdout;
      };
      await must(['init', store, '--segment-max-bytes', '8192']);
      writeFileSync(join(dir, 'in.jsonl'), Array.from({ length: 120 }, (_, i) => JSON.stringify({ entity: `e:${i % 5}`, scope: 't', payload: { i } })).join('\n') + '\n');
      await must(['append', store, '--file', join(dir, 'in.jsonl'), '--batch-size', '7']);
      await must(['keygen', '--out', join(dir, 'ops')]);
      const h50 = join(dir, 'h50.txt');
      writeFileSync(h50, (await run(['head', store, '--size', '50', '--key', join(dir, 'ops.key')])).stdout);
      const hAll = join(dir, 'hall.txt');
      writeFileSync(hAll, (await run(['head', store])).stdout);
      await run(['head', store, '--json']);
      await run(['head', store, '--at', '30', '--origin', 'example.org/log', '--json']);
      await run(['head', store, '--size', '9999']);
      await run(['head', join(dir, 'missing')]);
      await run(['head', store, '--key', join(dir, 'nokey.key'), '--json']);
      const proof = join(dir, 'p.json');
      writeFileSync(proof, (await run(['prove', store, '--seq', '20', '--head', h50])).stdout);
      await run(['prove', store, '--seq', '20', '--json']);
      await run(['prove', store, '--from', h50, '--to', hAll, '--json']);
      await run(['prove', store, '--seq', '100', '--head', h50]);
      await run(['prove', store, '--seq', '20', '--from', h50]);
      await run(['prove', store]);
      await run(['check-proof', proof, '--head', h50, '--pubkey', join(dir, 'ops.pub')]);
      await run(['check-proof', proof, '--head', h50, '--json']);
      await run(['check-proof', proof, '--head', hAll, '--json']);
      await run(['check-proof', proof, '--head', hAll]);
      await run(['check-proof', join(dir, 'in.jsonl'), '--head', h50, '--json']);
      await run(['check-proof', proof, '--head', hAll, '--pubkey', join(dir, 'ops.pub')]);
      // verify (issue 18): every format and switch, its usage errors and refusals, inline and in a job worker
      const verifyLines = async (target = store): Promise<void> => {
        // read-only runs: side by side
        await Promise.all([
          run(['verify', target]),
          run(['verify', target, '--json']),
          run(['verify', target, '--json'], { SEGLOG_JOB_WORKER: '1' }),
          run(['verify', target, '--format', 'json']),
          run(['verify', target, '--format=junit']),
          run(['verify', target, '--format', 'github', '--strict']),
          run(['verify', target, '--strict', '--json']),
          run(['verify', target, '--quiet']),
          run(['verify', target, '--verbose', '--max-errors', '1']),
          run(['verify', target, '--max-errors', '0']),
          run(['verify', target, '--format', 'yaml']),
          run(['verify', join(target, '0000000000.seg'), '--json']),
        ]);
      };
      await verifyLines();
      await verifyLines(join(FIXTURES_DIR, 'torn-tail')); // warnings: exit 1 only with --strict
      await Promise.all([
        run(['verify', store, '--anchor', h50, '--pubkey', join(dir, 'ops.pub'), '--json']),
        run(['verify', store, '--anchor', h50, '--anchor', hAll]),
        run(['verify', store, '--pubkey', join(dir, 'ops.pub')]),
        run(['verify', store, '--anchor', join(dir, 'missing.txt')]),
        run(['verify', join(store, '0000000000.seg'), '--anchor', h50]),
        run(['verify', store, '--archive', join(dir, 'missing'), '--json']),
        run(['verify', join(dir, 'missing'), '--json']),
        run(['verify', join(dir, 'in.jsonl')]),
      ]);
      // stats (issue 18): from the checkpoint, by a scan, with warnings, and its failures
      await run(['stats', store]);
      await run(['stats', store, '--json']);
      rmSync(join(store, 'index.ckpt'), { force: true });
      await run(['stats', store, '--json']);
      const seg = join(store, '0000000000.seg');
      const bytes = readFileSync(seg);
      bytes[bytes.length - 40] = bytes[bytes.length - 40]! ^ 0xff; // inside the first segment's footer: a warning, then a scan
      writeFileSync(seg, bytes);
      await run(['stats', store]);
      await run(['stats', store, '--json']);
      await verifyLines(); // a damaged footer: an error
      await run(['stats', join(dir, 'missing'), '--json']);
      await run(['stats', join(dir, 'in.jsonl')]);
      await run(['stats', dir]);
      // dump (issue 18): the plain export, text and jsonl, whole and limited, a segment file,
      // damage (warnings, exit 1), what is not a store, and what the fast path leaves to oclif
      await run(['dump', store]);
      await run(['dump', store, '--format', 'jsonl']);
      await run(['dump', store, '--format=jsonl', '--limit', '5']);
      await run(['dump', store, '--limit', '0']);
      await run(['dump', store, '--format', 'json']);
      await run(['dump', store, '--format', 'yaml']);
      // reading by time and from the end (in the main thread, not a job); --follow goes to oclif
      await Promise.all([
        run(['dump', store, '--since', '1h', '--format', 'jsonl']),
        run(['dump', store, '--since=1h', '--limit', '3']),
        run(['dump', store, '--last', '4', '--format', 'jsonl']),
        run(['dump', store, '--until', '2000-01-01T00:00:00Z']),
        run(['dump', store, '--since', '1h', '--until', '2h']),
        run(['dump', store, '--since', 'yesterday']),
        run(['dump', store, '--last', '0']),
        run(['dump', join(store, '0000000001.seg'), '--last', '2']),
        run(['dump', join(store, '0000000001.seg'), '--since', '1h', '--format', 'jsonl']),
      ]);
      await run(['dump', join(store, '0000000001.seg'), '--format', 'jsonl']);
      await run(['dump', join(dir, 'missing')]);
      await run(['dump', join(dir, 'in.jsonl')]);
      const seg2 = join(store, '0000000002.seg');
      const b2 = readFileSync(seg2);
      b2[200] = b2[200]! ^ 0x55; // a frame of the third segment: a corrupt frame, exit 1
      writeFileSync(seg2, b2);
      await run(['dump', store, '--format', 'jsonl']);
      await run(['dump', store]);
      await run(['dump', store, '--since', '1h', '--format', 'jsonl']);
      await run(['dump', store, '--last', '50']);
      await verifyLines(); // a corrupt frame: errors, exit 1
      // repair --yes (issue 18): what it refuses or fails on, then a real repair on two copies
      await run(['repair', join(dir, 'missing'), '--yes', '--json']);
      await run(['repair', join(dir, 'missing'), '--yes']);
      await run(['repair', dir, '--yes', '--json']);
      await run(['repair', seg2, '--yes']);
      await run(['repair', store, '--json']);
      await run(['repair', store]);
      for (const args of [['--yes', '--json'], ['--yes']]) {
        const copies = ['fast', 'oclif'].map((name) => {
          const d = join(dir, `repair-${name}-${args.length}`);
          cpSync(store, join(d, 'store'), { recursive: true });
          return d;
        });
        const fast = await runCli(['repair', 'store', ...args], { cwd: copies[0] });
        const slow = await runCli(['repair', 'store', ...args], { cwd: copies[1], env: { SEGLOG_FAST_PATH: '0' } });
        // the same but for where each copy is and the repair's time (lost+found and backup names)
        const show = (r: typeof fast, d: string) => ({ code: r.code, stdout: r.stdout.split(d).join('<dir>').replace(/\b\d{13}\b|\d{8}T\d{9}Z/g, '<time>'), stderr: r.stderr });
        expect(show(fast, copies[0]!), `repair ${args.join(' ')}: fast path differs from oclif\n--- fast\n${describeRun(fast)}\n--- oclif\n${describeRun(slow)}`).toEqual(show(slow, copies[1]!));
        expect(fast.code, describeRun(fast)).toBe(0);
        const [a, b] = await Promise.all(copies.map((d) => runCli(['dump', join(d, 'store'), '--format', 'jsonl'])));
        expect(a!.stdout === b!.stdout, 'the stores repaired with and without the fast path read differently').toBe(true);
        // nothing left to do: both ways say so alike
        const again = await runCli(['repair', 'store', ...args], { cwd: copies[0] });
        const againSlow = await runCli(['repair', 'store', ...args], { cwd: copies[1], env: { SEGLOG_FAST_PATH: '0' } });
        expect(show(again, copies[0]!)).toEqual(show(againSlow, copies[1]!));
      }
    },
    CLI_TEST_TIMEOUT_MS * 3,
  );
  it(
    'sidx rebuild: stdout, stderr and exit status agree for intact, stripped and damaged stores, --dry-run, --json, a segment file, and what it refuses',
    async () => {
      // the fast path of ui/sidx-fast.ts; each side runs on its own copy of the same start, at the same path
      const dir = tempDir('seglog-fast-sidx-');
      const tpl = join(dir, 'template');
      const store = join(dir, 'store');
      const must = async (args: string[]) => {
        const r = await runCli(args);
        if (r.code !== 0) throw new Error(describeRun(r));
      };
      await must(['init', tpl, '--segment-max-bytes', '8192']);
      writeFileSync(join(dir, 'in.jsonl'), Array.from({ length: 150 }, (_, i) => JSON.stringify({ entity: `e:${i % 7}`, scope: 't', payload: { i, pad: 'x'.repeat(120) } })).join('\n') + '\n');
      await must(['append', tpl, '--file', join(dir, 'in.jsonl'), '--batch-size', '9']);
      const run = async (args: string[], env: Record<string, string> = {}) => {
        const side = async (more: Record<string, string>) => {
          rmSync(store, { recursive: true, force: true });
          cpSync(tpl, store, { recursive: true });
          const r = await runCli(args, { env: { ...env, ...more } });
          return { r, files: readFileSync(join(store, '0000000001.seg')).toString('base64') };
        };
        const fast = await side({});
        const slow = await side({ SEGLOG_FAST_PATH: '0' });
        const show = (x: typeof fast) => ({ code: x.r.code, stdout: x.r.stdout, stderr: x.r.stderr, files: x.files });
        expect(show(fast), `fast path differs from oclif\n--- fast\n${describeRun(fast.r)}\n--- oclif\n${describeRun(slow.r)}`).toEqual(show(slow));
        return fast.r;
      };
      expect((await run(['sidx', 'rebuild', store, '--yes', '--json'])).code).toBe(0);
      await run(['sidx', 'rebuild', store, '--yes']);
      await run(['sidx', 'rebuild', store, '--dry-run']);
      await run(['sidx', 'rebuild', store]);
      await run(['sidx', 'rebuild', join(store, '0000000001.seg'), '--yes', '--json']);
      await run(['sidx', 'rebuild', join(dir, 'missing'), '--yes', '--json']);
      await run(['sidx', 'rebuild', join(dir, 'in.jsonl'), '--yes']);
      await run(['sidx', 'rebuild', dir, '--yes', '--json']);
      // footers stripped: rebuilt (temp files, fsyncs, renames), also with the writeback hints off
      rmSync(store, { recursive: true, force: true });
      cpSync(tpl, store, { recursive: true });
      await must(['sidx', 'strip', store, '--yes']);
      rmSync(tpl, { recursive: true });
      cpSync(store, tpl, { recursive: true });
      const stripped = await run(['sidx', 'rebuild', store, '--yes', '--json']);
      expect(jsonOf<{ segments: { action: string }[] }>(stripped).segments.filter((s) => s.action === 'rebuilt').length).toBeGreaterThan(2);
      await run(['sidx', 'rebuild', store, '--yes'], { SEGLOG_EARLY_WRITEBACK: '0' });
      await run(['sidx', 'rebuild', store, '--dry-run', '--json']);
      await run(['sidx', 'rebuild', join(store, '0000000001.seg'), '--yes']);
      // a damaged frame: that segment is skipped, exit 1
      const seg2 = join(tpl, '0000000002.seg');
      const b2 = readFileSync(seg2);
      b2[300] = b2[300]! ^ 0x55;
      writeFileSync(seg2, b2);
      expect((await run(['sidx', 'rebuild', store, '--yes', '--json'])).code).toBe(1);
      await run(['sidx', 'rebuild', store, '--yes']);
      // a segment file whose header is damaged
      const seg1 = join(tpl, '0000000001.seg');
      const b1 = readFileSync(seg1);
      b1[3] = b1[3]! ^ 0xff;
      writeFileSync(seg1, b1);
      await run(['sidx', 'rebuild', join(store, '0000000001.seg'), '--yes', '--json']);
      await run(['sidx', 'rebuild', store, '--yes']);
    },
    CLI_TEST_TIMEOUT_MS * 3,
  );

  it(
    'append --file: the same output, exit status and events with and without the fast path',
    async () => {
      const dir = tempDir('seglog-fast-append-');
      const must = async (args: string[]) => {
        const r = await runCli(args);
        if (r.code !== 0) throw new Error(describeRun(r));
        return r.stdout;
      };
      const run = async (args: string[]) => {
        const fast = await runCli(args);
        const slow = await runCli(args, { env: { SEGLOG_FAST_PATH: '0' } });
        const show = (r: typeof fast) => ({ code: r.code, stdout: r.stdout, stderr: r.stderr });
        expect(show(fast), `fast path differs from oclif\n--- fast\n${describeRun(fast)}\n--- oclif\n${describeRun(slow)}`).toEqual(show(slow));
      };
      // append --file (issue 18, round four): bulk and batches, defaults, --json, a bad line
      // (the lines before it kept), what the command refuses (a bad kind or batch size: oclif),
      // a missing store or file; each run appends to its own copy of the same new store
      let k = 0;
      const template = join(dir, 'template');
      await must(['init', template, '--segment-max-bytes', '16384']);
      const appendBoth = async (extra: (s: string) => string[], env: Record<string, string> = {}) => {
        const fast = join(dir, `a${k}`);
        const slow = join(dir, `b${k}`);
        k++;
        cpSync(template, fast, { recursive: true });
        cpSync(template, slow, { recursive: true });
        const rf = await runCli(['append', fast, ...extra(fast)], { env });
        const rs = await runCli(['append', slow, ...extra(slow)], { env: { ...env, SEGLOG_FAST_PATH: '0' } });
        const show = (r: typeof rf, s: string) => ({ code: r.code, stdout: r.stdout.replaceAll(s, '<store>'), stderr: r.stderr.replaceAll(s, '<store>') });
        expect(show(rf, fast), `fast path differs from oclif\n--- fast\n${describeRun(rf)}\n--- oclif\n${describeRun(rs)}`).toEqual(show(rs, slow));
        // the same events (ids, times and hashes differ between two runs: compared without them)
        const events = async (s: string) =>
          (await runCli(['dump', s, '--format', 'jsonl'])).stdout
            .split('\n')
            .filter(Boolean)
            .map((l) => {
              const o = JSON.parse(l) as Record<string, unknown>;
              for (const f of ['eventId', 'wallMs', 'prevHash', 'eventHash']) delete o[f];
              return JSON.stringify(o);
            });
        expect(await events(fast), 'the events appended by the fast path and by oclif').toEqual(await events(slow));
      };
      const input = join(dir, 'in.jsonl');
      writeFileSync(input, Array.from({ length: 120 }, (_, i) => JSON.stringify({ entity: `e:${i % 5}`, scope: 't', payload: { i } })).join('\n') + '\n');
      const bad = join(dir, 'bad.jsonl');
      writeFileSync(bad, `${readFileSync(input, 'utf8')}{"entity":"x","scope":"t","payload":tru}\n{"entity":"y","scope":"t","payload":1}\n`);
      const noEntity = join(dir, 'noentity.jsonl');
      writeFileSync(noEntity, `{"scope":"t","payload":{"a":[1,2]}}\n{"payload":"p","kind":"9:9"}\n`);
      await appendBoth(() => ['--file', input]);
      await appendBoth(() => ['--file', input, '--json']);
      // the job in a worker thread (as for a large file) and with the scan worker
      await appendBoth(() => ['--file', bad, '--json'], { SEGLOG_JOB_WORKER: '1', SEGLOG_APPEND_WORKERS: '1' });
      await appendBoth(() => ['--file=' + input, '--batch-size', '7', '--kind', '3:4']);
      await appendBoth(() => ['--file', noEntity, '--entity', 'dflt:1', '--scope', 'dscope', '--json']);
      await appendBoth(() => ['--file', noEntity]);
      await appendBoth(() => ['--file', bad]);
      await appendBoth(() => ['--file', bad, '--json', '--batch-size', '50']);
      await appendBoth(() => ['--file', input, '--kind', '0:1']);
      await appendBoth(() => ['--file', input, '--batch-size', '0', '--json']);
      await appendBoth(() => ['--file', join(dir, 'missing.jsonl'), '--json']);
      await appendBoth(() => ['--file', dir]);
      await run(['append', join(dir, 'missing'), '--file', input]);
      await run(['append', join(dir, 'missing'), '--file', input, '--json']);
    },
    CLI_TEST_TIMEOUT_MS * 2,
  );
});
