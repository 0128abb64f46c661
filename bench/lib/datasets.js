// Deterministic datasets for the benchmark, generated from a seeded PRNG into
// bench/data/n<COUNT>/ and reused while their manifest matches.
//
//   events.jsonl    COUNT lines {"entity","scope","kind","payload"}; payload is a JSON
//                   object of exactly PAYLOAD_BYTES bytes; entities order:0..order:999
//   redis.aof       COUNT RESP commands `SET <entity> <payload>` (same values, same size)
//   insert.sql      PRAGMA synchronous=FULL; BEGIN; CREATE TABLE; the same COUNT rows
//                   as multi-row INSERTs; COMMIT
//   events.db       insert.sql already applied (what `sqlite3 -json` reads back)
//   wal-spec.jsonl  TXNS one-write transactions for `seglog fixture build --spec`
import fs from 'node:fs';
import path from 'node:path';
import { DATA_DIR, log, mkdirp, fileSize, fmtBytes, fmtCount, rmrf } from './util.js';
import { runQuiet } from './proc.js';

export const GENERATOR_VERSION = 1;
export const SEED = 0x5e91_0c07;
export const ENTITIES = 1000;
export const TENANTS = 20;
export const PAYLOAD_BYTES = 200;
export const KIND = '1:1';
export const SQL_ROWS_PER_INSERT = 500;
export const WAL_KEYS = 10_000;
export const WAL_VALUE_BYTES = 32;

export const SQL_SCHEMA =
  'CREATE TABLE events(seq INTEGER PRIMARY KEY, entity TEXT NOT NULL, scope TEXT NOT NULL, kind TEXT NOT NULL, payload TEXT NOT NULL);';

