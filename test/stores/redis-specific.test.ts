import { randomBytes } from 'node:crypto';
import { createClient, type RedisClientOptions, type RedisClientType } from 'redis';
import { afterAll, afterEach, describe, expect, test } from 'vitest';
import { manualClock } from '../../packages/cloakroom/src/core/clock.js';
import { StoreError } from '../../packages/cloakroom/src/core/errors.js';
import type { SessionRecord } from '../../packages/cloakroom/src/core/store.js';
import { createRedisStore, type RedisStore } from '../../packages/cloakroom/src/stores/redis/index.js';
import { HOUR, MINUTE, sessionRecord } from '../../packages/cloakroom/src/testing/session-fixtures.js';
import {
  deleteKeys,
  freePort,
  type RedisProcess,
  randomPrefix,
  requireRedis,
  startRedisServer,
} from '../support/services.js';

const shared = await requireRedis();
const prefixes: string[] = [];
const servers: RedisProcess[] = [];
const clients: RedisClientType[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy();
  for (const server of servers.splice(0)) await server.kill();
  for (const prefix of prefixes.splice(0)) await deleteKeys(shared, prefix);
});
afterAll(() => shared.close());

/** A store on the shared Redis under a prefix of its own. */
function openShared(): { store: RedisStore; prefix: string } {
  const prefix = randomPrefix();
  prefixes.push(prefix);
  return { store: createRedisStore({ client: shared, prefix }), prefix };
}

/** A redis-server of this test's own, and a client on it, configured as docs/scaling.md says. */
async function openPrivate(options: RedisClientOptions = {}) {
  const port = await freePort();
  servers.push(await startRedisServer(port));
  const client = createClient({
    url: `redis://127.0.0.1:${port}`,
    disableOfflineQueue: true,
    socket: { connectTimeout: 1_000, reconnectStrategy: () => 100 },
    ...options,
  }) as RedisClientType;
  client.on('error', () => {});
  clients.push(client);
  await client.connect();
  return { port, client, store: createRedisStore({ client }) };
}

const pttl = (key: string) => shared.pTTL(key);

