/**
 * What `seglog repair` found and what it will do: a plain, JSON-serialisable value made
 * by the planner (read-only) and carried out by the executor. Offsets are byte offsets
 * in the files as they are before the repair.
 */
import type { GapReasonCode } from '../../format/gap-layout.js';

/** A frame the repair writes into a segment. */
export type PlannedFrame =
  | { type: 'gap_sequence'; fromSeq: number; count: number; reason: GapReasonCode }
  | {
      type: 'gap_entity';
      /** Entity as text (UTF-8 decoded) and as hex of its exact bytes. */
      entity: string;
      entityHex: string;
      fromClock: number;
      count: number;
      /** prev_hash of the entity's next surviving event, hex; zeros when none survives. */
      resumeHash: string;
      wallFloorMs: number;
      reason: GapReasonCode;
    }
  | { type: 'begin'; txnId: number }
  | { type: 'abort'; txnId: number };

/** Why bytes are taken out of a segment (and kept in lost+found/). */
export type QuarantineReason =
  | 'crc_mismatch'
  | 'bad_frame'
  | 'truncated_segment'
  | 'hash_mismatch'
  | 'bad_event'
  | 'bad_header'
  | 'commit_mismatch'
  | 'torn_tail'
  | 'incomplete_batch'
  | 'torn_segment';

/** Replace old bytes [start, end) of a segment by `frames` (start === end: an insertion). */
export interface SegmentEdit {
  start: number;
  end: number;
  frames: PlannedFrame[];
  /** Set when end > start: why the old bytes go to lost+found/. */
  quarantine: QuarantineReason | null;
}

export type FooterState = 'valid' | 'missing' | 'damaged' | 'mismatch' | 'none';

export interface SegmentPlan {
  index: number;
  id: number;
  name: string;
  path: string;
  fileSizeBytes: number;
  /** Where the frames end in the old file (footer start, damaged footer head, or the size). */
  frameEnd: number;
  /** Footer as found. 'none' for an active segment without one (not a problem). */
  footerFound: FooterState;
  /** The footer the repaired file has: built from its frames, kept as is, or none. */
  footerAfter: 'build' | 'keep' | 'none';
  /** Sorted by start; insertions at an offset come before a range starting there. */
  edits: SegmentEdit[];
  /** A new header: the old one is damaged, names another segment, or its first sequence is not its first event's. */
  header: { firstSeq: number; reason: 'bad_header' | 'segment_id' | 'first_sequence'; detail: string } | null;
  /** The active segment is cut here (bytes from here go to lost+found/). */
  cutAt: { offset: number; reason: 'torn_tail' | 'incomplete_batch' } | null;
  /** The whole file goes (an active segment whose header never became valid). */
  remove: boolean;
  /** Whether the file is rewritten (through a temp file) or removed. */
  changed: boolean;
  /** EVENT frames the repaired file holds (the executor checks its output against it). */
  eventFramesAfter: number;
}

/** An event the repair could not keep (its frame was damaged or is missing). */
export interface LostEvent {
  seq: number;
  /** Known when a surviving event of the entity (or the damaged frame itself, credibly) says so. */
  entity: string | null;
  clock: number | null;
  segment: string;
  offset: number;
  reason: string;
}

/** Links of an entity's chain the repair records as lost (entity gap records). */
export interface LostLinks {
  entity: string;
  fromClock: number;
  count: number;
  segment: string;
  offset: number;
}

/** An event still in the log whose visibility changes (its transaction lost frames or never finished). */
export interface AffectedEvent {
  seq: number;
  entity: string;
  txnId: number;
  segment: string;
  offset: number;
  /**
   * transaction_damaged: its transaction lost items (its COMMIT is replaced by an ABORT);
   * transaction_unfinished: its transaction never ended (an ABORT is inserted; it was never visible);
   * torn_tail / incomplete_batch: the frame is in the tail the repair cuts (kept in lost+found/).
   */
  reason: 'transaction_damaged' | 'transaction_unfinished' | 'torn_tail' | 'incomplete_batch';
}

/** Something the repair cannot fix by itself; it stays and `verify` keeps reporting it. */
export interface Unfixable {
  code: string;
  segment: string;
  offset: number;
  message: string;
  seq?: number;
  entity?: string;
}

/** One line of the plan, for people and for --json. */
export interface PlanAction {
  action:
    | 'cut_tail'
    | 'remove_segment'
    | 'quarantine'
    | 'write_gap'
    | 'insert_begin'
    | 'insert_abort'
    | 'rewrite_header'
    | 'rebuild_footer'
    | 'remove_checkpoint'
    | 'rewrite_checkpoint'
    | 'remove_temp';
  segment: string;
  offset: number | null;
  bytes?: number;
  reason: string;
  detail: string;
}

export interface CheckpointPlan {
  found: 'absent' | 'valid' | 'stale' | 'damaged';
  message: string;
  /** remove: delete it (cold start scans); rewrite: write a fresh one; keep. */
  action: 'keep' | 'remove' | 'rewrite';
}

/** A durable cursor's position the repair moves (reported; cursor files are not rewritten). */
export interface CursorImpact {
  cursor: string;
  position: 'deliveredThrough' | 'resumeFrom';
  segment: string;
  offset: number;
  newOffset: number | null;
}

export interface RepairPlan {
  store: string;
  segments: SegmentPlan[];
  checkpoint: CheckpointPlan;
  /** Leftover temp files of an interrupted repair. */
  strayTemps: string[];
  actions: PlanAction[];
  lostEvents: LostEvent[];
  lostLinks: LostLinks[];
  affectedEvents: AffectedEvent[];
  unfixable: Unfixable[];
  cursors: CursorImpact[];
  /** Events frames and bytes walked (for the report). */
  eventFrames: number;
  bytes: number;
  /** True when there is nothing to change. */
  clean: boolean;
}
