import { Flags } from '@oclif/core';
import { RealFs } from '../engine/io/real-fs.js';
import { parseCut, prune, type PrunePlan, type PruneResult } from '../tools/prune.js';
import { BaseCommand } from '../ui/base-command.js';
import { dryRunFlag, storeArg, yesFlag } from '../ui/flags.js';
import { formatBytes, formatCount, plural } from '../ui/format.js';

interface PruneOutput {
  store: string;
  done: boolean;
  dryRun: boolean;
  segments: PrunePlan['segments'];
  bytes: number;
  firstKept: string | null;
  base: { firstSegmentId: number; nextSeq: number; nextTxnId: number; maxKvVersion: number; entities: number; openTxns: number[] } | null;
  leftovers: string[];
  notes: string[];
  snapshot: string | null;
  cursorsBehind: string[];
  staleSnapshots: string[];
  archive: PruneResult['archive'];
}

export default class Prune extends BaseCommand<typeof Prune> {
  static override summary = 'Remove sealed segments whose events all come before a cut (after writing the store\'s base)';
  static override description =
    'Removes (or, with --archive, moves) the longest run of sealed segments from the start whose events all come before ' +
    '--before (a sequence number, or an ISO date/time for wall time). First writes the base (the sequence, counters and ' +
    'entity heads at the cut) so the rest still verifies. Refuses when the log has key/value operations before the cut and ' +
    'no snapshot at or after it, or when a durable cursor is behind the cut (unless --force). Asks before changing files ' +
    '(--yes for scripts; without a terminal --yes is required). Exit status: 0 pruned (or nothing to prune, or a dry run); ' +
    '1 the store is damaged; 2 usage errors, refusals, a held lock.';
  static override examples = [
    '<%= config.bin %> prune ./events --before 1000000 --dry-run',
    '<%= config.bin %> prune ./events --before 2026-11-01T00:00:00Z --archive /backup/events-2026-10 --yes',
  ];
  static override args = { store: storeArg() };
  static override flags = {
    before: Flags.string({ description: 'the cut: a sequence number, or an ISO 8601 date/time (wall time of the events)', required: true, helpValue: '<seq|time>' }),
    archive: Flags.string({ description: 'move the segments into DIR (with manifest.json) instead of deleting them', helpValue: '<dir>' }),
    force: Flags.boolean({ description: 'prune although durable cursors are behind the cut (they are named)', default: false }),
    'dry-run': dryRunFlag(),
    yes: yesFlag(),
  };

  async run(): Promise<void> {
    const { store } = this.args;
    const f = this.flags;
    const cut = parseCut(f.before);
    const r = await prune(store, cut, {
      fs: new RealFs(),
      force: f.force,
      dryRun: f['dry-run'],
      onWarning: (m) => this.warn(m),
      ...(f.archive !== undefined ? { archiveDir: f.archive } : {}),
      confirm: async (plan) => {
        if (!this.json && !f.yes && process.stdin.isTTY === true) process.stderr.write(describePlan(plan, f.archive));
        return this.confirm(`${f.archive !== undefined ? 'Archive' : 'Delete'} ${plural(plan.segments.length, 'segment')} (${formatBytes(plan.bytes)}) of ${store}?`, f.yes);
      },
    });
    if (!this.json) {
      for (const n of r.notes) this.warn(n);
      if (r.cursorsBehind.length > 0) this.warn(`--force: cursors left behind the cut: ${r.cursorsBehind.join(', ')}`);
    }
    const b = r.base;
    const out: PruneOutput = {
      store,
      done: r.done,
      dryRun: r.dryRun,
      segments: r.segments,
      bytes: r.bytes,
      firstKept: r.firstKept,
      base: b && { firstSegmentId: b.firstSegmentId, nextSeq: b.nextSeq, nextTxnId: b.nextTxnId, maxKvVersion: b.maxKvVersion, entities: b.heads.size, openTxns: b.openTxns.map((t) => t.txnId) },
      leftovers: r.leftovers,
      notes: r.notes,
      snapshot: r.snapshot,
      cursorsBehind: r.cursorsBehind,
      staleSnapshots: r.staleSnapshots,
      archive: r.archive,
    };
    this.emit(out, render);
  }
}

function describePlan(p: PrunePlan, archive: string | undefined): string {
  const lines = p.segments.map((s) => `  ${s.name}  ${formatBytes(s.sizeBytes)}  seq ${s.firstSeq < 0 ? '-' : `${s.firstSeq}..${s.lastSeq}`}`);
  lines.unshift(`${archive !== undefined ? `to archive into ${archive}` : 'to delete'}:`);
  return `${lines.join('\n')}\n`;
}

function render(o: PruneOutput): string {
  if (o.segments.length === 0 && o.leftovers.length === 0) return `${o.store}: nothing to prune before the cut`;
  const what = `${plural(o.segments.length, 'segment')} (${formatBytes(o.bytes)})`;
  const lines: string[] = [];
  for (const s of o.segments) lines.push(`${s.name}  ${formatBytes(s.sizeBytes)}  seq ${s.firstSeq < 0 ? '-' : `${s.firstSeq}..${s.lastSeq}`}`);
  if (o.dryRun) lines.push(`dry run: would ${o.archive !== null ? 'archive' : 'prune'} ${what}; the store would start at ${o.firstKept} (sequence ${formatCount(o.base?.nextSeq ?? 0)})`);
  else if (!o.done) lines.push('nothing changed (not confirmed)');
  else {
    lines.push(`${o.archive !== null ? `archived into ${o.archive.dir}` : 'pruned'}: ${what}; the store starts at ${o.firstKept} (sequence ${formatCount(o.base?.nextSeq ?? 0)})`);
    if (o.leftovers.length > 0) lines.push(`removed ${plural(o.leftovers.length, 'leftover file')} of an interrupted prune`);
  }
  return lines.join('\n');
}