describe('redis store: expiry by Redis TTL', () => {
  test('a session hash expires at min(idleExpiresAt, absoluteExpiresAt)', async () => {
    const { store, prefix } = openShared();
    const now = Date.now();
    const idleFirst = sessionRecord({ idleExpiresAt: now + 10 * MINUTE, absoluteExpiresAt: now + HOUR });
    const absoluteFirst = sessionRecord({ idleExpiresAt: now + 2 * HOUR, absoluteExpiresAt: now + HOUR });
    await store.sessions.create(idleFirst);
    await store.sessions.create(absoluteFirst);
    const idleTtl = await pttl(`${prefix}s:${idleFirst.id}`);
    const absoluteTtl = await pttl(`${prefix}s:${absoluteFirst.id}`);
    expect(idleTtl).toBeGreaterThan(10 * MINUTE - 2_000);
    expect(idleTtl).toBeLessThanOrEqual(10 * MINUTE);
    expect(absoluteTtl).toBeGreaterThan(HOUR - 2_000);
    expect(absoluteTtl).toBeLessThanOrEqual(HOUR);
  });

  test('really waits: the hash is gone after its deadline, and the list drops its index member', async () => {
    const { store, prefix } = openShared();
    const record = sessionRecord({ userId: 'user-short', idleExpiresAt: Date.now() + 300 });
    await store.sessions.create(record);
    expect(await store.sessions.get(record.id)).toEqual(record);
    await new Promise((resolve) => setTimeout(resolve, 450));
    expect(await store.sessions.get(record.id)).toBeNull();
    expect(await store.sessions.listByUser(record.userId, Date.now())).toEqual([]);
    expect(await shared.zRange(`${prefix}u:user-short`, 0, -1)).toEqual([]);
  });

  test('touch moves the TTL forward, never back, never past absolute, and never leaves it at -1', async () => {
    const { store, prefix } = openShared();
    const now = Date.now();
    const record = sessionRecord({ idleExpiresAt: now + 10 * MINUTE, absoluteExpiresAt: now + HOUR });
    const key = `${prefix}s:${record.id}`;
    await store.sessions.create(record);

    await store.sessions.touch(record.id, now + 1_000, now + 20 * MINUTE);
    expect(await pttl(key)).toBeGreaterThan(20 * MINUTE - 2_000);

    await store.sessions.touch(record.id, now + 2_000, now + 15 * MINUTE);
    expect(await pttl(key)).toBeGreaterThan(20 * MINUTE - 2_000);

    await store.sessions.touch(record.id, now + 3_000, now + 2 * HOUR);
    const capped = await pttl(key);
    expect(capped).toBeGreaterThan(HOUR - 2_000);
    expect(capped).toBeLessThanOrEqual(HOUR);

    await store.sessions.updateData(record.id, { set: { a: 1 }, remove: ['b'] });
    expect(await pttl(key)).toBeGreaterThan(HOUR - 2_000);
    expect(await pttl(`${prefix}u:${record.userId}`)).toBeGreaterThan(HOUR - 2_000);
  });

  test('touch and updateData of a deleted session write no key at all (no TTL-less ghost)', async () => {
    const { store, prefix } = openShared();
    const record = sessionRecord();
    await store.sessions.create(record);
    await store.sessions.delete(record.id);
    expect(await store.sessions.touch(record.id, Date.now(), Date.now() + HOUR)).toBe(false);
    expect(await store.sessions.updateData(record.id, { set: { x: 1 } })).toBe(false);
    expect(await shared.exists(`${prefix}s:${record.id}`)).toBe(0);
    expect(await shared.exists(`${prefix}u:${record.userId}`)).toBe(0);
  });

  test('a data change writes only its own hash fields (no whole-record overwrite)', async () => {
    const { store, prefix } = openShared();
    const record = sessionRecord({ data: { keep: 'k', drop: 1 } });
    await store.sessions.create(record);
    await store.sessions.updateData(record.id, { set: { added: [1] }, remove: ['drop'] });
    expect(await shared.hGetAll(`${prefix}s:${record.id}`)).toMatchObject({
      'd:keep': '"k"',
      'd:added': '[1]',
    });
    expect(await shared.hExists(`${prefix}s:${record.id}`, 'd:drop')).toBe(0);
  });
});

describe('redis store: the per-user index', () => {
  test('stays exact under 200 concurrent create/delete/deleteByUser/touch/updateData calls', async () => {
    const { store, prefix } = openShared();
    const s = store.sessions;
    const userId = 'user-busy';
    const seed = Array.from({ length: 40 }, () => sessionRecord({ userId }));
    for (const record of seed) await s.create(record);
    const made: SessionRecord[] = [...seed];
    const deletedOne = new Set<string>();
    const pick = (i: number) => made[(i * 7919) % made.length]!;

    const ops = Array.from({ length: 200 }, async (_, i) => {
      switch (i % 10) {
        case 0:
          await s.deleteByUser(userId, pick(i).id);
          return;
        case 1:
        case 2: {
          const target = pick(i);
          if (await s.delete(target.id)) deletedOne.add(target.id);
          return;
        }
        case 3:
          await s.touch(pick(i).id, Date.now(), Date.now() + 40 * MINUTE);
          return;
        case 4:
          await s.updateData(pick(i).id, { set: { [`k${i}`]: i } });
          return;
        default: {
          const record = sessionRecord({ userId });
          made.push(record);
          await s.create(record);
        }
      }
    });
    await Promise.all(ops);

    const existing: string[] = [];
    for (const record of made)
      if ((await shared.exists(`${prefix}s:${record.id}`)) === 1) existing.push(record.id);
    // No live session missing from the index: revoke-all and the list would miss it. (A member
    // whose hash is gone may linger — a delete can overtake a create in this test, never in
    // life — and is harmless: readers check the hash and drop it.)
    const indexed = await shared.zRange(`${prefix}u:${userId}`, 0, -1);
    for (const id of existing) expect(indexed).toContain(id);
    const listed = (await s.listByUser(userId, Date.now())).map((r) => r.id);
    expect([...listed].sort()).toEqual([...existing].sort());
    expect([...(await shared.zRange(`${prefix}u:${userId}`, 0, -1))].sort()).toEqual([...existing].sort());
    // No resurrection: what delete() removed stays removed, whatever ran after it.
    for (const id of deletedOne) expect(existing).not.toContain(id);
    // And revoke-all removes exactly what exists.
    expect(await s.deleteByUser(userId)).toBe(existing.length);
    expect(await shared.exists(`${prefix}u:${userId}`)).toBe(0);
    for (const record of made) expect(await shared.exists(`${prefix}s:${record.id}`)).toBe(0);
  });

  test('a member left behind (process died between the two steps) is dropped by the next list', async () => {
    const { store, prefix } = openShared();
    const live = sessionRecord({ userId: 'user-ghost' });
    await store.sessions.create(live);
    await shared.zAdd(`${prefix}u:user-ghost`, { score: Date.now() + HOUR, value: 'never-written' });
    expect((await store.sessions.listByUser('user-ghost', Date.now())).map((r) => r.id)).toEqual([live.id]);
    expect(await shared.zRange(`${prefix}u:user-ghost`, 0, -1)).toEqual([live.id]);
    expect(await store.sessions.deleteByUser('user-ghost')).toBe(1);
  });
});

