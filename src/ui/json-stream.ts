/**
 * A JSON document streamed in pieces: `{"<member>":[` item, item, ... `]` plus members
 * added at the close, then `}` and a newline. BaseCommand owns the one open stream of a
 * command (`openJsonStream`), so a failure after the open still ends in ONE valid
 * document: the array is closed and an `"error"` member added (see base-command.ts).
 *
 * Items are written by the caller straight into the sink (dump writes event records
 * from frame bytes); `item()` writes the separator before each one.
 */
import { stringifyJson } from './json.js';
import type { StdoutSink } from './stdout-sink.js';

export class JsonStream {
  private state: 'new' | 'open' | 'closed' = 'new';
  private first = true;

  constructor(
    readonly sink: StdoutSink,
    private readonly member: string,
  ) {}

  get isOpen(): boolean {
    return this.state === 'open';
  }

  open(): void {
    if (this.state !== 'new') throw new Error('JsonStream.open: already opened');
    this.state = 'open';
    this.sink.write(`{${JSON.stringify(this.member)}:[`);
    // items may come from another sink on the same fd (dump's worker thread): the head goes out first
    this.sink.flush();
  }

  /** Call before writing each item: writes the separator. */
  item(): void {
    if (!this.first) this.sink.writeByte(0x2c);
    this.first = false;
  }

  /** Closes the array and the document; `members` follow the array, in order. Idempotent. */
  close(members: Record<string, unknown> = {}): void {
    if (this.state !== 'open') return;
    this.state = 'closed';
    let tail = ']';
    for (const [key, value] of Object.entries(members)) {
      if (value !== undefined) tail += `,${JSON.stringify(key)}:${stringifyJson(value)}`;
    }
    this.sink.write(`${tail}}\n`);
    this.sink.flush();
  }
}
