import { Flags } from '@oclif/core';
import { SeglogError } from '../engine/io/errors.js';
import type { Store } from '../engine/store/store.js';
import { BaseCommand } from '../ui/base-command.js';
import { intFlag, storeArg } from '../ui/flags.js';
import { type AppendOutput, appendText, BATCH_SIZE_MAX, parseKindFlag } from '../ui/append-fast.js';
import { openForAppend } from '../ui/job/append-job.js';
import { inputSizeBytes } from '../ui/job/input-size.js';
import { DEFAULT_FLUSH_INTERVAL_MS, ingestStream } from '../tools/ingest/ingest-stream.js';
import { emptyIngestResult } from '../tools/ingest/ingest-file.js';

type AppendResult = Omit<AppendOutput, 'interrupted'>;

export default class Append extends BaseCommand<typeof Append> {
  static override summary = 'Append events: one from flags, or many from a JSONL file';
  static override description =
    'Each line of --file is {"entity", "scope", "kind"?, "payload"}; --entity/--scope/--kind give defaults. ' +
    'Without --batch-size every line is its own event: on a bad line, the lines before it stay appended and nothing from it on is. ' +
    'With --batch-size N, lines are appended as atomic batches of N: a bad line fails its whole batch. ' +
    'A path that is not a store yet is refused unless --create is given. Ctrl-C stops at a batch boundary: ' +
    'what was appended stays, the store is closed cleanly, exit status 130.';
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
    'batch-size': intFlag({ description: 'append --file lines as atomic batches of N', min: 1, max: BATCH_SIZE_MAX }),
    'flush-interval': intFlag({ description: `with --file - and --batch-size: commit a partial batch after this many ms without input (default ${DEFAULT_FLUSH_INTERVAL_MS})`, min: 1, max: 3_600_000 }),
    create: Flags.boolean({ description: 'create the store (default options) if the path is not a store yet', default: false }),
  };

  async run(): Promise<void> {
    const f = this.flags;
    if (f.payload === undefined && f.file === undefined) throw new SeglogError('usage', 'give --payload for one event or --file for many');
    const defaultKind = f.kind !== undefined ? parseKindFlag(f.kind) : undefined;
    // the fast path (ui/append-fast.ts) prints with the same function
    const render = appendText;
    if (f.file === '-') {
      // stdin: committed as lines arrive (tools/ingest/ingest-stream.ts), so `tail -F log | seglog append st --file -` works
      const store = await openForAppend(this.args.store, f.create, this);
      const progress = emptyIngestResult();
      // unsealed: a Ctrl-C answers at once (Store.close); what was committed is said in text
      // (under --json the interrupt's error document is already on stdout)
      this.onInterrupt(() => {
        store.close({ seal: false });
        if (!this.json) process.stdout.write(`${render({ ...progress, interrupted: true })}\n`);
      });
      try {
        const result = await ingestStream(store, process.stdin, { defaults: { entity: f.entity, scope: f.scope, kind: defaultKind }, batchSize: f['batch-size'], flushIntervalMs: f['flush-interval'] }, progress);
        store.close();
        this.emit(result, render);
      } catch (err) {
        store.close();
        throw err;
      }
      return;
    }
    if (f.file !== undefined) {
      // a job (ui/job/append-job.ts): in a worker thread for large or piped input, so Ctrl-C and progress work
      const sizeBytes = inputSizeBytes(f.file);
      const result = await this.runJob(
        'append',
        { store: this.args.store, file: f.file, defaults: { entity: f.entity, scope: f.scope, kind: defaultKind }, batchSize: f['batch-size'], create: f.create },
        { label: 'appending', unit: 'events', sizeBytes, readOnly: false },
      );
      this.emit(result, render);
      return;
    }
    // the lock is taken here, before any input is read
    const store = await openForAppend(this.args.store, f.create, this);
    this.onInterrupt(() => store.close());
    try {
      const result = this.appendOne(store, f.payload!, defaultKind);
      store.close();
      this.emit(result, render);
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
}
