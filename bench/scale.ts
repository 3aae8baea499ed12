/**
 * One million live sessions: what each persistent session store of cloakroom (SQLite,
 * PostgreSQL, Redis) costs in storage per session, and whether its lookups stay as cheap at
 * 1,000,000 sessions as at 100,000.
 *
 * Per store and size (100k and 1M: BENCH_SCALE_SIZES), a separate instance (SQLite file,
 * PostgreSQL schema, private Redis server) is filled from empty with realistic records
 * (bench/filler.ts: a fresh token's key, a CSRF secret; here a Chrome user agent, an IPv4
 * address, two small data keys), 1–5 sessions per user (3 on average). Then:
 * - storage per session: SQLite file + WAL after a `wal_checkpoint(TRUNCATE)` (the WAL as filled
 *   is in the table too); PostgreSQL `pg_total_relation_size` of `cloakroom_sessions` (heap,
 *   TOAST and its three indexes) after `VACUUM (ANALYZE)`; Redis `used_memory` growth since the
 *   server was empty (session hashes, user indexes, keyspace and expiry dictionaries);
 * - lookups through the store's own methods (the PostgreSQL and Redis ones with their default
 *   2 s deadline, as an app gets them): `get` of a random existing id, `get` of an unknown id,
 *   `listByUser` of a random user, `touch` of a random session. One call at a time (the latency
 *   of one request, no pipelining). Each is warmed up, then timed in ROUNDS rounds of ROUND_MS;
 *   the sizes of a store are measured in the SAME rounds, taking turns call by call (their order
 *   alternating between rounds), so load from elsewhere on a shared machine lands on both sizes
 *   alike and their ratio means something. Per round: CPU µs per call of this process
 *   (`process.cpuUsage`), CPU µs per call of the store's server (Redis' main thread, the
 *   PostgreSQL backend of the one pooled connection: `/proc/<pid>/schedstat`), p50 and p99 of
 *   the per-call latency. Quoted: the median over rounds.
 * - SQLite is measured with its read cache off (`cache: false`: the engine, which is what the
 *   sizes are compared for: with uniformly random ids a 10,000-row cache answers ~10 % of the
 *   reads at 100k and ~1 % at 1M) and, in the same rounds, as configured by default (read cache
 *   on) through a second connection to the same file; its hit rate is printed.
 * - flatness: `get` (hit) at the largest size over the smallest, for the CPU per call (this
 *   process + the server) and for the p50 latency; PASS if both are within 1.2×.
 *
 * Filling: SQLite through the store's own `create` (its prepared INSERT), all in one
 * transaction; Redis through the store's own `create` (CREATE + INDEX_ADD scripts), 2,000 in
 * flight, so the key layout is exactly the store's; PostgreSQL with multi-row `INSERT … SELECT
 * FROM unnest(…)` of the columns the store's `create` writes, two statements in flight, then
 * `VACUUM (ANALYZE)` (what autovacuum would do). After each fill a sample of records is read
 * back with the store's `get` and compared with what was written.
 *
 * Placement: this process pins itself to CPU 1 (`taskset`), the private `redis-server`
 * (`--save '' --appendonly no`, a free port) runs on CPU 0. PostgreSQL is the machine's server
 * (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test, trust auth); the bench creates
 * its own database `cloakroom_scale_<pid>` and drops it at the end. Everything (temp dir, Redis,
 * database) is removed on exit, on error, on Ctrl-C and at the time limit; a run killed outright
 * is cleaned up by the next run.
 *
 * Run: `npm run bench:scale` (or `npx tsx bench/scale.ts`). Knobs (env):
 * BENCH_SCALE_SIZES (100000,1000000), BENCH_SCALE_STORES (sqlite,postgres,redis),
 * BENCH_SCALE_ROUNDS (9), BENCH_SCALE_ROUND_MS (400), BENCH_SCALE_WARMUP_MS (500),
 * BENCH_SCALE_MAX_MINUTES (60: the whole run is stopped and cleaned up after this),
 * BENCH_SCALE_SQLITE_PRAGMAS (e.g. `mmap_size=268435456;cache_size=-65536`, applied to the
 * SQLite connection after the store opened it: for investigating, not the store's default).
 * Raw results: .bench/scale-<date>.json.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, cpus, loadavg, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import pg from 'pg';
import { createClient, type RedisClientType } from 'redis';
import type { SessionRecord, SessionStore } from '../packages/cloakroom/src/core/store.js';
import { createPostgresStore } from '../packages/cloakroom/src/stores/postgres/index.js';
import type { RedisClientLike } from '../packages/cloakroom/src/stores/redis/client.js';
import { createRedisStore } from '../packages/cloakroom/src/stores/redis/index.js';
import { createSqliteStore, type SqliteStore } from '../packages/cloakroom/src/stores/sqlite/index.js';
import { fillerSession } from './filler.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const envInt = (name: string, fallback: number): number => {
  const raw = process.env[name];
  const n = raw ? Number(raw) : fallback;
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got ${raw}`);
  return n;
};
const envList = (name: string, fallback: string): string[] =>
  (process.env[name] || fallback)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

const SIZES = envList('BENCH_SCALE_SIZES', '100000,1000000')
  .map((s) => {
    const n = Number(s.replace(/_/g, ''));
    if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`BENCH_SCALE_SIZES: not a size: ${s}`);
    return n;
  })
  .sort((a, b) => a - b);
const STORE_NAMES = ['sqlite', 'postgres', 'redis'] as const;
type StoreName = (typeof STORE_NAMES)[number];
const STORES = envList('BENCH_SCALE_STORES', STORE_NAMES.join(',')).map((s) => {
  if (!(STORE_NAMES as readonly string[]).includes(s)) {
    throw new Error(`BENCH_SCALE_STORES: unknown store ${s} (${STORE_NAMES.join(', ')})`);
  }
  return s as StoreName;
});
const ROUNDS = envInt('BENCH_SCALE_ROUNDS', 9);
const ROUND_MS = envInt('BENCH_SCALE_ROUND_MS', 400);
const WARMUP_MS = envInt('BENCH_SCALE_WARMUP_MS', 500);
const MAX_MINUTES = envInt('BENCH_SCALE_MAX_MINUTES', 60);
const SQLITE_PRAGMAS = envList('BENCH_SCALE_SQLITE_PRAGMAS', '').join(';').split(';').filter(Boolean);
const DATABASE_URL = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
/** The limit of the flatness check: lookups at the largest size within this factor of the smallest. */
const FLAT = 1.2;
/** Records generated and handed to a store at a time. */
const CHUNK = 10_000;
/** Redis `create`s in flight while filling. */
const REDIS_IN_FLIGHT = 2_000;
/** PostgreSQL INSERT … unnest statements in flight while filling (each a share of a CHUNK). */
const PG_IN_FLIGHT = 2;
/** Records read back with `get` after each fill step and compared with what was written. */
const CHECK_SAMPLE = 500;
const MEASURE_CPU = '1';
const REDIS_CPU = '0';
const PREFIX = 'cloakroom-scale-';

