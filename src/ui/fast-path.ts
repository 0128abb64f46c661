/**
 * The start-up fast path (issue 16's speed targets): `head`, `prove` and `check-proof`
 * run without loading oclif, and so do `stats` (issue 18: a cold open is timed as a
 * whole CLI run, and oclif was a third of it), and, when stderr is not a terminal,
 * `verify`, a plain `dump`, `sidx rebuild`, `repair STORE --yes` and `append --file`
 * (issue 18's benches; verify-fast.ts, dump-fast.ts, sidx-fast.ts, repair-fast.ts,
 * append-fast.ts). Importing @oclif/core and letting it load the manifest and
 * the command is ~0.2 s of CPU, more than check-proof's whole budget (0.2 s); these
 * commands are what auditors and cron jobs run over and over.
 *
 * Sound by refusing: `runFast` handles only a command line it understands completely
 * (long flags it knows, `--flag value` or `--flag=value`, the one positional argument,
 * `--json`) and returns false for anything else — `--help`, a short flag, an unknown or
 * repeated flag, a missing argument, `--`, an integer that is not plain digits, a value
 * that starts with `-`, a word after a repeatable flag (oclif reads it as another value)
 * — so that oclif parses it and says exactly what it always says. What a command
 * computes and prints is one function both paths call (ui/anchor/*-action.ts); output,
 * errors and exit codes go through the same helpers as BaseCommand's (json.ts,
 * errors.ts). `SEGLOG_FAST_PATH=0` turns the fast path off (bin/run.js), and
 * test/commands/fast-path.test.ts runs the same command lines both ways and compares.
 */
import { classifyError } from './errors.js';
import { fastJobHost } from './fast-job.js';
import { FastOutput } from './fast-output.js';

type FlagKind = 'string' | 'int' | 'boolean';

interface FlagSpec {
  kind: FlagKind;
  multiple?: boolean;
  required?: boolean;
}

export interface FastCommandSpec {
  /** The positional argument's name (each of these commands has exactly one, required). */
  arg: string;
  flags: Record<string, FlagSpec>;
  /** Only some of the command's flags: a command line with any other goes to oclif. */
  subset?: boolean;
  /** The one subcommand taken (`sidx rebuild`): argv[1] must be it. */
  sub?: string;
}

/** The flags of the commands the fast path runs; test/commands/fast-path.test.ts holds them equal to the oclif classes'. */
export const FAST_COMMANDS: Record<string, FastCommandSpec> = {
  head: { arg: 'store', flags: { key: { kind: 'string', multiple: true }, origin: { kind: 'string' }, at: { kind: 'int' }, size: { kind: 'int' }, archive: { kind: 'string' } } },
  prove: { arg: 'store', flags: { seq: { kind: 'int' }, head: { kind: 'string' }, from: { kind: 'string' }, to: { kind: 'string' }, origin: { kind: 'string' }, archive: { kind: 'string' } } },
  'check-proof': { arg: 'proof', flags: { head: { kind: 'string', multiple: true, required: true }, pubkey: { kind: 'string', multiple: true } } },
  // the plain export only (ui/dump-fast.ts says what else it refuses)
  dump: { arg: 'store', flags: { format: { kind: 'string' }, limit: { kind: 'int' }, since: { kind: 'string' }, until: { kind: 'string' }, last: { kind: 'int' } }, subset: true },
  stats: { arg: 'store', flags: {} },
  // long boolean flags only (-q and -v go to oclif); stderr not a terminal (ui/verify-fast.ts)
  verify: {
    arg: 'store',
    flags: {
      'max-errors': { kind: 'int' },
      strict: { kind: 'boolean' },
      format: { kind: 'string' },
      quiet: { kind: 'boolean' },
      verbose: { kind: 'boolean' },
      anchor: { kind: 'string', multiple: true },
      pubkey: { kind: 'string', multiple: true },
      archive: { kind: 'string' },
    },
  },
  // `sidx rebuild` only, with --yes or --dry-run (ui/sidx-fast.ts says what else it refuses)
  sidx: { sub: 'rebuild', arg: 'target', flags: { yes: { kind: 'boolean' }, 'dry-run': { kind: 'boolean' } } },
  // `--yes` only, stderr not a terminal (ui/repair-fast.ts says what else it refuses)
  repair: { arg: 'store', flags: { yes: { kind: 'boolean' } }, subset: true },
  // a file's bulk load only (ui/append-fast.ts says what else it refuses)
  append: { arg: 'store', flags: { file: { kind: 'string' }, entity: { kind: 'string' }, scope: { kind: 'string' }, kind: { kind: 'string' }, 'batch-size': { kind: 'int' } }, subset: true },
};

