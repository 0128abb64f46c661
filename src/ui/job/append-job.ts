/**
 * `seglog append --file`: the ingest run as a job (control.ts). A Ctrl-C is seen at the
 * next progress call of the ingest (every PROGRESS_EVERY_LINES lines, or every batch),
 * which is a line or batch boundary: the ingest stops there keeping what it appended,
 * the store is closed without sealing (fsync, lock released; no footer or checkpoint:
 * Store.close says why), and the result says how much was appended with
 * `interrupted: true`.
 */
import { SeglogError } from '../../engine/io/errors.js';
import { emptyIngestResult, type IngestResult, ingestJsonl } from '../../tools/ingest/ingest-file.js';
import { Store } from '../../engine/store/store.js';
import { JobCancelled, type JobControl } from './control.js';
import { inputSizeBytes } from './input-size.js';

export interface AppendJobInput {
  store: string;
  file: string;
  defaults: { entity?: string; scope?: string; kind?: { category: number; type: number } };
  batchSize?: number;
  create: boolean;
}

export type AppendJobOutput = IngestResult & { interrupted: boolean };

export async function appendJob(input: AppendJobInput, ctl: JobControl): Promise<AppendJobOutput> {
  // the lock is taken here, before any input is read
  const store = await openForAppend(input.store, input.create, ctl);
  ctl.setTotalBytes(inputSizeBytes(input.file));
  const result = emptyIngestResult();
  let interrupted = false;
  try {
    ingestJsonl(
      store,
      input.file,
      {
        defaults: input.defaults,
        batchSize: input.batchSize,
        onProgress: (n, bytes) => {
          ctl.progress(n, bytes);
          ctl.checkpoint();
        },
      },
      result,
    );
  } catch (err) {
    if (!(err instanceof JobCancelled)) {
      store.close();
      throw err;
    }
    interrupted = true;
  }
  store.close({ seal: !interrupted });
  return { ...result, interrupted };
}

export async function openForAppend(dir: string, create: boolean, ctl: { warn(m: string): void }): Promise<Store> {
  try {
    return await Store.open(dir, { onWarning: (m) => ctl.warn(m), create });
  } catch (err) {
    if (!create && err instanceof SeglogError && (err.code === 'not_found' || err.code === 'not_a_store')) {
      throw new SeglogError(err.code, `${err.message}; not appending to a new store without --create`, { file: err.file ?? dir });
    }
    throw err;
  }
}
