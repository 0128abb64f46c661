import { Flags } from '@oclif/core';
import { parseKind } from '../format/event.js';
import { SeglogError } from '../engine/errors.js';
import { type BatchItem, Store } from '../engine/store.js';
import { BaseCommand } from '../ui/base-command.js';
import { intFlag, storeArg } from '../ui/flags.js';
import { formatCount } from '../ui/format.js';
import { LineTooLongError } from '../engine/ingest/line-spans.js';
import type { ScannedSpans } from '../engine/ingest/line-scan.js';
import { forEachLine } from '../engine/ingest/scan-pool.js';
import { ScannedLines } from '../engine/ingest/scanned-lines.js';
import { parseLine } from '../engine/ingest/parse-line.js';

interface AppendResult {
  appended: number;
  firstSeq: number | null;
  lastSeq: number | null;
  batches: number;
  durable: boolean;
  receipt?: { eventId: string; seq: number; clock: number; wallMs: number; eventHash: string };
}

export default class Append extends BaseCommand<typeof Append> {
  static override summary = 'Append events: one from flags, or many from a JSONL file';
  static override description =
    'Each line of --file is {"entity", "scope", "kind"?, "payload"}; --entity/--scope/--kind give defaults. ' +
    'Without --batch-size every line is its own event: on a bad line, the lines before it stay appended and nothing from it on is. ' +
    'With --batch-size N, lines are appended as atomic batches of N: a bad line fails its whole batch. ' +
    'The store is created with default options if missing.';
  static override examples = [
    `<%= config.bin %> append ./events --entity order:17 --scope tenant:acme --kind 1:1 --payload '{"total":42}'`,
    '<%= config.bin %> append ./events --file events.jsonl --batch-size 100',
    'cat events.jsonl | <%= config.bin %> append ./events --file -',
  ];
  static override args = { store: storeArg() };
  static override flags = {
    entity: Flags.string({ description: 'entity (stream key), e.g. order:17' }),
    scope: Flags.string({ description: 'scope (isolation boundary), e.g. tenant:acme' }),
    kind: Flags.string({ description: 'event kind as category:type (category 1..65535)' }),
    payload: Flags.string({ description: 'JSON payload of a single event', exclusive: ['file'] }),
    file: Flags.string({ char: 'f', description: 'JSONL file of events, or - for stdin', exclusive: ['payload'] }),
    'batch-size': intFlag({ description: 'append --file lines as atomic batches of N', min: 1, max: 1_000_000 }),
  };

  async run(): Promise<void> {
    const f = this.flags;
    if (f.payload === undefined && f.file === undefined) throw new SeglogError('usage', 'give --payload for one event or --file for many');
    const defaultKind = f.kind !== undefined ? parseKindFlag(f.kind) : undefined;
    // the lock is taken here, before any input is read
    const store = await Store.open(this.args.store, { onWarning: (m) => this.warn(m) });
    this.onInterrupt(() => store.close());
    try {
      const result = f.payload !== undefined ? this.appendOne(store, f.payload, defaultKind) : this.appendFile(store, f.file!, defaultKind);
      store.close();
      this.emit(result, (r) =>
        r.receipt ? `appended #${r.receipt.seq} ${r.receipt.eventId} (clock ${r.receipt.clock})` : `appended ${formatCount(r.appended)} events${r.batches ? ` in ${formatCount(r.batches)} batches` : ''}`,
      );
    } catch (err) {
      store.close();
      throw err;
    }
  }

  private appendOne(store: Store, payloadText: string, kind: { category: number; type: number } | undefined): AppendResult {
    const { entity, scope } = this.flags;
    if (entity === undefined || scope === undefined) throw new SeglogError('usage', '--entity and --scope are required with --payload');
    let payload: unknown;
    try {
      payload = JSON.parse(payloadText);
    } catch (err) {
      throw new SeglogError('usage', `--payload is not valid JSON: ${(err as Error).message}`);
    }
    const r = store.append({ entity, scope }, JSON.stringify(payload), { kind });
    return { appended: 1, firstSeq: r.seq, lastSeq: r.seq, batches: 0, durable: true, receipt: { eventId: r.eventId, seq: r.seq, clock: r.clock, wallMs: r.wallMs, eventHash: r.eventHash } };
  }

