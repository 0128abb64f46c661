/**
 * Assertions in the TigerBeetle sense (docs/TIGER_STYLE.md): a condition the code
 * itself guarantees, checked at a module boundary, whose failure is a bug in seglog,
 * never a property of the data. Bad data is reported with a SeglogError and a stable
 * code; a failed assertion throws AssertionError, which the CLI reports as an internal
 * error (exit 2). Used at boundaries (before bytes go into wasm memory, where repair
 * trusts a frame length it checked earlier), not inside per-byte loops. The message is
 * a constant: no string is built unless the assertion fails.
 */
export class AssertionError extends Error {
  constructor(message: string) {
    super(`assertion failed: ${message}`);
    this.name = 'AssertionError';
  }
}

export function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new AssertionError(message);
}
