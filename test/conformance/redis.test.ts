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
counterStoreConformance(
  'redis (RESP3)',
  t,
  openFresh(resp3, (s) => s.counters),
);
