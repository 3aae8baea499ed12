/**
 * "The floor": the unavoidable work of validating one session, each part timed alone in this
 * process, with no HTTP, no framework and no glue. bench/http.bench.ts runs this file pinned to
 * the CPU the servers use and reads one JSON line from stdout.
 *
 * - HMAC-SHA256 of a 43-character token (`createHmac`, as the core's `nodeCrypto` does);
 * - SHA-256 of the same token (one-shot `crypto.hash` where Node has it, else `createHash`);
 * - one better-sqlite3 primary-key read of a row shaped like cloakroom's `sessions` row
 *   (11 columns, prepared once, `.raw()`) in a table of 100k rows: the same row every time
 *   ("hot", what the HTTP bench does with its one cookie) and a random row each time;
 * - with BENCH_REDIS_URL set: the client-side CPU of one node-redis `HGETALL` of a hash shaped
 *   like a cloakroom session, 32 in flight at a time (as 32 connections' requests would be),
 *   so node-redis pipelines them as it does under load. Redis's own CPU is not counted (it is
 *   another process); the event-loop wake-ups and socket reads and writes are.
 *
 * Method: every operation runs in batches of `BATCH` calls after a warm-up; one batch is timed
 * in CPU time (`process.cpuUsage()`, as the servers are) and in wall time; the result is the
 * median batch CPU time / `BATCH`, in µs.
 * Run alone: `npx tsx bench/floor.ts` (prints JSON).
 */
import * as nodeCrypto from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createClient } from 'redis';

const ROWS = 100_000;
const BATCH = 5_000;
const BATCHES = 31;
const WARMUP_MS = 300;

const { createHash, createHmac, randomBytes } = nodeCrypto;
const oneShot = (nodeCrypto as { hash?: (alg: string, data: string, enc: 'base64url') => string }).hash;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Median µs per call of `op(i)` over `BATCHES` batches of `BATCH` calls, in CPU time (user +
 * system, `process.cpuUsage`) like the servers' CPU µs/request, so time spent waiting for a
 * busy CPU is not counted. Wall time is measured too, for reference.
 */
function measure(op: (i: number) => unknown): { cpu: number; wall: number } {
  let sink: unknown;
  const until = Date.now() + WARMUP_MS;
  for (let i = 0; Date.now() < until; i++) sink = op(i);
  const cpu: number[] = [];
  const wall: number[] = [];
  let i = 0;
  for (let b = 0; b < BATCHES; b++) {
    const startWall = process.hrtime.bigint();
    const startCpu = process.cpuUsage();
    for (let n = 0; n < BATCH; n++) sink = op(i++);
    const used = process.cpuUsage(startCpu);
    wall.push(Number(process.hrtime.bigint() - startWall) / 1_000 / BATCH);
    cpu.push((used.user + used.system) / BATCH);
  }
  if (sink === Symbol.for('never')) process.stdout.write('');
  return { cpu: median(cpu), wall: median(wall) };
}

const key = randomBytes(32);
const token = randomBytes(32).toString('base64url'); // 43 characters, like a session token
const hmac = measure(() => createHmac('sha256', key).update(token).digest());
const sha256 = oneShot
  ? measure(() => oneShot('sha256', token, 'base64url'))
  : measure(() => createHash('sha256').update(token).digest('base64url'));

