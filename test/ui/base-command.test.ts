import { Flags } from '@oclif/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SeglogError } from '../../src/engine/io/errors.js';
import { BaseCommand } from '../../src/ui/base-command.js';
import { intFlag, storeArg, yesFlag } from '../../src/ui/flags.js';
import { runCommand } from './run-command.js';

/** An engine-style error with the SeglogError shape, independent of src/engine. */
class DuckError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly exitCode: number,
    readonly file?: string,
    readonly offset?: number,
    readonly line?: number,
  ) {
    super(message);
  }
  oneLine(): string {
    return `${this.file}: at byte ${this.offset}: ${this.message}`;
  }
}

let release: (() => void) | undefined;
let cleanupCalls = 0;

class Probe extends BaseCommand<typeof Probe> {
  static override id = 'probe';
  static override args = { store: storeArg() };
  static override flags = {
    mode: Flags.string({ default: 'ok' }),
    limit: intFlag({ description: 'limit', min: 1, max: 10, default: 3 }),
    yes: yesFlag(),
  };

  async run(): Promise<unknown> {
    const result = { store: this.args.store, limit: this.flags.limit, seq: 2n ** 64n, hash: new Uint8Array([0, 171, 255]) };
    switch (this.flags.mode) {
      case 'duck-data':
        throw new DuckError('corrupt', 'crc mismatch', 1, '000001.seg', 4096, 7);
      case 'duck-io':
        throw new DuckError('io', 'open failed', 2, 'store/LOCK', 0);
      case 'real-seglog':
        throw new SeglogError('needs_repair', 'corrupt frame in a sealed segment', { file: '000002.seg', offset: 64 });
      case 'internal':
        throw new TypeError('cannot read properties of undefined\nsecond line');
      case 'error-exit-3':
        this.error('explicit code', { exit: 3 });
        break;
      case 'problems':
        this.emit(result, (r) => `store ${r.store}: 1 problem`);
        this.markDataProblems();
        return undefined;
      case 'return-only':
        return { returned: true };
      case 'emit-and-return':
        this.emit(result, () => 'text');
        return result;
      case 'confirm': {
        const ok = await this.confirm('change files?', this.flags.yes);
        this.emit({ ok }, (r) => `confirmed ${r.ok}`);
        return undefined;
      }
      case 'wait':
        this.onInterrupt(() => {
          cleanupCalls++;
        });
        await new Promise<void>((resolve) => {
          release = resolve;
        });
        return undefined;
      default:
        this.emit(result, (r) => `store ${r.store} limit ${r.limit}`);
        return undefined;
    }
    return undefined;
  }
}

function jsonDocs(stdout: string): unknown[] {
  return stdout
    .split('\n')
    .filter((line) => line.trim().length > 0)
    .map((line) => JSON.parse(line) as unknown);
}

describe('BaseCommand output', () => {
  it('text mode: emit calls the renderer, exit 0', async () => {
    const r = await runCommand(Probe, ['s']);
    expect(r.stdout).toBe('store s limit 3\n');
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
  });

  it('--json: emit prints exactly one compact JSON document (bigint and bytes made JSON-safe)', async () => {
    const r = await runCommand(Probe, ['s', '--json']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout.endsWith('\n')).toBe(true);
    expect(r.stdout.trimEnd().includes('\n')).toBe(false);
    expect(jsonDocs(r.stdout)).toEqual([{ store: 's', limit: 3, seq: '18446744073709551616', hash: '00abff' }]);
  });

  it('--json: a result both emitted and returned is printed once, not twice', async () => {
    const r = await runCommand(Probe, ['s', '--mode', 'emit-and-return', '--json']);
    expect(jsonDocs(r.stdout)).toHaveLength(1);
  });

  it('--json: a value returned from run() without emit is printed as one compact document', async () => {
    const r = await runCommand(Probe, ['s', '--mode', 'return-only', '--json']);
    expect(r.stdout).toBe('{"returned":true}\n');
  });

  it('markDataProblems: result still printed, exit 1', async () => {
    const text = await runCommand(Probe, ['s', '--mode', 'problems']);
    expect(text.stdout).toBe('store s: 1 problem\n');
    expect(text.exitCode).toBe(1);
    const json = await runCommand(Probe, ['s', '--mode', 'problems', '--json']);
    expect(jsonDocs(json.stdout)).toHaveLength(1);
    expect(json.exitCode).toBe(1);
  });
});