/** A Chrome user agent (111 bytes), as in bench/http.bench.ts and docs/scaling.md. */
const BROWSER_UA =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';

const startedAt = new Date();
const deadlineAt = startedAt.getTime() + MAX_MINUTES * 60_000;
/** Set by Ctrl-C or the time limit: every loop stops at its next check. */
let stopping: string | null = null;
function checkDeadline(): void {
  if (stopping !== null) throw new Error(`stopped (${stopping})`);
  if (Date.now() > deadlineAt) throw new Error(`time limit: BENCH_SCALE_MAX_MINUTES=${MAX_MINUTES} reached`);
}
const log = (text: string) => process.stderr.write(text);
/** Awaiting a resolved promise runs only microtasks; signals and timers need a macrotask turn. */
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

// ---------------------------------------------------------------------------------------------
// Clean-up: everything this run starts or creates is undone on exit, error, Ctrl-C, time limit.

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0); // signal 0: an existence check, nothing is sent
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** Undo steps, run last-first. Each may be async (dropping the database) and is bounded. */
const cleanups: Array<{ what: string; run: () => unknown }> = [];
/** Synchronous remainders for `process.on('exit')` (when the async ones could not run). */
const children = new Set<ChildProcess>();
const tempDirs = new Set<string>();

function exitSync(): void {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
}
process.on('exit', exitSync);

/** Runs every registered undo step, last first; calls queue up, so a later call undoes what was added since. */
let undoing: Promise<void> = Promise.resolve();
function cleanUp(): Promise<void> {
  undoing = undoing.then(async () => {
    for (let step = cleanups.pop(); step !== undefined; step = cleanups.pop()) {
      try {
        await Promise.race([step.run(), sleep(10_000).then(() => Promise.reject(new Error('timed out')))]);
      } catch (error) {
        log(`clean-up: ${step.what}: ${error instanceof Error ? error.message : String(error)}\n`);
      }
    }
    exitSync();
  });
  return undoing;
}

/** The run itself, so a stop can wait for it to notice before the last clean-up. */
let running: Promise<unknown> = Promise.resolve();
function stop(reason: string, code: number): void {
  if (stopping !== null) return;
  stopping = reason;
  log(`\n${reason}: cleaning up\n`);
  void (async () => {
    // Servers first (calls in flight then fail at once), then let the run reach a check and
    // unwind, then undo whatever it registered meanwhile (a database being created…).
    await cleanUp();
    await Promise.race([running.catch(() => {}), sleep(10_000)]);
    await cleanUp();
    process.exit(code);
  })();
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => stop(signal, 130));
const hardStop = setTimeout(
  () => stop(`time limit (${MAX_MINUTES} min + 1)`, 2),
  MAX_MINUTES * 60_000 + 60_000,
);

