/**
 * What one authenticated HTTP request costs in server CPU: cloakroom's real server (on SQLite, on
 * Redis, on Redis + PostgreSQL), the library through each of its four adapters with their defaults
 * on the memory, SQLite and Redis stores, and peers (express-session and @fastify/session on the
 * same three stores, better-auth), in ONE run, with ratios and Redis commands per request.
 *
 * Method (docs/performance.md explains why):
 * - every server is a separate Node process pinned to CPU 1 (`taskset -c 1`); the load
 *   generator (`wrk`, or autocannon if wrk is missing) and this script run on CPU 0;
 * - per target: start, sign in once to get a session cookie, check every measured route
 *   answers 200 with it, warm each route up, then ROUNDS rounds; in each round every route of
 *   the target gets one timed run in turn (bare, authenticated, …), so slow drift of a shared
 *   machine hits all routes of a round alike;
 * - around each timed run, the server's CPU time (utime + stime of /proc/PID/stat, all
 *   threads) is read, so CPU µs per request = ΔCPU / requests completed;
 * - "session cost" = CPU µs/request of the authenticated route − that of a bare route of the
 *   same server (framework overhead cancels), taken per round and then the median;
 * - "the floor" (bench/floor.ts): HMAC + SHA-256 + store read(s), timed alone on CPU 1;
 * - Redis-backed targets share ONE private `redis-server` started here on a free port
 *   (`--save '' --appendonly no`, pinned to CPU 0 with the load generator so it never takes
 *   the servers' CPU, killed at the end), prefilled with 100k cloakroom sessions. Around each
 *   timed run the bench also reads `INFO commandstats` (sum of calls, the bench's own INFO
 *   excluded), so Redis commands per request = Δcalls / requests served (completed + the one
 *   request wrk leaves in flight on each connection when it stops); after the rounds a
 *   short MONITOR sample of sequential requests tells round trips from commands (see
 *   `monitorSample`).
 *
 * Run: `npm run bench`. Knobs (env): BENCH_ROUNDS (5), BENCH_ROUND_SECONDS (3),
 * BENCH_WARMUP_SECONDS (2), BENCH_CONNECTIONS (32), BENCH_ONLY (comma-separated target ids:
 * cloakroom, cloakroom-dbsc (CLOAKROOM_DBSC=on, a bound session), cloakroom-redis, cloakroom-redis-pg (the server), cloakroom-FRAMEWORK-STORE (the
 * library through an adapter: FRAMEWORK hono, express, fastify or node; STORE memory, sqlite or
 * redis), express-session-STORE, fastify-session-STORE, better-auth, calibration), BENCH_LOAD=autocannon (force the fallback), BENCH_NO_BUILD=1 (use dist/
 * as it is). Needs `redis-server` on PATH for the Redis targets. Raw results go to
 * .bench/results-<date>.json.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes, randomUUID, sign } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, cpus, loadavg, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createClient, type RedisClientType } from 'redis';
import type { RedisClientLike } from '../packages/cloakroom/src/stores/redis/client.js';
import { createRedisStore } from '../packages/cloakroom/src/stores/redis/index.js';
import { createSqliteStore } from '../packages/cloakroom/src/stores/sqlite/index.js';
import { loadConfig } from '../packages/server/src/server/boot/config.js';
import { databasePath } from '../packages/server/src/server/boot/deps.js';
import { type PostgresDatabase, requirePostgres } from '../test/support/services.js';
import { fillerSession } from './filler.js';

/** The PostgreSQL database of the Redis + PostgreSQL target (dropped at the end). */
let postgres: PostgresDatabase | null = null;

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const envInt = (name: string, fallback: number): number => {
  const raw = process.env[name];
  const n = raw ? Number(raw) : fallback;
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got ${raw}`);
  return n;
};
const ROUNDS = envInt('BENCH_ROUNDS', 5);
const ROUND_SECONDS = envInt('BENCH_ROUND_SECONDS', 3);
const WARMUP_SECONDS = envInt('BENCH_WARMUP_SECONDS', 2);
const CONNECTIONS = envInt('BENCH_CONNECTIONS', 32);
const ONLY = (process.env.BENCH_ONLY ?? '')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
/** Sessions put in cloakroom's database before it starts, so its reads are among as many rows as the floor's. */
const PREFILL_SESSIONS = 100_000;
/** Session cost targets against the same run's one-read floor: forward auth, and the session API. */
const VERIFY_FLOOR_RATIO = 1.0;
const SESSION_API_FLOOR_RATIO = 1.5;
/** Every adapter with its defaults: session cost ≤ this × @fastify/session's on the same store. */
const ADAPTER_PEER_RATIO = 0.5;
/** Sessions put in the private Redis (cloakroom's default prefix) before the first Redis target. */
const REDIS_PREFILL_SESSIONS = 100_000;
/** Sequential requests per authenticated route watched with MONITOR to count round trips. */
const MONITOR_REQUESTS = 50;
/** µs of pure CPU work the calibration target's /spin adds per request. */
const CALIBRATION_SPIN_US = 25;
const SERVER_CPU = '1';
const LOAD_CPU = '0';

// ---------------------------------------------------------------------------------------------
// Processes: everything started here is stopped on exit, error or Ctrl-C.

const children = new Set<ChildProcess>();
const tempDirs: string[] = [];

function cleanUp(): void {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children.clear();
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}
process.on('exit', cleanUp);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    process.stderr.write(`\n${signal}: stopping servers\n`);
    cleanUp();
    process.exit(130);
  });
}

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

/** Whether a command is on PATH. */
function has(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/** Read before this script pins itself (after that, it sees only its own CPU). */
const CPU_COUNT = availableParallelism();
const canPin = has('taskset') && CPU_COUNT >= 2;
/** `[command, ...args]` prefixed with `taskset -c CPU` when pinning is possible. */
function pinned(cpu: string, command: string, args: string[]): [string, string[]] {
  // `taskset` execs its command, so the PID stays the server's own.
  return canPin ? ['taskset', ['-c', cpu, command, ...args]] : [command, args];
}

interface Started {
  child: ChildProcess;
  /** The last few KB of the server's output, for error messages. */
  output(): string;
}

function startProcess(command: string, args: string[], env: NodeJS.ProcessEnv): Started {
  const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return { child, output: () => tail };
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
  await exited;
  clearTimeout(timer);
}

/** Runs to completion; rejects with its output on a non-zero exit. */
function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString();
    });
    child.once('error', reject);
    child.once('close', (code) => {
      children.delete(child);
      if (code === 0) resolve(out);
      else reject(new Error(`${command} ${args.join(' ')} exited ${code}:\n${(err || out).slice(-2000)}`));
    });
  });
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

async function waitReady(base: string, started: Started, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (started.child.exitCode !== null) throw new Error(`server exited early:\n${started.output()}`);
    try {
      const res = await fetch(`${base}/healthz`);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  throw new Error(`server not ready after ${timeoutMs} ms:\n${started.output()}`);
}

// ---------------------------------------------------------------------------------------------
// Measuring.

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** utime + stime of a process (all its threads), in µs. */
function cpuUs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1_000_000) / CLK_TCK;
}

interface LoadResult {
  requests: number;
  seconds: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
}

const forceAutocannon = process.env.BENCH_LOAD === 'autocannon';
const useWrk = !forceAutocannon && has('wrk');

function toMs(text: string): number {
  const match = /^([\d.]+)(us|ms|s|m)$/.exec(text);
  if (!match) return Number.NaN;
  const n = Number(match[1]);
  return match[2] === 'us' ? n / 1000 : match[2] === 'ms' ? n : match[2] === 's' ? n * 1000 : n * 60_000;
}

function parseWrk(text: string): LoadResult {
  const total = /(\d+) requests in ([\d.]+)(us|ms|s|m)/.exec(text);
  const p50 = /^\s*50%\s+(\S+)/m.exec(text);
  const p99 = /^\s*99%\s+(\S+)/m.exec(text);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(text);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  if (!total || !p50 || !p99) throw new Error(`cannot read wrk output:\n${text}`);
  return {
    requests: Number(total[1]),
    seconds: toMs(`${total[2]}${total[3]}`) / 1000,
    p50Ms: toMs(p50[1]!),
    p99Ms: toMs(p99[1]!),
    non2xx: non2xx ? Number(non2xx[1]) : 0,
    errors: socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0,
  };
}

async function load(url: string, cookie: string, seconds: number): Promise<LoadResult> {
  if (useWrk) {
    const [command, args] = pinned(LOAD_CPU, 'wrk', [
      '-t1',
      `-c${CONNECTIONS}`,
      `-d${seconds}s`,
      '--latency',
      '-H',
      `Cookie: ${cookie}`,
      url,
    ]);
    return parseWrk(await run(command, args));
  }
  const options = { url, connections: CONNECTIONS, seconds, headers: { cookie } };
  const [command, args] = pinned(LOAD_CPU, process.execPath, [
    join(ROOT, 'bench/load-autocannon.mjs'),
    JSON.stringify(options),
  ]);
  return JSON.parse(await run(command, args)) as LoadResult;
}

interface Round extends LoadResult {
  rps: number;
  cpuUs: number;
  cpuUsPerRequest: number;
  /** Server CPU time / wall time of the round: near 100% when the server alone was the bottleneck. */
  cpuBusy: number;
  /** Redis targets: calls per command during the round (INFO commandstats deltas). */
  redisCalls?: Record<string, number>;
}

async function measureRound(
  pid: number,
  url: string,
  cookie: string,
  seconds: number,
  redisClient?: RedisClientType,
): Promise<Round> {
  const statsBefore = redisClient ? await commandStats(redisClient) : null;
  const before = cpuUs(pid);
  const result = await load(url, cookie, seconds);
  // Let the last in-flight requests and connection closes finish: they belong to this round.
  await sleep(50);
  const cpu = cpuUs(pid) - before;
  const statsAfter = redisClient ? await commandStats(redisClient) : null;
  return {
    ...result,
    rps: result.requests / result.seconds,
    cpuUs: cpu,
    cpuUsPerRequest: result.requests > 0 ? cpu / result.requests : Number.NaN,
    cpuBusy: cpu / (result.seconds * 1_000_000),
    ...(statsBefore && statsAfter ? { redisCalls: callsBetween(statsBefore, statsAfter) } : {}),
  };
}

function median(values: number[]): number {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

// ---------------------------------------------------------------------------------------------
// The private Redis: one `redis-server` for every Redis-backed target, started and killed here.

interface PrivateRedis {
  url: string;
  port: number;
  version: string;
  started: Started;
  /** The bench's own connection: prefill, INFO, MONITOR fences, MEMORY USAGE. */
  client: RedisClientType;
}

interface RedisPrefill {
  sessions: number;
  users: number;
  seconds: number;
  /** Growth of `used_memory` / sessions: hashes, user indexes, keyspace and expiry dictionaries. */
  usedMemoryPerSession: number;
  /** `MEMORY USAGE … SAMPLES 0` of one prefilled session hash, and its encoding. */
  hashBytes: number | null;
  hashEncoding: string | null;
}

let redis: PrivateRedis | null = null;

function redisUrl(): string {
  if (!redis) throw new Error('the private Redis is not running');
  return redis.url;
}

async function startRedis(): Promise<PrivateRedis> {
  if (!has('redis-server')) {
    throw new Error(
      'redis-server is not installed: sudo apt-get install -y redis-server (or leave the Redis targets out with BENCH_ONLY)',
    );
  }
  const port = await freePort();
  // On the load generator's CPU: Redis must not take CPU time from the server under test.
  const [command, args] = pinned(LOAD_CPU, 'redis-server', [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
  ]);
  const started = startProcess(command, args, process.env);
  const url = `redis://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (started.child.exitCode !== null)
      throw new Error(`redis-server exited at start:\n${started.output()}`);
    const client: RedisClientType = createClient({
      url,
      socket: { connectTimeout: 1_000, reconnectStrategy: false },
    });
    client.on('error', () => {});
    try {
      await client.connect();
      const info = await client.info('server');
      return { url, port, version: /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown', started, client };
    } catch (error) {
      client.destroy();
      if (Date.now() > deadline) {
        throw new Error(`redis-server on port ${port} did not answer: ${String(error)}\n${started.output()}`);
      }
      await sleep(50);
    }
  }
}

