/**
 * What `verify` must report for each committed fixture: the table of
 * test/fixtures/README.md, in code. test/engine/verify.test.ts checks the engine
 * against it and test/commands/verify.test.ts checks the built CLI (exit codes too).
 * If a fixture changes (scripts/make-fixtures.js), update the README and this table.
 */
export interface ExpectedProblem {
  code: string;
  severity: 'error' | 'warning' | 'info';
  segment: string;
  offset: number;
  seq?: number;
  entity?: string;
}

export interface FixtureExpectation {
  /** Path under test/fixtures/. */
  name: string;
  ok: boolean;
  /** Committed events readers can see. */
  events: number;
  /** EVENT frames with a valid CRC, committed or not. */
  eventFrames: number;
  segments: number;
  entities: number;
  batches: number;
  problems: ExpectedProblem[];
  /**
   * How `seglog verify` groups them (src/engine/verify-causes.ts): root problem code →
   * codes of the problems listed under it as `causedBy`, in order. Problems in no group
   * are top-level on their own. The engine's report (test/engine) stays flat.
   */
  causes?: Record<string, string[]>;
  /** `seglog verify` exit status, without and with --strict. */
  exitCode: 0 | 1;
  strictExitCode: 0 | 1;
}

const SEG0 = '0000000000.seg';

export const FIXTURE_EXPECTATIONS: FixtureExpectation[] = [
  { name: 'clean', ok: true, events: 54, eventFrames: 54, segments: 4, entities: 9, batches: 4, problems: [], exitCode: 0, strictExitCode: 0 },
  // issue 12: batches crossing 8 KiB segments (and small read chunks); its expected dump is chunk-crossing.dump.jsonl
  { name: 'chunk-crossing', ok: true, events: 249, eventFrames: 249, segments: 10, entities: 25, batches: 11, problems: [], exitCode: 0, strictExitCode: 0 },
  {
    name: 'torn-tail',
    ok: true,
    events: 7,
    eventFrames: 7,
    segments: 1,
    entities: 2,
    batches: 1,
    problems: [{ code: 'torn_tail', severity: 'warning', segment: SEG0, offset: 1568 }],
    exitCode: 0,
    strictExitCode: 1,
  },
  {
    name: 'flipped-bit',
    ok: false,
    events: 29,
    eventFrames: 29,
    segments: 2,
    entities: 3,
    batches: 0,
    problems: [
      { code: 'crc_mismatch', severity: 'error', segment: SEG0, offset: 1232 },
      { code: 'sequence_gap', severity: 'error', segment: SEG0, offset: 1477, seq: 6, entity: 'order:0' },
    ],
    causes: { crc_mismatch: ['sequence_gap'] },
    exitCode: 1,
    strictExitCode: 1,
  },
  {
    name: 'chain-break',
    ok: false,
    events: 30,
    eventFrames: 30,
    segments: 2,
    entities: 3,
    batches: 0,
    problems: [
      { code: 'hash_mismatch', severity: 'error', segment: SEG0, offset: 1712, seq: 7, entity: 'order:1' },
      { code: 'chain_break', severity: 'error', segment: SEG0, offset: 1712, seq: 7, entity: 'order:1' },
    ],
    causes: { hash_mismatch: ['chain_break'] },
    exitCode: 1,
    strictExitCode: 1,
  },
  {
    name: 'incomplete-batch',
    ok: true,
    events: 6,
    eventFrames: 9,
    segments: 1,
    entities: 3,
    batches: 1,
    problems: [{ code: 'incomplete_batch', severity: 'warning', segment: SEG0, offset: 1252 }],
    exitCode: 0,
    strictExitCode: 1,
  },
  {
    name: 'absurd-length',
    ok: false,
    events: 11,
    eventFrames: 11,
    segments: 1,
    entities: 5,
    batches: 0,
    problems: [
      { code: 'bad_frame', severity: 'error', segment: SEG0, offset: 1425 },
      { code: 'sequence_gap', severity: 'error', segment: SEG0, offset: 1624, seq: 8, entity: 'sensor:2' },
    ],
    causes: { bad_frame: ['sequence_gap'] },
    exitCode: 1,
    strictExitCode: 1,
  },
  // issue 3: index structures (SIDX footers, index.ckpt); the frames of all three are intact
  {
    name: 'stripped-footers',
    ok: true,
    events: 45,
    eventFrames: 45,
    segments: 3,
    entities: 3,
    batches: 0,
    problems: [
      { code: 'sidx_missing', severity: 'warning', segment: SEG0, offset: 3937 },
      { code: 'sidx_missing', severity: 'warning', segment: '0000000001.seg', offset: 3947 },
    ],
    exitCode: 0,
    strictExitCode: 1,
  },
  {
    name: 'stale-checkpoint',
    ok: true,
    events: 30,
    eventFrames: 30,
    segments: 2,
    entities: 4,
    batches: 0,
    problems: [{ code: 'checkpoint_stale', severity: 'warning', segment: 'index.ckpt', offset: 0 }],
    exitCode: 0,
    strictExitCode: 1,
  },
  {
    name: 'damaged-footer',
    ok: false,
    events: 30,
    eventFrames: 30,
    segments: 2,
    entities: 3,
    batches: 0,
    problems: [{ code: 'sidx_mismatch', severity: 'error', segment: SEG0, offset: 3937 }],
    exitCode: 1,
    strictExitCode: 1,
  },
  {
    name: 'garbage.seg',
    ok: false,
    events: 0,
    eventFrames: 0,
    segments: 1,
    entities: 0,
    batches: 0,
    problems: [{ code: 'bad_header', severity: 'error', segment: 'garbage.seg', offset: 0 }],
    exitCode: 1,
    strictExitCode: 1,
  },
  {
    name: 'empty.seg',
    ok: false,
    events: 0,
    eventFrames: 0,
    segments: 1,
    entities: 0,
    batches: 0,
    problems: [{ code: 'bad_header', severity: 'error', segment: 'empty.seg', offset: 0 }],
    exitCode: 1,
    strictExitCode: 1,
  },
];

/** A problem without its free-text message, for exact comparison. */
export function problemKey(p: { code: string; severity: string; segment: string; offset: number; seq?: number; entity?: string }): ExpectedProblem {
  const k: ExpectedProblem = { code: p.code, severity: p.severity as ExpectedProblem['severity'], segment: p.segment, offset: p.offset };
  if (p.seq !== undefined) k.seq = p.seq;
  if (p.entity !== undefined) k.entity = p.entity;
  return k;
}