/** mulberry32: small, fast, good enough for test data, and the same on every machine. */
export function prng(seed) {
  let a = seed >>> 0;
  return function next() {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const CURRENCIES = ['EUR', 'USD', 'GBP', 'JPY', 'CHF'];
const STATUSES = ['created', 'paid', 'packed', 'shipped', 'delivered', 'returned'];

/** Filler text drawn once from the PRNG; payloads take slices of it (fast, still varied). */
function makePool(rand, size) {
  let s = '';
  for (let i = 0; i < size; i++) s += ALNUM[rand() % ALNUM.length];
  return s;
}

/** Writes a file through large chunks into <name>.tmp, renamed into place on close. */
class ChunkWriter {
  constructor(file) {
    this.file = file;
    this.tmp = `${file}.tmp`;
    this.fd = fs.openSync(this.tmp, 'w');
    this.parts = [];
    this.len = 0;
  }
  write(s) {
    this.parts.push(s);
    this.len += s.length;
    if (this.len >= 1 << 20) this.flush();
  }
  flush() {
    if (this.parts.length) fs.writeSync(this.fd, this.parts.join(''));
    this.parts = [];
    this.len = 0;
  }
  close() {
    this.flush();
    fs.closeSync(this.fd);
    fs.renameSync(this.tmp, this.file);
  }
  abort() {
    try {
      fs.closeSync(this.fd);
    } catch {
      /* closed */
    }
    fs.rmSync(this.tmp, { force: true });
  }
}

/** One event's fields, deterministic in (rand, i). The payload is exactly PAYLOAD_BYTES. */
function makeEvent(rand, pool, i) {
  const e = rand() % ENTITIES;
  const entity = `order:${e}`;
  const scope = `tenant:t${String(e % TENANTS).padStart(2, '0')}`;
  const head =
    `{"seq":${i},"customer":"c-${rand() % 100000}","amount":${rand() % 1000000},` +
    `"currency":"${CURRENCIES[rand() % CURRENCIES.length]}","status":"${STATUSES[rand() % STATUSES.length]}",` +
    `"lines":${1 + (rand() % 9)},"note":"`;
  const padLen = PAYLOAD_BYTES - head.length - 2; // closing `"}`
  const off = rand() % (pool.length - padLen);
  const payload = `${head}${pool.slice(off, off + padLen)}"}`;
  return { entity, scope, payload };
}

function writeEventFiles(dir, count) {
  const rand = prng(SEED);
  const pool = makePool(rand, 1 << 16);
  const ev = new ChunkWriter(path.join(dir, 'events.jsonl'));
  const aof = new ChunkWriter(path.join(dir, 'redis.aof'));
  const sql = new ChunkWriter(path.join(dir, 'insert.sql'));
  try {
    sql.write(`PRAGMA synchronous=FULL;\nBEGIN;\n${SQL_SCHEMA}\n`);
    let rowsInStmt = 0;
    for (let i = 0; i < count; i++) {
      const { entity, scope, payload } = makeEvent(rand, pool, i);
      if (payload.length !== PAYLOAD_BYTES) throw new Error(`payload size ${payload.length} != ${PAYLOAD_BYTES}`);
      ev.write(`{"entity":"${entity}","scope":"${scope}","kind":"${KIND}","payload":${payload}}\n`);
      aof.write(`*3\r\n$3\r\nSET\r\n$${entity.length}\r\n${entity}\r\n$${payload.length}\r\n${payload}\r\n`);
      // One statement per line: the sqlite3 shell only tests for a complete statement
      // on lines holding a `;`. The payload alphabet has no quote or semicolon.
      sql.write(rowsInStmt === 0 ? 'INSERT INTO events(entity,scope,kind,payload) VALUES' : ',');
      sql.write(`('${entity}','${scope}','${KIND}','${payload}')`);
      if (++rowsInStmt === SQL_ROWS_PER_INSERT) {
        sql.write(';\n');
        rowsInStmt = 0;
      }
    }
    if (rowsInStmt > 0) sql.write(';\n');
    sql.write('COMMIT;\n');
    ev.close();
    aof.close();
    sql.close();
  } catch (e) {
    ev.abort();
    aof.abort();
    sql.abort();
    throw e;
  }
}

function writeWalSpec(dir, txns) {
  const rand = prng(SEED ^ 0x3a1);
  const pool = makePool(rand, 1 << 14);
  const w = new ChunkWriter(path.join(dir, 'wal-spec.jsonl'));
  try {
    for (let t = 1; t <= txns; t++) {
      const key = `k${rand() % WAL_KEYS}`;
      const off = rand() % (pool.length - WAL_VALUE_BYTES);
      const value = pool.slice(off, off + WAL_VALUE_BYTES);
      // version = txn number: increasing per key and globally, whatever the engine expects.
      w.write(
        `{"type":"begin","txn":${t}}\n` +
          `{"type":"put","txn":${t},"key":"${key}","value":"${value}","version":${t}}\n` +
          `{"type":"commit","txn":${t}}\n`,
      );
    }
    w.close();
  } catch (e) {
    w.abort();
    throw e;
  }
}

function readManifest(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

/**
 * Make (or reuse) the datasets for `count` events and `txns` transactions.
 * sqlite3Path: when given, events.db is built from insert.sql (needed by the dump peer).
 */
export async function ensureDatasets({ count, txns, sqlite3Path }) {
  const dir = path.join(DATA_DIR, `n${count}`);
  mkdirp(dir);
  const manifestFile = path.join(dir, 'manifest.json');
  const params = {
    generator: GENERATOR_VERSION,
    seed: SEED,
    events: count,
    entities: ENTITIES,
    tenants: TENANTS,
    payloadBytes: PAYLOAD_BYTES,
    sqlRowsPerInsert: SQL_ROWS_PER_INSERT,
    txns,
    walKeys: WAL_KEYS,
    walValueBytes: WAL_VALUE_BYTES,
  };
  let manifest = readManifest(manifestFile);
  const sameParams = (m, keys) => m && keys.every((k) => m.params?.[k] === params[k]);
  const filesOk = (m, names) => names.every((n) => m?.files?.[n] != null && fileSize(path.join(dir, n)) === m.files[n]);

  const eventKeys = ['generator', 'seed', 'events', 'entities', 'tenants', 'payloadBytes', 'sqlRowsPerInsert'];
  const walKeys = ['generator', 'txns', 'walKeys', 'walValueBytes'];
  const eventFiles = ['events.jsonl', 'redis.aof', 'insert.sql'];
  manifest = manifest && typeof manifest === 'object' ? manifest : { files: {} };
  manifest.files ??= {};

  if (sameParams(manifest, eventKeys) && filesOk(manifest, eventFiles)) {
    log(`reusing ${fmtCount(count)}-event datasets in ${path.relative(process.cwd(), dir) || dir}`);
  } else {
    log(`generating ${fmtCount(count)} events (${PAYLOAD_BYTES}-byte payloads, ${ENTITIES} entities): events.jsonl, redis.aof, insert.sql ...`);
    const t0 = Date.now();
    for (const n of [...eventFiles, 'events.db']) {
      fs.rmSync(path.join(dir, n), { force: true });
      delete manifest.files[n];
    }
    writeEventFiles(dir, count);
    for (const n of eventFiles) manifest.files[n] = fileSize(path.join(dir, n));
    log(`  done in ${((Date.now() - t0) / 1000).toFixed(1)} s (${eventFiles.map((n) => `${n} ${fmtBytes(manifest.files[n])}`).join(', ')})`);
  }

  if (sameParams(manifest, walKeys) && filesOk(manifest, ['wal-spec.jsonl'])) {
    log(`reusing ${fmtCount(txns)}-transaction WAL spec`);
  } else {
    log(`generating wal-spec.jsonl: ${fmtCount(txns)} one-write transactions ...`);
    const t0 = Date.now();
    writeWalSpec(dir, txns);
    manifest.files['wal-spec.jsonl'] = fileSize(path.join(dir, 'wal-spec.jsonl'));
    log(`  done in ${((Date.now() - t0) / 1000).toFixed(1)} s (${fmtBytes(manifest.files['wal-spec.jsonl'])})`);
  }
  manifest.params = params;
  fs.writeFileSync(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`);

  let dbError = null;
  const dbPath = path.join(dir, 'events.db');
  if (!sqlite3Path) {
    dbError = 'sqlite3 not available';
  } else if (filesOk(manifest, ['events.db'])) {
    log('reusing events.db');
  } else {
    log('building events.db from insert.sql with sqlite3 ...');
    const tmp = `${dbPath}.tmp`;
    rmrf(tmp);
    rmrf(`${tmp}-journal`);
    const r = await runQuiet(sqlite3Path, [tmp], { stdin: path.join(dir, 'insert.sql'), timeoutMs: 900_000 });
    const c = r.error ? null : await runQuiet(sqlite3Path, [tmp, 'select count(*) from events'], { timeoutMs: 60_000 });
    if (r.error || c.error || Number(c.stdout.trim()) !== count) {
      dbError = `building events.db failed: ${r.error || c?.error || `count ${c.stdout.trim()} != ${count}`}`;
      log(dbError);
      rmrf(tmp);
    } else {
      fs.renameSync(tmp, dbPath);
      manifest.files['events.db'] = fileSize(dbPath);
      fs.writeFileSync(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`);
    }
  }

  return {
    dir,
    count,
    txns,
    events: path.join(dir, 'events.jsonl'),
    aof: path.join(dir, 'redis.aof'),
    sql: path.join(dir, 'insert.sql'),
    walSpec: path.join(dir, 'wal-spec.jsonl'),
    db: dbError ? null : dbPath,
    dbError,
    bytes: { ...manifest.files },
    params,
  };
}