  private appendFile(store: Store, file: string, kind: { category: number; type: number } | undefined): AppendResult {
    const defaults = { entity: this.flags.entity, scope: this.flags.scope, kind };
    const batchSize = this.flags['batch-size'];
    const result: AppendResult = { appended: 0, firstSeq: null, lastSeq: null, batches: 0, durable: false };
    const spin = this.spinner('appending');
    const parse = (line: string, n: number): BatchItem => parseLine(line, n, file, defaults);
    // most lines skip JSON.parse: scanned straight from their bytes (engine/ingest); the rest, and every error, go through parseLine
    const scanned = new ScannedLines(defaults);
    const noteSeqs = (first: number, last: number, count: number): void => {
      if (result.firstSeq === null) result.firstSeq = first;
      result.lastSeq = last;
      result.appended += count;
    };
    try {
      if (batchSize !== undefined) {
        let batch: BatchItem[] = [];
        const flushBatch = (): void => {
          if (batch.length === 0) return;
          const rs = store.appendBatch(batch);
          noteSeqs(rs[0]!.seq, rs[rs.length - 1]!.seq, rs.length);
          result.batches++;
          batch = [];
          if ((result.batches & 63) === 0) spin.update(`appended ${formatCount(result.appended)} events`);
        };
        readLinesOrFail(file, (buf, start, end, n, spans) => {
          batch.push(scanned.item(buf, start, end, spans) ?? parse(buf.toString('utf8', start, end), n));
          if (batch.length >= batchSize) flushBatch();
        });
        flushBatch();
        result.durable = store.options.sync !== 'none';
      } else {
        const bulk = store.bulk();
        const start = store.snapshotState().nextSeq;
        try {
          readLinesOrFail(file, (buf, start, end, n, spans) => {
            // spans: the line already scanned by a worker thread (null: not the fast path); undefined: scan here
            const raw = spans === undefined ? scanned.raw(buf, start, end) : spans === null ? null : scanned.fromSpans(buf, spans);
            if (raw === null || !bulk.addRaw(raw)) bulk.add(parse(buf.toString('utf8', start, end), n));
            if ((n & 0xffff) === 0) spin.update(`appended ${formatCount(n)} lines`);
          });
        } finally {
          // lines before a bad one are kept: each line is its own event
          result.durable = bulk.finish();
          if (bulk.count > 0) noteSeqs(start, start + bulk.count - 1, bulk.count);
        }
      }
    } catch (err) {
      spin.fail();
      if (err instanceof SeglogError && result.appended > 0) {
        throw new SeglogError(err.code, `${err.message} (${formatCount(result.appended)} events before it were appended)`, { file: err.file, line: err.line, offset: err.offset });
      }
      throw err;
    }
    spin.stop();
    return result;
  }
}

function parseKindFlag(s: string): { category: number; type: number } {
  const k = parseKind(s);
  if (!k || k.category === 0) throw new SeglogError('usage', `--kind must be category:type with category 1..65535, got '${s}'`);
  return k;
}

function readLinesOrFail(file: string, onLine: (buf: Buffer, start: number, end: number, n: number, spans: ScannedSpans | null | undefined) => void): void {
  try {
    forEachLine(file, onLine);
  } catch (err) {
    if (err instanceof LineTooLongError) throw new SeglogError('bad_input', err.message, { file, line: err.lineNumber });
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new SeglogError('not_found', 'no such input file', { file });
    if (code === 'EISDIR') throw new SeglogError('usage', 'input is a directory, not a JSONL file', { file });
    if (err instanceof SeglogError) throw err;
    if (code) throw new SeglogError('io', `cannot read input (${code})`, { file });
    throw err;
  }
}
