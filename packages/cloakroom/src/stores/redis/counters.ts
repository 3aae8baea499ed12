import type { CounterStore } from '../../auth/types.js';
import { guarded } from '../errors.js';
import { assertReady, optionalText, type RedisClientLike } from './client.js';
import type { RedisKeys } from './keys.js';
import { INCREMENT, runScript } from './scripts.js';

/**
 * Sign-in throttling counters, one small hash per key (`count`, `reset`), shared by every
 * instance. Redis drops a counter by itself when its window ends (PEXPIRE set when the
 * window starts), so there is nothing to sweep.
 */
export function createRedisCounters(client: RedisClientLike, keys: RedisKeys): CounterStore {
  return guarded<CounterStore>(
    {
      async increment(key, windowMs, now) {
        assertReady(client);
        const reply = await runScript(client, INCREMENT, keys.counter(key), [
          String(now),
          String(windowMs),
          String(now + windowMs),
        ]);
        const [count, resetAt] = Array.isArray(reply) ? reply.map(optionalText) : [];
        return { count: Number(count), resetAt: Number(resetAt) };
      },

      async get(key, now) {
        assertReady(client);
        const reply = await client.hmGet(keys.counter(key), ['count', 'reset']);
        const [count, reset] = Array.isArray(reply) ? reply.map(optionalText) : [];
        if (count == null || reset == null || now >= Number(reset)) return null;
        return { count: Number(count), resetAt: Number(reset) };
      },

      async reset(key) {
        assertReady(client);
        await client.del(keys.counter(key));
      },
    },
    { driver: 'redis', store: 'counter' },
  );
}
