import { SeglogError } from './errors.js';
import type { FileSystem } from './fs-types.js';
import { readWhole, writeFileAtomic } from './fs-util.js';
import { DEFAULT_OPTIONS, type StoreOptions, validateOptions } from './options.js';

/** `seglog.json`: marks a directory as a store and persists its creation options. */
export interface StoreMeta {
  format: 'seglog';
  version: 1;
  options: StoreOptions;
}

const MAX_META_BYTES = 64 * 1024;

export function writeMeta(fs: FileSystem, path: string, options: StoreOptions): void {
  const meta: StoreMeta = { format: 'seglog', version: 1, options };
  writeFileAtomic(fs, path, new TextEncoder().encode(`${JSON.stringify(meta, null, 2)}\n`));
}

export function readMeta(fs: FileSystem, path: string): StoreMeta {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(readWhole(fs, path, MAX_META_BYTES)));
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') throw err;
    throw new SeglogError('corrupt', `store metadata is not valid JSON: ${(err as Error).message}`, { file: path });
  }
  const m = parsed as Partial<StoreMeta>;
  if (m.format !== 'seglog' || m.version !== 1 || typeof m.options !== 'object' || m.options === null) {
    throw new SeglogError('corrupt', 'store metadata is not a seglog v1 store description', { file: path });
  }
  return { format: 'seglog', version: 1, options: validateOptions({ ...DEFAULT_OPTIONS, ...m.options }, path) };
}