/** Temp dirs of runs whose process is gone (killed outright): their redis-server too. */
function removeStaleRuns(): void {
  for (const name of readdirSync(tmpdir())) {
    const pid = new RegExp(`^${PREFIX}(\\d+)-`).exec(name)?.[1];
    if (pid === undefined || isAlive(Number(pid))) continue;
    const dir = join(tmpdir(), name);
    for (const file of readdirSync(dir).filter((f) => /^redis-\d+\.pid$/.test(f))) {
      const redisPid = Number(readFileSync(join(dir, file), 'utf8'));
      try {
        if (readFileSync(`/proc/${redisPid}/cmdline`, 'utf8').includes('redis-server')) {
          process.kill(redisPid, 'SIGKILL');
        }
      } catch {
        // already gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Placement and machine.

function has(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}
/** Read before pinning (after that this process sees only its own CPU). */
const CPU_COUNT = availableParallelism();
const canPin = has('taskset') && CPU_COUNT >= 2;
function pinSelf(): boolean {
  if (!canPin) return false;
  // -a: every thread of this process (libuv's pool inherits it when it starts later).
  return (
    spawnSync('taskset', ['-a', '-cp', MEASURE_CPU, String(process.pid)], { stdio: 'ignore' }).status === 0
  );
}

/** Run time of one task (thread) in µs, from /proc/<pid>/schedstat (ns), or null if unreadable. */
function taskCpuUs(pid: number): number | null {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1_000;
  } catch {
    return null;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// The sessions: 1–5 per user, ids kept compactly so this process's heap does not grow with
// the store (a heap ten times larger would make its own GC part of the 1M numbers).

const RUN_TAG = randomBytes(4).toString('hex');

class Population {
  /** Raw 32-byte SHA-256 of each session id, in creation order. */
  private readonly ids: Buffer;
  count = 0;
  users = 0;
  private left = 0;
  /** A few records as written, to read back and compare. */
  readonly sample: SessionRecord[] = [];

  constructor(max: number) {
    this.ids = Buffer.alloc(max * 32);
  }

  /** A UUID-shaped (36 characters) user id, derived from the user's number. */
  static userId(n: number): string {
    return `${RUN_TAG}-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
  }

  next(now: number): SessionRecord {
    if (this.left === 0) {
      this.users++;
      this.left = 1 + Math.floor(Math.random() * 5);
    }
    this.left--;
    const user = this.users - 1;
    const record = fillerSession(Population.userId(user), now, {
      ip: `198.51.100.${user % 256}`,
      userAgent: BROWSER_UA,
      data: { returnTo: '/account', theme: 'dark' },
    });
    this.ids.write(record.id, this.count * 32, 'base64url');
    this.count++;
    // Reservoir sample: every record so far equally likely to be checked.
    if (this.sample.length < CHECK_SAMPLE) this.sample.push(record);
    else {
      const j = Math.floor(Math.random() * this.count);
      if (j < CHECK_SAMPLE) this.sample[j] = record;
    }
    return record;
  }

  randomId(): string {
    const at = Math.floor(Math.random() * this.count) * 32;
    return this.ids.toString('base64url', at, at + 32);
  }

  randomUser(): string {
    return Population.userId(Math.floor(Math.random() * this.users));
  }
}

// ---------------------------------------------------------------------------------------------
// Measuring.

interface Op {
  name: string;
  /** The argument of the next call; not timed. */
  pick(): string;
  run(arg: string): Promise<unknown>;
  /** Whether the answer is the expected one (a hit is a record, a miss is null, …). */
  ok(result: unknown): boolean;
}

interface RoundStat {
  calls: number;
  cpuUsPerCall: number;
  serverCpuUsPerCall: number | null;
  p50Us: number;
  p99Us: number;
  meanUs: number;
}

interface OpResult {
  calls: number;
  /** Calls whose answer was not the expected one (e.g. a hit that found nothing). */
  unexpected: number;
  /** Medians over the rounds. */
  cpuUsPerCall: number;
  serverCpuUsPerCall: number | null;
  p50Us: number;
  p99Us: number;
  meanUs: number;
  rounds: RoundStat[];
}

function median(values: number[]): number {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const latencies = new Float64Array(2_000_000);

async function timedRound(
  op: Op,
  ms: number,
  serverCpu: (() => number | null) | null,
): Promise<RoundStat & { unexpected: number }> {
  let n = 0;
  let unexpected = 0;
  const serverBefore = serverCpu?.() ?? null;
  const cpuBefore = process.cpuUsage();
  const until = performance.now() + ms;
  while (n < latencies.length) {
    const arg = op.pick();
    const t0 = performance.now();
    const result = await op.run(arg);
    const t1 = performance.now();
    latencies[n++] = (t1 - t0) * 1_000;
    if (!op.ok(result)) unexpected++;
    if (t1 >= until) break;
  }
  const cpu = process.cpuUsage(cpuBefore);
  const serverAfter = serverCpu?.() ?? null;
  const sorted = latencies.subarray(0, n).sort();
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i]!;
  return {
    calls: n,
    unexpected,
    cpuUsPerCall: (cpu.user + cpu.system) / n,
    serverCpuUsPerCall:
      serverBefore !== null && serverAfter !== null ? (serverAfter - serverBefore) / n : null,
    p50Us: percentile(sorted, 50),
    p99Us: percentile(sorted, 99),
    meanUs: sum / n,
  };
}

/**
 * Times the same calls on every size of one store in the SAME rounds: round by round, call by
 * call, each size in turn (the order of the sizes alternating between rounds), so load from
 * elsewhere on a shared machine lands on every size alike and their ratio stays meaningful.
 */
async function measure(
  groups: Array<{ ops: Op[]; serverCpu: (() => number | null) | null }>,
): Promise<Array<Record<string, OpResult>>> {
  const names = groups[0]!.ops.map((op) => op.name);
  for (const name of names) {
    for (const group of groups) {
      await timedRound(group.ops.find((op) => op.name === name)!, WARMUP_MS, null);
      await yieldToEventLoop();
    }
  }
  const rounds = groups.map(() => new Map<string, Array<RoundStat & { unexpected: number }>>());
  for (let r = 0; r < ROUNDS; r++) {
    checkDeadline();
    for (const name of names) {
      const order = groups.map((_, i) => i);
      if (r % 2 === 1) order.reverse();
      for (const i of order) {
        const group = groups[i]!;
        const stat = await timedRound(group.ops.find((op) => op.name === name)!, ROUND_MS, group.serverCpu);
        const list = rounds[i]!.get(name) ?? [];
        list.push(stat);
        rounds[i]!.set(name, list);
        await yieldToEventLoop();
      }
    }
  }
  return rounds.map((byName) => {
    const results: Record<string, OpResult> = {};
    for (const [name, stats] of byName) {
      const server = stats.map((s) => s.serverCpuUsPerCall);
      results[name] = {
        calls: stats.reduce((sum, s) => sum + s.calls, 0),
        unexpected: stats.reduce((sum, s) => sum + s.unexpected, 0),
        cpuUsPerCall: median(stats.map((s) => s.cpuUsPerCall)),
        serverCpuUsPerCall: server.every((v) => v !== null) ? median(server as number[]) : null,
        p50Us: median(stats.map((s) => s.p50Us)),
        p99Us: median(stats.map((s) => s.p99Us)),
        meanUs: median(stats.map((s) => s.meanUs)),
        rounds: stats.map(({ unexpected: _, ...s }) => s),
      };
    }
    return results;
  });
}

/** The four measured calls, on the store an application would get. */
function opsFor(store: SessionStore, people: Population): Op[] {
  const misses = Array.from({ length: 10_000 }, () => randomBytes(32).toString('base64url'));
  let miss = 0;
  return [
    {
      name: 'get',
      pick: () => people.randomId(),
      run: (id) => store.get(id),
      ok: (r) => r !== null,
    },
    {
      name: 'getMiss',
      pick: () => misses[miss++ % misses.length]!,
      run: (id) => store.get(id),
      ok: (r) => r === null,
    },
    {
      name: 'listByUser',
      pick: () => people.randomUser(),
      run: (userId) => store.listByUser(userId, Date.now()),
      ok: (r) => Array.isArray(r) && r.length > 0,
    },
    {
      name: 'touch',
      pick: () => people.randomId(),
      run: (id) => {
        const now = Date.now();
        return store.touch(id, now, now + 30 * 60_000);
      },
      ok: (r) => r === true,
    },
  ];
}

// ---------------------------------------------------------------------------------------------
// The stores under test.

interface Subject {
  /** What is measured: the store as an application gets it. */
  store: SessionStore;
  version: string;
  /** Writes these records (the bench generates them CHUNK at a time), between `fillStep.before` and `.after`. */
  write(records: SessionRecord[]): Promise<void>;
  /** Around the fill (SQLite: one transaction); `after` returns seconds spent on upkeep (VACUUM). */
  fillStep?: { before(): void; after(): Promise<number> };
  storage(
    sessions: number,
  ): Promise<{ bytesPerSession: number; detail: string; raw: Record<string, unknown> }>;
  /** CPU time of the store's server task serving our calls, µs; null when there is none. */
  serverCpu: (() => number | null) | null;
  serverNote: string;
  /** Other stores on the same data, measured in the same rounds (SQLite with its read cache on). */
  variants?: Array<{ label: string; store: SessionStore; stats(): unknown }>;
}

async function sqliteSubject(dir: string, sessions: number): Promise<Subject> {
  const path = join(dir, `sessions-${sessions}.db`);
  // The engine alone: with uniformly random ids a cache of 10,000 rows would answer 10 % of the
  // reads at 100k and 1 % at 1M, which is not what the sizes are compared for. The store as an
  // application gets it by default (read cache on) is measured beside it, on a second
  // connection to the same file.
  const opened: SqliteStore = createSqliteStore({ path, sweepIntervalMs: 0, cache: false });
  cleanups.push({ what: 'close SQLite', run: () => opened.close() });
  const cached: SqliteStore = createSqliteStore({ path, sweepIntervalMs: 0 });
  cleanups.push({ what: 'close SQLite (cached)', run: () => cached.close() });
  const db = opened.database;
  for (const pragma of SQLITE_PRAGMAS) {
    db.pragma(pragma);
    cached.database.pragma(pragma);
  }
  const size = (file: string) => (existsSync(file) ? statSync(file).size : 0);
  return {
    store: opened.sessions,
    version: `SQLite ${db.prepare('SELECT sqlite_version()').pluck().get() as string} (better-sqlite3), WAL${
      SQLITE_PRAGMAS.length ? `, ${SQLITE_PRAGMAS.join(', ')}` : ''
    }`,
    async write(records) {
      for (const record of records) await opened.sessions.create(record);
    },
    fillStep: {
      before: () => db.exec('BEGIN'),
      async after() {
        db.exec('COMMIT');
        return 0;
      },
    },
    async storage(sessions) {
      const asFilled = { db: size(path), wal: size(`${path}-wal`) };
      db.pragma('wal_checkpoint(TRUNCATE)');
      const file = size(path);
      const wal = size(`${path}-wal`);
      const pageSize = db.pragma('page_size', { simple: true }) as number;
      return {
        bytesPerSession: (file + wal) / sessions,
        detail: `file ${mib(file)} + WAL ${mib(wal)} (as filled: WAL ${mib(asFilled.wal)})`,
        raw: { fileBytes: file, walBytes: wal, asFilled, pageSize },
      };
    },
    serverCpu: null,
    serverNote: 'in process',
    variants: [
      { label: 'sqlite, read cache on', store: cached.sessions, stats: () => cached.cacheStats()?.sessions },
    ],
  };
}

/** This run's own database (every size of the PostgreSQL store in a schema of its own). */
async function postgresDatabase(): Promise<{ url: string; about: string }> {
  const admin = new pg.Client({ connectionString: DATABASE_URL });
  await admin.connect();
  const name = `cloakroom_scale_${process.pid}`;
  let about: string;
  try {
    // Databases of earlier runs that were killed outright.
    const stale = await admin.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname ~ '^cloakroom_scale_[0-9]+$'`,
    );
    for (const { datname } of stale.rows) {
      if (!isAlive(Number(datname.slice('cloakroom_scale_'.length)))) {
        await admin.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`);
      }
    }
    await admin.query(`CREATE DATABASE ${name}`);
    const show = async (setting: string) =>
      (await admin.query<Record<string, string>>(`SHOW ${setting}`)).rows[0]![setting]!;
    about =
      `PostgreSQL ${await show('server_version')} (pg ${pgVersion()}), shared_buffers ${await show('shared_buffers')}, ` +
      `synchronous_commit ${await show('synchronous_commit')}`;
  } finally {
    await admin.end();
  }
  cleanups.push({
    what: `drop database ${name}`,
    run: async () => {
      const again = new pg.Client({ connectionString: DATABASE_URL });
      await again.connect();
      try {
        await again.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await again.end();
      }
    },
  });
  const url = new URL(DATABASE_URL);
  url.pathname = `/${name}`;
  return { url: url.href, about };
}

async function postgresSubject(database: { url: string; about: string }, sessions: number): Promise<Subject> {
  const schema = `scale_${sessions}`;
  // The measured store: one connection, so one backend serves every call and its CPU is ours.
  const pool = new pg.Pool({ connectionString: database.url, max: 1, idleTimeoutMillis: 0 });
  pool.on('error', () => {});
  cleanups.push({ what: 'end the PostgreSQL pool', run: () => pool.end() });
  const fillPool = new pg.Pool({ connectionString: database.url, max: PG_IN_FLIGHT });
  fillPool.on('error', () => {});
  cleanups.push({ what: 'end the PostgreSQL fill pool', run: () => fillPool.end() });
  const opened = await createPostgresStore({ pool, schema, sweepIntervalMs: 0 });
  cleanups.push({ what: 'close the PostgreSQL store', run: () => opened.close() });
  const backend = Number((await pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid);
  const table = `${schema}.cloakroom_sessions`;
  const insert = `INSERT INTO ${table} (id, user_id, created_at, last_seen_at, idle_expires_at,
      absolute_expires_at, idle_timeout_ms, remember, epoch, csrf_secret, ip, user_agent, data)
    SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[],
      $7::bigint[], $8::boolean[], $9::bigint[], $10::text[], $11::text[], $12::text[], $13::jsonb[])`;
  const insertRows = (rows: SessionRecord[]) =>
    fillPool.query(insert, [
      rows.map((r) => r.id),
      rows.map((r) => r.userId),
      rows.map((r) => r.createdAt),
      rows.map((r) => r.lastSeenAt),
      rows.map((r) => r.idleExpiresAt),
      rows.map((r) => r.absoluteExpiresAt),
      rows.map((r) => r.idleTimeoutMs),
      rows.map((r) => r.remember),
      rows.map((r) => r.epoch),
      rows.map((r) => r.csrfSecret),
      rows.map((r) => r.ip),
      rows.map((r) => r.userAgent),
      rows.map((r) => JSON.stringify(r.data)),
    ]);
  return {
    store: opened.sessions,
    version: database.about,
    async write(records) {
      const per = Math.ceil(records.length / PG_IN_FLIGHT);
      const parts: Array<Promise<unknown>> = [];
      for (let i = 0; i < records.length; i += per) parts.push(insertRows(records.slice(i, i + per)));
      await Promise.all(parts);
    },
    fillStep: {
      before() {},
      async after() {
        const started = performance.now();
        // What autovacuum would do to a table that grew this much: visibility map, hint bits, statistics.
        await fillPool.query(`VACUUM (ANALYZE) ${table}`);
        return (performance.now() - started) / 1_000;
      },
    },
    async storage(sessions) {
      const { rows } = await fillPool.query<{ total: string; heap: string; toast: string; indexes: string }>(
        `SELECT pg_total_relation_size($1) AS total, pg_relation_size($1) AS heap,
           pg_total_relation_size($1) - pg_relation_size($1) - pg_indexes_size($1) AS toast,
           pg_indexes_size($1) AS indexes`,
        [table],
      );
      const perIndex = await fillPool.query<{ name: string; bytes: string }>(
        `SELECT indexrelid::regclass::text AS name, pg_relation_size(indexrelid) AS bytes
           FROM pg_index WHERE indrelid = $1::regclass ORDER BY 1`,
        [table],
      );
      const r = rows[0]!;
      const total = Number(r.total);
      return {
        bytesPerSession: total / sessions,
        detail: `heap ${mib(Number(r.heap))} + indexes ${mib(Number(r.indexes))} (${perIndex.rows
          .map((i) => `${i.name.replace(/^.*cloakroom_sessions_?/, '') || 'pkey'} ${mib(Number(i.bytes))}`)
          .join(', ')})`,
        raw: {
          totalBytes: total,
          heapBytes: Number(r.heap),
          toastBytes: Number(r.toast),
          indexBytes: Number(r.indexes),
          perIndex: Object.fromEntries(perIndex.rows.map((i) => [i.name, Number(i.bytes)])),
        },
      };
    },
    serverCpu: () => taskCpuUs(backend),
    serverNote: 'the backend of the one pooled connection',
  };
}

/** A private redis-server per size, so each one's `used_memory` holds that size alone. */
async function redisSubject(dir: string, sessions: number): Promise<Subject> {
  if (!has('redis-server')) throw new Error('redis-server is not on PATH');
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  const [command, argv] = canPin
    ? ['taskset', ['-c', REDIS_CPU, 'redis-server', ...args]]
    : ['redis-server', args];
  const child = spawn(command, argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  // `taskset` execs redis-server, so this PID is the server's own.
  const pid = child.pid!;
  writeFileSync(join(dir, `redis-${sessions}.pid`), String(pid));
  cleanups.push({
    what: 'stop redis-server',
    run: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
      await exited;
      clearTimeout(timer);
    },
  });
  const url = `redis://127.0.0.1:${port}`;
  let client: RedisClientType | null = null;
  const until = Date.now() + 10_000;
  while (client === null) {
    if (child.exitCode !== null) throw new Error(`redis-server exited at start:\n${output}`);
    const candidate: RedisClientType = createClient({
      url,
      disableOfflineQueue: true,
      socket: { connectTimeout: 1_000, reconnectStrategy: false },
    });
    candidate.on('error', () => {});
    try {
      await candidate.connect();
      client = candidate;
    } catch (error) {
      candidate.destroy();
      if (Date.now() > until) throw new Error(`redis-server did not answer: ${String(error)}\n${output}`);
      await sleep(50);
    }
  }
  const connected = client;
  cleanups.push({ what: 'close the Redis client', run: () => connected.destroy() });
  const version = /redis_version:(\S+)/.exec(await connected.info('server'))?.[1] ?? '?';
  const listpack = await connected.configGet('hash-max-listpack-value');
  const like = connected as unknown as RedisClientLike;
  const measured = createRedisStore({ client: like });
  const filler = createRedisStore({ client: like, timeout: false });
  const usedMemory = async () => Number(/^used_memory:(\d+)/m.exec(await connected.info('memory'))?.[1]);
  const empty = await usedMemory();
  let lastId = '';
  let lastUser = '';
  return {
    store: measured.sessions,
    version: `Redis ${version} (node-redis), hash-max-listpack-value ${listpack['hash-max-listpack-value'] ?? '?'}`,
    async write(records) {
      for (let i = 0; i < records.length; i += REDIS_IN_FLIGHT) {
        await Promise.all(records.slice(i, i + REDIS_IN_FLIGHT).map((r) => filler.sessions.create(r)));
      }
      const last = records.at(-1);
      if (last) {
        lastId = last.id;
        lastUser = last.userId;
      }
    },
    async storage(sessions) {
      // Let incremental rehashing of the keyspace and expiry dictionaries settle.
      await sleep(1_000);
      const used = await usedMemory();
      const keys = await connected.dbSize();
      const sessionKey = `cloakroom:s:${lastId}`;
      const indexKey = `cloakroom:u:${lastUser}`;
      const hashBytes = (await connected.memoryUsage(sessionKey, { SAMPLES: 0 })) ?? null;
      const hashEncoding = (await connected.objectEncoding(sessionKey)) ?? null;
      const indexBytes = (await connected.memoryUsage(indexKey, { SAMPLES: 0 })) ?? null;
      const indexMembers = await connected.zCard(indexKey);
      return {
        bytesPerSession: (used - empty) / sessions,
        detail: `used_memory +${mib(used - empty)}, ${keys.toLocaleString('en')} keys; one session hash ${hashBytes} B (${hashEncoding}), one user index (${indexMembers} session${indexMembers === 1 ? '' : 's'}) ${indexBytes} B`,
        raw: {
          usedMemoryEmpty: empty,
          usedMemory: used,
          keys,
          hashBytes,
          hashEncoding,
          indexBytes,
          indexMembers,
        },
      };
    },
    serverCpu: () => taskCpuUs(pid),
    serverNote: "redis-server's main thread",
  };
}

function pgVersion(): string {
  try {
    return (
      JSON.parse(readFileSync(join(ROOT, 'node_modules/pg/package.json'), 'utf8')) as { version: string }
    ).version;
  } catch {
    return '?';
  }
}

const mib = (bytes: number) => `${(bytes / 1_048_576).toFixed(1)} MiB`;

// ---------------------------------------------------------------------------------------------
// One store through every size.

interface SizeResult {
  sessions: number;
  users: number;
  fillSeconds: number;
  upkeepSeconds: number;
  storage: { bytesPerSession: number; detail: string; raw: Record<string, unknown> };
  check: { sampled: number; equal: number };
  ops: Record<string, OpResult>;
}

interface StoreResult {
  /** The store, or a variant of it (`sqlite, read cache on`). */
  store: string;
  /** A variant's cache counters after the rounds. */
  cacheStats?: unknown;
  version: string;
  serverNote: string;
  sizes: SizeResult[];
  skipped?: string;
}

async function fill(subject: Subject, people: Population, target: number): Promise<number> {
  const started = performance.now();
  subject.fillStep?.before();
  let lastReport = performance.now();
  while (people.count < target) {
    checkDeadline();
    const now = Date.now();
    const chunk: SessionRecord[] = [];
    while (chunk.length < CHUNK && people.count < target) chunk.push(people.next(now));
    await subject.write(chunk);
    await yieldToEventLoop();
    if (performance.now() - lastReport > 10_000) {
      lastReport = performance.now();
      log(`${(people.count / 1000).toFixed(0)}k `);
    }
  }
  return (performance.now() - started) / 1_000;
}

/**
 * Reads the sampled records back with the store's `get`. The measured `touch` calls of an
 * earlier step may have moved a record's `lastSeenAt` and idle deadline forward, never back:
 * those two may be later than written, everything else must be equal.
 */
async function checkSample(
  store: SessionStore,
  people: Population,
): Promise<{ sampled: number; equal: number }> {
  let equal = 0;
  for (const record of people.sample) {
    const read = await store.get(record.id);
    if (
      read !== null &&
      read.lastSeenAt >= record.lastSeenAt &&
      read.idleExpiresAt >= record.idleExpiresAt &&
      isDeepStrictEqual(
        { ...read, lastSeenAt: 0, idleExpiresAt: 0 },
        { ...record, lastSeenAt: 0, idleExpiresAt: 0 },
      )
    ) {
      equal++;
    }
  }
  return { sampled: people.sample.length, equal };
}

/**
 * One store at every size: a separate instance per size (SQLite file, PostgreSQL schema, Redis
 * server), each filled from empty, then all measured together in the same rounds.
 */
async function runStore(name: StoreName, dir: string): Promise<StoreResult[]> {
  const mark = cleanups.length;
  try {
    const database = name === 'postgres' ? await postgresDatabase() : null;
    const filled: Array<{ subject: Subject; people: Population; partial: Omit<SizeResult, 'ops'> }> = [];
    for (const size of SIZES) {
      const subject =
        name === 'sqlite'
          ? await sqliteSubject(dir, size)
          : name === 'postgres'
            ? await postgresSubject(database!, size)
            : await redisSubject(dir, size);
      if (filled.length === 0) log(`${name}: ${subject.version}\n`);
      log(`  fill ${size.toLocaleString('en')} … `);
      const people = new Population(size);
      const fillSeconds = await fill(subject, people, size);
      const upkeepSeconds = (await subject.fillStep?.after()) ?? 0;
      log(
        `${fillSeconds.toFixed(1)} s${upkeepSeconds ? ` + VACUUM (ANALYZE) ${upkeepSeconds.toFixed(1)} s` : ''}; storage … `,
      );
      const storage = await subject.storage(size);
      const check = await checkSample(subject.store, people);
      if (check.equal !== check.sampled) {
        throw new Error(
          `${name}: ${check.sampled - check.equal} of ${check.sampled} sampled records read back differently`,
        );
      }
      log(
        `${storage.bytesPerSession.toFixed(0)} B/session, ${check.equal} sampled records read back equal\n`,
      );
      filled.push({
        subject,
        people,
        partial: { sessions: size, users: people.users, fillSeconds, upkeepSeconds, storage, check },
      });
    }
    const groups = filled.flatMap(({ subject, people }) => [
      { ops: opsFor(subject.store, people), serverCpu: subject.serverCpu },
      ...(subject.variants ?? []).map((v) => ({
        ops: opsFor(v.store, people),
        serverCpu: subject.serverCpu,
      })),
    ]);
    const perSize = groups.length / filled.length;
    log(
      `  lookups (${SIZES.map(count).join(' and ')}${perSize > 1 ? `, ${perSize} variants` : ''} in the same rounds) … `,
    );
    const measured = await measure(groups);
    log('done\n');
    const first = filled[0]!.subject;
    const labels = [name, ...(first.variants ?? []).map((v) => v.label)];
    return labels.map((label, k) => ({
      store: label,
      version: first.version,
      serverNote: first.serverNote,
      ...(k > 0 ? { cacheStats: filled.map(({ subject }) => subject.variants![k - 1]!.stats()) } : {}),
      sizes: filled.map(({ partial }, i) => ({ ...partial, ops: measured[i * perSize + k]! })),
    }));
  } finally {
    // Close this store's instances now: the next store must not share the machine with them.
    for (const step of cleanups.splice(mark).reverse()) {
      try {
        await step.run();
      } catch (error) {
        log(`clean-up: ${step.what}: ${error instanceof Error ? error.message : String(error)}\n`);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Report.

const fmt = (n: number | null | undefined, digits = 1): string =>
  n === null || n === undefined || !Number.isFinite(n) ? '–' : n.toFixed(n >= 100 ? 0 : digits);
const count = (n: number) =>
  n >= 1_000_000 && n % 1_000_000 === 0
    ? `${n / 1_000_000}M`
    : n >= 1000 && n % 1000 === 0
      ? `${n / 1000}k`
      : String(n);

function cpuCell(op: OpResult): string {
  return op.serverCpuUsPerCall === null
    ? fmt(op.cpuUsPerCall)
    : `${fmt(op.cpuUsPerCall)} + ${fmt(op.serverCpuUsPerCall)}`;
}
const totalCpu = (op: OpResult) => op.cpuUsPerCall + (op.serverCpuUsPerCall ?? 0);

interface Flatness {
  store: string;
  from: number;
  to: number;
  cpuRatio: number;
  p50Ratio: number;
  pass: boolean;
}

function flatness(results: StoreResult[]): Flatness[] {
  const out: Flatness[] = [];
  for (const r of results) {
    if (r.sizes.length < 2) continue;
    const small = r.sizes[0]!;
    const large = r.sizes.at(-1)!;
    const cpuRatio = totalCpu(large.ops.get!) / totalCpu(small.ops.get!);
    const p50Ratio = large.ops.get!.p50Us / small.ops.get!.p50Us;
    out.push({
      store: r.store,
      from: small.sessions,
      to: large.sessions,
      cpuRatio,
      p50Ratio,
      pass: cpuRatio <= FLAT && p50Ratio <= FLAT,
    });
  }
  return out;
}

function report(results: StoreResult[], flat: Flatness[]): string {
  const lines: string[] = [];
  lines.push('| store | sessions | users | fill | bytes / session | where the bytes are |');
  lines.push('| --- | --: | --: | --: | --: | --- |');
  for (const r of results.filter((r) => r.cacheStats === undefined)) {
    for (const s of r.sizes) {
      const upkeep = s.upkeepSeconds ? ` + ${s.upkeepSeconds.toFixed(0)} s VACUUM` : '';
      lines.push(
        `| ${r.store} | ${count(s.sessions)} | ${s.users.toLocaleString('en')} | ${s.fillSeconds.toFixed(0)} s${upkeep} | ${s.storage.bytesPerSession.toFixed(0)} | ${s.storage.detail} |`,
      );
    }
  }
  lines.push('');
  lines.push(
    '| store | sessions | get (hit): CPU µs/call | p50 µs | p99 µs | get (miss): CPU µs/call | p50 µs | listByUser: CPU µs/call | p50 µs | touch: CPU µs/call | p50 µs |',
  );
  lines.push('| --- | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: |');
  for (const r of results) {
    for (const s of r.sizes) {
      const { get, getMiss, listByUser, touch } = s.ops as Record<string, OpResult>;
      lines.push(
        `| ${r.store} | ${count(s.sessions)} | ${cpuCell(get!)} | ${fmt(get!.p50Us)} | ${fmt(get!.p99Us)} | ${cpuCell(getMiss!)} | ${fmt(getMiss!.p50Us)} | ${cpuCell(listByUser!)} | ${fmt(listByUser!.p50Us)} | ${cpuCell(touch!)} | ${fmt(touch!.p50Us)} |`,
      );
    }
  }
  lines.push('');
  lines.push('CPU µs/call: this process (+ the store server: PostgreSQL backend, redis-server main thread).');
  const unexpected = results.flatMap((r) =>
    r.sizes.flatMap((s) =>
      Object.entries(s.ops)
        .filter(([, o]) => o.unexpected > 0)
        .map(([op, o]) => `${r.store} ${count(s.sessions)} ${op}: ${o.unexpected} of ${o.calls}`),
    ),
  );
  for (const r of results) {
    if (!Array.isArray(r.cacheStats)) continue;
    const rates = (r.cacheStats as Array<{ hits: number; misses: number } | undefined>).map((c, i) =>
      c ? `${((100 * c.hits) / (c.hits + c.misses)).toFixed(1)} % at ${count(r.sizes[i]!.sessions)}` : '–',
    );
    lines.push(`${r.store}: its session cache answered ${rates.join(', ')} of the reads (random ids).`);
  }
  if (unexpected.length)
    lines.push(`Unexpected answers (a hit that missed, an empty list…): ${unexpected.join('; ')}`);
  if (flat.length) {
    lines.push('');
    lines.push(`Flatness of get (hit), largest size / smallest, limit ${FLAT}×:`);
    for (const f of flat) {
      lines.push(
        `  ${f.store.padEnd(22)} ${count(f.to)} / ${count(f.from)}: CPU ${f.cpuRatio.toFixed(2)}×, p50 ${f.p50Ratio.toFixed(2)}×  ${f.pass ? 'PASS' : 'FAIL'}`,
      );
    }
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  removeStaleRuns();
  const dir = mkdtempSync(join(tmpdir(), `${PREFIX}${process.pid}-`));
  tempDirs.add(dir);
  cleanups.push({ what: 'remove the temp dir', run: () => rmSync(dir, { recursive: true, force: true }) });
  const loadAtStart = loadavg();
  const pinned = pinSelf();
  if (!pinned) log('warning: not pinned (needs `taskset` and 2+ CPUs); numbers will be noisier\n');
  log(
    `cloakroom scale bench: ${STORES.join(', ')} at ${SIZES.map(count).join(', ')} sessions; ` +
      `${ROUNDS} rounds of ${ROUND_MS} ms per call; node ${process.version}, ${CPU_COUNT} CPUs, ` +
      `load ${loadAtStart.map((n) => n.toFixed(2)).join(' ')}${pinned ? `, pinned to CPU ${MEASURE_CPU}` : ''}\n`,
  );
  const results: StoreResult[] = [];
  let failed = false;
  for (const name of STORES) {
    if (stopping !== null) break;
    try {
      results.push(...(await runStore(name, dir)));
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      log(`\n${name} FAILED: ${message}\n`);
      results.push({ store: name, version: '', serverNote: '', sizes: [], skipped: message });
      failed = true;
      if (message.startsWith('time limit')) break;
    }
  }
  if (stopping !== null) return 130; // nothing half-measured is reported
  const loadAtEnd = loadavg();
  const measured = results.filter((r) => r.sizes.length > 0);
  const versions = [...new Set(measured.map((r) => r.version))];
  const flat = flatness(measured);
  const machine = `${CPU_COUNT} CPUs (${cpus()[0]?.model.trim() ?? 'unknown'}), node ${process.version}, load average ${(
    loadAtStart[0] ?? 0
  ).toFixed(2)} at start, ${(loadAtEnd[0] ?? 0).toFixed(2)} at end`;
  process.stdout.write(
    `\ncloakroom scale bench — ${startedAt.toISOString()}, ${machine}\n` +
      `${pinned ? `this process on CPU ${MEASURE_CPU}, redis-server on CPU ${REDIS_CPU}, PostgreSQL unpinned (the machine's server)` : 'unpinned'}\n` +
      `${versions.join('\n')}\n\n${report(measured, flat)}\n`,
  );
  for (const r of results) if (r.skipped) process.stdout.write(`${r.store}: FAILED: ${r.skipped}\n`);

  const outDir = join(ROOT, '.bench');
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `scale-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(
    file,
    `${JSON.stringify(
      {
        date: startedAt.toISOString(),
        durationSeconds: Math.round((Date.now() - startedAt.getTime()) / 1000),
        machine: {
          cpus: CPU_COUNT,
          model: cpus()[0]?.model.trim() ?? null,
          kernel: release(),
          node: process.version,
          loadAverageAtStart: loadAtStart,
          loadAverageAtEnd: loadAtEnd,
        },
        method: {
          pinned,
          measureCpu: MEASURE_CPU,
          redisCpu: REDIS_CPU,
          sizes: SIZES,
          rounds: ROUNDS,
          roundMs: ROUND_MS,
          warmupMs: WARMUP_MS,
          sqlitePragmas: SQLITE_PRAGMAS,
          flatLimit: FLAT,
        },
        flatness: flat,
        stores: results,
      },
      null,
      2,
    )}\n`,
  );
  process.stdout.write(`\nraw results: ${file}\n`);
  return failed ? 1 : 0;
}

running = main();
running.then(
  async (code) => {
    if (stopping !== null) return; // stop() cleans up and exits
    clearTimeout(hardStop);
    await cleanUp();
    process.exit(code as number);
  },
  async (error: unknown) => {
    if (stopping !== null) return;
    clearTimeout(hardStop);
    log(`\nbench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    await cleanUp();
    process.exit(1);
  },
);
