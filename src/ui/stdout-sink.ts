import { writeSync } from 'node:fs';

/** Output buffer size: large writes, few syscalls. */
const BUFFER_BYTES = 1 << 20;
/** Most UTF-8 bytes one UTF-16 code unit can need. */
const MAX_UTF8_PER_UNIT = 3;

/**
 * Buffered, synchronous writer to stdout for streaming output (dump, jsonl) of any
 * size. Text is encoded straight into one reusable byte buffer (no string joins, no
 * per-flush allocation), and writers that build bytes themselves (event-jsonl.ts)
 * write into it in place with `reserve` and `pos`. A closed pipe (`| head`) ends
 * output quietly: `closed` turns true and the producer should stop.
 */
export class StdoutSink {
  buf: Buffer = Buffer.allocUnsafe(BUFFER_BYTES);
  /** Bytes of `buf` filled and not yet written. */
  pos = 0;
  closed = false;

  constructor(private readonly fd = 1) {}

  write(s: string): void {
    if (this.closed) return;
    const most = s.length * MAX_UTF8_PER_UNIT;
    if (most > this.buf.length - this.pos) {
      this.flush();
      if (most > this.buf.length) {
        this.writeAll(Buffer.from(s, 'utf8'));
        return;
      }
    }
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  /** One byte (a newline, a comma). */
  writeByte(byte: number): void {
    if (this.closed) return;
    if (this.pos === this.buf.length) this.flush();
    this.buf[this.pos++] = byte;
  }

  /**
   * Makes room for `bytes` more bytes (flushing, or growing the buffer for a record
   * larger than it) and returns `pos`, where they go; the caller advances `pos`.
   */
  reserve(bytes: number): number {
    if (bytes > this.buf.length - this.pos) {
      this.flush();
      if (bytes > this.buf.length) this.buf = Buffer.allocUnsafe(bytes);
    }
    return this.pos;
  }

  flush(): void {
    if (this.pos === 0) return;
    const n = this.pos;
    this.pos = 0;
    if (!this.closed) this.writeAll(this.buf.subarray(0, n));
  }

  private writeAll(data: Buffer): void {
    let off = 0;
    while (off < data.length) {
      try {
        off += writeSync(this.fd, data, off, data.length - off);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') {
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2);
          continue;
        }
        if (code === 'EPIPE') {
          this.closed = true;
          return;
        }
        throw err;
      }
    }
  }
}