describe('BaseCommand exit-code mapping', () => {
  it('usage: a missing argument exits 2 with one line on stderr and nothing on stdout', async () => {
    const r = await runCommand(Probe, []);
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('seglog: missing required argument: store (see --help)\n');
  });

  it('usage: an unknown flag exits 2', async () => {
    const r = await runCommand(Probe, ['s', '--no-such-flag']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/^seglog: Nonexistent flag: --no-such-flag/);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('usage: an integer flag out of its bounds exits 2, also under --json', async () => {
    for (const argv of [['s', '--limit', '0'], ['s', '--limit', '11'], ['s', '--limit', '3x'], ['s', '--limit=1.5']]) {
      const r = await runCommand(Probe, argv);
      expect(r.exitCode, `argv ${argv.join(' ')}`).toBe(2);
      expect(r.stderr).toMatch(/^seglog: Parsing --limit: expected an integer/);
    }
    const json = await runCommand(Probe, ['s', '--limit', '0', '--json']);
    expect(json.exitCode).toBe(2);
    expect(jsonDocs(json.stdout)).toEqual([
      { error: { code: 'usage', message: "Parsing --limit: expected an integer from 1 to 10, got '0'" } },
    ]);
  });

  it('a SeglogError-like error keeps its exit code 1 without --json: one line "seglog: <oneLine()>"', async () => {
    const r = await runCommand(Probe, ['s', '--mode', 'duck-data']);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('seglog: 000001.seg: at byte 4096: crc mismatch\n');
  });

  it('a SeglogError-like error keeps its exit code with --json (oclif alone would make it 1)', async () => {
    const data = await runCommand(Probe, ['s', '--mode', 'duck-data', '--json']);
    expect(data.exitCode).toBe(1);
    const io = await runCommand(Probe, ['s', '--mode', 'duck-io', '--json']);
    expect(io.exitCode).toBe(2);
    expect(io.stderr).toBe('seglog: store/LOCK: at byte 0: open failed\n');
  });

  it('--json error: exactly one JSON document on stdout with code, message, file, offset, line', async () => {
    const r = await runCommand(Probe, ['s', '--mode', 'duck-data', '--json']);
    expect(jsonDocs(r.stdout)).toEqual([
      { error: { code: 'corrupt', message: 'crc mismatch', file: '000001.seg', offset: 4096, line: 7 } },
    ]);
  });

  it('--json usage error: exactly one JSON document on stdout, exit 2', async () => {
    const r = await runCommand(Probe, ['--json']);
    expect(r.exitCode).toBe(2);
    expect(jsonDocs(r.stdout)).toEqual([{ error: { code: 'usage', message: 'missing required argument: store' } }]);
  });

  it("the engine's real SeglogError maps by its own exitCode (needs_repair → 1)", async () => {
    const r = await runCommand(Probe, ['s', '--mode', 'real-seglog', '--json']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toBe('seglog: 000002.seg: at byte 64: corrupt frame in a sealed segment\n');
    expect(jsonDocs(r.stdout)).toEqual([
      { error: { code: 'needs_repair', message: 'corrupt frame in a sealed segment', file: '000002.seg', offset: 64 } },
    ]);
  });

  it('this.error with an explicit exit code keeps it under --json', async () => {
    const r = await runCommand(Probe, ['s', '--mode', 'error-exit-3', '--json']);
    expect(r.exitCode).toBe(3);
    expect(jsonDocs(r.stdout)).toHaveLength(1);
  });

  it('an unexpected error is "seglog: internal error: <message>" on one line, exit 2', async () => {
    const r = await runCommand(Probe, ['s', '--mode', 'internal'], { env: { SEGLOG_DEBUG: undefined } });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe('seglog: internal error: cannot read properties of undefined: second line\n');
  });

  it('no stack trace without SEGLOG_DEBUG=1; the stack appears with it', async () => {
    for (const mode of ['internal', 'duck-data']) {
      const quiet = await runCommand(Probe, ['s', '--mode', mode], { env: { SEGLOG_DEBUG: undefined } });
      expect(quiet.stderr, `mode ${mode}`).not.toMatch(/\n\s+at /);
      expect(quiet.stderr.trimEnd().split('\n'), `mode ${mode}`).toHaveLength(1);
      const debug = await runCommand(Probe, ['s', '--mode', mode], { env: { SEGLOG_DEBUG: '1' } });
      expect(debug.stderr, `mode ${mode}`).toMatch(/\n\s+at /);
    }
  });

  it('confirmation without a TTY and without --yes is refused with exit 2 (never prompts)', async () => {
    const saved = Object.getOwnPropertyDescriptor(process.stdin, 'isTTY');
    Object.defineProperty(process.stdin, 'isTTY', { value: false, configurable: true });
    try {
      const r = await runCommand(Probe, ['s', '--mode', 'confirm']);
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toBe('seglog: refusing to change files without --yes when stdin is not a terminal\n');
      const yes = await runCommand(Probe, ['s', '--mode', 'confirm', '--yes']);
      expect(yes.exitCode).toBe(0);
      expect(yes.stdout).toBe('confirmed true\n');
    } finally {
      if (saved) Object.defineProperty(process.stdin, 'isTTY', saved);
      else delete (process.stdin as { isTTY?: boolean }).isTTY;
    }
  });
});

describe('BaseCommand Ctrl-C', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('SIGINT runs the interrupt cleanups, prints one line and exits 130; the listener is removed afterwards', async () => {
    const before = new Set(process.listeners('SIGINT'));
    const exit = vi.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
    cleanupCalls = 0;
    release = undefined;
    const running = runCommand(Probe, ['s', '--mode', 'wait', '--json']);
    await vi.waitFor(() => expect(release).toBeDefined());
    const added = process.listeners('SIGINT').filter((l) => !before.has(l));
    expect(added).toHaveLength(1);
    // Call the listener directly: emitting a real SIGINT would also reach vitest's own.
    (added[0] as () => void)();
    await vi.waitFor(() => expect(exit).toHaveBeenCalledWith(130));
    expect(cleanupCalls).toBe(1);
    (release as (() => void) | undefined)?.();
    const r = await running;
    expect(r.stderr).toBe('seglog: interrupted\n');
    expect(jsonDocs(r.stdout)).toEqual([{ error: { code: 'interrupted', message: 'interrupted' } }]);
    expect(process.listeners('SIGINT').filter((l) => !before.has(l))).toHaveLength(0);
  });
});
