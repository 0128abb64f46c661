import { writeSync } from 'node:fs';

/** Flush threshold: large writes, few syscalls. */
const FLUSH_CHARS = 1 << 20;

/**
 * Buffered, synchronous writer to stdout for streaming output (dump, jsonl) of any
 * size. A closed pipe (`| head`) ends output quietly: `closed` turns true and the
 * producer should stop.
 */
export class StdoutSink {
  private parts: string[] = [];
  private size = 0;
  closed = false;

  constructor(private readonly fd = 1) {}

  write(s: string): void {
    if (this.closed) return;
    this.parts.push(s);
    this.size += s.length;
    if (this.size >= FLUSH_CHARS) this.flush();
  }

  flush(): void {
    if (this.closed || this.size === 0) return;
    const data = Buffer.from(this.parts.join(''), 'utf8');
    this.parts = [];
    this.size = 0;
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
