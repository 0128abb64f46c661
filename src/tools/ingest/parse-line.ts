import { SeglogError } from '../../engine/io/errors.js';
import { parseKind } from '../../format/event.js';
import type { BatchItem } from '../../engine/store/store.js';
import type { LineDefaults } from './scanned-lines.js';

/**
 * The reference reading of one `append --file` line (the slow path): JSON.parse, the
 * documented checks and errors (naming the line), and the payload as JSON.stringify
 * text. ScannedLines gives the same events for most lines without it.
 */
export function parseLine(
  line: string,
  n: number,
  file: string,
  d: LineDefaults,
): BatchItem {
  const where = { file: file === '-' ? '<stdin>' : file, line: n };
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (err) {
    throw new SeglogError('bad_input', `not valid JSON: ${(err as Error).message}`, where);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new SeglogError('bad_input', 'each line must be a JSON object {entity, scope, kind?, payload}', where);
  const o = v as Record<string, unknown>;
  const entity = o.entity ?? d.entity;
  const scope = o.scope ?? d.scope;
  if (typeof entity !== 'string' || entity.length === 0) throw new SeglogError('bad_input', 'missing "entity" (a non-empty string), and no --entity default', where);
  if (typeof scope !== 'string') throw new SeglogError('bad_input', 'missing "scope" (a string), and no --scope default', where);
  let kind = d.kind;
  if (o.kind !== undefined) {
    const k = typeof o.kind === 'string' ? parseKind(o.kind) : null;
    if (!k || k.category === 0) throw new SeglogError('bad_input', `"kind" must be "category:type" with category 1..65535`, where);
    kind = k;
  }
  if (!('payload' in o)) throw new SeglogError('bad_input', 'missing "payload"', where);
  // payloads are stored as JSON text, whatever JSON value they are
  return { entity, scope, kind, payload: JSON.stringify(o.payload) };
}
