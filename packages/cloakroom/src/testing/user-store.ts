import assert from 'node:assert/strict';
import type { UserStore } from '../auth/types.js';
import { rejectsWithStoreError, type StoreFactory, type TestApi, withStore } from './harness.js';
import { NOW, newUser } from './user-fixtures.js';
import { userStoreEpochCases } from './user-store-epoch.js';
import { userStoreKeepRoleCases } from './user-store-keep-role.js';
import { userStoreKeyCases } from './user-store-keys.js';
import { userStoreSecondFactorCases } from './user-store-second-factor.js';

/**
 * Registers the conformance tests every `UserStore` must pass.
 * @example
 * userStoreConformance('my store', { describe, test }, async () => ({ store: openMyUsers() }));
 */
export function userStoreConformance(name: string, t: TestApi, makeStore: StoreFactory<UserStore>): void {
  const it = (title: string, body: (store: UserStore) => Promise<void>) =>
    t.test(title, withStore(makeStore, body));
  const now = NOW;

  t.describe(`${name}: UserStore conformance`, () => {
    it('create assigns an id, epoch 0, no second factor and timestamps; getById and getByUsername round-trip every field', async (store) => {
      const user = newUser('ada', { roles: ['admin', 'user'], locked: true });
      const created = await store.create(user, now);
      assert.equal(typeof created.id, 'string');
      assert.ok(created.id.length > 0);
      // The key is the store's to keep, not part of the record handed back.
      const { usernameKey: _key, ...fields } = user;
      assert.deepEqual(created, {
        id: created.id,
        ...fields,
        epoch: 0,
        secondFactor: null,
        createdAt: now,
        updatedAt: now,
      });
      assert.deepEqual(await store.getById(created.id), created);
      assert.deepEqual(await store.getByUsername('ada'), created);
    });

    it('create defaults locked to false and gives every user a distinct id', async (store) => {
      const ada = await store.create(newUser('ada'), now);
      const bob = await store.create(newUser('bob'), now);
      assert.equal(ada.locked, false);
      assert.notEqual(ada.id, bob.id);
    });

    it('getById and getByUsername return null for unknown users', async (store) => {
      await store.create(newUser('ada'), now);
      assert.equal(await store.getById('no-such-id'), null);
      assert.equal(await store.getByUsername('nobody'), null);
    });

    it('create with a taken username throws StoreError code conflict and keeps the first user', async (store) => {
      const first = await store.create(newUser('ada'), now);
      await rejectsWithStoreError(
        store.create(newUser('ada', { usernameKey: 'another-key', displayName: 'Impostor' }), now + 1),
        'conflict',
      );
      assert.deepEqual(await store.getByUsername('ada'), first);
      assert.equal(await store.count(), 1);
    });

    it('update patches only the given fields and bumps updatedAt', async (store) => {
      const created = await store.create(newUser('ada'), now);
      const renamed = await store.update(created.id, { displayName: 'Ada L.' }, now + 10);
      assert.deepEqual(renamed, { ...created, displayName: 'Ada L.', updatedAt: now + 10 });
      const patched = await store.update(
        created.id,
        { roles: ['admin'], locked: true, passwordHash: '$argon2id$new' },
        now + 20,
      );
      const expected = { ...created, displayName: 'Ada L.', roles: ['admin'], locked: true };
      assert.deepEqual(patched, { ...expected, passwordHash: '$argon2id$new', updatedAt: now + 20 });
      assert.deepEqual(await store.getById(created.id), patched);
      assert.equal((await store.update(created.id, { locked: false }, now + 30))?.locked, false);
    });

    it('update of an unknown id returns null and creates nothing', async (store) => {
      assert.equal(await store.update('no-such-id', { displayName: 'X' }, now), null);
      assert.equal(await store.count(), 0);
    });

    it('update with ifPasswordHash applies only while the stored hash is that one, else returns null and changes nothing', async (store) => {
      const created = await store.create(newUser('ada'), now);
      const first = await store.update(created.id, { passwordHash: '$argon2id$new' }, now + 10, {
        ifPasswordHash: created.passwordHash,
      });
      assert.deepEqual(first, { ...created, passwordHash: '$argon2id$new', updatedAt: now + 10 });
      // A second writer that verified the old hash loses: the first change stands.
      const stale = await store.update(
        created.id,
        { passwordHash: '$argon2id$stale', displayName: 'Stale' },
        now + 20,
        { ifPasswordHash: created.passwordHash },
      );
      assert.equal(stale, null);
      assert.deepEqual(await store.getById(created.id), first);
      assert.equal(
        await store.update('no-such-id', { displayName: 'X' }, now, { ifPasswordHash: created.passwordHash }),
        null,
      );
    });

    it('list returns every user ordered by username', async (store) => {
      for (const username of ['carol', 'ada', 'bob']) await store.create(newUser(username), now);
      assert.deepEqual(
        (await store.list()).map((u) => u.username),
        ['ada', 'bob', 'carol'],
      );
    });

    it('count returns how many users exist', async (store) => {
      assert.equal(await store.count(), 0);
      await store.create(newUser('ada'), now);
      await store.create(newUser('bob'), now);
      assert.equal(await store.count(), 2);
    });

    it('returned users are copies: mutating them changes nothing stored', async (store) => {
      const roles = ['user'];
      const created = await store.create(newUser('ada', { roles }), now);
      roles.push('admin');
      created.roles.push('admin');
      const fetched = (await store.getById(created.id))!;
      fetched.roles.push('admin');
      fetched.displayName = 'changed';
      const [listed] = await store.list();
      listed!.roles.push('admin');
      assert.deepEqual((await store.getById(created.id))?.roles, ['user']);
      assert.equal((await store.getByUsername('ada'))?.displayName, 'Ada');
    });

    userStoreEpochCases(it);
    userStoreKeyCases(it);
    userStoreKeepRoleCases(it);
    userStoreSecondFactorCases(it);
  });
}
