import { cpSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forgePayloads, payloadOf } from '../support/forger.js';
import { refLeafHash, refVerifyInclusion } from '../support/rfc9162-reference.js';
import { assertBuilt, CLI_TEST_TIMEOUT_MS, describeRun, expectOneLineError, jsonOf, removeTempDirs, runCli, tempDir } from './cli-helpers.js';

beforeAll(assertBuilt);
afterAll(removeTempDirs);

interface Problem {
  code: string;
  severity: string;
  segment: string;
  message: string;
}
interface VerifyJson {
  ok: boolean;
  events: number;
  problems: Problem[];
  anchors?: { ok: boolean; size: number }[];
}

const EVENTS = 600;
/** Every payload has the same length, so the forger can swap any two. */
const line = (i: number, tag = 'a'): string => JSON.stringify({ entity: `order:${i % 7}`, scope: 't', payload: { n: String(i).padStart(6, '0'), tag } });

async function ok(args: string[]): Promise<string> {
  const r = await runCli(args);
  if (r.code !== 0) throw new Error(`expected exit 0\n${describeRun(r)}`);
  return r.stdout;
}

let template: string | null = null;

/**
 * A store of EVENTS events over many small segments (batches of 5) and a key pair, made
 * once and copied for each test (every test changes its copy).
 */
async function setup(): Promise<{ dir: string; store: string; key: string; pub: string }> {
  if (template === null) {
    const t = tempDir('seglog-anchor-template-');
    await ok(['init', join(t, 'store'), '--segment-max-bytes', '16384']);
    writeFileSync(join(t, 'in.jsonl'), `${Array.from({ length: EVENTS }, (_, i) => line(i)).join('\n')}\n`);
    await ok(['append', join(t, 'store'), '--file', join(t, 'in.jsonl'), '--batch-size', '5']);
    await ok(['keygen', '--out', join(t, 'ops')]);
    template = t;
  }
  const dir = tempDir('seglog-anchor-');
  cpSync(template, dir, { recursive: true });
  return { dir, store: join(dir, 'store'), key: join(dir, 'ops.key'), pub: join(dir, 'ops.pub') };
}

async function head(store: string, key: string, out: string, extra: string[] = []): Promise<string> {
  writeFileSync(out, await ok(['head', store, '--key', key, ...extra]));
  return out;
}

async function verifyAnchor(store: string, anchors: string[], pub?: string): Promise<{ code: number | null; out: VerifyJson }> {
  const args = ['verify', store, '--json', ...anchors.flatMap((a) => ['--anchor', a]), ...(pub ? ['--pubkey', pub] : [])];
  const r = await runCli(args);
  return { code: r.code, out: jsonOf<VerifyJson>(r) };
}

const codes = (v: VerifyJson): string[] => v.problems.map((p) => p.code);

describe('seglog keygen and head', () => {
  it(
    'keygen writes a 0600 private key and a verifier line; head prints a signed checkpoint; --at/--size give earlier prefixes',
    async () => {
      const { dir, store, key, pub } = await setup();
      expect(statSync(key).mode & 0o777).toBe(0o600);
      expect(readFileSync(pub, 'utf8')).toMatch(/^ops\+[0-9a-f]{8}\+[A-Za-z0-9+/]+=*\n$/);
      expectOneLineError(await runCli(['keygen', '--out', join(dir, 'ops')]), { exitCode: 2, file: 'ops.key' });
      const note = await ok(['head', store, '--key', key]);
      const lines = note.split('\n');
      expect(lines[0]).toBe('seglog/store');
      expect(lines[1]).toBe(String(EVENTS));
      expect(Buffer.from(lines[2]!, 'base64')).toHaveLength(32);
      expect(lines[3]).toBe('');
      expect(lines[4]).toMatch(/^\u2014 ops [A-Za-z0-9+/]+=*$/);
      const j = jsonOf<{ size: number; root: string; lastSeq: number }>(await runCli(['head', store, '--json', '--at', '99']));
      expect(j.size).toBe(100);
      expect(j.lastSeq).toBe(99);
      const j2 = jsonOf<{ root: string }>(await runCli(['head', store, '--json', '--size', '100']));
      expect(j2.root).toBe(j.root);
      // the cache the first head wrote gives the same answer as a cold build
      rmSync(join(store, 'merkle.idx'), { force: true });
      const cold = jsonOf<{ root: string; cache: { state: string } }>(await runCli(['head', store, '--json', '--size', '100']));
      expect(cold.cache.state).toBe('absent');
      expect(cold.root).toBe(j.root);
      expectOneLineError(await runCli(['head', store, '--size', String(EVENTS + 1)]), { exitCode: 2 });
    },
    CLI_TEST_TIMEOUT_MS,
  );
});