/** Calls per command since Redis started, from `INFO commandstats`; the bench's own `INFO` left out. */
async function commandStats(client: RedisClientType): Promise<Map<string, number>> {
  const text = await client.info('commandstats');
  const calls = new Map<string, number>();
  for (const match of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (match[1] !== 'info') calls.set(match[1]!, Number(match[2]));
  }
  return calls;
}

function callsBetween(before: Map<string, number>, after: Map<string, number>): Record<string, number> {
  const delta: Record<string, number> = {};
  for (const [name, calls] of after) {
    const n = calls - (before.get(name) ?? 0);
    if (n > 0) delta[name] = n;
  }
  return delta;
}

const usedMemory = async (client: RedisClientType): Promise<number> =>
  Number(/^used_memory:(\d+)/m.exec(await client.info('memory'))?.[1]);

/** A Chrome user agent (111 bytes), as in test/stores/redis-specific.test.ts and docs/scaling.md. */
const BROWSER_UA =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';

/**
 * Fills the private Redis with typical sessions of other (made-up) users through cloakroom's
 * Redis store API, under its default prefix (the server's): 1,000 users with 100 sessions each,
 * a browser user agent, an IPv4 address, two small data keys. Every Redis target shares this
 * keyspace. Returns what the sessions cost in Redis memory.
 */
