/**
 * ParallelVerdicts whose walk never takes a segment itself: every precheck comes from a
 * worker (or the walk waits for it). Tests use it to check the workers' results against
 * in-process ones; production walks take a segment no worker has started.
 */
import { ParallelVerdicts } from '../../src/engine/verify/verify-parallel.js';

export class WorkersOnlyVerdicts extends ParallelVerdicts {
  protected override walkClaims(): boolean {
    return false;
  }
}