describe('verify --anchor against a forger who recomputes every hash and CRC', () => {
  it(
    'plain verify passes after the forgery; every head taken before it fails, one taken after passes',
    async () => {
      const { dir, store, key, pub } = await setup();
      const early = await head(store, key, join(dir, 'early.txt'), ['--size', '150']);
      const before = await head(store, key, join(dir, 'before.txt'));
      const clean = await verifyAnchor(store, [early, before], pub);
      expect(clean.code, JSON.stringify(clean.out.problems)).toBe(0);
      expect(codes(clean.out)).toEqual(['anchor_ok', 'anchor_ok']);

      const orig = payloadOf(store, 120)!;
      const forged = Buffer.from(orig).toString('utf8').replace('"tag":"a"', '"tag":"X"');
      await forgePayloads(store, new Map([[120, new Uint8Array(Buffer.from(forged))]]));
      const plain = await runCli(['verify', store, '--json']);
      expect(plain.code, describeRun(plain)).toBe(0);
      expect(jsonOf<VerifyJson>(plain).problems).toEqual([]);

      for (const h of [early, before]) {
        const v = await verifyAnchor(store, [h], pub);
        expect(v.code).toBe(1);
        expect(codes(v.out)).toEqual(['anchor_mismatch']);
      }
      const after = await head(store, key, join(dir, 'after.txt'));
      const v = await verifyAnchor(store, [after], pub);
      expect(v.code).toBe(0);
      // a head of a prefix the forgery did not reach still verifies
      const prefix = await verifyAnchor(store, [await head(store, key, join(dir, 'p.txt'), ['--size', '120'])], pub);
      expect(prefix.code).toBe(0);
    },
    CLI_TEST_TIMEOUT_MS,
  );

  it(
    'a forger who leaves merkle.idx behind is named: the first segment whose history differs',
    async () => {
      const { dir, store, key } = await setup();
      const before = await head(store, key, join(dir, 'before.txt'));
      const orig = Buffer.from(payloadOf(store, 300)!).toString('utf8');
      await forgePayloads(store, new Map([[300, new Uint8Array(Buffer.from(orig.replace('"tag":"a"', '"tag":"Y"')))]]), { keepMerkleIndex: true });
      const v = await verifyAnchor(store, [before]);
      expect(v.code).toBe(1);
      const m = v.out.problems.find((p) => p.code === 'anchor_mismatch')!;
      expect(m.message).toMatch(/seq 300/);
      // the segment holding event 300
      const seg = readdirSync(store).filter((n) => n.endsWith('.seg')).find((n) => Buffer.from(readFileSync(join(store, n))).includes(Buffer.from(orig.replace('"tag":"a"', '"tag":"Y"'))));
      expect(m.segment).toBe(seg);
      expect(codes(v.out)).toContain('merkle_stale');
    },
    CLI_TEST_TIMEOUT_MS,
  );

  it(
    'the worker-thread tree hasher gives the same verdicts as the inline one',
    async () => {
      const { dir, store, key } = await setup();
      const before = await head(store, key, join(dir, 'before.txt'));
      const run = async (worker: string): Promise<{ code: number | null; out: VerifyJson }> => {
        const r = await runCli(['verify', store, '--json', '--anchor', before], { env: { SEGLOG_ANCHOR_WORKER: worker } });
        return { code: r.code, out: jsonOf<VerifyJson>(r) };
      };
      for (const w of ['0', '1']) expect((await run(w)).code, `SEGLOG_ANCHOR_WORKER=${w}`).toBe(0);
      const a = payloadOf(store, 10)!;
      const b = payloadOf(store, 17)!;
      await forgePayloads(store, new Map([[10, b], [17, a]]));
      for (const w of ['0', '1']) {
        const v = await run(w);
        expect(v.code, `SEGLOG_ANCHOR_WORKER=${w}`).toBe(1);
        expect(codes(v.out)).toEqual(['anchor_mismatch']);
      }
    },
    CLI_TEST_TIMEOUT_MS,
  );

  it(
    'two events swapped, chains recomputed: plain verify passes, the anchor fails',
    async () => {
      const { dir, store, key } = await setup();
      const before = await head(store, key, join(dir, 'before.txt'));
      const a = payloadOf(store, 200)!;
      const b = payloadOf(store, 201)!;
      await forgePayloads(store, new Map([[200, b], [201, a]]));
      expect((await runCli(['verify', store])).code).toBe(0);
      expect((await verifyAnchor(store, [before])).code).toBe(1);
    },
    CLI_TEST_TIMEOUT_MS,
  );

  it(
    'a log cut back and regrown past the head fails; a head within the kept prefix passes',
    async () => {
      const { dir, store, key } = await setup();
      const segs = readdirSync(store).filter((n) => n.endsWith('.seg')).sort();
      expect(segs.length).toBeGreaterThan(4);
      const kept = join(dir, 'kept');
      cpSync(store, kept, { recursive: true });
      for (const s of segs.slice(3)) rmSync(join(kept, s));
      for (const f of ['index.ckpt', 'merkle.idx']) rmSync(join(kept, f), { force: true });
      const keptEvents = jsonOf<{ events: number }>(await runCli(['verify', kept, '--json'])).events;
      const small = await head(store, key, join(dir, 'small.txt'), ['--size', String(Math.min(50, keptEvents))]);
      const full = await head(store, key, join(dir, 'full.txt'));
      writeFileSync(join(dir, 'more.jsonl'), `${Array.from({ length: EVENTS }, (_, i) => line(i, 'b')).join('\n')}\n`);
      await ok(['append', kept, '--file', join(dir, 'more.jsonl')]);
      const v = await verifyAnchor(kept, [full, small]);
      expect(v.code).toBe(1);
      expect(v.out.anchors!.map((x) => x.ok)).toEqual([false, true]);
    },
    CLI_TEST_TIMEOUT_MS,
  );

  it(
    'a forged or missing signature is anchor_signature (exit 1); an unreadable head is exit 2 naming the file',
    async () => {
      const { dir, store, key, pub } = await setup();
      const h = await head(store, key, join(dir, 'h.txt'));
      const text = readFileSync(h, 'utf8').split('\n');
      text[1] = String(EVENTS - 1); // claim a different size, keep the signature
      writeFileSync(join(dir, 'bad.txt'), text.join('\n'));
      const v = await verifyAnchor(store, [join(dir, 'bad.txt')], pub);
      expect(v.code).toBe(1);
      expect(codes(v.out)).toEqual(['anchor_signature']);
      await ok(['keygen', '--out', join(dir, 'other', '..', 'mallory'), '--name', 'ops']);
      const byMallory = await head(store, join(dir, 'mallory.key'), join(dir, 'm.txt'));
      expect(codes((await verifyAnchor(store, [byMallory], pub)).out)).toEqual(['anchor_signature']);
      expect((await verifyAnchor(store, [byMallory])).code).toBe(0); // no --pubkey: only the root is checked
      expectOneLineError(await runCli(['verify', store, '--anchor', join(dir, 'nope.txt')]), { exitCode: 2, file: 'nope.txt' });
      writeFileSync(join(dir, 'junk.txt'), 'not a note\n');
      expectOneLineError(await runCli(['verify', store, '--anchor', join(dir, 'junk.txt'), '--json']), { exitCode: 2, file: 'junk.txt' });
    },
    CLI_TEST_TIMEOUT_MS,
  );

  it(
    'a repair that loses events: an older head fails with a message naming the GAP record',
    async () => {
      const { dir, store, key } = await setup();
      const before = await head(store, key, join(dir, 'before.txt'));
      // flip one payload byte of event 250 in its sealed segment: a CRC mismatch that repair quarantines
      const needle = Buffer.from(`"n":"000250"`);
      const seg = readdirSync(store).filter((n) => n.endsWith('.seg')).find((n) => readFileSync(join(store, n)).includes(needle))!;
      const bytes = readFileSync(join(store, seg));
      bytes[bytes.indexOf(needle) + 6] ^= 0x01;
      writeFileSync(join(store, seg), bytes);
      const rep = await runCli(['repair', store, '--yes', '--no-backup', '--json']);
      expect(rep.code, describeRun(rep)).toBe(0);
      const v = await verifyAnchor(store, [before]);
      expect(v.code).toBe(1);
      const m = v.out.problems.find((p) => p.code === 'anchor_mismatch')!;
      expect(m.message).toMatch(/GAP record/);
      expect(codes(v.out)).toContain('gap_acknowledged');
    },
    CLI_TEST_TIMEOUT_MS,
  );
});

