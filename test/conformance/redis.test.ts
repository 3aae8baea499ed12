import { createClient } from 'redis';
import { afterAll, describe, test } from 'vitest';
import {
  createRedisStore,
  type RedisClientLike,
  type RedisStore,
} from '../../packages/cloakroom/src/stores/redis/index.js';
import {
  counterStoreConformance,
  sessionStoreConformance,
} from '../../packages/cloakroom/src/testing/index.js';
import { deleteKeys, REDIS_URL, randomPrefix, requireRedis } from '../support/services.js';

const t = { describe, test };

// The real Redis of this machine (a missing one fails here, with how to start it). Each test
// gets a key prefix no other test uses, and its keys are deleted afterwards.
const client = await requireRedis();
// The same suites through a RESP3 client: its replies are Maps where RESP2's are arrays.
const resp3 = createClient({ url: REDIS_URL, RESP: 3, disableOfflineQueue: true });
resp3.on('error', () => {});
await resp3.connect();
// The session cache's listener: a RESP2 connection of its own (one per store, as in the server).
afterAll(async () => {
  await client.close();
  await resp3.close();
});

function openFresh<S>(on: RedisClientLike, pick: (store: RedisStore) => S) {
  return async () => {
    const prefix = randomPrefix();
    const store = createRedisStore({ client: on, prefix });
    return {
      store: pick(store),
      cleanup: async () => {
        await store.close();
        await deleteKeys(client, prefix);
      },
    };
  };
}

/** A store with its session cache on, once the cache listens (so reads are really cached). */
function openCached(on: RedisClientLike) {
  return async () => {
    const prefix = randomPrefix();
    const invalidations = createClient({ url: REDIS_URL, RESP: 2, disableOfflineQueue: true });
    invalidations.on('error', () => {});
    await invalidations.connect();
    const store = createRedisStore({ client: on, prefix, invalidations });
    for (let i = 0; !store.cacheStats()?.sessions.listening; i++) {
      if (i > 1_000) throw new Error('the session cache did not start listening');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return {
      store: store.sessions,
      cleanup: async () => {
        await store.close();
        await invalidations.close();
        await deleteKeys(client, prefix);
      },
    };
  };
}

// Redis holds sessions and counters; users live in PostgreSQL (or SQLite) beside it.
sessionStoreConformance(
  'redis',
  t,
  openFresh(client, (s) => s.sessions),
);
counterStoreConformance(
  'redis',
  t,
  openFresh(client, (s) => s.counters),
);
sessionStoreConformance(
  'redis (RESP3)',
  t,
  openFresh(resp3, (s) => s.sessions),
);
sessionStoreConformance('redis (session cache)', t, openCached(client));
sessionStoreConformance('redis (RESP3, session cache)', t, openCached(resp3));
counterStoreConformance(
  'redis (RESP3)',
  t,
  openFresh(resp3, (s) => s.counters),
);
