/**
 * Root causes first (issue 15): one damaged range makes verify report every check that
 * the missing or altered bytes break downstream (a truncated sealed segment in a store
 * of many entities gave 266 errors). This groups those consequences under the damage
 * that explains them; nothing is dropped: a root carries them in `causedBy`.
 *
 * Roots: damage to bytes (`bad_header`, `bad_frame`, `crc_mismatch`,
 * `truncated_segment`, `bad_event`, `hash_mismatch`). What a root explains, and only
 * that (anything else stays a problem of its own):
 * - lost events (every root but hash_mismatch): the first `sequence_gap` after it; per
 *   entity, the first `clock_gap` (a clock ahead of the expected one: events missing)
 *   and the `chain_break` on the same event; `orphan_event` and `batch_mismatch` (a
 *   transaction whose BEGIN or items were lost) in its segment after it or in the next
 *   segment; and, for `truncated_segment`, the `sidx_missing` of the same segment (the
 *   cut took the footer);
 * - altered bytes (`hash_mismatch`): the `chain_break` of the same event, and per entity
 *   the next event's `chain_break` (its prev_hash names the original bytes).
 * Problems are in file order (segment, then offset); a consequence is attached to the
 * nearest root before it.
 */
import type { Problem, ProblemCode, VerifyReport } from './verify.js';

export type GroupedProblem = Problem & { causedBy?: Problem[] };

const LOSS_ROOTS: ReadonlySet<ProblemCode> = new Set(['bad_header', 'bad_frame', 'crc_mismatch', 'truncated_segment', 'bad_event']);

function clockAhead(p: Problem): boolean {
  // "entity clock 5 where 4 was expected"
  const m = /clock (\d+) where (\d+) was expected/.exec(p.message);
  return m !== null && Number(m[1]) > Number(m[2]);
}

interface RootState {
  root: GroupedProblem;
  segIndex: number;
  sequenceGapTaken: boolean;
  /** Entities whose first event after the root was already explained. */
  entities: Set<string>;
  /** hash_mismatch: entities whose next event's chain_break is still expected. */
  chainNext: Set<string>;
  /** (entity, offset) of clock gaps taken, whose chain_break on the same event follows. */
  takenAt: Set<string>;
}

/** Groups consequences under their root; returns the top-level list, file order kept. */
export function groupByRootCause(problems: readonly Problem[]): GroupedProblem[] {
  const segOrder = new Map<string, number>();
  for (const p of problems) if (!segOrder.has(p.segment)) segOrder.set(p.segment, segOrder.size);
  const top: GroupedProblem[] = [];
  let current: RootState | null = null;
  const attach = (p: Problem): boolean => {
    const s = current;
    if (s === null) return false;
    const seg = segOrder.get(p.segment)!;
    const loss = LOSS_ROOTS.has(s.root.code);
    const key = `${p.entity}@${p.segment}:${p.offset}`;
    let take = false;
    if (loss) {
      if (p.code === 'sequence_gap' && !s.sequenceGapTaken) {
        s.sequenceGapTaken = true;
        take = true;
      } else if (p.code === 'clock_gap' && p.entity !== undefined && !s.entities.has(p.entity) && clockAhead(p)) {
        s.entities.add(p.entity);
        s.takenAt.add(key);
        take = true;
      } else if (p.code === 'chain_break' && s.takenAt.has(key)) {
        take = true;
      } else if ((p.code === 'orphan_event' || p.code === 'batch_mismatch') && seg <= s.segIndex + 1) {
        take = true;
      } else if (p.code === 'sidx_missing' && s.root.code === 'truncated_segment' && seg === s.segIndex) {
        take = true;
      }
    } else if (s.root.code === 'hash_mismatch' && p.code === 'chain_break' && p.entity !== undefined) {
      if (p.segment === s.root.segment && p.offset === s.root.offset) take = true;
      else if (s.chainNext.delete(p.entity)) take = true;
    }
    if (take) (s.root.causedBy ??= []).push(p);
    return take;
  };
  for (const p of problems) {
    if (LOSS_ROOTS.has(p.code) || p.code === 'hash_mismatch') {
      const root: GroupedProblem = { ...p };
      current = {
        root,
        segIndex: segOrder.get(p.segment)!,
        sequenceGapTaken: false,
        entities: new Set(),
        chainNext: new Set(p.code === 'hash_mismatch' && p.entity !== undefined ? [p.entity] : []),
        takenAt: new Set(),
      };
      top.push(root);
      continue;
    }
    if (!attach(p)) top.push(p);
  }
  return top;
}

/** The report with consequences grouped; `errors` and `warnings` count top-level problems, `consequences` the rest. */
export function withRootCauses(r: VerifyReport): VerifyReport & { problems: GroupedProblem[]; consequences: number } {
  const problems = groupByRootCause(r.problems);
  let errors = 0;
  let warnings = 0;
  for (const p of problems) {
    if (p.severity === 'error') errors++;
    else if (p.severity === 'warning') warnings++;
  }
  return { ...r, errors, warnings, problems, consequences: r.problems.length - problems.length };
}