async function prefillRedis(r: PrivateRedis): Promise<RedisPrefill> {
  const started = Date.now();
  // No deadline: the prefill is not a request, and a busy machine may take longer than 2 s per batch.
  const store = createRedisStore({ client: r.client as unknown as RedisClientLike, timeout: false });
  const users = Array.from({ length: 1000 }, () => randomUUID());
  const before = await usedMemory(r.client);
  const now = Date.now();
  let firstId = '';
  for (let i = 0; i < REDIS_PREFILL_SESSIONS; i += 1000) {
    const batch: Array<Promise<void>> = [];
    for (let j = i; j < Math.min(i + 1000, REDIS_PREFILL_SESSIONS); j++) {
      const record = fillerSession(users[j % users.length]!, now, {
        userAgent: BROWSER_UA,
        data: { returnTo: '/account', theme: 'dark' },
      });
      if (j === 0) firstId = record.id;
      batch.push(store.sessions.create(record));
    }
    await Promise.all(batch);
  }
  const after = await usedMemory(r.client);
  const key = `cloakroom:s:${firstId}`;
  return {
    sessions: REDIS_PREFILL_SESSIONS,
    users: users.length,
    seconds: (Date.now() - started) / 1000,
    usedMemoryPerSession: (after - before) / REDIS_PREFILL_SESSIONS,
    hashBytes: (await r.client.memoryUsage(key, { SAMPLES: 0 })) ?? null,
    hashEncoding: (await r.client.objectEncoding(key)) ?? null,
  };
}

/** What MONITOR saw during `requests` sequential requests of one route. */
interface MonitorSample {
  requests: number;
  /** Every command Redis ran, as commandstats counts them (script-internal ones included). */
  commandsPerRequest: number;
  /** Commands clients sent, a MULTI…EXEC block counting once; script-internal commands not. */
  roundTripsPerRequest: number;
  /** e.g. `HGETALL` or `GET + EXPIRE`; `×n` when a command is not sent exactly once per request. */
  clientCommands: string;
  /** Commands run inside Lua scripts (EVALSHA), per request; `none` if none. */
  scriptCommands: string;
}

function perRequest(counts: Map<string, number>, requests: number): string {
  if (counts.size === 0) return 'none';
  return [...counts]
    .map(([name, n]) =>
      n === requests ? name.toUpperCase() : `${name.toUpperCase()} ×${(n / requests).toFixed(2)}`,
    )
    .join(' + ');
}

/**
 * Round trips are not in commandstats (a script's inner commands are counted there too), so:
 * MONITOR on, `MONITOR_REQUESTS` requests one after the other (so each request's commands are
 * its own), PING fences before and after, then count. Each command a client sends is one round
 * trip; a MULTI…EXEC block is one (node-redis writes it in one go); a command MONITOR shows as
 * run by `lua` is inside a script, so it is a command but not a round trip.
 */
async function monitorSample(r: PrivateRedis, url: string, cookie: string): Promise<MonitorSample> {
  const monitor = r.client.duplicate();
  monitor.on('error', () => {});
  await monitor.connect();
  const lines: string[] = [];
  try {
    await monitor.monitor((line) => lines.push(String(line)));
    const fence = async (tag: string) => {
      await r.client.ping(tag);
      const deadline = Date.now() + 5_000;
      while (!lines.some((line) => line.includes(tag))) {
        if (Date.now() > deadline) throw new Error('MONITOR did not see its fence');
        await sleep(10);
      }
    };
    const tag = `bench-fence-${randomBytes(6).toString('hex')}`;
    await fence(`${tag}-start`);
    lines.length = 0;
    for (let i = 0; i < MONITOR_REQUESTS; i++) {
      const res = await fetch(url, { headers: { cookie } });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`GET ${url} answered ${res.status} during the MONITOR sample`);
    }
    await sleep(100);
    await fence(`${tag}-end`);
  } finally {
    monitor.destroy();
  }
  const client = new Map<string, number>();
  const script = new Map<string, number>();
  const inMulti = new Map<string, boolean>();
  let commands = 0;
  let roundTrips = 0;
  const add = (map: Map<string, number>, name: string) => map.set(name, (map.get(name) ?? 0) + 1);
  for (const line of lines) {
    // 1795484180.551952 [0 127.0.0.1:49746] "evalsha" "…" …   or   … [0 lua] "HGET" …
    const match = /^[\d.]+ \[\d+ ([^\]]+)\] "([^"]*)"(.*)$/.exec(line);
    if (!match) continue;
    const [, source, name, rest] = match as unknown as [string, string, string, string];
    const command = name.toLowerCase();
    if (command === 'ping' && rest.includes('bench-fence-')) continue;
    commands++;
    if (source === 'lua') {
      add(script, command);
      continue;
    }
    if (inMulti.get(source)) {
      if (command === 'exec' || command === 'discard') inMulti.set(source, false);
      continue;
    }
    if (command === 'multi') inMulti.set(source, true);
    roundTrips++;
    add(client, command === 'multi' ? 'multi…exec' : command);
  }
  return {
    requests: MONITOR_REQUESTS,
    commandsPerRequest: commands / MONITOR_REQUESTS,
    roundTripsPerRequest: roundTrips / MONITOR_REQUESTS,
    clientCommands: perRequest(client, MONITOR_REQUESTS),
    scriptCommands: perRequest(script, MONITOR_REQUESTS),
  };
}

// ---------------------------------------------------------------------------------------------
// Targets.

interface Route {
  path: string;
  /** The bare route: same server, no session code. */
  bare?: true;
}

interface Target {
  id: string;
  label: string;
  /** What the store is, for the table's notes. */
  store: string;
  routes: Route[];
  /** A failure prints a note and skips the target instead of failing the bench. */
  optional?: true;
  /** Uses the private Redis: needs it started, and its commands are counted. */
  redis?: true;
  start(port: number, dir: string): Started;
  /** Signs in once; returns the Cookie header value. */
  signIn(base: string): Promise<string>;
  /** Work before the server starts (e.g. filling its database). */
  prepare?(dir: string): Promise<string | undefined>;
  note?: string;
}

const SECRET = randomBytes(32).toString('base64url');
const ADMIN = { username: 'bench', password: 'correct horse battery staple 42' };

function cookieHeader(res: Response): string {
  const pairs = res.headers
    .getSetCookie()
    .map((c) => c.slice(0, c.indexOf(';') === -1 ? undefined : c.indexOf(';')));
  if (pairs.length === 0) throw new Error(`sign-in answered ${res.status} without a cookie`);
  return pairs.join('; ');
}

/**
 * Signs in and registers a device key as a DBSC browser would (CLOAKROOM_DBSC=on): the answer to
 * the sign-in offers registration, a node:crypto P-256 key signs its challenge. Returns the session
 * cookie and the bound cookie (10 minutes: longer than the target's rounds).
 */
async function signInBound(base: string): Promise<string> {
  const res = await postJson(`${base}/api/login`, ADMIN);
  const session = cookieHeader(res);
  const offer = /path="([^"]+)";challenge="([^"]+)"/.exec(
    res.headers.get('secure-session-registration') ?? '',
  );
  if (!offer) throw new Error('CLOAKROOM_DBSC=on, but the sign-in offered no registration');
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const input = `${enc({ typ: 'dbsc+jwt', alg: 'ES256', jwk: publicKey.export({ format: 'jwk' }) })}.${enc({ jti: offer[2] })}`;
  const signature = sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' });
  const registered = await fetch(`${base}${offer[1]}`, {
    method: 'POST',
    headers: { cookie: session, 'secure-session-response': `"${input}.${signature.toString('base64url')}"` },
  });
  if (registered.status !== 200) throw new Error(`DBSC registration answered ${registered.status}`);
  return `${session}; ${cookieHeader(registered)}`;
}

async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  if (res.status !== 200) throw new Error(`POST ${url} answered ${res.status}: ${await res.text()}`);
  return res;
}

