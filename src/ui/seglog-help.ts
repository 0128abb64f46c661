/**
 * oclif's help, with every line wrapped at the terminal's width (oclif leaves the
 * summary line and examples unwrapped: `drill --help` reached 122 columns at 80).
 */
import { Help } from '@oclif/core';
import { terminalColumns, wrapText } from './term-width.js';

export default class SeglogHelp extends Help {
  protected override log(...args: string[]): void {
    const width = terminalColumns();
    super.log(...args.map((text) => wrapText(text, width)));
  }
}
