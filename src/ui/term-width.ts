/**
 * The width text output is laid out for: the terminal's columns when stdout is a
 * terminal that reports them, else `COLUMNS` when set, else 80.
 */
export const DEFAULT_COLUMNS = 80;

export function terminalColumns(stream: { isTTY?: boolean; columns?: number } = process.stdout, env: NodeJS.ProcessEnv = process.env): number {
  if (stream.isTTY === true && typeof stream.columns === 'number' && stream.columns > 0) return stream.columns;
  const fromEnv = Number.parseInt(env.COLUMNS ?? '', 10);
  return Number.isInteger(fromEnv) && fromEnv > 20 ? fromEnv : DEFAULT_COLUMNS;
}

const ANSI = /\u001B\[[0-9;]*[A-Za-z]/g;

export function visibleLength(text: string): number {
  return text.replace(ANSI, '').length;
}

/**
 * Wraps one line at spaces to `width` visible columns; continuation lines keep the
 * line's indentation (plus `hangBytes`). A word longer than the width is cut.
 */
export function wrapLine(line: string, width: number, hangBytes = 2): string[] {
  if (visibleLength(line) <= width) return [line];
  const indent = /^\s*/.exec(line)![0];
  const hang = ' '.repeat(Math.min(indent.length + hangBytes, Math.floor(width / 2)));
  const words = line.slice(indent.length).split(' ');
  const out: string[] = [];
  let current = indent;
  let currentLen = indent.length;
  const prefixLen = (): number => (out.length === 0 ? indent.length : hang.length);
  for (let word of words) {
    let len = visibleLength(word);
    while (len > width - hang.length && word.length > 0) {
      // a word wider than a line: cut it (plain text only; ANSI words are short)
      if (currentLen > prefixLen()) {
        out.push(current);
        current = hang;
        currentLen = hang.length;
      }
      const room = width - currentLen;
      out.push(current + word.slice(0, room));
      word = word.slice(room);
      len = visibleLength(word);
      current = hang;
      currentLen = hang.length;
    }
    if (word.length === 0) continue;
    const sep = currentLen > prefixLen() ? 1 : 0;
    if (currentLen + sep + len > width && currentLen > prefixLen()) {
      out.push(current);
      current = hang + word;
      currentLen = hang.length + len;
    } else {
      current += (sep ? ' ' : '') + word;
      currentLen += sep + len;
    }
  }
  if (currentLen > 0) out.push(current);
  return out;
}

export function wrapText(text: string, width: number): string {
  return text
    .split('\n')
    .flatMap((line) => wrapLine(line, width))
    .join('\n');
}