function nodeServer(file: string, port: number, env: Record<string, string>): Started {
  const [command, args] = pinned(SERVER_CPU, process.execPath, [join(ROOT, file)]);
  return startProcess(command, args, {
    ...process.env,
    NODE_ENV: 'production',
    PORT: String(port),
    ...env,
  });
}

function cloakroomEnv(port: number, dir: string): Record<string, string> {
  return {
    NODE_ENV: 'production',
    PORT: String(port),
    HOST: '127.0.0.1',
    CLOAKROOM_DATA_DIR: dir,
    CLOAKROOM_SECRETS: SECRET,
    LOG_LEVEL: 'warn',
    CLOAKROOM_ADMIN_USER: ADMIN.username,
    CLOAKROOM_ADMIN_PASSWORD: ADMIN.password,
  };
}

/** Fills cloakroom's database with sessions of other (made-up) users through the store API. */
async function prefillCloakroom(dir: string): Promise<string> {
  const config = loadConfig(cloakroomEnv(0, dir));
  const store = createSqliteStore({ path: databasePath(config), sweepIntervalMs: 0 });
  const now = Date.now();
  store.database.exec('BEGIN');
  for (let i = 0; i < PREFILL_SESSIONS; i++) {
    await store.sessions.create(
      fillerSession(`filler-${i % 1000}`, now, {
        ip: '127.0.0.1',
        userAgent: 'Mozilla/5.0 (X11; Linux x86_64)',
      }),
    );
  }
  store.database.exec('COMMIT');
  await store.close();
  return `${PREFILL_SESSIONS.toLocaleString('en')} other sessions in its table`;
}

/** The version of an installed package, for the notes. */
function versionOf(name: string): string {
  try {
    return (
      JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as {
        version: string;
      }
    ).version;
  } catch {
    return '?';
  }
}

/** Resolves once the server's stores answer (`/readyz`): the Redis client connects after listen. */
async function waitStoresReady(base: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(`${base}/readyz`);
    await res.arrayBuffer();
    if (res.status === 200) return;
    if (Date.now() > deadline) throw new Error(`/readyz still answers ${res.status} after ${timeoutMs} ms`);
    await sleep(50);
  }
}

const STORES = ['memory', 'sqlite', 'redis'] as const;
const FRAMEWORKS = ['hono', 'express', 'fastify', 'node'] as const;
const PEER_ROUTES: Route[] = [{ path: '/healthz', bare: true }, { path: '/api/me' }];
const signInPeer = async (base: string) => cookieHeader(await postJson(`${base}/api/login`, {}));

/** cloakroom through each adapter with its defaults, on each store: what a library user runs. */
function adapterTargets(): Target[] {
  return FRAMEWORKS.flatMap((framework) =>
    STORES.map(
      (store): Target => ({
        id: `cloakroom-${framework}-${store}`,
        label: `cloakroom/${framework}`,
        store: {
          memory: 'cloakroom/memory',
          sqlite: 'cloakroom/sqlite',
          redis: 'cloakroom/redis; users SQLite',
        }[store],
        routes: PEER_ROUTES,
        ...(store === 'redis' ? { redis: true as const } : {}),
        start: (port, dir) =>
          nodeServer('bench/servers/cloakroom-adapter.mjs', port, {
            BENCH_FRAMEWORK: framework,
            BENCH_STORE: store,
            BENCH_DATA_DIR: dir,
            BENCH_SECRET: SECRET,
            ...(store === 'redis' ? { REDIS_URL: redisUrl() } : {}),
          }),
        signIn: signInPeer,
      }),
    ),
  );
}

const SQLITE_SESSION_STORE = 'better-sqlite3-session-store';
const redisSessionStore = () => `connect-redis ${versionOf('connect-redis')}`;

/** express-session on each store (options as usually deployed: see bench/servers/express.mjs). */
function expressSessionTargets(): Target[] {
  return STORES.map(
    (store): Target => ({
      id: `express-session-${store}`,
      label: 'express-session',
      store: { memory: 'MemoryStore', sqlite: SQLITE_SESSION_STORE, redis: redisSessionStore() }[store],
      routes: PEER_ROUTES,
      ...(store === 'redis' ? { redis: true as const } : {}),
      start: (port, dir) =>
        nodeServer('bench/servers/express.mjs', port, {
          BENCH_STORE: store,
          BENCH_DATA_DIR: dir,
          ...(store === 'redis' ? { REDIS_URL: redisUrl() } : {}),
        }),
      signIn: signInPeer,
    }),
  );
}

/** @fastify/session on each store (its defaults: see bench/servers/fastify.mjs). */
function fastifySessionTargets(): Target[] {
  return STORES.map(
    (store): Target => ({
      id: `fastify-session-${store}`,
      label: '@fastify/session',
      store: { memory: 'default in-memory store', sqlite: SQLITE_SESSION_STORE, redis: redisSessionStore() }[
        store
      ],
      routes: PEER_ROUTES,
      ...(store === 'redis' ? { redis: true as const } : {}),
      start: (port, dir) =>
        nodeServer('bench/servers/fastify.mjs', port, {
          BENCH_STORE: store,
          BENCH_DATA_DIR: dir,
          ...(store === 'redis' ? { REDIS_URL: redisUrl() } : {}),
        }),
      signIn: signInPeer,
    }),
  );
}

/** cloakroom's server (`serve`), pinned to the server CPU, with the bench's environment and `extra`. */
function startServer(port: number, dir: string, extra: Record<string, string> = {}): Started {
  const [command, args] = pinned(SERVER_CPU, process.execPath, [
    join(ROOT, 'packages/server/dist/cli/main.js'),
    'serve',
  ]);
  return startProcess(command, args, { ...process.env, ...cloakroomEnv(port, dir), ...extra });
}

