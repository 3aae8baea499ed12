// The Redis session store's read cache is never stale on this instance, and hears every other
// writer within a measured bound. Redis reports each change of a session key, by any client, to
// the store's dedicated invalidation connection (CLIENT TRACKING BCAST, redirected to itself, on
// __redis__:invalidate in RESP2). A private redis-server per file: these tests kill pub/sub
// connections, which must not touch anyone else's. Races are forced with gates, never slept.
import { createClient, type RedisClientType } from 'redis';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { ConfigError, type StoreError } from '../../packages/cloakroom/src/core/errors.js';
import type { SessionRecord } from '../../packages/cloakroom/src/core/store.js';
import {
  createRedisStore,
  type RedisClientLike,
  type RedisStore,
  type RedisStoreOptions,
} from '../../packages/cloakroom/src/stores/redis/index.js';
import { sessionRecord } from '../../packages/cloakroom/src/testing/session-fixtures.js';
import { freePort, type RedisProcess, randomPrefix, startRedisServer } from '../support/services.js';

let redis: RedisProcess;
let url: string;
let admin: RedisClientType;
beforeAll(async () => {
  redis = await startRedisServer(await freePort());
  url = `redis://127.0.0.1:${redis.port}`;
  admin = createClient({ url });
  admin.on('error', () => {});
  await admin.connect();
});
afterAll(async () => {
  await admin.close();
  await redis.kill();
});

/** A RESP2 connection for a store's invalidations (its own ACL user, if given). */
function resp2Client(user?: string) {
  return createClient({
    url,
    RESP: 2,
    disableOfflineQueue: true,
    ...(user ? { username: user } : {}),
    socket: { reconnectStrategy: () => 20 },
  });
}

interface Instance {
  store: RedisStore;
  client: RedisClientType;
  invalidations: ReturnType<typeof resp2Client>;
}

