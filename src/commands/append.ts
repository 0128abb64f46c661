import { Flags } from '@oclif/core';
import { parseKind } from '../format/event.js';
import { SeglogError } from '../engine/io/errors.js';
import { Store } from '../engine/store/store.js';
import { BaseCommand } from '../ui/base-command.js';
import { intFlag, storeArg } from '../ui/flags.js';
import { formatCount } from '../ui/format.js';
import { emptyIngestResult, ingestJsonl } from '../tools/ingest/ingest-file.js';

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
    const spin = this.spinner('appending');
    // tools/ingest/ingest-file.ts: the same code the fault pairs and crash sweep of test/engine/faults-ingest.test.ts run
    const result = emptyIngestResult();
    try {
      ingestJsonl(store, file, { defaults: { entity: this.flags.entity, scope: this.flags.scope, kind }, batchSize: this.flags['batch-size'], onProgress: (n) => spin.update(`appended ${formatCount(n)} events`) }, result);
    } catch (err) {
      spin.fail();
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
