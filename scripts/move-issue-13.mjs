// The file moves of issue 13 ("an engine whose folders show its architecture"), as one
// pure-rename commit: `git mv` of every file, then every relative import specifier in
// src/, test/, scripts/ and bench/ (dist/ paths included) and every path mention
// (src/engine/x.ts, dist/engine/x.js, join(ROOT, 'dist', 'engine', 'x.js')) rewritten.
// Kept so that a branch made before the moves can re-run it: check out the branch,
// run `node scripts/move-issue-13.mjs` from the repository root, commit, then merge.
// Idempotent: files already moved are left alone. The layers are in test/layout.test.ts.
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';

const DIR_MAP = [
  ['src/engine/drill/point-fs.ts', 'src/sim/point-fs.ts'],
  ['src/engine/fs/sim-fs.ts', 'src/sim/sim-fs.ts'],
  ['src/engine/fs/types.ts', 'src/engine/io/fs-types.ts'],
  ['src/engine/fs/real-fs.ts', 'src/engine/io/real-fs.ts'],
  ['src/engine/fs/util.ts', 'src/engine/io/fs-util.ts'],
  ['src/engine/drill/', 'src/tools/drill/'],
  ['src/engine/ingest/', 'src/tools/ingest/'],
  ['src/engine/repair/', 'src/tools/repair/'],
  ['src/engine/bytes-map.ts', 'src/engine/log/bytes-map.ts'],
  ['src/engine/checkpoint.ts', 'src/engine/index/checkpoint.ts'],
  ['src/engine/cold-start.ts', 'src/engine/index/cold-start.ts'],
  ['src/engine/committed-stream.ts', 'src/engine/log/committed-stream.ts'],
  ['src/engine/cursor.ts', 'src/engine/log/cursor.ts'],
  ['src/engine/cut-tail-copy.ts', 'src/engine/recovery/cut-tail-copy.ts'],
  ['src/engine/dump-verdicts.ts', 'src/engine/verify/dump-verdicts.ts'],
  ['src/engine/entity-table.ts', 'src/engine/log/entity-table.ts'],
  ['src/engine/errors.ts', 'src/engine/io/errors.ts'],
  ['src/engine/fixture-build.ts', 'src/tools/fixture-build.ts'],
  ['src/engine/footer-replay.ts', 'src/engine/index/footer-replay.ts'],
  ['src/engine/kv-state.ts', 'src/engine/wal/kv-state.ts'],
  ['src/engine/layout.ts', 'src/engine/io/layout.ts'],
  ['src/engine/lock.ts', 'src/engine/io/lock.ts'],
  ['src/engine/options.ts', 'src/engine/io/options.ts'],
  ['src/engine/raw-frames.ts', 'src/engine/store/raw-frames.ts'],
  ['src/engine/recovery-scan.ts', 'src/engine/recovery/recovery-scan.ts'],
  ['src/engine/region.ts', 'src/engine/log/region.ts'],
  ['src/engine/segment-end.ts', 'src/engine/segment/segment-end.ts'],
  ['src/engine/segment-reader.ts', 'src/engine/segment/segment-reader.ts'],
  ['src/engine/segment-writer.ts', 'src/engine/segment/segment-writer.ts'],
  ['src/engine/sidx-maintenance.ts', 'src/tools/sidx-maintenance.ts'],
  ['src/engine/sidx.ts', 'src/engine/index/sidx.ts'],
  ['src/engine/store-meta.ts', 'src/engine/io/store-meta.ts'],
  ['src/engine/store.ts', 'src/engine/store/store.ts'],
  ['src/engine/target.ts', 'src/engine/segment/target.ts'],
  ['src/engine/txn.ts', 'src/engine/store/txn.ts'],
  ['src/engine/verify-parallel.ts', 'src/engine/verify/verify-parallel.ts'],
  ['src/engine/verify-worker.ts', 'src/engine/verify/verify-worker.ts'],
  ['src/engine/verify.ts', 'src/engine/verify/verify.ts'],
  ['src/engine/wal-replay.ts', 'src/engine/wal/wal-replay.ts'],
  ['src/engine/walker.ts', 'src/engine/segment/walker.ts'],
  ['src/format/crc32c.ts', 'src/format/hash/crc32c.ts'],
  ['src/format/blake3.ts', 'src/format/hash/blake3.ts'],
  ['src/format/blake3-multi.ts', 'src/format/hash/blake3-multi.ts'],
  ['src/format/wasm-api.ts', 'src/format/hash/wasm-api.ts'],
  ['src/format/wasm-emit.ts', 'src/format/hash/wasm-emit.ts'],
  ['src/ui/sidx-render.ts', 'src/ui/render/sidx-render.ts'],
  ['src/ui/event-json.ts', 'src/ui/render/event-json.ts'],
  ['src/ui/event-jsonl.ts', 'src/ui/render/event-jsonl.ts'],
];
function mapPath(p) {
  for (const [from, to] of DIR_MAP) {
    if (from.endsWith('/') ? p.startsWith(from) : p === from) return to + p.slice(from.length);
  }
  return p;
}
const git = (...a) => execFileSync('git', a, { encoding: 'utf8' });
const tracked = git('ls-files').split('\n').filter(Boolean);
const srcFiles = new Set(tracked.filter((f) => f.startsWith('src/')));
const moves = [...srcFiles].map((f) => [f, mapPath(f)]).filter(([a, b]) => a !== b);
const moved = new Map(moves);
const newOf = (f) => moved.get(f) ?? f;
// files whose text is rewritten
const SELF = 'scripts/move-issue-13.mjs';
const codeFiles = tracked.filter((f) => /^(src|test|scripts|bench)\//.test(f) && /\.(ts|js|mjs)$/.test(f) && !f.startsWith('test/fixtures/') && f !== SELF);
const docFiles = tracked.filter((f) => /\.md$/.test(f));
const rel = (fromFile, toFile) => { let r = path.relative(path.dirname(fromFile), toFile); if (!r.startsWith('.')) r = './' + r; return r; };
let specChanges = 0;
function rewriteSpecifiers(file, text) {
  const newFile = newOf(file);
  return text.replace(/(['"])(\.\.?\/[^'"\n]*?\.js)\1/g, (all, q, spec) => {
    const abs = path.normalize(path.join(path.dirname(file), spec));
    let target = null;
    if (abs.startsWith('dist/')) {
      const src = 'src/' + abs.slice(5).replace(/\.js$/, '.ts');
      if (!srcFiles.has(src)) return all;
      const nt = 'dist/' + newOf(src).slice(4).replace(/\.ts$/, '.js');
      target = nt;
    } else {
      const src = abs.replace(/\.js$/, '.ts');
      if (!srcFiles.has(src)) return all;
      target = newOf(src).replace(/\.ts$/, '.js');
    }
    const out = rel(newFile, target);
    if (out !== spec) specChanges++;
    return q + out + q;
  });
}
// plain-text paths: src/engine/x.ts, dist/engine/x.js (messages, comments, docs)
const pathRe = /(?<![\w/.-])((?:src|dist)\/)?((?:engine|format|ui)\/[\w./-]*?[\w-]+)\.(ts|js)\b/g;
let textChanges = 0;
function rewriteTextPaths(text) {
  return text.replace(pathRe, (all, root, rest, ext) => {
    const src = `src/${rest}.ts`;
    if (!srcFiles.has(src)) return all;
    const n = newOf(src).slice(4).replace(/\.ts$/, '');
    if (n === rest) return all;
    textChanges++;
    return `${root ?? ''}${n}.${ext}`;
  });
}
// join(ROOT, 'dist', 'engine', 'store.js') and join(dist, 'engine', 'store.js')
const joinRe = /(\bdist|'dist'), ((?:'[\w.-]+', )*'[\w.-]+\.js')/g;
function rewriteJoins(text) {
  return text.replace(joinRe, (all, head, segs) => {
    const parts = segs.split(', ').map((x) => x.slice(1, -1));
    const src = 'src/' + parts.join('/').replace(/\.js$/, '.ts');
    if (!srcFiles.has(src)) return all;
    const n = newOf(src).slice(4).replace(/\.ts$/, '.js').split('/');
    textChanges++;
    return `${head}, ${n.map((x) => `'${x}'`).join(', ')}`;
  });
}
const newText = new Map();
for (const f of codeFiles) {
  const t = fs.readFileSync(f, 'utf8');
  const u = rewriteJoins(rewriteTextPaths(rewriteSpecifiers(f, t)));
  if (u !== t) newText.set(f, u);
}
for (const f of docFiles) {
  const t = fs.readFileSync(f, 'utf8');
  const u = rewriteTextPaths(t);
  if (u !== t) newText.set(f, u);
}
for (const [from, to] of moves) {
  fs.mkdirSync(path.dirname(to), { recursive: true });
  git('mv', from, to);
}
for (const [f, t] of newText) fs.writeFileSync(newOf(f), t);
// empty directories left behind
for (const d of ['src/engine/fs', 'src/engine/drill', 'src/engine/ingest', 'src/engine/repair']) { try { fs.rmdirSync(d); } catch {} }
console.log(`moved ${moves.length} files; ${specChanges} import specifiers and ${textChanges} path mentions rewritten in ${newText.size} files`);