const TARGETS: Target[] = [
  {
    id: 'cloakroom',
    label: 'cloakroom server',
    store: 'SQLite (better-sqlite3), 100k sessions',
    routes: [{ path: '/healthz', bare: true }, { path: '/auth/verify' }, { path: '/api/session' }],
    note: 'bare route = GET /healthz (registered before the session middleware; the server has no other bare route)',
    prepare: prefillCloakroom,
    start: (port, dir) => startServer(port, dir),
    async signIn(base) {
      return cookieHeader(await postJson(`${base}/api/login`, ADMIN));
    },
  },
  {
    id: 'cloakroom-dbsc',
    label: 'cloakroom server, device-bound',
    store: 'SQLite (better-sqlite3), 100k sessions; CLOAKROOM_DBSC=on, a registered key',
    routes: [{ path: '/healthz', bare: true }, { path: '/auth/verify' }, { path: '/api/session' }],
    note: 'a bound session: every request also checks the bound cookie (one more cookie lookup and HMAC)',
    prepare: prefillCloakroom,
    start: (port, dir) => startServer(port, dir, { CLOAKROOM_DBSC: 'on' }),
    signIn: signInBound,
  },
  {
    id: 'cloakroom-redis',
    label: 'cloakroom server (Redis)',
    store: 'Redis, 100k sessions; users SQLite',
    routes: [{ path: '/healthz', bare: true }, { path: '/auth/verify' }, { path: '/api/session' }],
    redis: true,
    note:
      'the same server with REDIS_URL set: sessions and sign-in counters in the private Redis (prefix ' +
      '`cloakroom:`), users in SQLite; bare route = GET /healthz',
    start: (port, dir) => startServer(port, dir, { REDIS_URL: redisUrl() }),
    async signIn(base) {
      await waitStoresReady(base);
      return cookieHeader(await postJson(`${base}/api/login`, ADMIN));
    },
  },
  {
    id: 'cloakroom-redis-pg',
    label: 'cloakroom server (Redis + PostgreSQL)',
    store: 'Redis, 100k sessions; users PostgreSQL',
    routes: [{ path: '/healthz', bare: true }, { path: '/auth/verify' }, { path: '/api/session' }],
    redis: true,
    note:
      'the same server with REDIS_URL and DATABASE_URL set (a fresh PostgreSQL database, dropped at the end): ' +
      'sessions in the private Redis, users in PostgreSQL, as an app that outgrew one machine runs it',
    async prepare() {
      postgres = await requirePostgres(process.env.DATABASE_URL);
      return `users in PostgreSQL database ${postgres.name}`;
    },
    start(port, dir) {
      if (!postgres) throw new Error('the PostgreSQL database was not created');
      return startServer(port, dir, { REDIS_URL: redisUrl(), DATABASE_URL: postgres.url });
    },
    async signIn(base) {
      await waitStoresReady(base);
      return cookieHeader(await postJson(`${base}/api/login`, ADMIN));
    },
  },
  ...adapterTargets(),
  ...expressSessionTargets(),
  ...fastifySessionTargets(),
  {
    id: 'calibration',
    label: 'calibration (no session)',
    store: 'none: node:http, 25 µs busy-wait',
    routes: [{ path: '/healthz', bare: true }, { path: '/spin' }],
    note:
      'not a peer: a plain node:http server whose GET /spin busy-waits 25 µs of CPU before answering the ' +
      "bare route's bytes; its session cost shows what 25 µs of added work measures as with this method " +
      '(on loopback the kernel delivery of each response to wrk, charged to the server, grows when the ' +
      'server is slower), so read every session cost above against it',
    start: (port) =>
      nodeServer('bench/servers/calibration.mjs', port, { BENCH_SPIN_US: String(CALIBRATION_SPIN_US) }),
    signIn: async () => 'none=1',
  },
  {
    id: 'better-auth',
    label: 'better-auth',
    store: 'SQLite (better-sqlite3 via Kysely)',
    routes: [{ path: '/healthz', bare: true }, { path: '/api/me' }],
    optional: true,
    start: (port, dir) =>
      nodeServer('bench/servers/better-auth.mjs', port, {
        BENCH_DATA_DIR: dir,
        BETTER_AUTH_TELEMETRY: '0',
      }),
    signIn: async (base) =>
      cookieHeader(
        await postJson(
          `${base}/api/auth/sign-in/email`,
          {
            email: 'bench@example.com',
            password: 'bench-password-1234',
          },
          // better-auth refuses a sign-in without Origin (its CSRF check); a browser sends it.
          { Origin: base },
        ),
      ),
  },
];

interface RouteResult {
  path: string;
  bare: boolean;
  rounds: Round[];
  rps: number;
  p50Ms: number;
  p99Ms: number;
  cpuUsPerRequest: number;
  cpuUsPerRequestMin: number;
  cpuUsPerRequestMax: number;
  cpuBusy: number;
  /** Median over rounds of (this route − bare route) CPU µs/request; null for the bare route. */
  sessionCostUs: number | null;
  /** Redis targets only. */
  redis: RouteRedis | null;
}

interface RouteRedis {
  /** All Redis commands of all rounds / all requests of all rounds (INFO commandstats). */
  commandsPerRequest: number;
  /** The same, per command. */
  byCommand: Record<string, number>;
  /** Calls per command over all rounds, and the requests they served. */
  calls: Record<string, number>;
  /** Requests served: completed + the one left in flight on each connection at the end of each round. */
  requests: number;
  /** Requests the load generator counted as completed. */
  completed: number;
  /** Authenticated routes: the MONITOR sample after the rounds. */
  sample: MonitorSample | null;
}

interface TargetResult {
  id: string;
  label: string;
  store: string;
  note?: string;
  prepared?: string;
  routes: RouteResult[];
  skipped?: string;
}

/**
 * Redis commands per request over all rounds. The load generator stops with one request in flight
 * on each of its connections; it does not count them, but the server still serves them (their
 * Redis commands run, and land in the round's INFO delta, taken 50 ms later). So the requests a
 * round served = completed + CONNECTIONS. (The CPU µs/request columns keep the plain
 * "completed" denominator of the existing method: those 32 requests are ~0.3% of a round.)
 */
function redisOfRoute(rounds: Round[], sample: MonitorSample | null): RouteRedis {
  const completed = rounds.reduce((n, r) => n + r.requests, 0);
  const requests = completed + rounds.length * CONNECTIONS;
  const calls: Record<string, number> = {};
  for (const round of rounds) {
    for (const [name, n] of Object.entries(round.redisCalls ?? {})) calls[name] = (calls[name] ?? 0) + n;
  }
  const total = Object.values(calls).reduce((a, b) => a + b, 0);
  const byCommand: Record<string, number> = {};
  for (const [name, n] of Object.entries(calls).sort((a, b) => b[1] - a[1])) byCommand[name] = n / requests;
  return {
    commandsPerRequest: requests > 0 ? total / requests : Number.NaN,
    byCommand,
    calls,
    requests,
    completed,
    sample,
  };
}

