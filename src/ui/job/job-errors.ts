/** Errors crossing the worker boundary: SeglogError's fields survive, so exit codes and messages do too. */
import { SeglogError, type SeglogErrorCode } from '../../engine/io/errors.js';

export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  code?: string;
  file?: string;
  offset?: number;
  line?: number;
  seglog: boolean;
}

export function serializeError(err: unknown): SerializedError {
  const e = (typeof err === 'object' && err !== null ? err : { message: String(err) }) as Record<string, unknown>;
  return {
    name: String(e.name ?? 'Error'),
    message: String(e.message ?? err),
    stack: typeof e.stack === 'string' ? e.stack : undefined,
    code: typeof e.code === 'string' ? e.code : undefined,
    file: typeof e.file === 'string' ? e.file : undefined,
    offset: typeof e.offset === 'number' ? e.offset : undefined,
    line: typeof e.line === 'number' ? e.line : undefined,
    seglog: err instanceof SeglogError,
  };
}

export function deserializeError(s: SerializedError): Error {
  const err = s.seglog && s.code !== undefined ? new SeglogError(s.code as SeglogErrorCode, s.message, { file: s.file, offset: s.offset, line: s.line }) : new Error(s.message);
  if (!s.seglog) err.name = s.name;
  if (s.stack !== undefined) err.stack = s.stack;
  return err;
}
