#!/usr/bin/env node
// The follow-latency case's writer (bench/lib/live.js): appends BATCHES batches of
// BATCH_EVENTS small events to STORE through the engine API (dist/), one batch every
// INTERVAL_MS, and prints one line per batch as soon as its appendBatch returned:
//   {"b": <batch>, "t": <ms since the epoch, sub-ms>}
// so the harness can subtract that commit time from the time it read each event from
// the follower. Before the timed batches it appends one priming event, prints "ready"
// and waits for "go" on stdin: the follower is known to be up before anything is timed.
// Usage: node live-writer.js <dist/index.js> <store> <batches> <batchEvents> <intervalMs>
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';

const [distIndex, store, batchesArg, batchEventsArg, intervalArg] = process.argv.slice(2);
const batches = Number(batchesArg);
const batchEvents = Number(batchEventsArg);
const intervalMs = Number(intervalArg);
if (!distIndex || !store || !(batches > 0) || !(batchEvents > 0) || !(intervalMs >= 0)) {
  process.stderr.write('usage: live-writer.js <dist/index.js> <store> <batches> <batchEvents> <intervalMs>\n');
  process.exit(2);
}

const nowMs = () => performance.timeOrigin + performance.now();
const { Store } = await import(pathToFileURL(distIndex).href);
const st = await Store.open(store, { create: false });
st.append({ entity: 'bench:prime', scope: 'bench' }, { prime: true });
process.stdout.write('ready\n');

await new Promise((resolve) => {
  let buf = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (d) => {
    buf += d;
    if (buf.includes('go')) resolve();
  });
  process.stdin.on('end', () => process.exit(3)); // the harness went away
});

const t0 = nowMs();
for (let b = 0; b < batches; b++) {
  // a fixed schedule (not a fixed sleep): a slow batch does not shift the ones after it
  const due = t0 + b * intervalMs;
  const wait = due - nowMs();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  const items = [];
  for (let i = 0; i < batchEvents; i++) items.push({ entity: `bench:${i}`, scope: 'bench', payload: { b, i, sent: nowMs() } });
  st.appendBatch(items);
  process.stdout.write(`{"b":${b},"t":${nowMs().toFixed(3)}}\n`);
}
st.close();
process.stdout.write('done\n');
