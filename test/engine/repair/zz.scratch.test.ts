import { it } from 'vitest';
import { createHasher } from '../../../src/format/blake3.js';
import { planRepair } from '../../../src/engine/repair/planner.js';
import { framesOf, patch, simStore, DIR, verifyStore } from './repair-helpers.js';
import { listSegments } from '../../../src/engine/walker.js';
const C = JSON.parse(process.env.CASE!);
it('x', async () => {
  const h = await createHasher();
  const E = ['order:1', 'order:2', 'ü-user', 'audit', 'x'.repeat(40)];
  const fs = simStore(h, (s) => { for (const op of C.ops) { if (op.t === 'one') s.append({ entity: E[op.e]!, scope: 's' }, { n: op.n, pad: 'p'.repeat(op.n % 97) }); else if (op.t === 'batch') s.appendBatch(op.items.map((i: any) => ({ entity: E[i.e]!, scope: 's', payload: { n: i.n, pad: 'q'.repeat(i.n % 89) } }))); else { const t = s.beginTxn(); for (let k = 0; k < op.keys; k++) t.put(`k${k}`, { v: k }); if (op.end === 'commit') t.commit(); else if (op.end === 'abort') t.abort(); } } }, { segmentMaxBytes: C.segmentMaxBytes, close: C.close, seed: C.ops.length + 1 });
  console.log(framesOf(fs).map((f) => `${f.segment} ${f.offset}+${f.size} t${f.type} seq${f.seq} ${f.entity} c${f.clock} txn${f.txnId}`).join('\n'));
  for (const d of C.damages) {
    const segs = listSegments(fs, DIR); const seg = segs[d.file % segs.length]!; const size = fs.stat(seg.path).sizeBytes;
    if (d.t === 'flip') { const at = d.at % size; console.log('flip', seg.name, at, d.bit); patch(fs, seg.path, at, Uint8Array.of(fs.dumpFile(seg.path)[at]! ^ (1 << d.bit))); }
    if (d.t === 'truncate') { const at = d.at % size; console.log('truncate', seg.name, at); const fd = fs.open(seg.path, 'r+'); fs.truncate(fd, at); fs.close(fd); }
    if (d.t === 'zero') { const at = d.at % size; const len = Math.min(d.len, size - at); console.log('zero', seg.name, at, len); patch(fs, seg.path, at, new Uint8Array(len)); }
  }
  console.log(verifyStore(fs, h).problems.map((p) => `${p.code} ${p.segment}@${p.offset} ${p.message}`));
  const plan = planRepair(fs, DIR, { hasher: h });
  console.log(JSON.stringify(plan.segments.filter((s) => s.changed).map((s) => ({ ...s, path: undefined })), null, 1), plan.lostEvents, plan.lostLinks);
});
import { runRepair, simLockEnv } from './repair-helpers.js';
import { Store } from '../../../src/engine/store.js';
it('y', async () => {
  const h = await createHasher();
  const E = ['order:1', 'order:2', 'ü-user', 'audit', 'x'.repeat(40)];
  const fs = simStore(h, (s) => { for (const op of C.ops) { if (op.t === 'one') s.append({ entity: E[op.e]!, scope: 's' }, { n: op.n, pad: 'p'.repeat(op.n % 97) }); else if (op.t === 'batch') s.appendBatch(op.items.map((i: any) => ({ entity: E[i.e]!, scope: 's', payload: { n: i.n, pad: 'q'.repeat(i.n % 89) } }))); else { const t = s.beginTxn(); for (let k = 0; k < op.keys; k++) t.put(`k${k}`, { v: k }); if (op.end === 'commit') t.commit(); else if (op.end === 'abort') t.abort(); } } }, { segmentMaxBytes: C.segmentMaxBytes, close: C.close, seed: C.ops.length + 1 });
  for (const d of C.damages) {
    const segs = listSegments(fs, DIR); const seg = segs[d.file % segs.length]!; const size = fs.stat(seg.path).sizeBytes;
    if (d.t === 'flip') { const at = d.at % size; console.log('flip', seg.name, at, d.bit); patch(fs, seg.path, at, Uint8Array.of(fs.dumpFile(seg.path)[at]! ^ (1 << d.bit))); }
    if (d.t === 'truncate') { const at = d.at % size; console.log('truncate', seg.name, at); const fd = fs.open(seg.path, 'r+'); fs.truncate(fd, at); fs.close(fd); }
    if (d.t === 'zero') { const at = d.at % size; const len = Math.min(d.len, size - at); console.log('zero', seg.name, at, len); patch(fs, seg.path, at, new Uint8Array(len)); }
  }
  console.log(framesOf(fs).map((f) => `${f.segment} ${f.offset}+${f.size} t${f.type} seq${f.seq} ${f.entity} c${f.clock} txn${f.txnId}`).join('\n'));
  const { plan } = runRepair(fs, h);
  console.log('plan1', JSON.stringify(plan.segments.map((s) => ({ ...s, path: undefined })), null, 1));
  const p2 = planRepair(fs, DIR, { hasher: h });
  console.log('plan2', p2.actions, JSON.stringify(p2.segments.filter((s) => s.changed).map((s) => ({ ...s, path: undefined }))));
  console.log(framesOf(fs).map((f) => `${f.segment} ${f.offset}+${f.size} t${f.type} seq${f.seq} ${f.entity} c${f.clock} txn${f.txnId}`).join('\n'));
  console.log('after repair', verifyStore(fs, h).problems.map((p) => `${p.code} ${p.segment}@${p.offset} ${p.message}`));
  const s = Store.openSync(DIR, { fs, lockEnv: simLockEnv(5) }, h);
  console.log('heads', [...s.snapshotState().heads].map(([k, v]) => `${k.slice(0,8)} c${v.clock}`), s.coldStart);
  for (const e of E) s.append({ entity: e, scope: 's' }, { after: true });
  s.close();
  console.log('after appends', verifyStore(fs, h).problems.map((p) => `${p.code} ${p.segment}@${p.offset} ${p.message}`));
});