let open: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of open.reverse()) await close().catch(() => {});
  open = [];
});

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Resolves once the store's cache is listening (set up and trusted). */
async function listening(store: RedisStore, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!store.cacheStats()?.sessions.listening) {
    if (Date.now() > deadline) throw new Error('the session cache did not start listening');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * An ACL user for an invalidation connection: while `off`, its reconnection attempts are
 * refused, so a test controls how long the connection stays down after a CLIENT KILL.
 */
async function aclUser(): Promise<{ name: string; off(): Promise<void>; on(): Promise<void> }> {
  const name = `inv-${Math.random().toString(36).slice(2)}`;
  const set = (state: string) => admin.sendCommand(['ACL', 'SETUSER', name, state]);
  await admin.sendCommand(['ACL', 'SETUSER', name, 'on', 'nopass', '~*', '&*', '+@all']);
  return { name, off: async () => void (await set('off')), on: async () => void (await set('on')) };
}

/**
 * One server instance: a store client and its invalidation connection (RESP2), as the docs set
 * them up. `user` connects the invalidation connection as that ACL user.
 */
async function instance(
  prefix: string,
  options: {
    user?: string;
    wrap?: (client: RedisClientLike) => RedisClientLike;
    store?: Partial<RedisStoreOptions>;
  } = {},
): Promise<Instance> {
  const client: RedisClientType = createClient({ url, disableOfflineQueue: true });
  client.on('error', () => {});
  await client.connect();
  const invalidations = resp2Client(options.user);
  invalidations.on('error', () => {});
  await invalidations.connect();
  const store = createRedisStore({
    client: options.wrap ? options.wrap(client) : client,
    invalidations,
    prefix,
    timeout: false,
    ...options.store,
  });
  open.push(async () => {
    await store.close();
    await invalidations.close().catch(() => invalidations.destroy());
    await client.close().catch(() => client.destroy());
  });
  if (options.store?.cache !== false) await listening(store);
  return { store, client, invalidations };
}

/** Reads until a read was answered from memory (the cache is really in use for `id`). */
async function cached(store: RedisStore, id: string): Promise<SessionRecord> {
  for (let i = 0; i < 100; i++) {
    const before = store.cacheStats()!.sessions.hits;
    const record = await store.sessions.get(id);
    if (record === null) throw new Error(`session ${id} not found`);
    if (store.cacheStats()!.sessions.hits > before) return record;
    await nextTurn();
  }
  throw new Error(`session ${id} never came from the cache`);
}

/** Reads on `store` (yielding to I/O between reads) until `id` is gone; the time it took. */
async function untilRefused(store: RedisStore, id: string, limitMs: number): Promise<number> {
  const start = performance.now();
  for (;;) {
    if ((await store.sessions.get(id)) === null) return performance.now() - start;
    const spent = performance.now() - start;
    if (spent > limitMs) throw new Error(`session still served ${spent.toFixed(1)} ms after its revocation`);
    await nextTurn();
  }
}

const percentile = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

/** The invalidation connections of this Redis (tracking on, redirected): their CLIENT IDs. */
async function trackingIds(): Promise<string[]> {
  const list = String(await admin.sendCommand(['CLIENT', 'LIST']));
  return list
    .split('\n')
    .filter((line) => / flags=\S*t/.test(line))
    .map((line) => /^id=(\d+)/.exec(line)![1]!);
}

describe('redis session cache: this instance', () => {
  test('own writes are seen by the very next read: delete, deleteByUser, touch, data', async () => {
    const { store } = await instance(randomPrefix());
    for (let round = 0; round < 100; round++) {
      const record = sessionRecord({ userId: `user-${round}` });
      await store.sessions.create(record);
      await cached(store, record.id);
      await store.sessions.updateData(record.id, { set: { round } });
      expect((await store.sessions.get(record.id))!.data).toEqual({ round });
      await cached(store, record.id);
      await store.sessions.touch(record.id, record.lastSeenAt + 1, record.idleExpiresAt + 1);
      expect((await store.sessions.get(record.id))!.lastSeenAt).toBe(record.lastSeenAt + 1);
      await cached(store, record.id);
      if (round % 2 === 0) expect(await store.sessions.delete(record.id)).toBe(true);
      else expect(await store.sessions.deleteByUser(record.userId)).toBe(1);
      expect(await store.sessions.get(record.id)).toBeNull();
    }
    expect(store.cacheStats()!.sessions.hits).toBeGreaterThanOrEqual(300);
  });

  test('a cached record is a copy: changing what get returned changes nothing cached', async () => {
    const { store } = await instance(randomPrefix());
    const record = sessionRecord({ data: { theme: 'dark' } });
    await store.sessions.create(record);
    const first = await cached(store, record.id);
    first.lastSeenAt = 1;
    (first.data as Record<string, unknown>).theme = 'light';
    first.methods.push('changed');
    const again = await cached(store, record.id);
    expect(again.lastSeenAt).toBe(record.lastSeenAt);
    expect(again.data).toEqual({ theme: 'dark' });
    expect(again.methods).toEqual(record.methods);
    // Every hit hands out an array of its own.
    expect((await cached(store, record.id)).methods).not.toBe(again.methods);
  });

  test('null is never cached: a session created elsewhere is found at once', async () => {
    const prefix = randomPrefix();
    const a = await instance(prefix);
    const b = await instance(prefix, { store: { cache: false } });
    const record = sessionRecord();
    for (let i = 0; i < 3; i++) expect(await a.store.sessions.get(record.id)).toBeNull();
    await b.store.sessions.create(record);
    expect(await a.store.sessions.get(record.id)).toMatchObject({ id: record.id });
  });

  test('the bound holds: old entries are evicted', async () => {
    const { store } = await instance(randomPrefix(), { store: { cache: { maxEntries: 5 } } });
    const records = Array.from({ length: 8 }, () => sessionRecord());
    for (const record of records) {
      await store.sessions.create(record);
      await store.sessions.get(record.id);
    }
    const stats = store.cacheStats()!.sessions;
    expect(stats.size).toBe(5);
    expect(stats.evictions).toBe(3);
  });
});

describe('redis session cache: the fill race', () => {
  /** A client whose hGetAll got its reply from Redis but hands it over only when `release()`d. */
  function gated(client: RedisClientLike) {
    let armed = false;
    let replied: () => void = () => {};
    let release: () => void = () => {};
    const wrapper: RedisClientLike = Object.create(client as object) as RedisClientLike;
    Object.defineProperty(wrapper, 'hGetAll', {
      value: async (key: string) => {
        const reply = await client.hGetAll(key);
        if (!armed) return reply;
        armed = false;
        const gate = new Promise<void>((resolve) => {
          release = resolve;
        });
        replied();
        await gate;
        return reply;
      },
    });
    return {
      wrap: () => wrapper,
      /** The next hGetAll pauses after Redis answered; resolves once it has. */
      arm(): Promise<void> {
        armed = true;
        return new Promise((resolve) => {
          replied = resolve;
        });
      },
      release: () => release(),
    };
  }

  test("a reply that raced another client's delete is not cached", async () => {
    const prefix = randomPrefix();
    let wrapped!: ReturnType<typeof gated>;
    const b = await instance(prefix, {
      wrap: (client) => {
        wrapped = gated(client);
        return wrapped.wrap();
      },
    });
    const other = await instance(prefix, { store: { cache: false } });
    for (let round = 0; round < 20; round++) {
      const record = sessionRecord();
      await other.store.sessions.create(record);
      const paused = wrapped.arm();
      const read = b.store.sessions.get(record.id);
      await paused; // B's HGETALL was answered with the live session, not yet handed back
      await other.store.sessions.delete(record.id);
      // The invalidation was queued on B's connection while the delete ran: a PING on the same
      // connection answers after it, so B has handled the message once PONG is back.
      await b.invalidations.ping();
      wrapped.release();
      expect(await read).toMatchObject({ id: record.id }); // the read began before the delete
      expect(await b.store.sessions.get(record.id)).toBeNull();
    }
    expect(b.store.cacheStats()!.sessions.size).toBe(0);
  });

  test('a reply that raced our own delete is not cached', async () => {
    let wrapped!: ReturnType<typeof gated>;
    const b = await instance(randomPrefix(), {
      wrap: (client) => {
        wrapped = gated(client);
        return wrapped.wrap();
      },
    });
    const record = sessionRecord();
    await b.store.sessions.create(record);
    const paused = wrapped.arm();
    const read = b.store.sessions.get(record.id);
    await paused;
    await b.store.sessions.delete(record.id);
    wrapped.release();
    expect(await read).toMatchObject({ id: record.id });
    expect(await b.store.sessions.get(record.id)).toBeNull();
  });
});

describe('redis session cache: another instance', () => {
  test('a revocation on A is refused on B within 1 s, and on A at once (1,000 trials under load)', async () => {
    const prefix = randomPrefix();
    const a = await instance(prefix);
    const b = await instance(prefix);
    const load = await instance(prefix, { store: { cache: false } });
    // Background writes and reads on other sessions of the same prefix: every one of them
    // is an invalidation message B has to handle too.
    let loading = true;
    const background = (async () => {
      const mine = Array.from({ length: 20 }, () => sessionRecord({ userId: 'load' }));
      for (const record of mine) await load.store.sessions.create(record);
      for (let i = 0; loading; i++) {
        const record = mine[i % mine.length]!;
        await Promise.all([
          load.store.sessions.touch(record.id, record.lastSeenAt + i, record.idleExpiresAt),
          b.store.sessions.get(record.id),
          a.store.sessions.get(record.id),
        ]);
      }
    })();
    const windows: number[] = [];
    try {
      for (let trial = 0; trial < 1_000; trial++) {
        const record = sessionRecord({ userId: `user-${trial}` });
        await a.store.sessions.create(record);
        await cached(b.store, record.id);
        await cached(a.store, record.id);
        if (trial % 2 === 0) await a.store.sessions.delete(record.id);
        else await a.store.sessions.deleteByUser(record.userId);
        // On A itself: refused by the very next read.
        expect(await a.store.sessions.get(record.id)).toBeNull();
        windows.push(await untilRefused(b.store, record.id, 1_000));
      }
    } finally {
      loading = false;
      await background;
    }
    windows.sort((x, y) => x - y);
    const figures = {
      p50: percentile(windows, 50).toFixed(3),
      p99: percentile(windows, 99).toFixed(3),
      max: windows.at(-1)!.toFixed(3),
    };
    console.log(`redis: revoke acknowledged on A → refused on B, ms over ${windows.length} trials`, figures);
    expect(windows.at(-1)!).toBeLessThan(1_000);
    // Each trial read the session from B's cache once (cached() waits for that hit): 1,000 at least.
    expect(b.store.cacheStats()!.sessions.hits).toBeGreaterThanOrEqual(1_000);
  }, 120_000);
});

describe('redis session cache: the invalidation connection goes away', () => {
  for (const how of ['CLIENT KILL TYPE pubsub', 'CLIENT KILL ID'] as const) {
    test(`${how}: while it is down nothing is cached, and once back the cache is flushed`, async () => {
      const prefix = randomPrefix();
      const a = await instance(prefix, { store: { cache: false } });
      const user = await aclUser();
      const b = await instance(prefix, { user: user.name });
      const kept = sessionRecord({ data: { v: 1 } });
      const revoked = sessionRecord();
      await a.store.sessions.create(kept);
      await a.store.sessions.create(revoked);
      await cached(b.store, kept.id);
      await cached(b.store, revoked.id);

      const ids = await trackingIds();
      expect(ids).toHaveLength(1);
      const down = new Promise<void>((resolve) => b.invalidations.once('reconnecting', () => resolve()));
      await user.off(); // the reconnection is refused until `on`
      if (how === 'CLIENT KILL ID') await admin.sendCommand(['CLIENT', 'KILL', 'ID', ids[0]!]);
      else await admin.sendCommand(['CLIENT', 'KILL', 'TYPE', 'pubsub']);
      await down;
      expect(b.store.cacheStats()!.sessions.listening).toBe(false);

      // Changes nobody reports to B now: B must see them by reading Redis.
      await a.store.sessions.delete(revoked.id);
      await a.store.sessions.updateData(kept.id, { set: { v: 2 } });
      expect(await b.store.sessions.get(revoked.id)).toBeNull();
      expect((await b.store.sessions.get(kept.id))!.data).toEqual({ v: 2 });
      const hits = b.store.cacheStats()!.sessions.hits;
      for (let i = 0; i < 5; i++) await b.store.sessions.get(kept.id);
      expect(b.store.cacheStats()!.sessions.hits).toBe(hits); // not filled while down
      expect(b.store.cacheStats()!.sessions.listening).toBe(false);

      await user.on();
      await listening(b.store);
      expect(b.store.cacheStats()!.sessions.size).toBe(0);
      expect((await cached(b.store, kept.id)).data).toEqual({ v: 2 });
      // And it hears again.
      await a.store.sessions.delete(kept.id);
      await untilRefused(b.store, kept.id, 1_000);
    });
  }

  test('killed under load: every read stays right through the outage', async () => {
    const prefix = randomPrefix();
    const a = await instance(prefix, { store: { cache: false } });
    const user = await aclUser();
    const b = await instance(prefix, { user: user.name });
    const records = Array.from({ length: 50 }, () => sessionRecord());
    for (const record of records) await a.store.sessions.create(record);
    const deleted = new Set<string>();
    let reading = true;
    let reads = 0;
    const readers = Array.from({ length: 4 }, async () => {
      for (let i = 0; reading; i++) {
        const record = records[(i * 7) % records.length]!;
        // Deleted before this read started: it must not be served.
        const gone = deleted.has(record.id);
        const got = await b.store.sessions.get(record.id);
        reads++;
        if (gone) expect(got).toBeNull();
        await nextTurn();
      }
    });
    for (let k = 0; k < 5; k++) {
      await user.off();
      await admin.sendCommand(['CLIENT', 'KILL', 'TYPE', 'pubsub']);
      for (let j = 0; j < 5; j++) {
        const record = records[k * 5 + j]!;
        await a.store.sessions.delete(record.id);
        // Nothing tells B while its listener is down: the very next read must refuse it.
        expect(await b.store.sessions.get(record.id)).toBeNull();
        deleted.add(record.id);
      }
      await user.on();
      await listening(b.store);
      // Heard again: a revocation reaches B within the bound.
      const record = records[25 + k]!;
      await cached(b.store, record.id);
      await a.store.sessions.delete(record.id);
      await untilRefused(b.store, record.id, 1_000);
      deleted.add(record.id);
    }
    reading = false;
    await Promise.all(readers);
    expect(reads).toBeGreaterThan(100);
    expect(b.store.cacheStats()!.sessions.flushes).toBeGreaterThan(0);
  });
});

describe('redis session cache: set-ups it refuses', () => {
  test('cache without invalidations is a ConfigError', async () => {
    const client = createClient({ url });
    expect(() =>
      createRedisStore({ client: client as unknown as RedisClientLike, cache: { maxEntries: 10 } }),
    ).toThrow(ConfigError);
  });

  test('a cluster client is refused, as the store client or as the invalidation client', async () => {
    const client = createClient({ url });
    const clusterLike = Object.assign(Object.create(client) as object, { masters: [] });
    expect(() =>
      createRedisStore({
        client: clusterLike as unknown as RedisClientLike,
        invalidations: createClient({ url, RESP: 2 }),
      }),
    ).toThrow(/Redis Cluster/);
    expect(() =>
      createRedisStore({
        client: client as unknown as RedisClientLike,
        invalidations: clusterLike as unknown as RedisClientType,
      }),
    ).toThrow(/Redis Cluster/);
  });

  test('a RESP3 invalidation client: the cache never listens, and the error is reported', async () => {
    const client: RedisClientType = createClient({ url, disableOfflineQueue: true });
    client.on('error', () => {});
    await client.connect();
    const resp3 = createClient({ url, RESP: 3 });
    resp3.on('error', () => {});
    await resp3.connect();
    const errors: StoreError[] = [];
    const store = createRedisStore({
      client,
      invalidations: resp3,
      prefix: randomPrefix(),
      onCacheError: (error) => errors.push(error),
    });
    open.push(async () => {
      await store.close();
      await resp3.close();
      await client.close();
    });
    const deadline = Date.now() + 2_000;
    while (errors.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(errors[0]?.message).toMatch(/RESP2/);
    expect(store.cacheStats()!.sessions.listening).toBe(false);
  });
});