async function benchTarget(target: Target): Promise<TargetResult> {
  const dir = tempDir(`cloakroom-bench-${target.id}-`);
  const prepared = target.prepare ? await target.prepare(dir) : undefined;
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const started = target.start(port, dir);
  const pid = started.child.pid;
  if (pid === undefined) throw new Error('the server did not start');
  const redisClient = target.redis ? redis?.client : undefined;
  if (target.redis && !redisClient) throw new Error('the private Redis is not running');
  try {
    await waitReady(base, started);
    const cookie = await target.signIn(base);
    // Never measure 401s: every route must answer 200 with this cookie before timing starts.
    for (const route of target.routes) {
      const res = await fetch(`${base}${route.path}`, { headers: { cookie } });
      await res.arrayBuffer();
      if (res.status !== 200)
        throw new Error(`GET ${route.path} with the session cookie answered ${res.status}`);
    }
    for (const route of target.routes) await load(`${base}${route.path}`, cookie, WARMUP_SECONDS);
    // As after a timed run: the warm-up's last in-flight requests must not land in the first round.
    await sleep(50);
    const rounds = new Map<string, Round[]>(target.routes.map((r) => [r.path, []]));
    for (let i = 0; i < ROUNDS; i++) {
      for (const route of target.routes) {
        const round = await measureRound(pid, `${base}${route.path}`, cookie, ROUND_SECONDS, redisClient);
        if (round.non2xx > 0) {
          throw new Error(`GET ${route.path}: ${round.non2xx} answers were not 2xx/3xx during a round`);
        }
        rounds.get(route.path)!.push(round);
      }
      process.stderr.write('.');
    }
    const samples = new Map<string, MonitorSample>();
    if (redis && target.redis) {
      for (const route of target.routes) {
        if (!route.bare) samples.set(route.path, await monitorSample(redis, `${base}${route.path}`, cookie));
      }
    }
    const bare = rounds.get(target.routes.find((r) => r.bare)!.path)!;
    const routes = target.routes.map((route): RouteResult => {
      const list = rounds.get(route.path)!;
      const perRequest = list.map((r) => r.cpuUsPerRequest);
      return {
        path: route.path,
        bare: route.bare === true,
        rounds: list,
        rps: median(list.map((r) => r.rps)),
        p50Ms: median(list.map((r) => r.p50Ms)),
        p99Ms: median(list.map((r) => r.p99Ms)),
        cpuUsPerRequest: median(perRequest),
        cpuUsPerRequestMin: Math.min(...perRequest),
        cpuUsPerRequestMax: Math.max(...perRequest),
        cpuBusy: median(list.map((r) => r.cpuBusy)),
        sessionCostUs: route.bare
          ? null
          : median(list.map((r, i) => r.cpuUsPerRequest - bare[i]!.cpuUsPerRequest)),
        redis: target.redis ? redisOfRoute(list, samples.get(route.path) ?? null) : null,
      };
    });
    const socketErrors = routes.reduce((n, r) => n + r.rounds.reduce((m, x) => m + x.errors, 0), 0);
    if (socketErrors > 0)
      process.stderr.write(` (${socketErrors} socket errors reported by the load generator)`);
    return {
      id: target.id,
      label: target.label,
      store: target.store,
      ...(target.note ? { note: target.note } : {}),
      ...(prepared ? { prepared } : {}),
      routes,
    };
  } finally {
    await stopProcess(started.child);
  }
}

// ---------------------------------------------------------------------------------------------
// Output.

interface Floor {
  hmacSha256Us: number;
  sha256Us: number;
  sha256Api: string;
  storeReadHotUs: number;
  storeReadRandomUs: number;
  /** node-redis HGETALL, client CPU, 32 in flight; null without the private Redis. */
  redisReadUs?: number | null;
  wallUs?: Record<string, number | null>;
  rows: number;
  batch: number;
  batches: number;
}

const f1 = (n: number | null | undefined): string => (n == null || !Number.isFinite(n) ? '—' : n.toFixed(1));
const f2 = (n: number): string => (Number.isFinite(n) ? n.toFixed(2) : '—');
const f3 = (n: number): string => (Number.isFinite(n) ? n.toFixed(3) : '—');
const ms = (n: number): string => (Number.isFinite(n) ? `${n < 10 ? n.toFixed(2) : n.toFixed(1)} ms` : '—');