describe('redis store: index members past their absolute deadline', () => {
  test('create drops them, so a user signing in every day does not grow the index for good', async () => {
    const prefix = randomPrefix();
    prefixes.push(prefix);
    const clock = manualClock(Date.now());
    const store = createRedisStore({ client: shared, prefix, clock });
    const userId = 'user-daily';
    const signIn = async () => {
      const now = clock.now();
      const record = sessionRecord({
        userId,
        createdAt: now,
        lastSeenAt: now,
        idleExpiresAt: now + 30 * MINUTE,
        absoluteExpiresAt: now + 12 * HOUR,
      });
      await store.sessions.create(record);
      return record.id;
    };
    // Ten days of one sign-in a day, never signing out and never opening the session list.
    let latest = '';
    for (let day = 0; day < 10; day++) {
      latest = await signIn();
      clock.advance(24 * HOUR);
    }
    // Every earlier member was past its 12 h absolute deadline when the next one was added.
    expect(await shared.zRange(`${prefix}u:${userId}`, 0, -1)).toEqual([latest]);
  });
});

describe('redis store: round trips', () => {
  test('get is exactly ONE command (HGETALL), for a live and for an unknown session', async () => {
    const { client, store } = await openPrivate();
    const record = sessionRecord();
    await store.sessions.create(record);
    const monitor = client.duplicate();
    monitor.on('error', () => {});
    clients.push(monitor as RedisClientType);
    await monitor.connect();
    const seen: string[] = [];
    await monitor.monitor((line) => seen.push(String(line).toLowerCase()));
    await client.ping(); // a fence: the monitor sees this last
    await waitFor(() => seen.some((line) => line.includes('"ping"')));
    seen.length = 0;

    expect(await store.sessions.get(record.id)).toEqual(record);
    expect(await store.sessions.get('no-such-session')).toBeNull();
    await client.ping();
    await waitFor(() => seen.some((line) => line.includes('"ping"')));
    const commands = seen.filter((line) => !line.includes('"ping"')).map((line) => line.split('] ')[1]);
    expect(commands).toEqual([
      `"hgetall" "cloakroom:s:${record.id}"`.toLowerCase(),
      '"hgetall" "cloakroom:s:no-such-session"',
    ]);
  });
});

