/**
 * An unknown command: `seglog: unknown command 'verfy' (did you mean 'verify'?)`, exit 2,
 * and under --json the usual error document on stdout. oclif alone said
 * "command verfy:st not found" (the next argument glued on as a topic) and exit 127.
 */
import type { Hook } from '@oclif/core';
import { EXIT_FAILURE } from './errors.js';
import { writeJson } from './json.js';

/** Edit distance (insertions, deletions, substitutions, adjacent swaps). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/** The command the user meant: the closest id within a third of its length (at least 2 edits), else null. */
export function closestCommand(word: string, ids: string[]): string | null {
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const id of ids) {
    const candidate = id.replace(/:/g, ' ');
    const distance = Math.min(editDistance(word, candidate), editDistance(word, candidate.split(' ')[0]!) + (candidate.includes(' ') ? 1 : 0));
    if (distance < bestDistance) {
      bestDistance = distance;
      best = candidate;
    }
  }
  return best !== null && bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : null;
}

/** The words of `id` the user typed as the command: known topics, then the first unknown word. */
export function unknownWords(id: string, topics: Set<string>): string {
  const parts = id.split(':');
  let n = 1;
  while (n < parts.length && topics.has(parts.slice(0, n).join(':'))) n++;
  return parts.slice(0, n).join(' ');
}

const hook: Hook<'command_not_found'> = async function (opts) {
  const topics = new Set(opts.config.topics.map((t) => t.name));
  const typed = unknownWords(opts.id, topics);
  const ids = opts.config.commandIDs;
  const meant = closestCommand(typed, ids) ?? (typed.includes(' ') ? closestCommand(typed.split(' ').at(-1)!, ids) : null);
  const message = `unknown command '${typed}' (${meant !== null ? `did you mean '${meant}'?` : "see 'seglog --help'"})`;
  process.stderr.write(`seglog: ${message}\n`);
  const argv = opts.argv ?? [];
  if (argv.includes('--json') || process.env.SEGLOG_CONTENT_TYPE === 'json') writeJson({ error: { code: 'usage', message } });
  process.exitCode = EXIT_FAILURE;
};

export default hook;