function table(header: string[], rows: string[][], right: boolean[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (right[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

const floorLine = (label: string, us: number, note = ''): string =>
  `  ${label.padEnd(46)}${f2(us).padStart(7)} µs${note ? `   ${note}` : ''}`;

interface RedisReport {
  version: string;
  port: number;
  prefill: RedisPrefill | null;
  /** `MEMORY USAGE … SAMPLES 0` of the session key each Redis target's one sign-in left. */
  signedInKeys: Record<string, { key: string; bytes: number | null; encoding: string | null }>;
}

/** Round trips per request for the table: the MONITOR sample, or 0 when no command was sent at all. */
function roundTripsCell(r: RouteResult): string {
  if (!r.redis) return '—';
  if (r.redis.sample) return f2(r.redis.sample.roundTripsPerRequest);
  return r.redis.commandsPerRequest === 0 ? '0' : '—';
}

/**
 * The targets, each against figures of this run: the server's session cost against the one-read
 * floor (HMAC + SHA-256 + one SQLite read), and each adapter with its defaults against
 * @fastify/session on the same store.
 */
function targetVerdicts(results: TargetResult[], floor: Floor | null): string[] {
  const out: string[] = [];
  const cost = (id: string, path: string): number | null =>
    results.find((t) => t.id === id && !t.skipped)?.routes.find((r) => r.path === path)?.sessionCostUs ??
    null;
  const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');
  if (floor) {
    const floor1 = floor.hmacSha256Us + floor.sha256Us + floor.storeReadHotUs;
    out.push(
      `Targets: the server's session cost ≤ ${VERIFY_FLOOR_RATIO}x the one-read floor (${f2(floor1)} µs) on ` +
        `/auth/verify, ≤ ${SESSION_API_FLOOR_RATIO}x on /api/session:`,
    );
    for (const id of ['cloakroom', 'cloakroom-redis', 'cloakroom-redis-pg']) {
      for (const [path, limit] of [
        ['/auth/verify', VERIFY_FLOOR_RATIO],
        ['/api/session', SESSION_API_FLOOR_RATIO],
      ] as const) {
        const us = cost(id, path);
        if (us == null) continue;
        const ratio = us / floor1;
        out.push(
          `  ${`${id} GET ${path}`.padEnd(40)} ${f1(us).padStart(6)} µs = ${ratio.toFixed(2)}x the floor ` +
            verdict(ratio <= limit),
        );
      }
    }
  }
  const plain = cost('cloakroom', '/api/session');
  const bound = cost('cloakroom-dbsc', '/api/session');
  if (plain != null && bound != null) {
    out.push(
      '',
      'Device-bound sessions (CLOAKROOM_DBSC=on) on GET /api/session: ' +
        `${f1(bound)} µs for a bound session vs ${f1(plain)} µs with DBSC off (${bound - plain >= 0 ? '+' : ''}${f1(bound - plain)} µs)`,
    );
  }
  const adapterRows: string[] = [];
  for (const framework of FRAMEWORKS) {
    for (const store of STORES) {
      const ours = cost(`cloakroom-${framework}-${store}`, '/api/me');
      const peer = cost(`fastify-session-${store}`, '/api/me');
      if (ours == null || peer == null) continue;
      const ratio = ours / peer;
      adapterRows.push(
        `  ${`cloakroom/${framework} on ${store}`.padEnd(40)} ${f1(ours).padStart(6)} µs vs ${f1(peer).padStart(6)} µs` +
          ` = ${ratio.toFixed(2)}x ${verdict(ratio <= ADAPTER_PEER_RATIO)}`,
      );
    }
  }
  if (adapterRows.length > 0) {
    out.push(
      '',
      `Targets: every adapter with its defaults ≤ ${ADAPTER_PEER_RATIO}x @fastify/session's session cost on the ` +
        'same store (GET /api/me, user read included for cloakroom, none for the peer):',
      ...adapterRows,
    );
  }
  return out;
}

function report(results: TargetResult[], floor: Floor | null, redisReport: RedisReport | null): string {
  const out: string[] = [];
  const reference = results
    .find((t) => t.id === 'cloakroom')
    ?.routes.find((r) => r.path === '/api/session')?.sessionCostUs;
  const rows: string[][] = [];
  for (const t of results) {
    if (t.skipped) {
      rows.push([
        t.label,
        t.store,
        `skipped: ${t.skipped.split('\n')[0]}`,
        '',
        '',
        '',
        '',
        '',
        '',
        '',
        '',
        '',
      ]);
      continue;
    }
    for (const r of t.routes) {
      const ratio =
        r.sessionCostUs != null && reference != null && reference > 0
          ? `${(r.sessionCostUs / reference).toFixed(2)}x`
          : '—';
      rows.push([
        t.label,
        t.store,
        `GET ${r.path}${r.bare ? ' (bare)' : ''}`,
        Math.round(r.rps).toLocaleString('en'),
        `${Math.round(r.cpuBusy * 100)}%`,
        ms(r.p50Ms),
        ms(r.p99Ms),
        `${f1(r.cpuUsPerRequest)} (${f1(r.cpuUsPerRequestMin)}–${f1(r.cpuUsPerRequestMax)})`,
        f1(r.sessionCostUs),
        r.bare ? '' : ratio,
        r.redis ? f3(r.redis.commandsPerRequest) : '—',
        roundTripsCell(r),
      ]);
    }
  }
  out.push(
    table(
      [
        'target',
        'store',
        'route',
        'req/s',
        'server CPU',
        'p50',
        'p99',
        'CPU µs/req (min–max)',
        'session cost µs',
        'vs cloakroom',
        'Redis cmds/req',
        'round trips/req',
      ],
      rows,
      [false, false, false, true, true, true, true, true, true, true, true, true],
    ),
  );
  out.push(
    '',
    `medians of ${ROUNDS} rounds × ${ROUND_SECONDS} s, ${CONNECTIONS} keep-alive connections; ` +
      'session cost = auth route − bare route of the same server, per round, median;',
    '"vs cloakroom" = session cost / cloakroom GET /api/session session cost (higher = more CPU than cloakroom);',
    '"server CPU" = server CPU time / wall time: well under 100% means the server was not the only bottleneck',
    '(another process on its CPU, or a starved load generator), and CPU µs/req is then inflated.',
  );
  for (const t of results) if (t.note) out.push(`${t.label}: ${t.note}.`);
  for (const t of results) if (t.prepared) out.push(`${t.label}: ${t.prepared}.`);

  const redisTargets = results.filter((t) => !t.skipped && t.routes.some((r) => r.redis));
  if (redisReport && redisTargets.length > 0) {
    const p = redisReport.prefill;
    out.push(
      '',
      `Redis ${redisReport.version}: one private redis-server for all Redis targets (port ${redisReport.port}, ` +
        `--save '' --appendonly no, pinned to CPU ${LOAD_CPU} with the load generator).`,
    );
    if (p) {
      out.push(
        `  prefilled through the cloakroom/redis store API: ${p.sessions.toLocaleString('en')} sessions of ` +
          `${p.users.toLocaleString('en')} users under \`cloakroom:\` (browser user agent, IPv4, 2 data keys) in ` +
          `${p.seconds.toFixed(1)} s; every Redis target shares this keyspace.`,
        `  memory: ${Math.round(p.usedMemoryPerSession).toLocaleString('en')} B of used_memory per session ` +
          `(hash + user index + keyspace/expiry dicts); one session hash ${p.hashBytes ?? '?'} B ` +
          `(MEMORY USAGE, encoding ${p.hashEncoding ?? '?'}).`,
      );
    }
    for (const [label, k] of Object.entries(redisReport.signedInKeys)) {
      out.push(
        `  ${label}: the bench's own signed-in session key ${k.bytes ?? '?'} B (${k.encoding ?? '?'}; ` +
          "its user agent is the short one of Node's fetch).",
      );
    }
    out.push(
      '  "Redis cmds/req" = Δ INFO commandstats calls over all rounds (every command Redis ran, those inside a',
      "  Lua script included; the bench's own INFO excluded) / requests served; requests served = completed +",
      `  the ${CONNECTIONS} requests wrk leaves in flight when it stops a round (the server still serves them).`,
      `  "round trips/req" = MONITOR during ${MONITOR_REQUESTS} sequential requests after the rounds: each command a ` +
        'client sends is one round trip, a MULTI…EXEC block is one, commands run inside a script (EVALSHA) are not.',
    );
    for (const t of redisTargets) {
      for (const r of t.routes) {
        if (!r.redis || r.bare) continue;
        const rounds = Object.entries(r.redis.byCommand)
          .map(
            ([name, n]) =>
              `${name.toUpperCase()} ${n.toFixed(n >= 0.01 ? 3 : 6)} (${r.redis!.calls[name]} calls)`,
          )
          .join(' + ');
        const s = r.redis.sample;
        out.push(
          `  ${t.label} GET ${r.path}: rounds ${rounds || 'none'} over ${r.redis.requests.toLocaleString('en')} ` +
            `requests (${r.redis.completed.toLocaleString('en')} completed)` +
            (s
              ? `; sample: sent ${s.clientCommands}, inside scripts ${s.scriptCommands}` +
                ` = ${f2(s.commandsPerRequest)} commands, ${f2(s.roundTripsPerRequest)} round trips per request`
              : ''),
        );
      }
    }
  }

  if (floor) {
    const floor1 = floor.hmacSha256Us + floor.sha256Us + floor.storeReadHotUs;
    const floor2 = floor1 + floor.storeReadHotUs;
    out.push(
      '',
      `The floor (in-process on CPU ${SERVER_CPU}, median of ${floor.batches} batches × ${floor.batch} calls):`,
      floorLine('HMAC-SHA256 of 43 chars (createHmac)', floor.hmacSha256Us),
      floorLine(`SHA-256 of 43 chars (${floor.sha256Api})`, floor.sha256Us),
      floorLine(
        `SQLite PK read, ${floor.rows / 1000}k rows, same row (.raw())`,
        floor.storeReadHotUs,
        `(a random row each call: ${f2(floor.storeReadRandomUs)} µs)`,
      ),
      floorLine('floor, 1 read  = HMAC + SHA-256 + 1 read', floor1, '(a session check alone)'),
      floorLine(
        'floor, 2 reads = HMAC + SHA-256 + 2 reads',
        floor2,
        '<- applies to cloakroom: every session request also reads the user row' +
          ' (roles/lock apply on the very next request)',
      ),
    );
    if (floor.redisReadUs != null) {
      out.push(
        floorLine(
          'node-redis HGETALL, 32 in flight (client CPU)',
          floor.redisReadUs,
          "(Redis's own CPU not counted: another process, on CPU 0)",
        ),
        floorLine(
          'floor, Redis = HMAC + SHA-256 + HGETALL + 1 read',
          floor.hmacSha256Us + floor.sha256Us + floor.redisReadUs + floor.storeReadHotUs,
          '<- applies to cloakroom on Redis: session from Redis, user row from SQLite',
        ),
      );
    }
  }

  out.push('', ...targetVerdicts(results, floor));
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Main.

async function main(): Promise<number> {
  const startedAt = new Date();
  const loadAtStart = loadavg();
  if (canPin) {
    // This script only waits on children; keep it off the servers' CPU too.
    spawnSync('taskset', ['-a', '-p', '-c', LOAD_CPU, String(process.pid)], { stdio: 'ignore' });
  } else {
    process.stderr.write(
      'warning: cannot pin (needs `taskset` and 2+ CPUs); numbers will be noisier and include load-generator contention\n',
    );
  }
  if (!useWrk) {
    process.stderr.write(
      forceAutocannon
        ? 'load generator: autocannon (BENCH_LOAD=autocannon)\n'
        : 'wrk is not installed: falling back to autocannon (more client overhead on CPU 0).\n' +
            '  Install wrk for the reference numbers: sudo apt-get install -y wrk\n',
    );
  }
  const targets = TARGETS.filter((t) => ONLY.length === 0 || ONLY.includes(t.id));
  const perTarget = targets.map((t) => t.routes.length * (WARMUP_SECONDS + ROUNDS * ROUND_SECONDS));
  const usesRedis = targets.some((t) => t.redis);
  const estimate = perTarget.reduce((a, b) => a + b, 0) + 25 + (usesRedis ? 20 : 0);
  process.stderr.write(
    `cloakroom HTTP bench: ${targets.map((t) => t.id).join(', ')}; about ${Math.ceil(estimate / 10) * 10} s\n` +
      `node ${process.version}, ${CPU_COUNT} CPUs, load average ${loadAtStart
        .map((n) => n.toFixed(2))
        .join(' ')}, load generator ${useWrk ? 'wrk' : 'autocannon'}\n`,
  );

  if (process.env.BENCH_NO_BUILD) {
    process.stderr.write('BENCH_NO_BUILD: using dist/ as it is\n');
  } else {
    process.stderr.write('build (npm run build) … ');
    await run('npm', ['run', 'build', '--silent']).catch((error: unknown) => {
      throw new Error(
        `npm run build failed, so dist/ would not be the code in src/ (BENCH_NO_BUILD=1 measures dist/ as it is):\n${
          error instanceof Error ? error.message : String(error)
        }`,
      );
    });
    process.stderr.write('done\n');
  }
  let prefill: RedisPrefill | null = null;
  if (usesRedis) {
    process.stderr.write('private redis-server … ');
    redis = await startRedis();
    process.stderr.write(`${redis.version} on port ${redis.port}; prefill … `);
    prefill = await prefillRedis(redis);
    process.stderr.write('done\n');
  }

  process.stderr.write('the floor … ');
  const [floorCommand, floorArgs] = pinned(SERVER_CPU, process.execPath, [
    '--import',
    'tsx',
    join(ROOT, 'bench/floor.ts'),
  ]);
  const floorEnv = redis ? { ...process.env, BENCH_REDIS_URL: redis.url } : process.env;
  const floor = JSON.parse(await run(floorCommand, floorArgs, floorEnv)) as Floor;
  process.stderr.write('done\n');

  const results: TargetResult[] = [];
  let failed = false;
  for (const target of targets) {
    process.stderr.write(`${target.id} `);
    try {
      results.push(await benchTarget(target));
      process.stderr.write(' done\n');
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      process.stderr.write(` ${target.optional ? 'skipped' : 'FAILED'}: ${message}\n`);
      results.push({ id: target.id, label: target.label, store: target.store, routes: [], skipped: message });
      if (!target.optional) failed = true;
    }
  }

  let redisReport: RedisReport | null = null;
  if (redis) {
    const signedInKeys: RedisReport['signedInKeys'] = {};
    const sessionKeys = [
      ['express-session + connect-redis', 'bench-express:*'],
      ['@fastify/session + connect-redis', 'bench-fastify-session:*'],
      ...FRAMEWORKS.map((f) => [`cloakroom/${f}`, `bench-cr-${f}:s:*`] as const),
    ] as const;
    for (const [label, pattern] of sessionKeys) {
      for await (const keys of redis.client.scanIterator({ MATCH: pattern, COUNT: 10_000 })) {
        for (const key of keys) {
          signedInKeys[label] = {
            key,
            bytes: (await redis.client.memoryUsage(key, { SAMPLES: 0 })) ?? null,
            encoding: (await redis.client.objectEncoding(key)) ?? null,
          };
        }
      }
    }
    redisReport = { version: redis.version, port: redis.port, prefill, signedInKeys };
    redis.client.destroy();
    await stopProcess(redis.started.child);
  }
  if (postgres) await postgres.drop().catch(() => {});

  const text = report(results, floor, redisReport);
  const loadAtEnd = loadavg();
  const busiest = Math.max(loadAtStart[0] ?? 0, loadAtEnd[0] ?? 0);
  const loadLine =
    `load average (1 min) ${(loadAtStart[0] ?? 0).toFixed(2)} at start, ${(loadAtEnd[0] ?? 0).toFixed(2)} at end` +
    (busiest > CPU_COUNT - 0.5
      ? `\nWARNING: the machine was busy (load ${busiest.toFixed(1)} on ${CPU_COUNT} CPUs): other processes ran on the ` +
        "servers' CPU, so absolute µs are inflated; compare within this run, or rerun when it is quiet."
      : '');
  process.stdout.write(
    `\ncloakroom HTTP bench — ${startedAt.toISOString()}, node ${process.version}, ` +
      `${CPU_COUNT} CPUs (${cpus()[0]?.model.trim() ?? 'unknown'}), servers on CPU ${SERVER_CPU}, ` +
      `${useWrk ? 'wrk' : 'autocannon'} on CPU ${LOAD_CPU}\n${loadLine}\n\n${text}\n`,
  );

  const outDir = join(ROOT, '.bench');
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `results-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
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
          pinned: canPin,
          serverCpu: SERVER_CPU,
          loadCpu: LOAD_CPU,
          loadGenerator: useWrk ? 'wrk' : 'autocannon',
          connections: CONNECTIONS,
          rounds: ROUNDS,
          roundSeconds: ROUND_SECONDS,
          warmupSeconds: WARMUP_SECONDS,
          clockTicksPerSecond: CLK_TCK,
        },
        floor,
        redis: redisReport,
        targets: results,
      },
      null,
      2,
    )}\n`,
  );
  process.stdout.write(`\nraw results: ${file}\n`);
  return failed ? 1 : 0;
}

main().then(
  (code) => {
    cleanUp();
    process.exit(code);
  },
  (error: unknown) => {
    process.stderr.write(`\nbench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    cleanUp();
    process.exit(1);
  },
);