/** Plain digits only, short enough to be exact: anything else goes to oclif (intFlag) for its message. */
const PLAIN_INT = /^\d{1,15}$/;

export interface FastArgs {
  command: string;
  arg: string;
  json: boolean;
  flags: Record<string, string | number | boolean | string[] | undefined>;
}

/** The parsed command line, or null when oclif must handle it. */
export function parseFast(argv: readonly string[]): FastArgs | null {
  const command = argv[0];
  if (command === undefined || !Object.hasOwn(FAST_COMMANDS, command)) return null;
  const spec = FAST_COMMANDS[command]!;
  if (spec.sub !== undefined && argv[1] !== spec.sub) return null;
  const flags: FastArgs['flags'] = {};
  let json = false;
  let arg: string | undefined;
  for (let i = spec.sub === undefined ? 1 : 2; i < argv.length; i++) {
    const tok = argv[i]!;
    if (!tok.startsWith('-')) {
      if (arg !== undefined || tok === '') return null; // a second positional: oclif's error
      arg = tok;
      continue;
    }
    if (!tok.startsWith('--') || tok === '--') return null;
    const eq = tok.indexOf('=');
    const name = eq < 0 ? tok.slice(2) : tok.slice(2, eq);
    if (name === 'json') {
      if (eq >= 0 || json) return null;
      json = true;
      continue;
    }
    if (!Object.hasOwn(spec.flags, name)) return null;
    const f = spec.flags[name]!;
    if (f.kind === 'boolean') {
      // `--strict=…` and a repeated switch: oclif's reading
      if (eq >= 0 || flags[name] !== undefined) return null;
      flags[name] = true;
      continue;
    }
    let value: string | undefined;
    if (eq >= 0) {
      value = tok.slice(eq + 1);
    } else {
      value = argv[i + 1];
      i++;
    }
    if (value === undefined || value === '' || value.startsWith('-')) return null;
    if (f.multiple) {
      // oclif takes the words after a repeatable flag as more values: leave that reading to it
      const next = argv[i + 1];
      if (next !== undefined && !next.startsWith('-')) return null;
      const list = (flags[name] as string[] | undefined) ?? [];
      list.push(value);
      flags[name] = list;
      continue;
    }
    if (flags[name] !== undefined) return null; // "can only be specified once"
    if (f.kind === 'int') {
      if (!PLAIN_INT.test(value)) return null;
      flags[name] = Number(value);
    } else {
      flags[name] = value;
    }
  }
  if (arg === undefined) return null;
  for (const [name, f] of Object.entries(spec.flags)) if (f.required && flags[name] === undefined) return null;
  return { command, arg, json, flags };
}

/**
 * Runs the command line if the fast path can; false (nothing done, nothing printed) when
 * oclif must. On completion process.exitCode is set as BaseCommand would set it.
 */
