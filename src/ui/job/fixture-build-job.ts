/**
 * `seglog fixture build` as a job (control.ts): the build asks the cancel flag every
 * STOP_CHECK_EVERY_LINES spec lines (tools/fixture-build.ts); once set it writes the
 * lines read so far, closes the store normally (lock released) and returns what it wrote
 * with `stopped: true`. Stopped while checking the spec, it has written nothing.
 */
import { statSync } from 'node:fs';
import { buildFixture, type FixtureBuildOptions, type FixtureBuildResult } from '../../tools/fixture-build.js';
import type { JobControl } from './control.js';

export interface FixtureBuildJobInput {
  store: string;
  spec: string;
  options: Pick<FixtureBuildOptions, 'seed' | 'wallMs' | 'segmentMaxBytes' | 'sync' | 'snapshotEvery'>;
}

export async function fixtureBuildJob(input: FixtureBuildJobInput, ctl: JobControl): Promise<FixtureBuildResult> {
  let specBytes = 0;
  try {
    specBytes = statSync(input.spec).size;
  } catch {
    // the build reports a missing spec
  }
  // two passes over the spec (check, then write): progress runs over both
  ctl.setTotalBytes(2 * specBytes);
  return buildFixture(input.store, input.spec, {
    ...input.options,
    onWarning: (m) => ctl.warn(m),
    shouldStop: () => ctl.cancelled,
    onProgress: (pass, lines, bytes) => {
      ctl.step(pass === 'check' ? 'checking the spec' : 'writing frames');
      ctl.progress(lines, pass === 'check' ? bytes : specBytes + bytes);
    },
  });
}
