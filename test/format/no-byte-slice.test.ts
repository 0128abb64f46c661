/**
 * Property: no code in src/ calls `.slice(...)` on a byte array.
 *
 * A Node `Buffer` overrides `Uint8Array.prototype.slice` to return a VIEW over the same
 * memory, and a variable typed `Uint8Array` may hold a Buffer at run time (every read
 * chunk, arena and `Buffer.allocUnsafe` result is one). Code that "copied" a batch's
 * frames with `.slice` kept views into a read buffer that was refilled before the COMMIT
 * arrived, and `dump` printed overwritten events with exit 0 (issue 12). So the ambiguous
 * call is banned: use `copyBytes` (src/format/bytes.ts) for a copy, `subarray` for a
 * view that is deliberately short-lived.
 *
 * If this fails: replace the named call. Ask whether the bytes outlive the buffer they
 * point into (the next `next()` of a SegmentReader, the next chunk, the next segment, a
 * reused arena): if so, `copyBytes`; if the view is used at once, `subarray`.
 */
import ts from 'typescript';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p));
    else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const BYTE_TYPES = new Set(['Uint8Array', 'Buffer', 'Uint8ClampedArray']);

function isByteArray(t: ts.Type): boolean {
  if (t.isUnion() || t.isIntersection()) return t.types.some(isByteArray);
  const sym = t.getSymbol() ?? t.aliasSymbol;
  if (sym && BYTE_TYPES.has(sym.getName())) return true;
  return t.getBaseTypes?.()?.some(isByteArray) ?? false;
}

describe('byte arrays are never copied with .slice (Buffer.slice is a view)', () => {
  it('finds no `.slice(` whose receiver is a Uint8Array or Buffer in src/', () => {
    const files = sourceFiles(join(ROOT, 'src'));
    const program = ts.createProgram(files, {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      types: ['node'],
    });
    const checker = program.getTypeChecker();
    const offenders: string[] = [];
    for (const sf of program.getSourceFiles()) {
      if (!files.includes(sf.fileName)) continue;
      const visit = (node: ts.Node): void => {
        if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && node.expression.name.text === 'slice') {
          const t = checker.getTypeAtLocation(node.expression.expression);
          if (isByteArray(t)) {
            const { line } = sf.getLineAndCharacterOfPosition(node.getStart());
            offenders.push(`${relative(ROOT, sf.fileName)}:${line + 1}: ${node.getText().slice(0, 80)}`);
          }
        }
        ts.forEachChild(node, visit);
      };
      visit(sf);
    }
    expect(files.length, 'no source files found: is ROOT right?').toBeGreaterThan(20);
    expect(offenders, `use copyBytes() (a copy) or subarray() (a short-lived view) instead:\n${offenders.join('\n')}`).toEqual([]);
  });
});
