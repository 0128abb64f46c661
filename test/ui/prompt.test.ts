import { describe, expect, it } from 'vitest';
import { classifyError, UsageError } from '../../src/ui/errors.js';
import { confirmOrRefuse, REFUSE_WITHOUT_TTY } from '../../src/ui/prompt.js';

describe('confirmOrRefuse', () => {
  it('refuses without a TTY: usage error (exit 2), never prompts', async () => {
    const stdin = { isTTY: false } as unknown as NodeJS.ReadStream;
    const refusal = confirmOrRefuse({ yes: false, json: false, message: 'cut tail?', stdin });
    await expect(refusal).rejects.toBeInstanceOf(UsageError);
    await expect(refusal).rejects.toThrow(REFUSE_WITHOUT_TTY);
    const report = classifyError(await refusal.catch((err: unknown) => err));
    expect(report.exitCode).toBe(2);
    expect(report.text).toBe('refusing to change files without --yes when stdin is not a terminal');
  });

  it('refuses under --json even on a TTY (stdout is a contract there)', async () => {
    const stdin = { isTTY: true } as unknown as NodeJS.ReadStream;
    await expect(confirmOrRefuse({ yes: false, json: true, message: 'cut tail?', stdin })).rejects.toThrow(
      /^refusing to change files without --yes/,
    );
  });

  it('--yes goes ahead without asking, with or without a TTY', async () => {
    for (const isTTY of [true, false]) {
      const stdin = { isTTY } as unknown as NodeJS.ReadStream;
      expect(await confirmOrRefuse({ yes: true, json: false, message: 'x', stdin })).toBe(true);
      expect(await confirmOrRefuse({ yes: true, json: true, message: 'x', stdin })).toBe(true);
    }
  });
});
