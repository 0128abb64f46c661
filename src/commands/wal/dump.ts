import { Flags } from '@oclif/core';
import { storeSizeBytes } from '../../engine/segment/store-size.js';
import type { WalTxnRow, WalTxnStatus } from '../../engine/wal/wal-replay.js';
import { BaseCommand } from '../../ui/base-command.js';
import { UsageError } from '../../ui/errors.js';
import { intFlag, storeArg } from '../../ui/flags.js';
import { formatCount, plural } from '../../ui/format.js';
import { StdoutSink } from '../../ui/stdout-sink.js';
import { renderTable } from '../../ui/table.js';

const STATUSES: readonly WalTxnStatus[] = ['committed', 'aborted', 'incomplete', 'orphaned'];
/** Rows a text table shows unless --limit says otherwise (--json lists all). */
const DEFAULT_TEXT_ROWS = 1000;

export default class WalDump extends BaseCommand<typeof WalDump> {
  static override summary = 'List the transactions of a store: id, status, operations, first and last frame';
  static override description =
    'The transaction-grouped view of the log, in order of each transaction\'s first frame (read-only, no lock). ' +
    'Status: committed, aborted, incomplete (no COMMIT or ABORT), orphaned (items whose transaction has no open BEGIN, ' +
    'one row per transaction id). Offsets are byte offsets in the named segment: first = BEGIN (or first orphaned item), ' +
    'last = COMMIT/ABORT (or last item). Exit status 1 when the log is corrupt (the listing stops there).';
  static override examples = ['<%= config.bin %> wal dump ./events', '<%= config.bin %> wal dump ./events --status incomplete,aborted --json'];
  static override args = { store: storeArg() };
  static override flags = {
    status: Flags.string({ description: 'only these statuses (comma-separated)', helpValue: 'committed,aborted,incomplete,orphaned' }),
    limit: intFlag({ description: `list at most N transactions (text default ${DEFAULT_TEXT_ROWS}; --json lists all)`, min: 1 }),
  };

  async run(): Promise<void> {
    const { store } = this.args;
    const wanted = parseStatuses(this.flags.status);
    // a job (ui/job/wal-jobs.ts): in a worker thread for large stores, so Ctrl-C and progress work
    const r = await this.runJob('walDump', { store }, { label: 'reading transactions', unit: null, sizeBytes: storeSizeBytes(store), readOnly: true });
    const summary = { committed: 0, aborted: 0, incomplete: 0, orphaned: 0, orphanedEntries: 0 };
    for (const t of r.txns) {
      summary[t.status]++;
      if (t.status === 'orphaned') summary.orphanedEntries += t.ops;
    }
    const matching = wanted ? r.txns.filter((t) => wanted.has(t.status)) : r.txns;
    const limit = this.flags.limit ?? (this.json ? Number.MAX_SAFE_INTEGER : DEFAULT_TEXT_ROWS);
    const shown = matching.length > limit ? matching.slice(0, limit) : matching;
    if (this.json) {
      // streamed: a log of millions of transactions still prints as one document
      const out = new StdoutSink();
      out.write(`{"store":${JSON.stringify(store)},"summary":${JSON.stringify(summary)},"txns":[`);
      for (let i = 0; i < shown.length; i++) out.write(`${i === 0 ? '' : ','}${JSON.stringify(shown[i])}`);
      out.write(`],"truncated":${shown.length < matching.length},"warnings":${JSON.stringify(r.warnings)},"corruption":${JSON.stringify(r.corruption)}}\n`);
      out.flush();
    } else {
      for (const w of r.warnings) if (w.code === 'torn_tail' || w.code === 'marker_without_begin' || w.code === 'commit_count_mismatch') this.warn(`${w.file}: at byte ${w.offset}: ${w.message}`);
      if (r.corruption) process.stderr.write(`seglog: ${r.corruption.file}: at byte ${r.corruption.offset}: ${r.corruption.message}: listing stopped here\n`);
      process.stdout.write(render(shown, matching.length, summary));
    }
    if (r.corruption) this.markDataProblems();
  }
}

function parseStatuses(s: string | undefined): Set<WalTxnStatus> | null {
  if (s === undefined) return null;
  const out = new Set<WalTxnStatus>();
  for (const part of s.split(',').map((p) => p.trim()).filter((p) => p.length > 0)) {
    if (!STATUSES.includes(part as WalTxnStatus)) {
      throw new UsageError(`--status: unknown status '${part}' (expected ${STATUSES.join(', ')})`);
    }
    out.add(part as WalTxnStatus);
  }
  return out;
}

function render(rows: WalTxnRow[], total: number, s: { committed: number; aborted: number; incomplete: number; orphaned: number; orphanedEntries: number }): string {
  const lines: string[] = [];
  if (rows.length > 0) {
    lines.push(
      renderTable(
        // first/last frame: offsets in the segment named once (another segment is named with its offset), to fit 80 columns
        ['txn', 'status', 'ops', 'puts', 'deletes', 'segment', 'first', 'last'],
        rows.map((t) => [t.txn, t.status, t.ops, t.puts, t.deletes, t.first.segment, t.first.offset, t.last.segment === t.first.segment ? t.last.offset : `${t.last.segment}@${t.last.offset}`]),
        { colAligns: ['right', 'left', 'right', 'right', 'right', 'left', 'right', 'right'] },
      ),
    );
  }
  if (rows.length < total) lines.push(`... ${formatCount(total - rows.length)} more (use --limit N or --json)`);
  lines.push(
    `${plural(s.committed + s.aborted + s.incomplete, 'transaction')}: ${formatCount(s.committed)} committed, ${formatCount(s.aborted)} aborted, ${formatCount(s.incomplete)} incomplete; ` +
      `${plural(s.orphanedEntries, 'orphaned entry', 'orphaned entries')}`,
  );
  return `${lines.join('\n')}\n`;
}