const dir = mkdtempSync(join(tmpdir(), 'cloakroom-floor-'));
let read: { hot: ReturnType<typeof measure>; random: ReturnType<typeof measure> };
try {
  const db = new Database(join(dir, 'floor.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(`CREATE TABLE sessions (
    id TEXT PRIMARY KEY NOT NULL, user_id TEXT NOT NULL, created_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL, idle_expires_at INTEGER NOT NULL, absolute_expires_at INTEGER NOT NULL,
    idle_timeout_ms INTEGER NOT NULL, remember INTEGER NOT NULL, csrf_secret TEXT NOT NULL,
    ip TEXT, user_agent TEXT, data TEXT NOT NULL DEFAULT '{}')`);
  const insert = db.prepare(
    `INSERT INTO sessions VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, '127.0.0.1', 'Mozilla/5.0 (X11; Linux x86_64)', '{}')`,
  );
  const ids: string[] = [];
  const now = Date.now();
  db.transaction(() => {
    for (let i = 0; i < ROWS; i++) {
      const id = createHash('sha256').update(randomBytes(32)).digest('base64url');
      ids.push(id);
      const csrf = randomBytes(32).toString('base64url');
      insert.run(id, `user-${i % 1000}`, now, now, now + 1_800_000, now + 43_200_000, 1_800_000, csrf);
    }
  })();
  const get = db
    .prepare<[string], unknown[]>(
      `SELECT user_id, created_at, last_seen_at, idle_expires_at, absolute_expires_at,
       idle_timeout_ms, remember, csrf_secret, ip, user_agent, data FROM sessions WHERE id = ?`,
    )
    .raw();
  // Random order, fixed before timing so the shuffle is not measured.
  const order = ids.map((id) => ({ id, r: Math.random() }));
  order.sort((a, b) => a.r - b.r);
  const shuffled = order.map((o) => o.id);
  const hotId = ids[ROWS >> 1]!;
  read = {
    hot: measure(() => get.get(hotId)),
    random: measure((i) => get.get(shuffled[i % ROWS]!)),
  };
  db.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}

/** The async twin of `measure`: `op` runs `IN_FLIGHT` at a time, `BATCH` calls per batch. */
const IN_FLIGHT = 32;
async function measureAsync(op: () => Promise<unknown>): Promise<{ cpu: number; wall: number }> {
  const wave = () => Promise.all(Array.from({ length: IN_FLIGHT }, op));
  const until = Date.now() + WARMUP_MS;
  while (Date.now() < until) await wave();
  const waves = Math.ceil(BATCH / IN_FLIGHT);
  const cpu: number[] = [];
  const wall: number[] = [];
  for (let b = 0; b < BATCHES; b++) {
    const startWall = process.hrtime.bigint();
    const startCpu = process.cpuUsage();
    for (let w = 0; w < waves; w++) await wave();
    const used = process.cpuUsage(startCpu);
    wall.push(Number(process.hrtime.bigint() - startWall) / 1_000 / (waves * IN_FLIGHT));
    cpu.push((used.user + used.system) / (waves * IN_FLIGHT));
  }
  return { cpu: median(cpu), wall: median(wall) };
}

let redisRead: { cpu: number; wall: number } | null = null;
const redisUrl = process.env.BENCH_REDIS_URL;
if (redisUrl) {
  const client = createClient({ url: redisUrl, disableOfflineQueue: true });
  client.on('error', () => {});
  await client.connect();
  const key = `bench-floor:s:${createHash('sha256').update(randomBytes(32)).digest('base64url')}`;
  const now = Date.now();
  // The fields of a cloakroom session hash (src/stores/redis/record.ts), a short user agent.
  await client.hSet(key, {
    uid: 'user-1',
    created: now,
    seen: now,
    idle: now + 1_800_000,
    abs: now + 43_200_000,
    idleMs: 1_800_000,
    remember: '0',
    csrf: randomBytes(32).toString('base64url'),
    ip: '127.0.0.1',
    ua: 'Mozilla/5.0 (X11; Linux x86_64)',
  });
  try {
    redisRead = await measureAsync(() => client.hGetAll(key));
  } finally {
    await client.del(key);
    await client.close();
  }
}

process.stdout.write(
  `${JSON.stringify({
    hmacSha256Us: hmac.cpu,
    sha256Us: sha256.cpu,
    sha256Api: oneShot ? 'crypto.hash' : 'createHash',
    storeReadHotUs: read.hot.cpu,
    storeReadRandomUs: read.random.cpu,
    redisReadUs: redisRead?.cpu ?? null,
    wallUs: {
      hmacSha256: hmac.wall,
      sha256: sha256.wall,
      storeReadHot: read.hot.wall,
      storeReadRandom: read.random.wall,
      redisRead: redisRead?.wall ?? null,
    },
    rows: ROWS,
    batch: BATCH,
    batches: BATCHES,
  })}\n`,
);
