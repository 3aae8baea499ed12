/**
 * What one authenticated HTTP request costs in server CPU: cloakroom's real server next to
 * peers (express-session, @fastify/session, better-auth), in ONE run, with ratios.
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
 * - "the floor" (bench/floor.ts): HMAC + SHA-256 + store read(s), timed alone on CPU 1.
 *
 * Run: `npm run bench`. Knobs (env): BENCH_ROUNDS (5), BENCH_ROUND_SECONDS (3),
 * BENCH_WARMUP_SECONDS (2), BENCH_CONNECTIONS (32), BENCH_ONLY (comma-separated target ids),
 * BENCH_LOAD=autocannon (force the fallback), BENCH_NO_BUILD=1 (use dist/ as it is). Raw results go to .bench/results-<date>.json.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, cpus, loadavg, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { newCsrfSecret } from '../src/core/csrf.js';
import { nodeCrypto } from '../src/core/node-crypto.js';
import { loadConfig } from '../src/server/config.js';
import { databasePath } from '../src/server/deps.js';
import { createSqliteStore } from '../src/stores/sqlite/index.js';

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
const TARGET_RATIO = 1.5;
const TARGET_US = 25;
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
}

async function measureRound(pid: number, url: string, cookie: string, seconds: number): Promise<Round> {
  const before = cpuUs(pid);
  const result = await load(url, cookie, seconds);
  // Let the last in-flight requests and connection closes finish: they belong to this round.
  await sleep(50);
  const cpu = cpuUs(pid) - before;
  return {
    ...result,
    rps: result.requests / result.seconds,
    cpuUs: cpu,
    cpuUsPerRequest: result.requests > 0 ? cpu / result.requests : Number.NaN,
    cpuBusy: cpu / (result.seconds * 1_000_000),
  };
}

function median(values: number[]): number {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
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
  start(port: number, dir: string): Started;
  /** Signs in once; returns the Cookie header value. */
  signIn(base: string): Promise<string>;
  /** Work before the server starts (e.g. filling its database). */
  prepare?(dir: string): Promise<string | undefined>;
  note?: string;
}

const SECRET = randomBytes(32).toString('base64url');
const ADMIN = { username: 'bench', password: 'bench-password-1234' };

function cookieHeader(res: Response): string {
  const pairs = res.headers
    .getSetCookie()
    .map((c) => c.slice(0, c.indexOf(';') === -1 ? undefined : c.indexOf(';')));
  if (pairs.length === 0) throw new Error(`sign-in answered ${res.status} without a cookie`);
  return pairs.join('; ');
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
    await store.sessions.create({
      id: nodeCrypto.sha256Base64url(randomBytes(32).toString('base64url')),
      userId: `filler-${i % 1000}`,
      createdAt: now,
      lastSeenAt: now,
      idleExpiresAt: now + 30 * 60_000,
      absoluteExpiresAt: now + 12 * 3_600_000,
      idleTimeoutMs: 30 * 60_000,
      remember: false,
      csrfSecret: newCsrfSecret(nodeCrypto),
      ip: '127.0.0.1',
      userAgent: 'Mozilla/5.0 (X11; Linux x86_64)',
      data: {},
    });
  }
  store.database.exec('COMMIT');
  await store.close();
  return `${PREFILL_SESSIONS.toLocaleString('en')} other sessions in its table`;
}

