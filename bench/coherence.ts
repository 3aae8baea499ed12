/**
 * How fast another instance hears a revocation, with the read caches on (docs/scaling.md).
 *
 * Two real server processes (A and B: `node packages/server/dist/cli/main.js serve`) on one
 * private redis-server (sessions, the session cache's invalidations) and one PostgreSQL database
 * (users, the user cache's LISTEN), CLOAKROOM_CACHE_ENTRIES at its default. Per trial:
 * - sign in on A; `GET /auth/verify` on B until it answers from the cache (twice, 200);
 * - revoke on A through the API and wait for A's answer:
 *   `logout`: `POST /api/logout` (the session is deleted in Redis: the session cache's path);
 *   `lock`: an admin locks the user (`PATCH /api/admin/users/:id {locked: true}`: the user row changes in
 *   PostgreSQL and the user's sessions are deleted: both caches' paths);
 * - from A's answer, poll `GET /auth/verify` on B back to back until it answers 401.
 * The window is "revocation acknowledged on A → first refusal started on B", in ms, so it
 * includes one HTTP round trip to B. Under load: COHERENCE_LOAD connections keep B busy with
 * signed-in `GET /auth/verify` requests (another user) throughout.
 *
 * Run: `npx tsx bench/coherence.ts`. Knobs (env): COHERENCE_TRIALS (200 per kind),
 * COHERENCE_LOAD (8), BENCH_NO_BUILD=1 (use dist/ as it is); REDIS_URL is not used (a private
 * redis-server is started), DATABASE_URL names the PostgreSQL to create a database on.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { apiLogin, type ServerProcess, startServerProcess } from '../test/support/server-process.js';
import { freePort, requirePostgres, startRedisServer } from '../test/support/services.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TRIALS = Number(process.env.COHERENCE_TRIALS ?? 200);
const LOAD = Number(process.env.COHERENCE_LOAD ?? 8);
const ADMIN = { user: 'coherence-admin', password: 'two instances, one truth' };
const PASSWORD = 'a user password for the bench';

if (process.env.BENCH_NO_BUILD !== '1') {
  const built = spawnSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
  if (built.status !== 0) process.exit(1);
}

const redis = await startRedisServer(await freePort());
const db = await requirePostgres();
const env = {
  REDIS_URL: `redis://127.0.0.1:${redis.port}`,
  DATABASE_URL: db.url,
  CLOAKROOM_ADMIN_USER: ADMIN.user,
  CLOAKROOM_ADMIN_PASSWORD: ADMIN.password,
  CLOAKROOM_THROTTLE_ACCOUNT: '100000/1m',
  CLOAKROOM_THROTTLE_IP: '100000/1m',
};
let a: ServerProcess | undefined;
let b: ServerProcess | undefined;

const verify = async (url: string, cookie: string): Promise<number> => {
  const res = await fetch(`${url}/auth/verify`, { headers: { cookie } });
  await res.arrayBuffer();
  return res.status;
};

async function send(
  method: string,
  url: string,
  path: string,
  session: { cookie: string; csrf: string },
  body?: unknown,
) {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: {
      cookie: session.cookie,
      'x-csrf-token': session.csrf,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  await res.arrayBuffer();
  if (res.status >= 300) throw new Error(`${path}: ${res.status}`);
}

async function createUser(admin: { cookie: string; csrf: string }, username: string): Promise<string> {
  const res = await fetch(`${a!.url}/api/admin/users`, {
    method: 'POST',
    headers: { cookie: admin.cookie, 'x-csrf-token': admin.csrf, 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: PASSWORD, roles: [] }),
  });
  if (res.status !== 201) throw new Error(`create user: ${res.status}`);
  return ((await res.json()) as { user: { id: string } }).user.id;
}

const percentile = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
const summary = (windows: number[]) => {
  const sorted = [...windows].sort((x, y) => x - y);
  return {
    trials: sorted.length,
    p50: Number(percentile(sorted, 50).toFixed(2)),
    p99: Number(percentile(sorted, 99).toFixed(2)),
    max: Number(sorted.at(-1)!.toFixed(2)),
  };
};

try {
  [a, b] = await Promise.all([startServerProcess(env), startServerProcess(env)]);
  const admin = await apiLogin(a.url, ADMIN.user, ADMIN.password);
  await createUser(admin, 'loader');
  const loader = await apiLogin(a.url, 'loader', PASSWORD);
  let loading = true;
  let loadRequests = 0;
  const load = Array.from({ length: LOAD }, async () => {
    while (loading) {
      await verify(b!.url, loader.cookie);
      loadRequests++;
    }
  });

  const windows: Record<'logout' | 'lock', number[]> = { logout: [], lock: [] };
  /** Requests B still accepted after A acknowledged, per kind (0 = refused by the first one). */
  const stale: Record<'logout' | 'lock', number> = { logout: 0, lock: 0 };
  const started = performance.now();
  for (let trial = 0; trial < TRIALS * 2; trial++) {
    const kind = trial % 2 === 0 ? 'logout' : 'lock';
    const username = `user${trial}`;
    const id = await createUser(admin, username);
    const session = await apiLogin(a.url, username, PASSWORD);
    if (session.status !== 200) throw new Error(`sign-in: ${session.status}`);
    for (let i = 0; i < 2; i++)
      if ((await verify(b.url, session.cookie)) !== 200) throw new Error('B refused');
    if (kind === 'logout') await send('POST', a.url, '/api/logout', session);
    else await send('PATCH', a.url, `/api/admin/users/${id}`, admin, { locked: true });
    const acknowledged = performance.now();
    for (;;) {
      const sent = performance.now();
      if ((await verify(b.url, session.cookie)) === 401) {
        windows[kind].push(sent - acknowledged);
        break;
      }
      stale[kind]++;
      if (sent - acknowledged > 5_000) throw new Error(`B still accepts the ${kind} after 5 s`);
    }
  }
  loading = false;
  await Promise.all(load);
  const seconds = (performance.now() - started) / 1000;
  console.log(
    JSON.stringify(
      {
        what: 'revocation acknowledged on A → first GET /auth/verify on B that answers 401 (ms; sent-time)',
        load: `${LOAD} connections of GET /auth/verify on B (${Math.round(loadRequests / seconds)} req/s)`,
        logout: { ...summary(windows.logout), acceptedAfterAck: stale.logout },
        lock: { ...summary(windows.lock), acceptedAfterAck: stale.lock },
      },
      null,
      2,
    ),
  );
  const metrics = await (await fetch(`${b.url}/metrics`)).text();
  console.log(
    metrics
      .split('\n')
      .filter((line) => line.startsWith('cloakroom_cache_'))
      .join('\n'),
  );
} finally {
  await Promise.all([a?.stop(), b?.stop()]);
  await redis.kill();
  await db.drop();
}
