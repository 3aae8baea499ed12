import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { forge, outage, startLoad, statuses } from '../support/failover-load.js';
import {
  info,
  type SentinelSetup,
  startSentinelSetup,
  waitReplicated,
  waitUntil,
} from '../support/redis-topologies.js';
import { apiLogin, type ServerProcess, startServerProcess } from '../support/server-process.js';
import { type PostgresDatabase, requirePostgres } from '../support/services.js';

// `cloakroom serve` behind a real Redis Sentinel set-up of this file's own: a primary, its
// replica and three sentinels (quorum 2), data nodes and sentinels each with a password. Then
// the primary is killed with SIGKILL while requests run with a signed-in cookie, a signed-out
// one and a forged one: the sentinels promote the replica, the server follows it by itself,
// the session survives, the 503s last only as long as the fail-over, and no cookie that must be
// refused is ever accepted.
const PASSWORDS = { data: 'data-pw-Q9x4', sentinel: 'sentinel-pw-Lm3v' };
const DOWN_AFTER_MS = 1_000;
const ADMIN = { user: 'sentinel-admin', password: 'sessions behind sentinel' };
let setup: SentinelSetup;
let db: PostgresDatabase;
let server: ServerProcess;

beforeAll(async () => {
  setup = await startSentinelSetup(DOWN_AFTER_MS, PASSWORDS);
  // Users in PostgreSQL, as several instances behind one Sentinel set-up would have them.
  db = await requirePostgres();
  const [s1, s2, s3] = setup.sentinelPorts;
  server = await startServerProcess({
    REDIS_SENTINELS: `redis://:${PASSWORDS.sentinel}@127.0.0.1:${s1},127.0.0.1:${s2},127.0.0.1:${s3}`,
    REDIS_SENTINEL_MASTER: setup.name,
    REDIS_SENTINEL_MASTER_PASSWORD: PASSWORDS.data,
    DATABASE_URL: db.url,
    CLOAKROOM_ADMIN_USER: ADMIN.user,
    CLOAKROOM_ADMIN_PASSWORD: ADMIN.password,
  });
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await setup?.stop();
  await db?.drop();
});

const status = async (path: string, cookie?: string) =>
  (await fetch(`${server.url}${path}`, cookie ? { headers: { cookie } } : {})).status;

async function signOut(login: { cookie: string; csrf: string }): Promise<number> {
  const res = await fetch(`${server.url}/api/logout`, {
    method: 'POST',
    headers: { cookie: login.cookie, 'x-csrf-token': login.csrf },
  });
  return res.status;
}

describe('cloakroom serve behind Redis Sentinel', () => {
  test('finds the primary through the sentinels, signs in, names the set-up without passwords', async () => {
    expect(server.logs.some((l) => l.stores === 'sessions=redis-sentinel users=postgres')).toBe(true);
    const listening = server.logs.find((l) => l.event === 'listening') as {
      storage?: { sessions?: unknown };
    };
    expect(listening.storage?.sessions).toEqual({
      store: 'redis',
      at: `sentinel ${setup.name} via ${setup.sentinelPorts.map((p) => `127.0.0.1:${p}`).join(',')}`,
    });
    const login = await apiLogin(server.url, ADMIN.user, ADMIN.password);
    expect(login.status).toBe(200);
    expect(await status('/api/session', login.cookie)).toBe(200);
    expect(await status('/readyz')).toBe(200);
    // The session is on the primary the sentinels name, and nowhere else writable.
    const [primary] = setup.dataPorts;
    expect(await setup.primary()).toBe(primary);
    expect(
      Number((await info(primary!, 'keyspace', PASSWORDS.data)).get('db0')?.match(/keys=(\d+)/)?.[1]),
    ).toBeGreaterThan(0);
    expect(server.output()).not.toContain(PASSWORDS.data);
    expect(server.output()).not.toContain(PASSWORDS.sentinel);
  });

  test('SIGKILL of the primary under load: the server follows the promoted replica, the session survives, 503s only during the fail-over, never a false 200', async () => {
    const [primary, replica] = setup.dataPorts as [number, number];
    const live = await apiLogin(server.url, ADMIN.user, ADMIN.password);
    const revoked = await apiLogin(server.url, ADMIN.user, ADMIN.password);
    expect(await signOut(revoked)).toBe(204);
    expect(await status('/api/session', revoked.cookie)).toBe(401);
    // What was acknowledged before the kill must be on the replica (async replication: a write
    // in the last moment before a crash may not be, and is then lost).
    await waitReplicated(primary, PASSWORDS.data);

    const load = startLoad(
      server.url,
      [
        { name: 'live', cookie: live.cookie },
        { name: 'revoked', cookie: revoked.cookie },
        { name: 'forged', cookie: forge(live.cookie) },
      ],
      { username: ADMIN.user, password: ADMIN.password },
    );
    let samples: Awaited<ReturnType<typeof load.stop>>;
    let killedAt: number;
    let promotedAt: number;
    try {
      await load.answeredSince(0, 20);
      killedAt = load.now();
      await setup.node(primary).kill();
      await waitUntil('the sentinels name the replica', async () => {
        for (const port of setup.sentinelPorts) if ((await setup.primary(port)) !== replica) return false;
        return (await info(replica, 'replication', PASSWORDS.data)).get('role') === 'master';
      });
      promotedAt = load.now();
      await waitUntil('readyz 200 again', async () => (await status('/readyz')) === 200);
      await load.answeredSince(load.now(), 20);
    } finally {
      samples = await load.stop();
    }

    const live$ = samples.get('live')!;
    const { windowMs, answers, failures, slowestMs } = outage(live$, killedAt);
    console.log(
      `redis sentinel fail-over (down-after-milliseconds ${DOWN_AFTER_MS} ms, SIGKILL of the primary): ` +
        `replica promoted after ${promotedAt - killedAt} ms; the signed-in cookie: first 200 after ` +
        `the last 503 at ${windowMs} ms, ${failures} of ${answers} answers 503, slowest ${slowestMs} ms`,
    );
    expect(statuses(live$).every((s) => s === 200 || s === 503)).toBe(true);
    expect(windowMs).toBeLessThan(10_000);
    // Never a false 200: a signed-out or forged cookie is refused before, during and after.
    expect(statuses(samples.get('revoked')!).every((s) => s === 401 || s === 503)).toBe(true);
    expect(statuses(samples.get('forged')!)).toEqual([401]);
    expect(statuses(samples.get('sign-in')!).every((s) => s === 200 || s === 503)).toBe(true);

    // The same cookie works after the fail-over; new sign-ins and sign-outs go to the new primary.
    expect(await status('/api/session', live.cookie)).toBe(200);
    const after = await apiLogin(server.url, ADMIN.user, ADMIN.password);
    expect(after.status).toBe(200);
    expect(await signOut(after)).toBe(204);
    expect(await status('/api/session', after.cookie)).toBe(401);
    expect(server.child.exitCode).toBeNull();
  }, 45_000);
});
