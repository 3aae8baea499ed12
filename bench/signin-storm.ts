/**
 * A sign-in storm against signed-in users: how much slower does `GET /auth/verify` answer while
 * the server checks passwords as fast as it can (argon2id at its default cost)?
 *
 * Method (docs/performance.md, "Sign-in storm"):
 * - the real server (`node packages/server/dist/cli/main.js serve`, SQLite, NODE_ENV=production)
 *   pinned to CPU 1 (`taskset -c 1`: argon2's threads share that CPU with the event loop); this
 *   script and the flood client run on CPU 0;
 * - one session; a probe sends `GET /auth/verify` with it at a steady rate (STORM_RATE per second,
 *   open loop: a request is sent on schedule whether or not the previous one has answered) and
 *   records each latency;
 * - rounds: the probe alone (idle), then the probe while a second process floods
 *   `POST /api/login` (JSON, the right password, STORM_FLOOD connections, each sends its next
 *   sign-in as soon as the last one is answered, Retry-After ignored); after a warm-up, STORM_ROUNDS
 *   rounds of STORM_SECONDS each, idle and storm in turn, medians over rounds;
 * - throttle limits are raised so every sign-in reaches its password check.
 *
 * Run: `npx tsx bench/signin-storm.ts`. Knobs (env): STORM_ROUNDS (3), STORM_SECONDS (5),
 * STORM_RATE (200), STORM_FLOOD (64), BENCH_NO_BUILD=1 (use dist/ as it is); CLOAKROOM_SIGNIN_*
 * and UV_THREADPOOL_SIZE are passed to the server.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const envNumber = (name: string, fallback: number): number => {
  const raw = process.env[name];
  const n = raw ? Number(raw) : fallback;
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got ${raw}`);
  return n;
};
const ROUNDS = envNumber('STORM_ROUNDS', 3);
const SECONDS = envNumber('STORM_SECONDS', 5);
const RATE = envNumber('STORM_RATE', 200);
const FLOOD = envNumber('STORM_FLOOD', 64);
const SERVER_CPU = '1';
const CLIENT_CPU = '0';
const ADMIN = { username: 'storm', password: 'quiet-harbour-lantern-47' };

const has = (command: string) =>
  spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
const CPU_COUNT = availableParallelism();
const canPin = has('taskset') && CPU_COUNT >= 2;
const pinned = (cpu: string, command: string, args: string[]): [string, string[]] =>
  canPin ? ['taskset', ['-c', cpu, command, ...args]] : [command, args];

// ---------------------------------------------------------------------------------------------
// HTTP on keep-alive sockets, timed from the moment a request is sent.

function send(
  agent: Agent,
  url: URL,
  options: { method?: string; headers?: Record<string, string>; body?: string },
): Promise<{ status: number; ms: number; retryAfter: string | null; setCookie: string[] }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = request(
      url,
      { agent, method: options.method ?? 'GET', headers: options.headers ?? {} },
      (res) => {
        res.resume();
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            ms: performance.now() - started,
            retryAfter: (res.headers['retry-after'] as string | undefined) ?? null,
            setCookie: res.headers['set-cookie'] ?? [],
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

// ---------------------------------------------------------------------------------------------
// The flood: a child process on the client CPU (so its work never delays the probe's timing).

interface FloodReport {
  seconds: number;
  ok: number;
  busy: number;
  other: number;
  retryAfter: Record<string, number>;
}

async function flood(base: string, connections: number, seconds: number): Promise<FloodReport> {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const url = new URL('/api/login', base);
  const body = JSON.stringify(ADMIN);
  const headers = { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) };
  const report: FloodReport = { seconds, ok: 0, busy: 0, other: 0, retryAfter: {} };
  const until = performance.now() + seconds * 1000;
  const loop = async () => {
    while (performance.now() < until) {
      const res = await send(agent, url, { method: 'POST', headers, body });
      if (res.status === 200) report.ok++;
      else if (res.status === 503) {
        report.busy++;
        const key = res.retryAfter ?? 'none';
        report.retryAfter[key] = (report.retryAfter[key] ?? 0) + 1;
      } else report.other++;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: connections }, loop));
  report.seconds = (performance.now() - started) / 1000;
  agent.destroy();
  return report;
}

// ---------------------------------------------------------------------------------------------
// The probe: GET /auth/verify at a steady rate.

async function probe(base: string, cookie: string, seconds: number): Promise<number[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const url = new URL('/auth/verify', base);
  const latencies: number[] = [];
  const pending: Array<Promise<void>> = [];
  const interval = 1000 / RATE;
  const start = performance.now();
  const count = Math.round(seconds * RATE);
  for (let i = 0; i < count; i++) {
    const due = start + i * interval;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    pending.push(
      send(agent, url, { headers: { cookie } }).then((res) => {
        if (res.status !== 200) throw new Error(`GET /auth/verify answered ${res.status}`);
        latencies.push(res.ms);
      }),
    );
  }
  await Promise.all(pending);
  agent.destroy();
  return latencies;
}

const quantile = (values: number[], q: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
};
const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

// ---------------------------------------------------------------------------------------------
// Main.

const children = new Set<ChildProcess>();
let dataDir: string | null = null;
function cleanUp(): void {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  dataDir = null;
}
process.on('exit', cleanUp);

function runFlood(base: string, seconds: number): Promise<FloodReport> {
  const [command, args] = pinned(CLIENT_CPU, process.execPath, [
    '--import',
    'tsx',
    fileURLToPath(import.meta.url),
    'flood',
    base,
    String(FLOOD),
    String(seconds),
  ]);
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    children.add(child);
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.once('close', (code) => {
      children.delete(child);
      if (code === 0) resolve(JSON.parse(out) as FloodReport);
      else reject(new Error(`flood exited ${code}`));
    });
  });
}

async function main(): Promise<void> {
  if (canPin) spawnSync('taskset', ['-a', '-p', '-c', CLIENT_CPU, String(process.pid)], { stdio: 'ignore' });
  if (!process.env.BENCH_NO_BUILD) {
    process.stderr.write('build … ');
    const built = spawnSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
    if (built.status !== 0) throw new Error('npm run build failed');
    process.stderr.write('done\n');
  }
  dataDir = mkdtempSync(join(tmpdir(), 'cloakroom-storm-'));
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const base = `http://127.0.0.1:${port}`;
  const passed = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => k.startsWith('CLOAKROOM_SIGNIN_') || k === 'UV_THREADPOOL_SIZE',
    ),
  );
  const [command, args] = pinned(SERVER_CPU, process.execPath, [
    join(ROOT, 'packages/server/dist/cli/main.js'),
    'serve',
  ]);
  const server = spawn(command, args, {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: String(port),
      CLOAKROOM_DATA_DIR: dataDir,
      CLOAKROOM_SECRETS: randomBytes(32).toString('base64url'),
      CLOAKROOM_ADMIN_USER: ADMIN.username,
      CLOAKROOM_ADMIN_PASSWORD: ADMIN.password,
      // Every sign-in of the flood reaches its password check.
      CLOAKROOM_THROTTLE_ACCOUNT: '1000000000/15m',
      CLOAKROOM_THROTTLE_IP: '1000000000/15m',
      LOG_LEVEL: 'warn',
      ...passed,
    },
  });
  children.add(server);
  let serverLog = '';
  server.stdout.on('data', (c: Buffer) => {
    serverLog += c.toString();
  });
  server.stderr.on('data', (c: Buffer) => {
    serverLog += c.toString();
  });
  const control = new Agent({ keepAlive: false });
  for (let i = 0; ; i++) {
    try {
      if ((await send(control, new URL('/healthz', base), {})).status === 200) break;
    } catch {
      // not listening yet
    }
    if (i > 400) throw new Error(`server did not start:\n${serverLog}`);
    await sleep(50);
  }
  const body = JSON.stringify(ADMIN);
  const login = await send(control, new URL('/api/login', base), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  if (login.status !== 200) throw new Error(`sign-in answered ${login.status}`);
  const cookie = login.setCookie.map((c) => c.split(';')[0]).join('; ');

  const load = loadavg()[0] ?? 0;
  process.stderr.write(
    `signin-storm: node ${process.version}, ${CPU_COUNT} CPUs (${cpus()[0]?.model.trim() ?? '?'}), server on CPU ${SERVER_CPU}, ` +
      `clients on CPU ${CLIENT_CPU}${canPin ? '' : ' (NOT pinned: no taskset or 1 CPU)'}; load ${load.toFixed(2)}; ` +
      `probe ${RATE}/s, flood ${FLOOD} connections, ${ROUNDS} rounds × ${SECONDS} s; ${JSON.stringify(passed)}\n`,
  );
  // Warm-up: the probe alone, then a short storm (JIT, the thread pool, the dummy hash).
  await probe(base, cookie, 2);
  await Promise.all([runFlood(base, 2), probe(base, cookie, 2)]);
  await sleep(6_000); // let the storm's queue drain (the limit's longest wait is 5 s)

  const idle: Array<{ p50: number; p99: number }> = [];
  const storm: Array<{ p50: number; p99: number; flood: FloodReport }> = [];
  for (let round = 0; round < ROUNDS; round++) {
    const quiet = await probe(base, cookie, SECONDS);
    idle.push({ p50: quantile(quiet, 0.5), p99: quantile(quiet, 0.99) });
    // The flood starts a second early (connections, a full queue) and ends with the probe.
    const flooding = runFlood(base, SECONDS + 1);
    await sleep(1_000);
    const busy = await probe(base, cookie, SECONDS);
    const report = await flooding;
    storm.push({ p50: quantile(busy, 0.5), p99: quantile(busy, 0.99), flood: report });
    process.stderr.write(
      `round ${round + 1}: idle p50 ${quantile(quiet, 0.5).toFixed(2)} p99 ${quantile(quiet, 0.99).toFixed(2)} ms; ` +
        `storm p50 ${quantile(busy, 0.5).toFixed(2)} p99 ${quantile(busy, 0.99).toFixed(2)} ms; ` +
        `sign-ins ${(report.ok / report.seconds).toFixed(1)}/s, 503 ${report.busy}, other ${report.other}\n`,
    );
    await sleep(6_000);
  }
  const idleP99 = median(idle.map((r) => r.p99));
  const stormP99 = median(storm.map((r) => r.p99));
  const signIns = median(storm.map((r) => r.flood.ok / r.flood.seconds));
  const refused = storm.reduce((sum, r) => sum + r.flood.busy, 0);
  const attempts = storm.reduce((sum, r) => sum + r.flood.ok + r.flood.busy + r.flood.other, 0);
  const other = storm.reduce((sum, r) => sum + r.flood.other, 0);
  const retryAfter: Record<string, number> = {};
  for (const r of storm)
    for (const [k, n] of Object.entries(r.flood.retryAfter)) retryAfter[k] = (retryAfter[k] ?? 0) + n;
  const warnings = serverLog.split('\n').filter((l) => l.includes('passwords.busy')).length;
  process.stdout.write(
    [
      '',
      `GET /auth/verify at ${RATE}/s, medians of ${ROUNDS} rounds × ${SECONDS} s:`,
      `  idle   p50 ${median(idle.map((r) => r.p50)).toFixed(2)} ms   p99 ${idleP99.toFixed(2)} ms`,
      `  storm  p50 ${median(storm.map((r) => r.p50)).toFixed(2)} ms   p99 ${stormP99.toFixed(2)} ms`,
      `  ratio  p99 storm / idle = ${(stormP99 / idleP99).toFixed(2)}x  (target ≤ 2x: ${stormP99 <= 2 * idleP99 ? 'met' : 'NOT met'})`,
      `POST /api/login, ${FLOOD} connections flooding: ${signIns.toFixed(1)} sign-ins/s (median), ` +
        `${refused} of ${attempts} answered 503 busy (Retry-After ${JSON.stringify(retryAfter)}), ${other} other; ` +
        `${warnings} passwords.busy log line(s)`,
      '',
    ].join('\n'),
  );
}

if (process.argv[2] === 'flood') {
  const [, , , base, connections, seconds] = process.argv;
  flood(base!, Number(connections), Number(seconds)).then(
    (report) => process.stdout.write(JSON.stringify(report)),
    (error: unknown) => {
      process.stderr.write(`flood failed: ${String(error)}\n`);
      process.exit(1);
    },
  );
} else {
  main().then(
    () => {
      cleanUp();
      process.exit(0);
    },
    (error: unknown) => {
      process.stderr.write(
        `\nsignin-storm failed: ${error instanceof Error ? error.stack : String(error)}\n`,
      );
      cleanUp();
      process.exit(1);
    },
  );
}
