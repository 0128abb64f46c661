/**
 * The plan as a list of actions, one line each, in the order the files are laid out:
 * what people read before they confirm, and what --json lists.
 */
import { GAP_REASON_NAMES } from '../../format/gap-layout.js';
import type { PlanAction, PlannedFrame, RepairPlan } from './plan-types.js';

function frameAction(segment: string, offset: number, f: PlannedFrame): PlanAction {
  switch (f.type) {
    case 'gap_sequence': {
      const range = f.count === 1 ? `sequence ${f.fromSeq}` : `sequences ${f.fromSeq}..${f.fromSeq + f.count - 1}`;
      return { action: 'write_gap', segment, offset, reason: GAP_REASON_NAMES[f.reason] ?? String(f.reason), detail: `gap record: ${range} lost` };
    }
    case 'gap_entity': {
      const range = f.count === 1 ? `clock ${f.fromClock}` : `clocks ${f.fromClock}..${f.fromClock + f.count - 1}`;
      return { action: 'write_gap', segment, offset, reason: GAP_REASON_NAMES[f.reason] ?? String(f.reason), detail: `gap record: ${range} of ${f.entity} lost` };
    }
    case 'begin':
      return { action: 'insert_begin', segment, offset, reason: 'begin_lost', detail: `BEGIN of transaction ${f.txnId} (lost or never written) inserted; the transaction is judged by its end` };
    case 'abort':
      return { action: 'insert_abort', segment, offset, reason: 'transaction_inert', detail: `ABORT of transaction ${f.txnId}: it never finished or lost frames, its items stay in the log and stay invisible` };
  }
}

const QUARANTINE_TEXT: Record<string, string> = {
  crc_mismatch: 'frame with a checksum mismatch',
  bad_frame: 'bytes with broken framing',
  truncated_segment: 'partial frame at the end of a sealed segment',
  hash_mismatch: 'event whose bytes no longer match its hash',
  bad_event: 'event with out-of-range fields',
  commit_mismatch: 'COMMIT of a transaction that lost items',
};

export function describeActions(plan: RepairPlan): PlanAction[] {
  const out: PlanAction[] = [];
  for (const s of plan.segments) {
    if (s.remove) {
      out.push({ action: 'remove_segment', segment: s.name, offset: 0, bytes: s.fileSizeBytes, reason: 'torn_segment', detail: 'the active segment never got a valid header or frame: the whole file goes to lost+found/' });
      continue;
    }
    if (s.header) out.push({ action: 'rewrite_header', segment: s.name, offset: 0, reason: s.header.reason, detail: `new header (segment ${s.id}, first sequence ${s.header.firstSeq}): ${s.header.detail}` });
    for (const e of s.edits) {
      if (e.quarantine) {
        out.push({
          action: 'quarantine',
          segment: s.name,
          offset: e.start,
          bytes: e.end - e.start,
          reason: e.quarantine,
          detail: `${QUARANTINE_TEXT[e.quarantine] ?? e.quarantine} (${e.end - e.start} bytes) moved to lost+found/`,
        });
      }
      for (const f of e.frames) out.push(frameAction(s.name, e.start, f));
    }
    if (s.cutAt) {
      const bytes = s.fileSizeBytes - s.cutAt.offset;
      const what = s.cutAt.reason === 'torn_tail' ? 'torn tail' : 'transactions that never finished at the tail';
      out.push({ action: 'cut_tail', segment: s.name, offset: s.cutAt.offset, bytes, reason: s.cutAt.reason, detail: `${what} (${bytes} bytes) cut, kept in lost+found/` });
    }
    if (s.footerAfter === 'build') {
      const rewritten = s.edits.length > 0 || s.header !== null || s.cutAt !== null;
      const why = rewritten || s.footerFound === 'valid' || s.footerFound === 'none' ? 'segment_rewritten' : `footer_${s.footerFound}`;
      const detail = why === 'segment_rewritten' ? 'SIDX footer rebuilt for the rewritten frames' : `SIDX footer ${s.footerFound}: rebuilt from the frames`;
      out.push({ action: 'rebuild_footer', segment: s.name, offset: s.frameEnd, reason: why, detail });
    }
  }
  if (plan.checkpoint.action !== 'keep') {
    out.push({
      action: plan.checkpoint.action === 'remove' ? 'remove_checkpoint' : 'rewrite_checkpoint',
      segment: 'index.ckpt',
      offset: null,
      reason: `checkpoint_${plan.checkpoint.found}`,
      detail: `checkpoint ${plan.checkpoint.found} (${plan.checkpoint.message}): ${plan.checkpoint.action === 'remove' ? 'removed; the next clean close writes a fresh one' : 'rewritten'}`,
    });
  }
  for (const t of plan.strayTemps) out.push({ action: 'remove_temp', segment: t, offset: null, reason: 'interrupted_repair', detail: 'temp file of an interrupted repair removed' });
  return out;
}