describe('prove and check-proof', () => {
  it(
    'inclusion and consistency proofs check offline; a tampered proof or a head of another tree fails',
    async () => {
      const { dir, store, key, pub } = await setup();
      const h1 = await head(store, key, join(dir, 'h1.txt'), ['--size', '333']);
      const proofFile = join(dir, 'p.json');
      writeFileSync(proofFile, await ok(['prove', store, '--seq', '77', '--head', h1]));
      const r = await runCli(['check-proof', proofFile, '--head', h1, '--pubkey', pub, '--json']);
      expect(r.code, describeRun(r)).toBe(0);
      expect(jsonOf<{ ok: boolean; leafIndex: number; treeSize: number }>(r)).toMatchObject({ ok: true, leafIndex: 77, treeSize: 333 });

      const p = JSON.parse(readFileSync(proofFile, 'utf8')) as { auditPath: string[]; eventBytes: string };
      const flipped = Buffer.from(p.auditPath[2]!, 'base64');
      flipped[0]! ^= 1;
      writeFileSync(join(dir, 'bad.json'), JSON.stringify({ ...p, auditPath: p.auditPath.map((x, i) => (i === 2 ? flipped.toString('base64') : x)) }));
      expectOneLineError(await runCli(['check-proof', join(dir, 'bad.json'), '--head', h1]), { exitCode: 1, file: 'bad.json' });
      const ev = Buffer.from(p.eventBytes, 'base64');
      ev[ev.length - 1]! ^= 1;
      writeFileSync(join(dir, 'bad2.json'), JSON.stringify({ ...p, eventBytes: ev.toString('base64') }));
      expectOneLineError(await runCli(['check-proof', join(dir, 'bad2.json'), '--head', h1]), { exitCode: 1, file: 'bad2.json' });

      const h2 = await head(store, key, join(dir, 'h2.txt'));
      expectOneLineError(await runCli(['check-proof', proofFile, '--head', h2]), { exitCode: 1, file: 'h2.txt' });
      const cons = join(dir, 'c.json');
      writeFileSync(cons, await ok(['prove', store, '--from', h1, '--to', h2]));
      expect((await runCli(['check-proof', cons, '--head', h1, '--head', h2, '--pubkey', pub])).code).toBe(0);
      // every proof `prove` prints checks with the independent RFC reading (seeded random events)
      let x = 16;
      const rootOf = (note: string): Buffer => Buffer.from(readFileSync(note, 'utf8').split('\n')[2]!, 'base64');
      for (let k = 0; k < 6; k++) {
        x = (x * 1103515245 + 12345) % 2 ** 31;
        const seq = x % 333;
        const q = JSON.parse(await ok(['prove', store, '--seq', String(seq), '--head', h1])) as { leafIndex: number; treeSize: number; eventHash: string; auditPath: string[] };
        const path = q.auditPath.map((a) => Buffer.from(a, 'base64'));
        expect(refVerifyInclusion(refLeafHash(Buffer.from(q.eventHash, 'hex')), q.leafIndex, q.treeSize, path, rootOf(h1)), `event ${seq}`).toBe(true);
      }
      expectOneLineError(await runCli(['prove', store, '--seq', '400', '--head', h1]), { exitCode: 2 });
      expectOneLineError(await runCli(['prove', store, '--seq', '1', '--from', h1]), { exitCode: 2 });
    },
    CLI_TEST_TIMEOUT_MS,
  );
});
