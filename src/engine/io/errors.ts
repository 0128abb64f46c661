/**
 * Typed errors with stable codes. The CLI maps `exitCode` to the process exit status
 * in one place: 1 = the data has problems, 2 = usage or operational failure.
 */
export type SeglogErrorCode =
  | 'usage'
  | 'not_found'
  | 'not_a_store'
  | 'locked'
  | 'io'
  | 'closed'
  | 'read_only'
  | 'poisoned'
  | 'validation'
  | 'bad_input'
  | 'corrupt'
  | 'needs_repair'
  | 'injected';

const DATA_CODES: ReadonlySet<SeglogErrorCode> = new Set(['corrupt', 'needs_repair']);

export interface ErrorLocation {
  file?: string;
  offset?: number;
  line?: number;
}

export class SeglogError extends Error {
  readonly code: SeglogErrorCode;
  readonly file: string | undefined;
  readonly offset: number | undefined;
  readonly line: number | undefined;
  constructor(code: SeglogErrorCode, message: string, where: ErrorLocation = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SeglogError';
    this.code = code;
    this.file = where.file;
    this.offset = where.offset;
    this.line = where.line;
  }
  get exitCode(): 1 | 2 {
    return DATA_CODES.has(this.code) ? 1 : 2;
  }
  /** One line: "file: at byte N: message" (or line N). */
  oneLine(): string {
    const parts: string[] = [];
    if (this.file !== undefined) parts.push(this.file);
    if (this.offset !== undefined) parts.push(`at byte ${this.offset}`);
    if (this.line !== undefined) parts.push(`line ${this.line}`);
    return parts.length ? `${parts.join(': ')}: ${this.message}` : this.message;
  }
}

/** Wraps a filesystem error into a SeglogError naming the path, keeping the cause. */
export function ioError(err: unknown, file: string, what: string): SeglogError {
  const code = (err as { code?: string }).code ?? 'EIO';
  if (code === 'ENOENT') return new SeglogError('not_found', `${what}: no such file or directory`, { file }, { cause: err });
  return new SeglogError('io', `${what} failed (${code}): ${(err as Error).message ?? String(err)}`, { file }, { cause: err });
}
