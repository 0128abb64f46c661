import { describe, expect, it, vi } from 'vitest';
import { classifyError, collapseToOneLine } from '../../src/ui/errors.js';
import { parseBoundedInt } from '../../src/ui/flags.js';
import { stringifyJson } from '../../src/ui/json.js';
import { startSpinner } from '../../src/ui/spinner.js';

function fakeStream(isTTY: boolean) {
  const write = vi.fn(() => true);
  return { stream: { isTTY, write } as unknown as NodeJS.WritableStream & { isTTY: boolean }, write };
}

describe('spinner', () => {
  it('prints nothing at all when stderr is not a TTY (a disabled ora would still print)', () => {
    const { stream, write } = fakeStream(false);
    const s = startSpinner('verifying', { json: false, stream });
    s.update('still verifying');
    s.succeed('verified');
    s.fail('failed');
    s.stop();
    expect(write).not.toHaveBeenCalled();
  });

  it('prints nothing at all under --json, even on a TTY', () => {
    const { stream, write } = fakeStream(true);
    const s = startSpinner('verifying', { json: true, stream });
    s.succeed('verified');
    expect(write).not.toHaveBeenCalled();
  });
});

describe('JSON output', () => {
  it('is one line, with bigint as a number when safe else a string, and bytes as hex', () => {
    const text = stringifyJson({ a: 1n, b: 2n ** 60n, h: Buffer.from([1, 255]), u: new Uint8Array([16]), m: new Map([['k', 1]]) });
    expect(text).toBe('{"a":1,"b":"1152921504606846976","h":"01ff","u":"10","m":{"k":1}}');
    expect(stringifyJson(undefined)).toBe('null');
  });
});

describe('one-line error messages', () => {
  it('collapses multi-line, coloured oclif messages into one line without the help footer', () => {
    expect(collapseToOneLine('The following error occurred:\n  \u001B[2mbad value\u001B[22m\nSee more help with --help')).toBe(
      'The following error occurred: bad value',
    );
    expect(collapseToOneLine('Parsing --limit \n\texpected an integer')).toBe('Parsing --limit: expected an integer');
    expect(collapseToOneLine('')).toBe('unknown error');
  });

  it('non-Error throwables are internal errors with exit 2', () => {
    expect(classifyError('a string')).toMatchObject({ exitCode: 2, code: 'internal', text: 'internal error: a string' });
    expect(classifyError(undefined)).toMatchObject({ exitCode: 2, code: 'internal' });
  });

  it('a file-system error no engine path wrapped is an io error naming its file (exit 2), never an internal error', () => {
    const nodeError = Object.assign(new Error("EISDIR: illegal operation on a directory, read '/s/0000000001.seg'"), { code: 'EISDIR', syscall: 'read', path: '/s/0000000001.seg' });
    expect(classifyError(nodeError)).toMatchObject({
      exitCode: 2,
      code: 'io',
      text: '/s/0000000001.seg: read failed (EISDIR): illegal operation on a directory',
      json: { code: 'io', message: 'read failed (EISDIR): illegal operation on a directory', file: '/s/0000000001.seg' },
    });
    const noPath = Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' });
    expect(classifyError(noPath)).toMatchObject({ exitCode: 2, code: 'io', text: 'fsync failed (EIO): i/o error' });
  });

  it('an error claiming exit code 0 still fails (exit 2): an error is never reported as success', () => {
    const duck = { code: 'weird', message: 'm', exitCode: 0, oneLine: () => 'm' };
    expect(classifyError(duck).exitCode).toBe(2);
  });

  it('Ctrl-C at a prompt (ExitPromptError) maps to exit 130', () => {
    const err = Object.assign(new Error('User force closed the prompt with SIGINT'), { name: 'ExitPromptError' });
    expect(classifyError(err)).toMatchObject({ exitCode: 130, code: 'interrupted' });
  });
});

describe('integer flag parsing', () => {
  it('accepts whole decimal integers within bounds only', () => {
    expect(parseBoundedInt('0', 0, 10)).toBe(0);
    expect(parseBoundedInt(' 10 ', 0, 10)).toBe(10);
    expect(parseBoundedInt('-3', -5, 5)).toBe(-3);
    for (const bad of ['', 'abc', '1.5', '1e3', '0x10', '12abc', '11', '-1', '99999999999999999999']) {
      expect(() => parseBoundedInt(bad, 0, 10), `input '${bad}'`).toThrow(/expected an integer/);
    }
  });
});

describe('spinner on a terminal without a size', () => {
  it('a TTY reporting 0 columns gets no spinner (ora would clear lines forever)', () => {
    const write = vi.fn(() => true);
    const stream = { isTTY: true, columns: 0, write } as unknown as NodeJS.WritableStream & { isTTY: boolean };
    const s = startSpinner('verifying', { json: false, stream });
    s.succeed('verified');
    expect(write).not.toHaveBeenCalled();
  });
});
