import { existsSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Store } from '../../src/engine/store/store.js';
import {
  assertBuilt,
  CLI_TEST_TIMEOUT_MS,
  describeRun,
  expectOneLineError,
  freshStorePath,
  jsonOf,
  removeTempDirs,
  runCli,
  tempDir,
} from './cli-helpers.js';

beforeAll(assertBuilt);
afterAll(removeTempDirs);

/** The events a store holds, read through the engine (no extra CLI process). */
async function eventsOf(dir: string): Promise<{ seq: number; entity: string; scope: string; kind: string; txnId: number; payload: unknown }[]> {
  const s = await Store.open(dir, { readOnly: true });
  try {
    return s.query().map((e) => ({
      seq: e.seq,
      entity: e.entity,
      scope: e.scope,
      kind: `${e.kind.category}:${e.kind.type}`,
      txnId: e.txnId,
      payload: JSON.parse(new TextDecoder().decode(e.payload)) as unknown,
    }));
  } finally {
    s.close();
  }
}

const line = (o: object): string => JSON.stringify(o);

describe('seglog append', () => {
  it(
    'appends one event from flags into a new store (created with defaults) and prints its receipt',
    async () => {
      const store = freshStorePath();
      const r = await runCli(['append', store, '--create', '--entity', 'order:1', '--scope', 'acme', '--kind', '2:3', '--payload', '{"total":42}', '--json']);
      expect(r.code, describeRun(r)).toBe(0);
      const out = jsonOf<{ appended: number; receipt: { seq: number; clock: number; eventId: string; eventHash: string } }>(r);
      expect(out).toMatchObject({ appended: 1, receipt: { seq: 0, clock: 0 } });
      expect(out.receipt.eventId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(await eventsOf(store)).toEqual([{ seq: 0, entity: 'order:1', scope: 'acme', kind: '2:3', txnId: 0, payload: { total: 42 } }]);
    },
    CLI_TEST_TIMEOUT_MS,
  );

  it(
    'appends a JSONL file line by line (flags give defaults) and from stdin as atomic batches',
    async () => {
      const dir = tempDir();
      const file = join(dir, 'events.jsonl');
      writeFileSync(file, [line({ payload: 1 }), line({ entity: 'b', kind: '3:1', payload: { x: 2 } }), '', line({ scope: 'other', payload: 'three' })].join('\n'));
      const storeA = join(dir, 'a');
      const storeB = join(dir, 'b');
      const stdin = Array.from({ length: 7 }, (_, i) => line({ entity: `e${i % 2}`, scope: 's', payload: i })).join('\r\n');
      const [a, b] = await Promise.all([
        runCli(['append', storeA, '--create', '--file', file, '--entity', 'dflt', '--scope', 'dscope', '--kind', '1:9', '--json']),
        runCli(['append', storeB, '--create', '--file', '-', '--batch-size', '3', '--json'], { input: `${stdin}\n` }),
      ]);
      expect(a.code, describeRun(a)).toBe(0);
      expect(jsonOf(a)).toMatchObject({ appended: 3, firstSeq: 0, lastSeq: 2, batches: 0 });
      expect(await eventsOf(storeA)).toEqual([
        { seq: 0, entity: 'dflt', scope: 'dscope', kind: '1:9', txnId: 0, payload: 1 },
        { seq: 1, entity: 'b', scope: 'dscope', kind: '3:1', txnId: 0, payload: { x: 2 } },
        { seq: 2, entity: 'dflt', scope: 'other', kind: '1:9', txnId: 0, payload: 'three' },
      ]);
      expect(b.code, describeRun(b)).toBe(0);
      expect(jsonOf(b)).toMatchObject({ appended: 7, batches: 3 });
      const evs = await eventsOf(storeB);
      expect(evs.map((e) => e.payload)).toEqual([0, 1, 2, 3, 4, 5, 6]);
      expect(evs.map((e) => e.txnId)).toEqual([1, 1, 1, 2, 2, 2, 3]);
    },
    CLI_TEST_TIMEOUT_MS,
  );

  it(
    'an invalid JSON line names the file and line: with --batch-size nothing of its batch is written; without, the lines before it stay',
    async () => {
      const dir = tempDir();
      const file = join(dir, 'bad.jsonl');
      const lines = [1, 2, 3, 4].map((i) => line({ entity: 'e', scope: 's', payload: i }));
      writeFileSync(file, [...lines, '{"entity": "e", "scope": "s", "payload": ', line({ entity: 'e', scope: 's', payload: 6 })].join('\n'));
      const batched = join(dir, 'batched');
      const single = join(dir, 'single');
      const asJson = join(dir, 'json');
      const [b, s, j] = await Promise.all([
        runCli(['append', batched, '--create', '--file', file, '--batch-size', '2']),
        runCli(['append', single, '--create', '--file', file]),
        runCli(['append', asJson, '--create', '--file', file, '--batch-size', '3', '--json']),
      ]);
      expectOneLineError(b, { exitCode: 2, file, at: 'line 5' });
      expect((await eventsOf(batched)).map((e) => e.payload), 'batches 1 and 2 are written, batch 3 (lines 5-6) is not').toEqual([1, 2, 3, 4]);
      expectOneLineError(s, { exitCode: 2, file, at: 'line 5' });
      expect((await eventsOf(single)).map((e) => e.payload)).toEqual([1, 2, 3, 4]);
      expect(j.code, describeRun(j)).toBe(2);
      expect(jsonOf(j)).toEqual({ error: { code: 'bad_input', message: expect.stringMatching(/not valid JSON/), file, line: 5 } });
      expect((await eventsOf(asJson)).map((e) => e.payload), 'the batch of lines 4-6 failed whole').toEqual([1, 2, 3]);
    },
    CLI_TEST_TIMEOUT_MS,
  );

  it(
    'usage mistakes exit 2 with one line and write nothing',
    async () => {
      // one store per case: concurrent writers of one store would meet its lock
      const cases: [(store: string) => string[], RegExp][] = [
        [(st) => ['append', st, '--create', '--entity', 'e', '--scope', 's'], /give --payload/],
        [(st) => ['append', st, '--create', '--entity', 'e', '--scope', 's', '--payload', '{bad'], /--payload is not valid JSON/],
        [(st) => ['append', st, '--create', '--entity', 'e', '--scope', 's', '--kind', '0:1', '--payload', '{}'], /--kind must be/],
        [(st) => ['append', st, '--create', '--payload', '{}'], /--entity and --scope are required/],
        [(st) => ['append', st, '--create', '--file', join(st, '..', 'missing.jsonl')], /missing\.jsonl: no such input file/],
      ];
      const stores = cases.map(() => freshStorePath());
      const runs = await Promise.all(cases.map(([args], i) => runCli(args(stores[i]!))));
      for (const [i, [, message]] of cases.entries()) {
        expectOneLineError(runs[i]!, { exitCode: 2, at: message });
        // the writer may have created the (empty) store before it read its input
        if (existsSync(stores[i]!)) expect(await eventsOf(stores[i]!)).toEqual([]);
      }
    },
    CLI_TEST_TIMEOUT_MS,
  );

  it(
    'a store whose writer is alive elsewhere is locked: exit 2 naming the holder, before any input is read',
    async () => {
      const store = freshStorePath();
      const holder = await Store.open(store);
      try {
        const r = await runCli(['append', store, '--create', '--entity', 'e', '--scope', 's', '--payload', '1']);
        expectOneLineError(r, { exitCode: 2, file: join(store, 'LOCK'), at: `locked by pid ${process.pid} on ${hostname()}` });
      } finally {
        holder.close();
      }
      expect(await eventsOf(store)).toEqual([]);
    },
    CLI_TEST_TIMEOUT_MS,
  );
  it(
    'a path that is not a store is refused without --create (exit 2, nothing created); a UTF-8 BOM before the first line is skipped',
    async () => {
      const store = freshStorePath();
      const refused = await runCli(['append', store, '--entity', 'e', '--scope', 's', '--payload', '{}']);
      expectOneLineError(refused, { exitCode: 2, at: /without --create/ });
      expect(existsSync(store), 'a mistyped path must not become a new store').toBe(false);
      const file = join(store, '..', 'bom.jsonl');
      writeFileSync(file, `\ufeff${JSON.stringify({ entity: 'e', scope: 's', payload: { n: 1 } })}\n${JSON.stringify({ entity: 'e', scope: 's', payload: { n: 2 } })}\n`);
      for (const extra of [[], ['--batch-size', '2']]) {
        const dir = freshStorePath();
        const r = await runCli(['append', dir, '--create', '--file', file, ...extra]);
        expect(r.code, describeRun(r)).toBe(0);
        expect((await eventsOf(dir)).map((e) => e.payload)).toEqual([{ n: 1 }, { n: 2 }]);
      }
    },
    CLI_TEST_TIMEOUT_MS,
  );
});
