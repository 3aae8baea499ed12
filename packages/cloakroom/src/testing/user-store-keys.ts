import assert from 'node:assert/strict';
import { rejectsWithStoreError } from './harness.js';
import { NOW, newUser, type UserIt } from './user-fixtures.js';

/**
 * The `usernameKey` cases of the user conformance suite: the key (a username's confusable
 * skeleton) is unique like the username itself, so `admin` and a look-alike cannot both
 * exist, even when both are created at the same moment.
 */
export function userStoreKeyCases(it: UserIt): void {
  it('create with another username but a taken usernameKey throws StoreError code conflict', async (store) => {
    const first = await store.create(newUser('admin', { usernameKey: 'admin' }), NOW);
    // A Cyrillic "а" (U+0430) in place of the Latin "a": another name, the same skeleton.
    await rejectsWithStoreError(
      store.create(newUser('\u0430dmin', { usernameKey: 'admin', displayName: 'Impostor' }), NOW + 1),
      'conflict',
    );
    assert.equal(await store.getByUsername('\u0430dmin'), null);
    assert.deepEqual(await store.list(), [first]);
  });

  it('users with different usernameKeys coexist', async (store) => {
    await store.create(newUser('ada', { usernameKey: 'ada' }), NOW);
    await store.create(newUser('bob', { usernameKey: 'bob' }), NOW);
    assert.equal(await store.count(), 2);
  });

  it('10 concurrent creates of different usernames with one usernameKey: exactly one succeeds', async (store) => {
    const names = Array.from({ length: 10 }, (_, i) => `look-alike-${String.fromCharCode(97 + i)}`);
    const results = await Promise.allSettled(
      names.map((username) => store.create(newUser(username, { usernameKey: 'look-alike' }), NOW)),
    );
    const winners = results.filter((r) => r.status === 'fulfilled');
    assert.equal(winners.length, 1);
    for (const result of results) {
      if (result.status === 'rejected')
        await rejectsWithStoreError(Promise.reject(result.reason), 'conflict');
    }
    assert.equal(await store.count(), 1);
    assert.deepEqual(await store.list(), [winners[0]!.value]);
  });
}