export async function runFast(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  // oclif turns JSON on from this variable too; leave it to oclif rather than copy the rule
  if (env.SEGLOG_CONTENT_TYPE !== undefined) return false;
  const parsed = parseFast(argv);
  if (parsed === null) return false;
  if (parsed.command === 'dump' || parsed.command === 'verify') {
    // a job (in a worker for large stores) with BaseCommand's Ctrl-C handling (fast-job.ts)
    const out = new FastOutput(parsed.json);
    try {
      return await runJobCommand(parsed, out);
    } catch (err) {
      out.fail(classifyError(err), err);
      return true;
    }
  }
  if (parsed.command === 'sidx') {
    const { sidxRebuildFast } = await import('./sidx-fast.js');
    return sidxRebuildFast({ target: parsed.arg, yes: parsed.flags.yes === true, dryRun: parsed.flags['dry-run'] === true }, warn, new FastOutput(parsed.json));
  }
  if (parsed.command === 'repair') {
    // two jobs and a store lock: BaseCommand's Ctrl-C handling (job-host.ts), not the one below
    if (parsed.flags.yes !== true) return false;
    const { repairFast } = await import('./repair-fast.js');
    return repairFast(parsed.arg, parsed.json, warn, new FastOutput(parsed.json));
  }
  if (parsed.command === 'append') {
    // one job with its own Ctrl-C handling, as dump's
    const f = parsed.flags as Record<string, string | undefined>;
    if (f.file === undefined) return false;
    const { appendFast } = await import('./append-fast.js');
    return appendFast({ store: parsed.arg, file: f.file, entity: f.entity, scope: f.scope, kind: f.kind, batchSize: parsed.flags['batch-size'] as number | undefined }, warn, new FastOutput(parsed.json));
  }
  const out = new FastOutput(parsed.json);
  // Ctrl-C: BaseCommand's answer with no job running (job-host.ts)
  const host = fastJobHost(warn, out);
  host.install();
  try {
    await dispatch(parsed, out);
  } catch (err) {
    out.fail(classifyError(err), err);
  } finally {
    host.uninstall();
  }
  return true;
}

/** dump and verify: false (nothing done, nothing printed) when oclif must run them. */
async function runJobCommand(p: FastArgs, out: FastOutput): Promise<boolean> {
  if (p.command === 'verify') {
    const { verifyFast } = await import('./verify-fast.js');
    return verifyFast(p, warn, out);
  }
  // a stream of records, not one result
  const f = p.flags;
  const format = (f.format as string | undefined) ?? 'text';
  const limit = f.limit as number | undefined;
  const last = f.last as number | undefined;
  if (p.json || (format !== 'text' && format !== 'jsonl') || (limit !== undefined && limit < 1) || (last !== undefined && last < 1)) return false;
  const { dumpFast } = await import('./dump-fast.js');
  return dumpFast({ store: p.arg, format, limit, since: f.since as string | undefined, until: f.until as string | undefined, last }, warn, out);
}

async function dispatch(p: FastArgs, out: FastOutput): Promise<void> {
  const f = p.flags;
  const str = (name: string): string | undefined => f[name] as string | undefined;
  const int = (name: string): number | undefined => f[name] as number | undefined;
  const list = (name: string): string[] | undefined => f[name] as string[] | undefined;
  switch (p.command) {
    case 'check-proof': {
      const { checkProofAction, checkProofText } = await import('./anchor/check-proof-action.js');
      out.emit(await checkProofAction({ proof: p.arg, head: list('head')!, pubkey: list('pubkey') }), checkProofText);
      return;
    }
    case 'prove': {
      const { proveAction, proofText } = await import('./anchor/prove-action.js');
      out.emit(await proveAction({ store: p.arg, seq: int('seq'), head: str('head'), from: str('from'), to: str('to'), origin: str('origin'), archive: str('archive') }), proofText);
      return;
    }
    case 'head': {
      const { headAction, headText } = await import('./anchor/head-action.js');
      out.emit(await headAction({ store: p.arg, key: list('key'), origin: str('origin'), at: int('at'), size: int('size'), archive: str('archive') }, warn), headText);
      return;
    }
    case 'stats': {
      const { statsAction, statsText } = await import('./stats-action.js');
      out.emit(statsAction({ store: p.arg }, warn), statsText);
      return;
    }
    default:
      throw new Error(`fast path: no command ${p.command}`);
  }
}

/** BaseCommand.warn's line. */
function warn(message: string): void {
  process.stderr.write(`seglog: warning: ${message.replace(/\s*\n\s*/g, ' ')}\n`);
}
