/**
 * The source tree shows the architecture (issue 13): layers, lowest first, and a file
 * imports only from its own layer or lower ones; no import cycle anywhere in src/
 * (type-only imports included: a cycle of types is a cycle of concepts).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Lowest first. A more specific prefix wins (src/engine/io/ over src/engine/). */
const LAYERS = [
  'src/format/',
  'src/engine/io/',
  'src/engine/segment/',
  'src/engine/log/',
  'src/engine/recovery/',
  'src/engine/index/',
  'src/engine/wal/',
  'src/engine/verify/',
  'src/engine/store/',
  'src/sim/',
  'src/tools/',
  'src/ui/',
  'src/commands/',
  'src/index.ts',
];

function layerOf(file: string): number {
  let best = -1;
  let len = -1;
  LAYERS.forEach((l, i) => {
    if (file.startsWith(l) && l.length > len) {
      best = i;
      len = l.length;
    }
  });
  return best;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory()) out.push(...sourceFiles(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+'(\.[^']+)'/g;

function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(IMPORT)) out.push(relative(ROOT, normalize(join(ROOT, dirname(file), m[1]!))).replace(/\.js$/, '.ts'));
  return out;
}

describe('the source tree (issue 13)', () => {
  const files = sourceFiles('src');
  const graph = new Map(files.map((f) => [f, importsOf(f)]));

  it('every source file belongs to a layer', () => {
    expect(files.filter((f) => layerOf(f) < 0), `add the directory to LAYERS in ${relative(ROOT, fileURLToPath(import.meta.url))}`).toEqual([]);
  });

  it('imports point down only (or stay in their layer)', () => {
    const upward: string[] = [];
    for (const [f, deps] of graph) for (const d of deps) if (layerOf(d) > layerOf(f)) upward.push(`${f} -> ${d}`);
    expect(upward, 'a lower layer imports a higher one: move the shared piece down, or pass it in').toEqual([]);
  });

  it('there is no import cycle', () => {
    // Tarjan's strongly connected components
    let index = 0;
    const stack: string[] = [];
    const onStack = new Set<string>();
    const ix = new Map<string, number>();
    const low = new Map<string, number>();
    const cycles: string[][] = [];
    const visit = (v: string): void => {
      ix.set(v, index);
      low.set(v, index);
      index++;
      stack.push(v);
      onStack.add(v);
      for (const w of graph.get(v) ?? []) {
        if (!graph.has(w)) continue;
        if (!ix.has(w)) {
          visit(w);
          low.set(v, Math.min(low.get(v)!, low.get(w)!));
        } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, ix.get(w)!));
      }
      if (low.get(v) === ix.get(v)) {
        const c: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          c.push(w);
        } while (w !== v);
        if (c.length > 1) cycles.push(c);
      }
    };
    for (const v of graph.keys()) if (!ix.has(v)) visit(v);
    expect(cycles, 'files that import each other (directly or around a loop): give one an interface to depend on').toEqual([]);
  });
});
