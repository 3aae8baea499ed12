import assert from 'node:assert/strict';
import type { SessionRecord, SessionStore } from '../core/store.js';
import { rejectsWithStoreError, type StoreFactory, type TestApi, withStore } from './harness.js';
import { sessionRecord } from './session-fixtures.js';
import { sessionStoreAuthCases } from './session-store-auth.js';
import { sessionStoreBindingCases } from './session-store-binding.js';
import { sessionStoreEpochCases } from './session-store-epoch.js';
import { sessionStoreExpiredCases } from './session-store-expired.js';
import { sessionStoreUserCases } from './session-store-users.js';

/**
 * Registers the conformance tests every `SessionStore` must pass. `makeStore` must return a
 * fresh, empty store each call, backed by the real database.
 * @example
 * import { describe, test } from 'vitest';
 * import { sessionStoreConformance } from 'cloakroom/testing';
 * sessionStoreConformance('my store', { describe, test }, async () => {
 *   const store = await openMyStore();
 *   return { store, cleanup: () => store.close() };
 * });
 */
export function sessionStoreConformance(
  name: string,
  t: TestApi,
  makeStore: StoreFactory<SessionStore>,
): void {
  const it = (title: string, body: (store: SessionStore) => Promise<void>) =>
    t.test(title, withStore(makeStore, body));

  t.describe(`${name}: SessionStore conformance`, () => {
    it('get of an unknown id returns null', async (store) => {
      assert.equal(await store.get('no-such-session'), null);
    });

    it('create then get round-trips every field exactly (nested data, null ip and userAgent)', async (store) => {
      const full = sessionRecord({
        remember: true,
        data: {
          cart: { items: [1, 'two', { three: [true, false, null] }], total: 12.5 },
          flag: false,
          n: null,
        },
      });
      const bare = sessionRecord({ userId: 'user-bob', ip: null, userAgent: null, data: {} });
      await store.create(full);
      await store.create(bare);
      assert.deepEqual(await store.get(full.id), full);
      assert.deepEqual(await store.get(bare.id), bare);
    });

    it('records passed in and handed out are copies: mutating them changes nothing stored', async (store) => {
      const record = sessionRecord({ data: { list: [1], nested: { a: 1 } } });
      const expected = structuredClone(record);
      await store.create(record);
      record.data.list = ['changed'];
      record.userId = 'changed';
      const fromGet = (await store.get(record.id))!;
      fromGet.lastSeenAt = 0;
      (fromGet.data.nested as Record<string, number>).a = 2;
      const [fromList] = await store.listByUser(expected.userId, Date.now());
      (fromList!.data.list as number[]).push(2);
      assert.deepEqual(await store.get(record.id), expected);
    });

    it('create with an existing id throws StoreError code conflict and leaves the original untouched', async (store) => {
      const original = sessionRecord({ data: { v: 1 } });
      await store.create(original);
      await rejectsWithStoreError(
        store.create(sessionRecord({ id: original.id, userId: 'user-eve', data: { v: 2 } })),
        'conflict',
      );
      assert.deepEqual(await store.get(original.id), original);
    });

    it('touch moves lastSeenAt and idleExpiresAt forward and changes nothing else', async (store) => {
      const record = sessionRecord();
      await store.create(record);
      const lastSeenAt = record.lastSeenAt + 5_000;
      const idleExpiresAt = record.idleExpiresAt + 5_000;
      assert.equal(await store.touch(record.id, lastSeenAt, idleExpiresAt), true);
      assert.deepEqual(await store.get(record.id), { ...record, lastSeenAt, idleExpiresAt });
    });

    it('touch never moves lastSeenAt or idleExpiresAt backwards, each on its own', async (store) => {
      const record = sessionRecord();
      await store.create(record);
      assert.equal(
        await store.touch(record.id, record.lastSeenAt - 1_000, record.idleExpiresAt - 1_000),
        true,
      );
      assert.deepEqual(await store.get(record.id), record);
      await store.touch(record.id, record.lastSeenAt + 1_000, record.idleExpiresAt - 9_000);
      const after = (await store.get(record.id))!;
      assert.equal(after.lastSeenAt, record.lastSeenAt + 1_000);
      assert.equal(after.idleExpiresAt, record.idleExpiresAt);
    });

    it('touch of a missing id returns false and does not create a record', async (store) => {
      const record = sessionRecord();
      assert.equal(await store.touch(record.id, record.lastSeenAt, record.idleExpiresAt), false);
      assert.equal(await store.get(record.id), null);
    });

    it('touch after delete returns false and the session stays deleted (never resurrected)', async (store) => {
      const record = sessionRecord();
      await store.create(record);
      assert.equal(await store.delete(record.id), true);
      assert.equal(await store.touch(record.id, record.lastSeenAt + 1, record.idleExpiresAt + 1), false);
      assert.equal(await store.get(record.id), null);
      assert.deepEqual(await store.listByUser(record.userId, Date.now()), []);
    });

    it('updateData sets and removes keys and leaves the other keys alone', async (store) => {
      const record = sessionRecord({ data: { keep: 'k', drop: 1, overwrite: 'old' } });
      await store.create(record);
      assert.equal(
        await store.updateData(record.id, { set: { overwrite: 'new', added: [1] }, remove: ['drop'] }),
        true,
      );
      assert.deepEqual((await store.get(record.id))!.data, { keep: 'k', overwrite: 'new', added: [1] });
      assert.equal(await store.updateData(record.id, { remove: ['keep', 'never-there'] }), true);
      assert.deepEqual((await store.get(record.id))!.data, { overwrite: 'new', added: [1] });
    });

    it('updateData writes a set value whole: nested objects are replaced, not merged; null is stored', async (store) => {
      const record = sessionRecord({ data: { prefs: { theme: 'dark', lang: 'en' }, gone: 'x' } });
      await store.create(record);
      await store.updateData(record.id, {
        set: { prefs: { theme: 'light' }, gone: null, t: true, f: false },
      });
      assert.deepEqual((await store.get(record.id))!.data, {
        prefs: { theme: 'light' },
        gone: null,
        t: true,
        f: false,
      });
    });

    it('updateData treats keys as literal strings (dots, quotes, $, __proto__)', async (store) => {
      const record = sessionRecord();
      await store.create(record);
      const set = JSON.parse(
        '{"a.b":1,"q\\"r":2,"$":3,"$.x":4,"__proto__":{"admin":true}}',
      ) as SessionRecord['data'];
      await store.updateData(record.id, { set });
      const data = (await store.get(record.id))!.data;
      assert.deepEqual(data, set);
      assert.equal(Object.getPrototypeOf(data), Object.prototype);
    });

    it('updateData of a missing id returns false and creates nothing', async (store) => {
      assert.equal(await store.updateData('no-such-session', { set: { a: 1 } }), false);
      assert.equal(await store.get('no-such-session'), null);
    });

    it('50 concurrent updateData calls on different keys all keep their change (no lost update)', async (store) => {
      const record = sessionRecord({ data: { base: true } });
      await store.create(record);
      const keys = Array.from({ length: 50 }, (_, i) => `key${i}`);
      const results = await Promise.all(
        keys.map((key, i) => store.updateData(record.id, { set: { [key]: i } })),
      );
      assert.ok(results.every((ok) => ok));
      const expected: SessionRecord['data'] = { base: true };
      keys.forEach((key, i) => {
        expected[key] = i;
      });
      assert.deepEqual((await store.get(record.id))!.data, expected);
    });

    it('delete returns true for an existing record, false once it is gone', async (store) => {
      const record = sessionRecord();
      await store.create(record);
      assert.equal(await store.delete(record.id), true);
      assert.equal(await store.get(record.id), null);
      assert.equal(await store.delete(record.id), false);
    });

    sessionStoreEpochCases(it);
    sessionStoreAuthCases(it);
    sessionStoreUserCases(it);
    sessionStoreExpiredCases(it);
    sessionStoreBindingCases(it);
  });
}
