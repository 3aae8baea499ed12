import assert from 'node:assert/strict';
import type { CounterStore } from '../auth/types.js';
import { type StoreFactory, type TestApi, withStore } from './harness.js';

const WINDOW = 15 * 60_000;

/**
 * Registers the conformance tests every `CounterStore` must pass (fixed windows with Redis
 * `INCR` + `EXPIRE`-on-first semantics). Time is passed in, so no test sleeps.
 * @example
 * counterStoreConformance('my store', { describe, test }, async () => ({ store: openMyCounters() }));
 */
export function counterStoreConformance(
  name: string,
  t: TestApi,
  makeStore: StoreFactory<CounterStore>,
): void {
  const it = (title: string, body: (store: CounterStore) => Promise<void>) =>
    t.test(title, withStore(makeStore, body));
  const now = Date.UTC(2026, 0, 1, 12);

  t.describe(`${name}: CounterStore conformance`, () => {
    it('increment of an absent counter returns 1 with resetAt = now + window', async (store) => {
      assert.deepEqual(await store.increment('ip:198.51.100.1', WINDOW, now), {
        count: 1,
        resetAt: now + WINDOW,
      });
    });

    it('increments within the window add up and keep the first resetAt', async (store) => {
      await store.increment('user:ada', WINDOW, now);
      await store.increment('user:ada', WINDOW, now + 1_000);
      assert.deepEqual(await store.increment('user:ada', WINDOW, now + WINDOW - 1), {
        count: 3,
        resetAt: now + WINDOW,
      });
      assert.deepEqual(await store.get('user:ada', now + WINDOW - 1), { count: 3, resetAt: now + WINDOW });
    });

    it('once the window has ended (now >= resetAt) increment starts again at 1 with a new window', async (store) => {
      await store.increment('user:ada', WINDOW, now);
      await store.increment('user:ada', WINDOW, now);
      const end = now + WINDOW;
      assert.deepEqual(await store.increment('user:ada', WINDOW, end), { count: 1, resetAt: end + WINDOW });
      assert.deepEqual(await store.increment('user:ada', WINDOW, end + 1), {
        count: 2,
        resetAt: end + WINDOW,
      });
    });

    it('get returns null for an unknown key and once the window has ended', async (store) => {
      assert.equal(await store.get('user:nobody', now), null);
      await store.increment('user:ada', WINDOW, now);
      assert.deepEqual(await store.get('user:ada', now), { count: 1, resetAt: now + WINDOW });
      assert.equal(await store.get('user:ada', now + WINDOW), null);
    });

    it('reset removes the counter (and resetting an unknown key is fine)', async (store) => {
      await store.increment('user:ada', WINDOW, now);
      await store.reset('user:ada');
      assert.equal(await store.get('user:ada', now), null);
      assert.deepEqual(await store.increment('user:ada', WINDOW, now + 5), {
        count: 1,
        resetAt: now + 5 + WINDOW,
      });
      await store.reset('user:nobody');
    });

    it('counters of different keys are independent', async (store) => {
      await store.increment('user:ada', WINDOW, now);
      await store.increment('user:ada', WINDOW, now);
      assert.deepEqual(await store.increment('user:bob', WINDOW, now + 1), {
        count: 1,
        resetAt: now + 1 + WINDOW,
      });
      await store.reset('user:bob');
      assert.deepEqual(await store.get('user:ada', now), { count: 2, resetAt: now + WINDOW });
    });

    it('20 concurrent increments count 20, each call seeing a distinct count', async (store) => {
      const results = await Promise.all(
        Array.from({ length: 20 }, () => store.increment('ip:203.0.113.9', WINDOW, now)),
      );
      assert.deepEqual(
        results.map((r) => r.count).sort((a, b) => a - b),
        Array.from({ length: 20 }, (_, i) => i + 1),
      );
      assert.deepEqual(await store.get('ip:203.0.113.9', now), { count: 20, resetAt: now + WINDOW });
    });
  });
}