describe('redis store: memory', () => {
  test('a typical session costs under 1.25 KiB of Redis memory (default config), its index entry under 100 bytes', async () => {
    const { store, prefix } = openShared();
    const userId = randomBytes(16).toString('hex');
    // As a password sign-in makes it: authenticated at its creation (no `auth` field then).
    const typical = (): SessionRecord => {
      const createdAt = Date.now();
      return sessionRecord({
        userId,
        createdAt,
        authenticatedAt: createdAt,
        methods: ['pwd'],
        ip: '203.0.113.7',
        userAgent:
          'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
        data: { returnTo: '/account', theme: 'dark' },
      });
    };
    const first = typical();
    await store.sessions.create(first);
    const hash = (await shared.memoryUsage(`${prefix}s:${first.id}`, { SAMPLES: 0 })) ?? 0;
    const indexOne = (await shared.memoryUsage(`${prefix}u:${userId}`, { SAMPLES: 0 })) ?? 0;
    for (let i = 0; i < 9; i++) await store.sessions.create(typical());
    const indexTen = (await shared.memoryUsage(`${prefix}u:${userId}`, { SAMPLES: 0 })) ?? 0;
    const perMember = (indexTen - indexOne) / 9;
    console.info(
      `redis memory: session hash ${hash} B, user index ${indexOne} B with 1 member, +${perMember.toFixed(1)} B per further member`,
    );
    expect(hash).toBeGreaterThan(0);
    // 1,160 B on Redis 7.0.15 under this test's long random prefix (1,072 B before sessions
    // carried their methods; re-authenticated, with an `auth` field too and methods pwd and otp,
    // 1,208 B): a browser user agent is over 64 bytes, so with the default
    // hash-max-listpack-value the hash is a hashtable, not a listpack.
    expect(hash).toBeLessThan(1_280);
    expect(perMember).toBeLessThan(100);
  });
});

describe('redis store: fails closed and recovers', () => {
  test('Redis killed (-9): every method rejects with StoreError unavailable within 2 s; restarted: works again', async () => {
    const { port, client, store } = await openPrivate();
    const record = sessionRecord();
    await store.sessions.create(record);
    await servers.pop()!.kill();

    const calls: Array<() => Promise<unknown>> = [
      () => store.sessions.get(record.id),
      () => store.sessions.create(sessionRecord()),
      () => store.sessions.touch(record.id, Date.now(), Date.now() + HOUR),
      () => store.sessions.updateData(record.id, { set: { a: 1 } }),
      () => store.sessions.delete(record.id),
      () => store.sessions.deleteByUser(record.userId),
      () => store.sessions.listByUser(record.userId, Date.now()),
      () => store.counters.increment('ip:198.51.100.1', MINUTE, Date.now()),
      () => store.counters.get('ip:198.51.100.1', Date.now()),
      () => store.counters.reset('ip:198.51.100.1'),
      () => store.ping(),
    ];
    for (const call of calls) {
      const started = Date.now();
      const error = await call().then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(StoreError);
      expect((error as StoreError).code).toBe('unavailable');
      expect(Date.now() - started).toBeLessThan(2_000);
    }

    servers.push(await startRedisServer(port));
    await waitFor(() => client.isReady, 5_000);
    await store.ping();
    const again = sessionRecord();
    await store.sessions.create(again);
    expect(await store.sessions.get(again.id)).toEqual(again);
  });

  test('with the offline queue left on, calls still fail at once while the client reconnects', async () => {
    const { client, store } = await openPrivate({ disableOfflineQueue: false });
    await servers.pop()!.kill();
    await waitFor(() => !client.isReady);
    const started = Date.now();
    await expect(store.sessions.get('any')).rejects.toMatchObject({
      name: 'StoreError',
      code: 'unavailable',
    });
    await expect(store.counters.get('any', Date.now())).rejects.toBeInstanceOf(StoreError);
    expect(Date.now() - started).toBeLessThan(100);
  });
});

describe('redis store: options', () => {
  test('a prefix with a hash tag is refused (it would put every key in one cluster slot)', () => {
    expect(() => createRedisStore({ client: shared, prefix: '{app}:' })).toThrow(/prefix/);
  });

  test('close() leaves the caller’s client connected', async () => {
    const { store } = openShared();
    await store.close();
    expect(shared.isReady).toBe(true);
    expect(await shared.ping()).toBe('PONG');
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
