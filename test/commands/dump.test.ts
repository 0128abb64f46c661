import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, CLI_TEST_TIMEOUT_MS, describeRun, FIXTURES_DIR, freshStorePath, jsonOf, removeTempDirs, runCli } from './cli-helpers.js';

beforeAll(assertBuilt);
afterAll(removeTempDirs);

/** The fields docs/CLI.md and issue 2 promise for every event of `dump --json`. */
const EVENT_FIELDS = ['seq', 'eventId', 'entity', 'scope', 'kind', 'clock', 'wallMs', 'txnId', 'causationId', 'correlationId', 'prevHash', 'eventHash', 'payload'];

interface EventJson {
  seq: number;
  eventId: string;
  entity: string;
  kind: string;
  txnId: number;
  causationId: string | null;
  correlationId: string | null;
  prevHash: string;
  eventHash: string;
  payload: unknown;
  hex?: string;
  frame?: string;
  offset?: number;
  segment?: string;
}

const jsonl = (stdout: string): EventJson[] =>
  stdout
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as EventJson);

describe('seglog dump', () => {
  it(
    '--format jsonl prints one line per committed event (as many as verify counts); --json one document with the promised fields',
    async () => {
      const clean = 'test/fixtures/clean';
      const [lines, doc, inc] = await Promise.all([
        runCli(['dump', clean, '--format', 'jsonl']),
        runCli(['dump', clean, '--json']),
        runCli(['dump', 'test/fixtures/incomplete-batch', '--format', 'jsonl']),
      ]);
      expect(lines.code, describeRun(lines)).toBe(0);
      const events = jsonl(lines.stdout);
      expect(events).toHaveLength(54);
      expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 54 }, (_, i) => i));
      expect(doc.code, describeRun(doc)).toBe(0);
      const out = jsonOf<{ events: EventJson[] }>(doc);
      expect(Object.keys(out)).toEqual(['events']);
      expect(out.events).toEqual(events);
      for (const e of out.events) {
        for (const f of EVENT_FIELDS) expect(e, `event ${e.seq} lacks ${f}`).toHaveProperty(f);
        expect(e.eventHash).toMatch(/^[0-9a-f]{64}$/);
        expect(e.prevHash).toMatch(/^[0-9a-f]{64}$/);
        expect(e.kind).toMatch(/^\d+:\d+$/);
        expect(typeof e.payload, 'JSON payloads are parsed').toBe('object');
      }
      // the reaction batch of the clean fixture: correlation and causation on both items
      const reaction = out.events.filter((e) => e.entity.startsWith('inventory:'));
      expect(reaction).toHaveLength(2);
      expect(reaction.every((e) => e.correlationId !== null && e.causationId !== null)).toBe(true);
      // a batch item caused by an earlier item of its batch
      const bob = out.events.find((e) => e.entity === 'user:bob' && e.causationId !== null)!;
      expect(out.events.find((e) => e.eventId === bob.causationId)?.entity).toBe('order:2');
      expect(inc.code, describeRun(inc)).toBe(0);
      expect(jsonl(inc.stdout), 'items of a batch without COMMIT are never shown').toHaveLength(6);
    },
    CLI_TEST_TIMEOUT_MS,
  );

  it(
    'filters by entity, kind, sequence and limit',
    async () => {
      const clean = 'test/fixtures/clean';
      const [byEntity, byKind, from] = await Promise.all([
        runCli(['dump', clean, '--entity', 'order:1', '--format', 'jsonl']),
        runCli(['dump', clean, '--kind', '1:4', '--limit', '3', '--format', 'jsonl']),
        runCli(['dump', clean, '--from', '50', '--scope', 'tenant:system', '--format', 'jsonl']),
      ]);
      const e = jsonl(byEntity.stdout);
      expect(e.length).toBeGreaterThan(3);
      expect(e.every((x) => x.entity === 'order:1')).toBe(true);
      expect(e.map((x) => (x as unknown as { clock: number }).clock)).toEqual(e.map((_, i) => i));
      const k = jsonl(byKind.stdout);
      expect(k).toHaveLength(3);
      expect(k.every((x) => x.kind === '1:4' && x.txnId !== 0)).toBe(true);
      expect(jsonl(from.stdout).map((x) => x.seq)).toEqual([50, 51, 52, 53]);
    },
    CLI_TEST_TIMEOUT_MS,
  );

  it(
    '--markers shows every frame in file order (BEGIN, items, no COMMIT for an open batch); --hex gives the raw frame bytes',
    async () => {
      const seg = join(FIXTURES_DIR, 'incomplete-batch', '0000000000.seg');
      const r = await runCli(['dump', 'test/fixtures/incomplete-batch', '--markers', '--hex', '--json']);
      expect(r.code, describeRun(r)).toBe(0);
      const frames = jsonOf<{ events: (EventJson & { txnId: number; count?: number })[] }>(r).events;
      expect(frames.map((f) => f.frame)).toEqual(['EVENT', 'EVENT', 'EVENT', 'EVENT', 'BEGIN', 'EVENT', 'EVENT', 'COMMIT', 'BEGIN', 'EVENT', 'EVENT', 'EVENT']);
      expect(frames[8]).toMatchObject({ frame: 'BEGIN', txnId: 2, count: 3, segment: '0000000000.seg', offset: 1252 });
      const bytes = readFileSync(seg);
      for (const f of frames) {
        const hex = f.hex!;
        expect(bytes.subarray(f.offset!, f.offset! + hex.length / 2).toString('hex'), `frame at ${f.offset}`).toBe(hex);
      }
    },
    CLI_TEST_TIMEOUT_MS,
  );

  it(
    'dumps a store made by append, in text by default: one line per event',
    async () => {
      const store = freshStorePath();
      const input = Array.from({ length: 5 }, (_, i) => JSON.stringify({ entity: 'order:7', scope: 'acme', payload: { i } })).join('\n');
      const a = await runCli(['append', store, '--create', '--file', '-'], { input });
      expect(a.code, describeRun(a)).toBe(0);
      const d = await runCli(['dump', store]);
      expect(d.code, describeRun(d)).toBe(0);
      const lines = d.stdout.trimEnd().split('\n');
      expect(lines).toHaveLength(5);
      expect(lines[4]).toMatch(/^#4 order:7 acme kind=1:0 clock=4 .*\{"i":4\}$/);
    },
    CLI_TEST_TIMEOUT_MS,
  );
  it(
    '--markers honours --from/--to: only the events in range and the markers of their transactions (a BEGIN just before its first item in range)',
    async () => {
      const r = await runCli(['dump', 'test/fixtures/wal-mixed', '--markers', '--system', '--from', '3', '--to', '4', '--format', 'jsonl']);
      expect(r.code, describeRun(r)).toBe(0);
      const recs = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { frame: string; txnId: number; seq?: number });
      expect(recs.map((x) => (x.frame === 'EVENT' ? `EVENT ${x.seq}` : `${x.frame} ${x.txnId}`))).toEqual(['BEGIN 3', 'EVENT 3', 'BEGIN 2', 'EVENT 4', 'COMMIT 3', 'COMMIT 2']);
      const limited = await runCli(['dump', 'test/fixtures/wal-mixed', '--markers', '--limit', '2', '--format', 'jsonl']);
      expect(limited.stdout.trim().split('\n')).toHaveLength(2);
    },
    CLI_TEST_TIMEOUT_MS,
  );
});