const TARGETS: Target[] = [
  {
    id: 'cloakroom',
    label: 'cloakroom server',
    store: 'SQLite (better-sqlite3), 100k sessions',
    routes: [{ path: '/healthz', bare: true }, { path: '/auth/verify' }, { path: '/api/session' }],
    note: 'bare route = GET /healthz (registered before the session middleware; the server has no other bare route)',
    prepare: prefillCloakroom,
    start(port, dir) {
      const [command, args] = pinned(SERVER_CPU, process.execPath, [join(ROOT, 'dist/cli/main.js'), 'serve']);
      return startProcess(command, args, { ...process.env, ...cloakroomEnv(port, dir) });
    },
    async signIn(base) {
      return cookieHeader(await postJson(`${base}/api/login`, ADMIN));
    },
  },
  {
    id: 'express-memory',
    label: 'express-session',
    store: 'MemoryStore (in-process)',
    routes: [{ path: '/healthz', bare: true }, { path: '/api/me' }],
    start: (port, dir) =>
      nodeServer('bench/servers/express.mjs', port, { BENCH_STORE: 'memory', BENCH_DATA_DIR: dir }),
    signIn: async (base) => cookieHeader(await postJson(`${base}/api/login`, {})),
  },
  {
    id: 'express-sqlite',
    label: 'express-session',
    store: 'better-sqlite3-session-store',
    routes: [{ path: '/healthz', bare: true }, { path: '/api/me' }],
    start: (port, dir) =>
      nodeServer('bench/servers/express.mjs', port, { BENCH_STORE: 'sqlite', BENCH_DATA_DIR: dir }),
    signIn: async (base) => cookieHeader(await postJson(`${base}/api/login`, {})),
  },
  {
    id: 'fastify',
    label: '@fastify/session',
    store: 'default in-memory store',
    routes: [{ path: '/healthz', bare: true }, { path: '/api/me' }],
    start: (port, dir) => nodeServer('bench/servers/fastify.mjs', port, { BENCH_DATA_DIR: dir }),
    signIn: async (base) => cookieHeader(await postJson(`${base}/api/login`, {})),
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

async function benchTarget(target: Target): Promise<TargetResult> {
  const dir = tempDir(`cloakroom-bench-${target.id}-`);
  const prepared = target.prepare ? await target.prepare(dir) : undefined;
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const started = target.start(port, dir);
  const pid = started.child.pid;
  if (pid === undefined) throw new Error('the server did not start');
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
    const rounds = new Map<string, Round[]>(target.routes.map((r) => [r.path, []]));
    for (let i = 0; i < ROUNDS; i++) {
      for (const route of target.routes) {
        const round = await measureRound(pid, `${base}${route.path}`, cookie, ROUND_SECONDS);
        if (round.non2xx > 0) {
          throw new Error(`GET ${route.path}: ${round.non2xx} answers were not 2xx/3xx during a round`);
        }
        rounds.get(route.path)!.push(round);
      }
      process.stderr.write('.');
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
  wallUs?: Record<string, number>;
  rows: number;
  batch: number;
  batches: number;
}

const f1 = (n: number | null | undefined): string => (n == null || !Number.isFinite(n) ? '—' : n.toFixed(1));
const f2 = (n: number): string => (Number.isFinite(n) ? n.toFixed(2) : '—');
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

function report(results: TargetResult[], floor: Floor | null): string {
  const out: string[] = [];
  const reference = results
    .find((t) => t.id === 'cloakroom')
    ?.routes.find((r) => r.path === '/api/session')?.sessionCostUs;
  const rows: string[][] = [];
  for (const t of results) {
    if (t.skipped) {
      rows.push([t.label, t.store, `skipped: ${t.skipped.split('\n')[0]}`, '', '', '', '', '', '', '']);
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
      ],
      rows,
      [false, false, false, true, true, true, true, true, true, true],
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
    const ours = results.find((t) => t.id === 'cloakroom' && !t.skipped);
    if (ours) {
      out.push(
        '',
        `cloakroom session cost vs the floor (target ≤ ${TARGET_RATIO}x the 2-read floor) and vs ${TARGET_US} µs:`,
      );
      for (const r of ours.routes) {
        if (r.sessionCostUs == null) continue;
        const ratio2 = r.sessionCostUs / floor2;
        const ratio1 = r.sessionCostUs / floor1;
        out.push(
          `  GET ${r.path.padEnd(13)} ${f1(r.sessionCostUs).padStart(6)} µs = ${ratio2.toFixed(2)}x floor(2 reads) ` +
            `${ratio2 <= TARGET_RATIO ? 'ok' : 'OVER'}; ${ratio1.toFixed(2)}x floor(1 read); ` +
            `${r.sessionCostUs <= TARGET_US ? 'within' : 'over'} the ${TARGET_US} µs target`,
        );
      }
    }
  }
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
  const estimate = perTarget.reduce((a, b) => a + b, 0) + 25;
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
  process.stderr.write('the floor … ');
  const [floorCommand, floorArgs] = pinned(SERVER_CPU, process.execPath, [
    '--import',
    'tsx',
    join(ROOT, 'bench/floor.ts'),
  ]);
  const floor = JSON.parse(await run(floorCommand, floorArgs)) as Floor;
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

  const text = report(results, floor);
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
